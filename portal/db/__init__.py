"""The database: one proxy bound at app start, pragmas, per-request connections, migrations.

Models subclass ``BaseModel``; the proxy is initialised by ``init_app`` from
``DATABASE_URL`` (SQLite by default, PostgreSQL for the scale-out path).
"""
import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from peewee import CharField, DatabaseProxy, Model, PostgresqlDatabase, SqliteDatabase
from playhouse import db_url
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase
from playhouse.migrations import Runner

database = DatabaseProxy()
MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 10000,  # ms; writers wait instead of failing with "database is locked"
    # KiB per connection; every pooled connection keeps its own, and the OS caches the file anyway.
    "cache_size": -2000,
}


def utcnow():
    """Current UTC time as a naive datetime (what the database stores)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class BaseModel(Model):
    """Base class of every model: bound to the app's database."""

    class Meta:
        database = database
        legacy_table_names = False


class MediaIdField(CharField):
    """A column holding a media id (portal/media.py): the file lives under MEDIA_DIR.

    Declaring media columns with this type is what lets ``models.media_ids()`` find every
    file the database points to (backups, ``portal clean-media``, thumbnails), so an area
    that stores pictures needs nothing else."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)


# Below the proxy: these modules use it.
from .tracking import WriteTracking, private_writes, untracked  # noqa: E402
from .prepared import prepared, prepared_count, prepared_first  # noqa: E402

__all__ = ["BaseModel", "MediaIdField", "database", "init_app", "make_database", "month_of", "prepared",
           "prepared_count", "prepared_first", "private_writes", "schema_version", "untracked", "upgrade",
           "utcnow"]


class PortalSqliteDatabase(WriteTracking, SqliteDatabase):
    """SQLite (in memory: tests of single functions)."""


class PortalPooledSqliteDatabase(WriteTracking, PooledSqliteDatabase):
    """SQLite with a pool of open connections (a file: the default)."""


class PortalPooledPostgresqlDatabase(WriteTracking, PooledPostgresqlDatabase):
    """PostgreSQL (the scale-out path) with a pool of open connections."""


def month_of(field):
    """SQL expression 'YYYY-MM' of a datetime column, on SQLite and PostgreSQL."""
    from peewee import SQL, fn

    # The format is a literal, not a parameter: PostgreSQL only matches a SELECT expression
    # with its GROUP BY twin when both are the same text.
    if isinstance(database.obj, PostgresqlDatabase):
        return fn.to_char(field, SQL("'YYYY-MM'"))
    return fn.strftime(SQL("'%Y-%m'"), field)


def make_database(url, pool_size=32):
    """Build a peewee database for a URL: ``sqlite:///path`` or ``postgresql://...``, keeping at
    most ``pool_size`` open connections."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # BEGIN IMMEDIATE: a transaction takes the write lock when it starts (waiting up to the
        # busy timeout). A deferred one that reads first fails at its first write, at once and
        # whatever the timeout, with "database is locked" once another connection has committed
        # since its read (WAL snapshot): benchmarks/load.py found it on the diary edit.
        if path == ":memory:":
            return PortalSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10, lock_type="IMMEDIATE")
        # A pool: a request takes an open connection (pragmas set once, no connect and no
        # close-time WAL checkpoint per request). One connection per waitress thread at most.
        return PortalPooledSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10, lock_type="IMMEDIATE",
                                    max_connections=pool_size, stale_timeout=600, check_same_thread=False,
                                    # Each connection keeps this many parsed statements; the 30 or so
                                    # hot ones do not fit in fewer than ~32, which would cost 2-3 MB
                                    # over 8 connections: benchmarks/memory.py 64.1-64.6 MB with 16,
                                    # 62.5 with 4, for 0.7-1 ms more CPU per uncached page.
                                    cached_statements=4)
    if url.startswith(("postgres://", "postgresql://")):
        # No JIT: the planner's cost estimate of the visibility queries (EXISTS over friendships)
        # grows with the tables and crosses jit_above_cost on a big site, where compiling costs
        # far more than running (benchmarks/scale.py: home at 1M entries 1.2 s with JIT, 3 ms
        # without). Options already in the URL are kept.
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise ValueError("PostgreSQL needs its driver: pip install 'portal[postgresql]'") from exc
        options = parse_qs(urlsplit(url).query).get("options", [""])[0]
        params = db_url.parse(url)
        params["options"] = f"{options} -c jit=off".strip()
        # A pool, as for SQLite: a new connection costs PostgreSQL a process and ~5 ms here,
        # more than a page (and than a page cache hit, which asks one query); a transaction
        # left open goes back rolled back. At most one per waitress thread is used; past the
        # pool's size a request waits up to 10 s for one, then fails.
        return PortalPooledPostgresqlDatabase(max_connections=pool_size, stale_timeout=300, timeout=10, **params)
    raise ValueError("DATABASE_URL must start with sqlite:/// or postgresql://")


def init_app(app):
    """Bind the proxy to the configured database and open/close it around requests."""
    previous = database.obj
    database.initialize(make_database(app.config["DATABASE_URL"], app.config["DB_POOL_SIZE"]))
    if hasattr(previous, "close_idle"):
        # Another app built in this process (tests, benchmarks, commands): its pool's idle
        # connections would otherwise stay open until collected (PostgreSQL counts them).
        previous.close_idle()

    @app.before_request
    def _open_db():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close_db(exc):
        if not database.is_closed():
            database.close()


def migration_runner():
    """The peewee migration runner over portal/migrations (history in ``schema_migration``)."""
    return Runner(database.obj, directory=MIGRATIONS_DIR)


def upgrade(target=None):
    """Apply pending migrations (up to ``target``); return the names applied."""
    with database.connection_context(), untracked():
        return migration_runner().up(target)


def schema_version():
    """Name of the newest applied migration, or None for an empty database."""
    with database.connection_context():
        applied = migration_runner().applied()
    return max(applied) if applied else None
