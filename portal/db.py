"""The database: one proxy bound at app start, pragmas, per-request connections, migrations.

Models subclass ``BaseModel``; the proxy is initialised by ``init_app`` from
``DATABASE_URL`` (SQLite by default, PostgreSQL for the scale-out path).
"""
import contextvars
import datetime
from contextlib import contextmanager
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


# Who sees a write (see ``private_writes``): None = anyone (the site's generation moves),
# else the _PrivateScope of the enclosing block.
_write_scope = contextvars.ContextVar("write_scope", default=None)
_tracking = contextvars.ContextVar("write_tracking", default=True)
GENERATION_TABLE = "page_generation"
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC", "CREATE", "DROP T", "ALTER ")


class _PrivateScope:
    def __init__(self, user_ids):
        self.user_ids = dict.fromkeys(user_ids)
        self.dirty = False


@contextmanager
def private_writes(*user_ids):
    """Writes in this block change only what ``user_ids`` see (a footprint, a seen marker):
    they move those members' page generations instead of the whole site's, once, when the
    block ends (after the writes: safe, see WriteTracking). With no ids the writes are seen
    by no page (a handset's session row). A block inside another adds its members to the
    outer one, which moves them all in one statement."""
    outer = _write_scope.get()
    if outer is not None:
        outer.user_ids.update(dict.fromkeys(user_ids))
        yield
        return
    scope = _PrivateScope(user_ids)
    token = _write_scope.set(scope)
    try:
        yield
    finally:
        _write_scope.reset(token)
        if scope.dirty and scope.user_ids:
            database.obj.bump_generations(tuple(scope.user_ids))


@contextmanager
def untracked():
    """Writes that move no generation: migrations, before the generation table exists."""
    token = _tracking.set(False)
    try:
        yield
    finally:
        _tracking.reset(token)


_PREPARED = {}  # (key, database class) -> (query, sql, slots) of prepared()
_STAND_IN_BASE = -7_100_000_000


def _stand_in(n, value):
    """A stand-in for a parameter of type ``type(value)``, unlike any value a page carries
    (and unlike anything computed from one: ``_derived_from_stand_in``); for a row (a viewer,
    an owner) a row of the same model whose id is a stand-in."""
    if isinstance(value, bool):
        raise TypeError("a flag changes the query's shape: put it in the key")
    if isinstance(value, int):
        return _STAND_IN_BASE - n
    if isinstance(value, Model):
        return value.__class__(id=_STAND_IN_BASE - n)  # __class__: current_user is a proxy
    if isinstance(value, datetime.datetime):
        return datetime.datetime(1901, 2, 3, 4, 5, n % 60, 123457)
    if isinstance(value, str):
        return f"\x00stand-in {n}\x00"
    raise TypeError(f"no stand-in for {type(value).__name__}")


def _bound(value):
    """What a value puts into the SQL (a row: its id)."""
    return value.id if isinstance(value, Model) else value


def _signature(values):
    return tuple(sorted((name, value.__class__) for name, value in values.items()))


def _derived_from_stand_in(param, stand_ins):
    """A parameter computed from a stand-in (``uid + 1``, ``seen - a day``): it would be frozen."""
    if isinstance(param, bool):
        return False
    if isinstance(param, int):
        return abs(param - _STAND_IN_BASE) < 1_000_000
    if isinstance(param, datetime.datetime):
        return param.year == 1901
    if isinstance(param, str):
        return "\x00stand-in" in param
    return False


def _prepare(key, build, values, origin=None):
    # The build function (``origin``: the caller's, under a wrapper) is part of the key: two
    # call sites that chose the same name never share SQL.
    cache_key = (key, (origin or build).__code__, type(database.obj))
    entry = _PREPARED.get(cache_key)
    if entry is None:
        names = sorted(values)
        stand_ins = {name: _stand_in(n, values[name]) for n, name in enumerate(names)}
        query = build(**stand_ins)
        sql, params = query.sql()
        by_value = {(type(_bound(v)), _bound(v)): name for name, v in stand_ins.items()}
        slots = [by_value.get((type(p), p)) for p in params]
        missing = set(names) - set(slots)
        if missing:
            raise ValueError(f"prepared query {key!r} does not use {sorted(missing)}")
        derived = [p for name, p in zip(slots, params, strict=True) if name is None and _derived_from_stand_in(p, stand_ins)]
        if derived:
            raise ValueError(f"prepared query {key!r} computes parameters from its values: {derived!r}; "
                             "pass them as values of their own")
        entry = _PREPARED[cache_key] = (query, sql, list(zip(slots, params, strict=True)), _signature(values))
    query, sql, slots, signature = entry
    if _signature(values) != signature:  # a None, a flag, a missing or extra value: another shape
        raise TypeError(f"prepared query {key!r} was built for {signature}, called with {_signature(values)}")
    return query, sql, [_bound(values[name]) if name is not None else p for name, p in slots]


def prepared(key, build, **values):
    """The rows (models, as the query would give) of ``build(**values)``, whose SQL peewee builds
    only once per ``key`` and database kind: later calls bind ``values`` to that SQL.

    For the queries every page runs (home's feed, notices): building SQL from peewee's
    expressions costs more than running it (about 0.3-0.6 ms a query here). ``build`` gets
    stand-ins of the values' types (int, str, datetime, a model row such as the viewer, whose
    id is what goes into the SQL) and must not branch on them; whatever
    changes the query's shape (a None, a flag, a LIMIT) belongs in ``key``. A value must go
    into the SQL as given (not ``value + 1``: pass that as a value of its own), and every call
    must give the same names and types (both are checked)."""
    return _prepared(key, build, values)


def _prepared(key, build, values, origin=None):
    query, sql, params = _prepare(key, build, values, origin)
    return query._get_cursor_wrapper(database.execute_sql(sql, params))


def prepared_first(key, build, **values):
    """The first row of ``build(**values)`` (built with LIMIT 1), or None (see ``prepared``)."""
    return next(iter(_prepared(("first", key), lambda **stand_ins: build(**stand_ins).limit(1), values,
                               origin=build)), None)


def prepared_count(key, build, **values):
    """COUNT(*) of the rows of ``build(**values)``, its SQL built once (see ``prepared``)."""
    from peewee import SQL, Select, fn

    def count(**stand_ins):
        inner = build(**stand_ins).order_by().alias("_wrapped")
        return Select([inner], [fn.COUNT(SQL("1"))]).bind(database)
    _query, sql, params = _prepare(("count", key), count, values, origin=build)
    return database.execute_sql(sql, params).fetchone()[0]


class WriteTracking:
    """Every statement that changes rows moves a page generation (portal/pagecache.py).

    Hooked under peewee, so no write path can forget it: the bump runs on the same
    connection, inside the write's transaction just before it commits (committed or rolled
    back with it; the site's row is locked only for that moment, so on PostgreSQL it never
    waits inside a transaction that holds other rows), and right after the write when there
    is no transaction. Readers read the generations before anything else, so a page is never
    kept under a generation older than its data.
    """

    def execute_sql(self, sql, params=None):
        cursor = super().execute_sql(sql, params)
        if (sql[:6].upper() in _WRITES and cursor.rowcount != 0 and _tracking.get()
                and GENERATION_TABLE not in sql[:40]):
            scope = _write_scope.get()
            if scope is not None:
                scope.dirty = True
            elif self.in_transaction():
                self._state.site_written = True
            else:
                self.bump_generations((0,))
        return cursor

    def commit(self):
        if getattr(self._state, "site_written", False):
            self._state.site_written = False
            self.bump_generations((0,))
        return super().commit()

    def rollback(self):
        self._state.site_written = False
        return super().rollback()

    def bump_generations(self, scopes):
        """Move the counters of ``scopes`` (0: the site, else user ids) by one, locking
        their rows in one order (no deadlock between two members' bumps)."""
        scopes = sorted(scopes)
        values = ", ".join(f"({self.param}, 1)" for _ in scopes)
        super().execute_sql(
            f'INSERT INTO "{GENERATION_TABLE}" ("scope", "n") VALUES {values} '
            f'ON CONFLICT ("scope") DO UPDATE SET "n" = "{GENERATION_TABLE}"."n" + 1', scopes)


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
