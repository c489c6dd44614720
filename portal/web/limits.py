"""Rate limits: how often a member (or, before login, an address) may do a thing.

Flask-Limiter does the counting (a moving window per key and scope); the counts live
in memory on one machine and in Redis when ``REDIS_URL`` is set, so several server
processes share them. If Redis goes away the site keeps working on in-memory counts
rather than failing every request.

Each limit is a setting (``LIMIT_*`` in config.py, "N per minute; M per hour"), read at
request time. Only POSTs count: reading is never limited. The check runs before the view,
so a refused request (429, the error page of the client's template set) writes nothing.

Members are counted by account, not by address: handsets reach us through a few carrier
gateways, so thousands of phones share an address. Login and registration, which come
before there is an account, count by address with generous limits; the login view also
counts failures per account in the database (LoginAttempt).
"""
import time

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user

# Limit name -> what it covers (documentation for the README and the settings table).
LIMITS = {
    "LOGIN": "login attempts per address",
    "REGISTRATION": "new accounts and password-reset requests per address",
    "MESSAGES": "messages sent per member",
    "COMMENTS": "comments and replies (diary, photo, voice) per member",
    "POSTS": "diary entries and voice posts per member",
    "FRIEND_REQUESTS": "friend requests per member",
    "UPLOADS": "photo and picture uploads per member",
}


# Limit name -> endpoints ("blueprint.view") it guards, filled by @limited.
GUARDED = {name: set() for name in LIMITS}


def member_or_address():
    """The key a limit counts under: the member's account, else the client address.

    Keys start with RATE_LIMIT_NAMESPACE, so several sites can share one Redis."""
    namespace = current_app.config["RATE_LIMIT_NAMESPACE"]
    if current_user.is_authenticated:
        return f"{namespace}:member:{current_user.id}"
    return f"{namespace}:address:{get_remote_address()}"


limiter = Limiter(key_func=member_or_address, strategy="moving-window", headers_enabled=True,
                  in_memory_fallback_enabled=True, swallow_errors=True)


def limited(name):
    """Decorator: POSTs to the view count against the shared limit ``name`` (see LIMITS)."""
    shared = limiter.shared_limit(lambda: current_app.config[f"LIMIT_{name}"], scope=name.lower(),
                                  methods=["POST"])

    def decorate(view):
        GUARDED[name].add(f"{view.__module__.rsplit('.', 1)[-1]}.{view.__name__}")
        return shared(view)

    return decorate


def minutes_to_wait():
    """Whole minutes until the limit the current request broke lets it through again."""
    current = limiter.current_limit
    seconds = current.reset_at - time.time() if current else 60
    return max(1, round(seconds / 60))


def init_app(app):
    """Bind the limiter; Redis when configured, memory otherwise."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_ENABLED", app.config.get("RATE_LIMITS", True))
    limiter.init_app(app)
