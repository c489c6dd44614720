"""Accounts: users, login throttling, invite codes and site-wide settings."""
import datetime
import secrets
import threading

from flask import current_app, has_app_context
from flask_login import UserMixin
from peewee import (BooleanField, CharField, DateTimeField, ForeignKeyField,
                    IntegerField, TextField)
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import BaseModel, MediaIdField, database, prepared_first, private_writes, utcnow

LOGIN_ID_PATTERN = r"^[a-z0-9_]{3,20}$"


def new_token(nbytes=24):
    """A random URL-safe token."""
    return secrets.token_urlsafe(nbytes)


# scrypt (N=2**15, r=8) takes 32 MB while it runs: eight logins at once on eight server
# threads would want 256 MB, a small VPS's whole memory. Two at a time; the others wait
# a few tens of milliseconds (benchmarks/memory.py: the peak comes from logins).
HASHING = threading.BoundedSemaphore(2)


class User(UserMixin, BaseModel):
    """A member of the site. No phone number, ever."""

    login_id = CharField(max_length=20, unique=True)
    nickname = CharField(max_length=30)
    password_hash = CharField(max_length=255)
    email = CharField(max_length=254, null=True)
    is_admin = BooleanField(default=False)
    is_suspended = BooleanField(default=False)
    language = CharField(max_length=5, default="")  # "" = follow the browser
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)
    invited_by = ForeignKeyField("self", null=True, backref="invitees", on_delete="SET NULL")
    # Footprints: "leave footprints when I visit" (off = stealth, and then no visitors list
    # either) and "show my visitors to me".
    leave_footprints = BooleanField(default=True)
    show_visitors = BooleanField(default=True)
    footprints_seen_at = DateTimeField(null=True)
    footprints_purged = IntegerField(default=0)  # visits counted before old footprints were purged
    likes_seen_at = DateTimeField(null=True)
    invitees_seen_at = DateTimeField(null=True)
    # Messages: "friends" (only friends may write to me, the default) or "members".
    message_policy = CharField(max_length=10, default="friends")
    email_on_message = BooleanField(default=False)
    avatar_media = MediaIdField(null=True)

    def set_password(self, password):
        """Hash a new password (scrypt) into the row; the caller saves it and ends logins
        (``Login.end``) in one transaction."""
        method = current_app.config["PASSWORD_HASH_METHOD"] if has_app_context() else "scrypt"
        with HASHING:
            self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password):
        """True when ``password`` matches the stored hash."""
        with HASHING:
            return check_password_hash(self.password_hash, password)

    def get_id(self):
        """Flask-Login's id: the user id and the token of this login (models/logins.py)."""
        if not getattr(self, "login_token", None):
            raise RuntimeError("no login: sign in with portal.views.auth.sign_in()")
        return f"{self.id}:{self.login_token}"

    @property
    def is_active(self):
        return not self.is_suspended

    # Members are equal by id, as rows are (UserMixin compares get_id(), which names a login).
    __eq__ = BaseModel.__eq__
    __ne__ = BaseModel.__ne__
    __hash__ = BaseModel.__hash__

    @classmethod
    def mark_seen(cls, user_id, field):
        """Set one of the ``*_seen_at`` markers to now: only this member's pages change."""
        with private_writes(user_id):
            cls.update({field: utcnow()}).where(cls.id == user_id).execute()

    @classmethod
    def by_login_id(cls, login_id, *extra_columns, key=""):
        """The user with this login id (case-insensitive), or None; ``extra_columns`` (aliased
        expressions over the user row, named by ``key``) come in the same query, whose SQL is
        built once (db.prepared)."""
        if extra_columns and not key:
            raise TypeError("extra columns need a key naming them")
        return prepared_first(("user by login id", key), lambda login_id: cls.select(cls, *extra_columns).where(
            cls.login_id == login_id), login_id=(login_id or "").strip().lower())

    @classmethod
    def search(cls, text):
        """Users whose login id or nickname contains ``text`` (case-insensitive)."""
        text = (text or "").strip()
        query = cls.select().order_by(cls.id)
        if text:
            # contains() is ILIKE '%text%' with the wildcards in ``text`` escaped.
            query = query.where(cls.login_id.contains(text) | cls.nickname.contains(text))
        return query

    def delete_account(self):
        """Remove the user and every row that belongs to them (foreign keys cascade)."""
        with database.atomic():
            InviteCode.update(created_by=None).where(InviteCode.created_by == self).execute()
            User.update(invited_by=None).where(User.invited_by == self).execute()
            LoginAttempt.delete().where(LoginAttempt.login_id == self.login_id).execute()
            self.delete_instance()


class PasswordReset(BaseModel):
    """A single-use "forgot password" link; only a hash of its token is stored."""

    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)

    @staticmethod
    def hash(token):
        import hashlib

        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, user, lifetime=3600):
        """Create a reset for ``user``; returns the token to put in the link."""
        token = new_token(32)
        cls.create(user=user.id, token_hash=cls.hash(token),
                   expires_at=utcnow() + datetime.timedelta(seconds=lifetime))
        return token

    @classmethod
    def valid(cls, token):
        """The unused, unexpired reset for ``token``, or None."""
        reset = cls.get_or_none(cls.token_hash == cls.hash(token or ""))
        if reset is None or reset.used_at is not None or reset.expires_at < utcnow():
            return None
        return reset

    def use(self):
        """Mark used; False when another request used it first."""
        return PasswordReset.update(used_at=utcnow()).where(
            (PasswordReset.id == self.id) & PasswordReset.used_at.is_null()).execute() == 1


class LoginAttempt(BaseModel):
    """A failed login, kept for the throttling window. Lives in the database so
    several app servers agree."""

    login_id = CharField(max_length=64, index=True)
    address = CharField(max_length=64, index=True)
    created_at = DateTimeField(default=utcnow, index=True)

    @classmethod
    def is_throttled(cls, login_id, address, per_account, per_address, window):
        """True when ``login_id`` or ``address`` has too many recent failures."""
        since = utcnow() - datetime.timedelta(seconds=window)
        recent = cls.select().where(cls.created_at >= since)
        by_account = recent.where(cls.login_id == login_id).count()
        if by_account >= per_account:
            return True
        return recent.where(cls.address == address).count() >= per_address

    @classmethod
    def record_failure(cls, login_id, address, window):
        """Remember a failed login and drop entries older than the window."""
        cls.create(login_id=login_id[:64], address=address[:64])
        cls.purge(utcnow() - datetime.timedelta(seconds=window))

    @classmethod
    def purge(cls, cutoff):
        """Forget failures older than ``cutoff``; returns how many went."""
        return cls.delete().where(cls.created_at < cutoff).execute()

    @classmethod
    def clear(cls, login_id):
        """Forget the failures of an account after a successful login."""
        cls.delete().where(cls.login_id == login_id).execute()


class InviteCode(BaseModel):
    """A code (or a user's invite link) that lets someone register."""

    code = CharField(max_length=64, unique=True, default=lambda: new_token(12))
    created_by = ForeignKeyField(User, null=True, backref="invite_codes", on_delete="SET NULL")
    note = CharField(max_length=100, default="")
    max_uses = IntegerField(default=1)  # 0 = unlimited
    uses = IntegerField(default=0)
    revoked = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(null=True)

    @property
    def is_usable(self):
        """True when the code may still be used to register."""
        if self.revoked:
            return False
        if self.expires_at is not None and self.expires_at < utcnow():
            return False
        return self.max_uses == 0 or self.uses < self.max_uses

    @classmethod
    def usable(cls, code):
        """The usable invite with this code, or None."""
        invite = cls.get_or_none(cls.code == (code or "").strip())
        return invite if invite is not None and invite.is_usable else None

    def consume(self):
        """Count one use, atomically; False when another request used the last one."""
        query = InviteCode.update(uses=InviteCode.uses + 1).where(
            (InviteCode.id == self.id) & (InviteCode.revoked == False)  # noqa: E712
            & ((InviteCode.max_uses == 0) | (InviteCode.uses < InviteCode.max_uses)))
        return query.execute() == 1


class SiteSetting(BaseModel):
    """A site-wide setting changed from the admin page (overrides the config default)."""

    key = CharField(max_length=64, primary_key=True)
    value = TextField()

    @classmethod
    def get_int(cls, key, default):
        """An integer setting; ``default`` when unset or not a number."""
        value = cls.get_value(key)
        try:
            return int(value) if value is not None else int(default)
        except ValueError:
            return int(default)

    @classmethod
    def get_value(cls, key, default=None):
        """The stored value for ``key``, or ``default``."""
        row = cls.get_or_none(cls.key == key)
        return row.value if row is not None else default

    @classmethod
    def set_value(cls, key, value):
        """Store ``value`` under ``key`` (insert or replace)."""
        (cls.insert(key=key, value=value)
         .on_conflict(conflict_target=[cls.key], update={cls.value: value})
         .execute())

