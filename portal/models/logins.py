"""Logins: one row per signed-in browser or handset.

A session (Flask's signed cookie on PCs, a server-side session on handsets) and a
remember-me cookie carry ``"<user id>:<token>"``; the row holds a hash of the token. A
session is worth something only while its row exists, so logging out ends it for good (a
copy of the cookie taken before is useless), and a member can see where they are logged in
and end any of those logins (Settings -> Where you are logged in). Changing the password,
a reset link, suspension and ``portal user set-password`` end every login; a login that was
being made meanwhile (its password checked against the old hash) is refused, not recorded.
"""
import datetime
import hashlib
import re
import secrets

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, PostgresqlDatabase

from ..db import BaseModel, database, prepared_first, private_writes, utcnow
from .users import User

# How long a login lasts without being used: a browser session, a handset session (its
# server-side session ends after an hour idle anyway: portal/sessions.py). "Keep me logged
# in" lasts as long as the remember-me cookie (REMEMBER_COOKIE_DURATION, 30 days from the
# login, not pushed back by use: the cookie is not renewed either).
IDLE = datetime.timedelta(days=1)
HANDSET_IDLE = datetime.timedelta(hours=1)
# The last-seen time is written back only when it is older than this: a page view costs no write.
SEEN_REFRESH = datetime.timedelta(minutes=5)
USER_AGENT_CHARS = 200
DEVICE_NAME_CHARS = 40
# Logins a member keeps at most: a new one past this ends the least recently used (a script
# logging in again and again without logging out cannot grow the table without end).
MAX_PER_MEMBER = 50


def token_hash(token):
    """What the database keeps of a login token (a leaked database holds no usable cookie)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class Login(BaseModel):
    """A signed-in browser or handset of a member."""

    user = ForeignKeyField(User, backref="logins", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    user_agent = CharField(max_length=USER_AGENT_CHARS, default="")
    lifetime = IntegerField()  # seconds without use after which the login ends
    remembered = BooleanField(default=False)  # "keep me logged in": ends at created_at + lifetime
    created_at = DateTimeField(default=utcnow)
    seen_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(index=True)

    class Meta:
        indexes = ((("user", "seen_at"), False),)

    @classmethod
    def start(cls, user, user_agent, lifetime, remembered=False, now=None):
        """Record a new login of ``user`` and return its token (for the session id), or None
        when the account changed since its password was checked: suspended, or a new
        password (whose change ended every login) since ``user`` was read."""
        now = now or utcnow()
        token = secrets.token_urlsafe(24)
        with private_writes(), database.atomic():  # no page a cache keeps shows logins
            # The member's row, locked until commit on PostgreSQL (SQLite's write transaction
            # excludes other writers already): a password change or a suspension either
            # committed before, and is seen here, or waits and then ends this login too.
            query = User.select(User.password_hash, User.is_suspended).where(User.id == user.id)
            if isinstance(database.obj, PostgresqlDatabase):
                query = query.for_update()
            current = query.first()
            if current is None or current.is_suspended or current.password_hash != user.password_hash:
                return None
            login = cls.create(user=user.id, token_hash=token_hash(token),
                               user_agent=(user_agent or "")[:USER_AGENT_CHARS],
                               lifetime=int(lifetime.total_seconds()), remembered=remembered,
                               created_at=now, seen_at=now, expires_at=now + lifetime)
            surplus = [i for (i,) in cls.select(cls.id).where(cls.user == user.id)
                       .order_by(cls.seen_at.desc(), cls.id.desc()).offset(MAX_PER_MEMBER).tuples()]
            if surplus:
                cls.delete().where(cls.id.in_(surplus)).execute()
        user.login_row, user.login_remembered = login.id, remembered
        return token

    @classmethod
    def touch(cls, login_id, lifetime_seconds, remembered, now=None):
        """Note that the login was used now, which also pushes back its end (not for a
        remembered login, which ends with its cookie)."""
        now = now or utcnow()
        values = {cls.seen_at: now}
        if not remembered:
            values[cls.expires_at] = now + datetime.timedelta(seconds=lifetime_seconds)
        with private_writes():  # no page a cache keeps shows it
            cls.update(values).where(cls.id == login_id).execute()

    @classmethod
    def end(cls, user_id, login_id=None, keep=None):
        """End one login of the member (``login_id``), or all of them but ``keep``; returns how many."""
        query = cls.delete().where(cls.user == user_id)
        if login_id is not None:
            query = query.where(cls.id == login_id)
        if keep is not None:
            query = query.where(cls.id != keep)
        with private_writes(user_id):
            return query.execute()

    @classmethod
    def of(cls, user_id, now=None):
        """The member's logins that have not ended, most recently used first."""
        return (cls.select().where((cls.user == user_id) & (cls.expires_at > (now or utcnow())))
                .order_by(cls.seen_at.desc(), cls.id.desc()))

    @classmethod
    def purge(cls, now=None):
        """Forget logins that ended by time (indexed); returns how many went."""
        with private_writes():  # only the member's own settings page lists them, never kept
            return cls.delete().where(cls.expires_at < (now or utcnow())).execute()

    @property
    def device_name(self):
        return describe_user_agent(self.user_agent)[:DEVICE_NAME_CHARS]


# (pattern, name): the first that matches names the handset or browser. Carrier handsets by
# model, as their owners know them (KEITAI.md lists the User-Agent forms).
_HANDSETS = (
    (re.compile(r"^DoCoMo/[23]\.0 ([A-Za-z0-9\-+]+)"), "docomo {}"),
    (re.compile(r"^DoCoMo/1\.0/([A-Za-z0-9\-+]+)"), "docomo {}"),
    (re.compile(r"^KDDI-([A-Za-z0-9]+)"), "au {}"),
    (re.compile(r"^UP\.Browser/[\d.]+-([A-Za-z0-9]+)"), "au {}"),
    (re.compile(r"^(?:SoftBank|Vodafone|J-PHONE|MOT-[A-Za-z0-9]+)/[\d.]+/([A-Za-z0-9\-_]+)"), "SoftBank {}"),
    (re.compile(r"(?:WILLCOM|DDIPOCKET);[A-Za-z]+/([A-Za-z0-9\-]+)"), "WILLCOM {}"),
    (re.compile(r"WILLCOM|DDIPOCKET"), "WILLCOM"),
    (re.compile(r"^emobile/[\d.]+ \(([A-Za-z0-9]+)", re.I), "EMOBILE {}"),
    (re.compile(r"emobile", re.I), "EMOBILE"),
    (re.compile(r"^w3m/"), "w3m"),
    (re.compile(r"^Lynx/"), "Lynx"),
    (re.compile(r"^Links|^ELinks", re.I), "Links"),
)
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Opera Mini/", "Opera Mini"), ("Opera", "Opera"),
             ("S40OviBrowser/", "Nokia Browser"), ("Firefox/", "Firefox"),
             ("SamsungBrowser/", "Samsung Internet"), ("Chrome/", "Chrome"), ("CriOS/", "Chrome"),
             ("Safari/", "Safari"), ("MSIE ", "Internet Explorer"), ("Trident/", "Internet Explorer"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("KAIOS", "KaiOS"), ("Series40", "Series 40"),
            ("Android", "Android"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def describe_user_agent(user_agent):
    """A short name of a device by its User-Agent: "docomo SH903i", "Firefox on Windows";
    "" when nothing is recognised."""
    ua = user_agent or ""
    for pattern, name in _HANDSETS:
        match = pattern.search(ua)
        if match:
            return name.format(*match.groups())
    browser = next((name for marker, name in _BROWSERS if marker in ua), "")
    system = next((name for marker, name in _SYSTEMS if marker in ua), "")
    if browser and system:
        return f"{browser} / {system}"
    return browser or system


def load_user(session_id, *extra_columns, cache_key=None, now=None):
    """The active member behind a Flask-Login id (``"<user id>:<token>"``) whose login has not
    ended, or None. Runs on every request, in one query with ``extra_columns`` (aliased
    expressions over the user row), its SQL built once (db.prepared; ``cache_key`` names what
    the extra columns are). The login's last-seen time is written back at most every
    SEEN_REFRESH."""
    user_id, _, token = (session_id or "").partition(":")
    if not (user_id.isascii() and user_id.isdigit()) or not token or len(token) > 64:
        return None
    now = now or utcnow()

    def build(user_id, hashed, now, refresh_before):
        return (User.select(User, Login.id.alias("login_row"), Login.lifetime.alias("login_lifetime"),
                            Login.remembered.alias("login_remembered"),
                            (Login.seen_at < refresh_before).alias("login_stale"), *extra_columns)
                .join(Login, on=(Login.user == User.id))
                .where((User.id == user_id) & (Login.token_hash == hashed) & (Login.expires_at > now))
                .objects())  # one object: the login's columns as attributes of the member
    user = prepared_first(("load user", cache_key), build, user_id=int(user_id), hashed=token_hash(token),
                          now=now, refresh_before=now - SEEN_REFRESH)
    if user is None or user.is_suspended:
        return None
    user.login_remembered = bool(user.login_remembered)  # 0/1 on SQLite
    if user.login_stale:
        Login.touch(user.login_row, user.login_lifetime, user.login_remembered, now=now)
    user.login_token = token
    return user
