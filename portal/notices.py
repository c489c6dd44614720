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


def provider(func):
    """Register ``func(user) -> list[Notice]`` as a source of notices."""
    _PROVIDERS.append(func)
    return func


def notices_for(user):
    """Every notice for ``user``, in the order the areas were registered."""
    notices = []
    for func in _PROVIDERS:
        notices.extend(func(user))
    return notices
