"""Write tracking: every statement that changes rows moves a page generation (web/pagecache.py)."""
import contextvars
from contextlib import contextmanager

from . import database

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
