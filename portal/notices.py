"""The notices shown on the home page ("3 new messages", ...).

Each area registers a function that returns its notices for a user; the home
page shows them all. A notice is (text, endpoint, url-arguments).
"""
from dataclasses import dataclass, field

_PROVIDERS = []


@dataclass
class Notice:
    """One line of the notices block."""

    text: str
    endpoint: str
    args: dict = field(default_factory=dict)


def provider(func=None, *, order=50):
    """Register ``func(user) -> list[Notice]`` as a source of notices; lower ``order`` first."""
    def register(f):
        _PROVIDERS.append((order, f))
        _PROVIDERS.sort(key=lambda pair: pair[0])
        return f

    return register(func) if func is not None else register


def notices_for(user):
    """Every notice for ``user``: messages first, then requests, comments, likes, footprints..."""
    notices = []
    for _order, func in _PROVIDERS:
        notices.extend(func(user))
    return notices
