"""Configuration: defaults, then the environment, then the dict given to create_app.

This is the only module that reads ``os.environ``. Everything else reads
``current_app.config``.
"""
import datetime
import os
import secrets
from pathlib import Path

REGISTRATION_MODES = ("open", "invite", "closed")
LANGUAGES = ("ja", "en")

DEFAULTS = {
    "SITE_NAME": "Portal",
    "DATA_DIR": "./data",
    "DATABASE_URL": None,  # default: SQLite file in DATA_DIR
    "MEDIA_DIR": None,  # default: DATA_DIR/media
    "REGISTRATION": "open",
    "DEFAULT_LANGUAGE": "ja",
    "TIMEZONE": "Asia/Tokyo",  # times are stored in UTC and shown in this zone
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,  # a request; each photo is limited by MAX_UPLOAD_BYTES
    "MAX_UPLOAD_BYTES": 10 * 1024 * 1024,
    "MAX_UPLOAD_PIXELS": 40_000_000,
    "MAX_FILES_PER_UPLOAD": 10,
    "MAX_FORM_MEMORY_SIZE": 500 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SECURE": False,
    # "Keep me logged in": the cookie, and the login it names (portal/models/logins.py), last
    # 30 days (Flask-Login's default of 365 is long for a shared computer).
    "REMEMBER_COOKIE_DURATION": datetime.timedelta(days=30),
    "WTF_CSRF_TIME_LIMIT": 3600 * 6,
    # Login throttling (issue: foundation). Counted in the database.
    "LOGIN_FAILS_PER_ACCOUNT": 5,
    "LOGIN_FAILS_PER_ADDRESS": 20,
    "LOGIN_WINDOW_SECONDS": 15 * 60,
    # Trust X-Forwarded-For from this many proxies (0: use the socket address).
    "PROXY_COUNT": 0,
    "MOBILE_MARKUP_BUDGET": 5120,
    "MAX_FRIENDS": 1000,
    # Werkzeug's scrypt (N=2**15). Tests lower the cost to run fast.
    "PASSWORD_HASH_METHOD": "scrypt",
    # Defaults of the settings the admin page can change (stored in SiteSetting).
    "INVITE_QUOTA": 20,  # invite links per member, 0 = unlimited
    "FOOTPRINT_RETENTION_DAYS": 30,
    "FOOTPRINT_DELETIONS_PER_MONTH": 10,
    "MESSAGES_PER_HOUR": 30,  # per sender; more gets a 429 page
    # Rate limits (portal/limits.py): POSTs per member, or per address before login.
    "RATE_LIMITS": True,
    "RATE_LIMIT_NAMESPACE": "portal",  # prefix of the counters' keys (in Redis: one per site)
    "LIMIT_LOGIN": "30 per minute; 300 per hour",  # per address: carrier gateways are shared
    "LIMIT_REGISTRATION": "20 per hour; 200 per day",  # per address: gateways again
    "LIMIT_MESSAGES": "10 per minute; 100 per hour",
    "LIMIT_COMMENTS": "10 per minute; 200 per hour",
    "LIMIT_POSTS": "10 per minute; 100 per hour",
    "LIMIT_FRIEND_REQUESTS": "10 per minute; 60 per hour",
    "LIMIT_UPLOADS": "10 per minute; 100 per hour",
    # Page cache (portal/pagecache.py): the busiest pages, kept per request headers and served
    # while nothing they show has changed; at most this old (0 turns it off) and this big.
    "PAGE_CACHE_SECONDS": 30,
    # ~110 gzipped PC pages or ~80 handset pages, with their keys: the pages of the members
    # active in the last half minute on a club's site. More fits a bigger server: the 64 MB
    # memory target (benchmarks/memory.py) leaves room for this much.
    "PAGE_CACHE_BYTES": 512 * 1024,
    # Open database connections each server process keeps (portal/db.py): one per waitress
    # thread is what it uses. On PostgreSQL, servers x this must stay under max_connections.
    "DB_POOL_SIZE": 32,
    # Optional e-mail; off while SMTP_HOST is empty.
    "SMTP_HOST": "",
    "SMTP_PORT": 25,
    "SMTP_FROM": "portal@localhost",
    "SMTP_USER": "",
    "SMTP_PASSWORD": "",
    "SMTP_TLS": False,
}

# Environment variable -> (config key, converter)
_ENV = {
    "PORTAL_SITE_NAME": ("SITE_NAME", str),
    "PORTAL_DATA_DIR": ("DATA_DIR", str),
    "DATABASE_URL": ("DATABASE_URL", str),
    "PORTAL_MEDIA_DIR": ("MEDIA_DIR", str),
    "PORTAL_SECRET_KEY": ("SECRET_KEY", str),
    "PORTAL_REGISTRATION": ("REGISTRATION", str),
    "PORTAL_DEFAULT_LANGUAGE": ("DEFAULT_LANGUAGE", str),
    "PORTAL_TIMEZONE": ("TIMEZONE", str),
    "PORTAL_SECURE_COOKIES": ("SECURE_COOKIES", lambda v: v.lower() in ("1", "true", "yes")),
    "PORTAL_PROXY_COUNT": ("PROXY_COUNT", int),
    "REDIS_URL": ("REDIS_URL", str),
    "PORTAL_MAX_FRIENDS": ("MAX_FRIENDS", int),
    "PORTAL_INVITE_QUOTA": ("INVITE_QUOTA", int),
    "PORTAL_FOOTPRINT_RETENTION_DAYS": ("FOOTPRINT_RETENTION_DAYS", int),
    "PORTAL_MESSAGES_PER_HOUR": ("MESSAGES_PER_HOUR", int),
    "PORTAL_RATELIMIT_ENABLED": ("RATE_LIMITS", lambda v: v.lower() in ("1", "true", "yes")),
    "PORTAL_RATE_LIMIT_NAMESPACE": ("RATE_LIMIT_NAMESPACE", str),
    **{f"PORTAL_{key}": (key, str) for key in ("LIMIT_LOGIN", "LIMIT_REGISTRATION", "LIMIT_MESSAGES",
                                               "LIMIT_COMMENTS", "LIMIT_POSTS", "LIMIT_FRIEND_REQUESTS",
                                               "LIMIT_UPLOADS")},
    "PORTAL_PAGE_CACHE_SECONDS": ("PAGE_CACHE_SECONDS", int),
    "PORTAL_PAGE_CACHE_BYTES": ("PAGE_CACHE_BYTES", int),
    "PORTAL_DB_POOL_SIZE": ("DB_POOL_SIZE", int),
    "PORTAL_MAX_UPLOAD_BYTES": ("MAX_UPLOAD_BYTES", int),
    "PORTAL_MAX_UPLOAD_PIXELS": ("MAX_UPLOAD_PIXELS", int),
    "PORTAL_SMTP_HOST": ("SMTP_HOST", str),
    "PORTAL_SMTP_PORT": ("SMTP_PORT", int),
    "PORTAL_SMTP_FROM": ("SMTP_FROM", str),
    "PORTAL_SMTP_USER": ("SMTP_USER", str),
    "PORTAL_SMTP_PASSWORD": ("SMTP_PASSWORD", str),
    "PORTAL_SMTP_TLS": ("SMTP_TLS", lambda v: v.lower() in ("1", "true", "yes")),
}


class ConfigError(ValueError):
    """Raised when a configuration value is invalid."""


def load_config(overrides=None, environ=None):
    """Return the merged configuration dict: defaults < environment < overrides."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for var, (key, convert) in _ENV.items():
        if environ.get(var):
            try:
                config[key] = convert(environ[var])
            except ValueError as exc:
                raise ConfigError(f"{var}: {exc}") from exc
    config.update(overrides or {})

    data_dir = Path(config["DATA_DIR"]).resolve()
    config["DATA_DIR"] = str(data_dir)
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = "sqlite:///" + str(data_dir / "portal.db")
    if not config.get("MEDIA_DIR"):
        config["MEDIA_DIR"] = str(data_dir / "media")
    if config.pop("SECURE_COOKIES", False):
        for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
            config[key] = True
    if config["REGISTRATION"] not in REGISTRATION_MODES:
        raise ConfigError(f"REGISTRATION must be one of {', '.join(REGISTRATION_MODES)}")
    if config["DEFAULT_LANGUAGE"] not in LANGUAGES:
        raise ConfigError(f"DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}")
    for key in ("PAGE_CACHE_SECONDS", "PAGE_CACHE_BYTES"):
        if not isinstance(config[key], int) or config[key] < 0:
            raise ConfigError(f"{key} must be a whole number, 0 or more")
    if not isinstance(config["DB_POOL_SIZE"], int) or config["DB_POOL_SIZE"] < 1:
        raise ConfigError("DB_POOL_SIZE must be a whole number, 1 or more")
    for key in config:
        if key.startswith("LIMIT_"):
            _check_limit(key, config[key])
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _secret_key_from(data_dir)
    return config


def _check_limit(key, value):
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError as exc:
        raise ConfigError(f"{key}: {value!r} is not a rate limit like '10 per minute; 100 per hour'") from exc


def _secret_key_from(data_dir):
    """Read the secret key kept in the data dir, creating it (mode 0600) on first use."""
    path = data_dir / "secret_key"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    # O_EXCL: when two processes start at once, one writes and both read the same key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
