"""Demo content so a newcomer sees a living site: ``portal demo`` and ``portal serve --demo``.

Each area adds a seeder with ``@seeder``; seeders run in registration order
inside one transaction, after the users exist.
"""
from werkzeug.security import generate_password_hash

from .db import database, utcnow
from .models import InviteCode, User
from .models.users import new_token

DEMO_PASSWORD = "demo-password"
_SEEDERS = []

NICKNAMES = ["さくら", "Taro", "ゆうき", "Hana", "けんじ", "Mika", "そら", "Ken", "あおい", "Rin"]


def seeder(func):
    """Register ``func(users)`` to add an area's demo content."""
    _SEEDERS.append(func)
    return func


def seed(count=10):
    """Create users demo1..demoN (password ``demo-password``; demo1 is an admin) and content.

    Existing demo users are kept; returns the list of demo users.
    """
    count = max(1, count)
    # One hash for all: hashing is deliberately slow, and these share a password anyway.
    password_hash = generate_password_hash(DEMO_PASSWORD, method="scrypt")
    with database.atomic():
        users = []
        for n in range(1, count + 1):
            login_id = f"demo{n}"
            user = User.by_login_id(login_id)
            if user is None:
                user = User.create(login_id=login_id, nickname=f"{NICKNAMES[(n - 1) % len(NICKNAMES)]}{n}",
                                   password_hash=password_hash, session_token=new_token(),
                                   is_admin=(n == 1), last_login_at=utcnow())
            users.append(user)
        if not InviteCode.select().where(InviteCode.note == "demo").exists():
            InviteCode.create(note="demo", max_uses=0, created_by=users[0])
        for func in _SEEDERS:
            func(users)
    return users


def is_empty():
    """True when the database has no users yet."""
    return not User.select().exists()
