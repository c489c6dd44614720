"""Whole-page cache of the busiest pages (home, diary entry, profile...), safe by construction.

A logged-in page costs ~10 ms of Python (building SQL, Jinja); waitress alone costs ~0.3 ms.
Members mostly reload the same few pages, so the finished response (already encoded and
compressed) is kept and sent again while nothing it shows can have changed:

- **Generations.** Every statement that changes rows moves a counter in ``page_generation``
  (portal/db.py ``WriteTracking``, under peewee: no write path can forget it): the site's
  (scope 0), or, for writes wrapped in ``db.private_writes(ids)``, only those members' (a
  footprint, a seen marker). The user query of each request reads the site's and the
  member's counters with the user row, before the page reads anything else; the page is
  kept under those values and served only while both are unchanged. A write that lands
  while a page renders moves a counter the page was not kept under, so it is never served.
- **Same request.** The key is every request header a page can depend on (``HEADERS``):
  path and query, host, scheme, the whole Cookie header (a PC session is its signed cookie:
  another login, language or flash message is another key), User-Agent (device, carrier,
  encoding), Accept (XHTML), Accept-Language, Accept-Encoding and the client's address
  (session protection). A page that reads another header must add it there.
- **Same session.** A handset's server session (portal/sessions.py) is a row: an entry
  keeps the row's ``updated_at`` and is served only while the row is unchanged and not due
  for its write-back; logging out or any change to the session moves it.
- **Only clean responses.** A view opts in with ``@cacheable``; only a 200 to a GET whose
  session was not changed and that sets no cookie but a handset's unchanged token is kept.
- **Age.** An entry lives at most ``PAGE_CACHE_SECONDS`` (30): times shown as "today" or
  CSRF tokens never go stale. Entries live in the process, least recently used evicted
  beyond ``PAGE_CACHE_BYTES``; several server processes each keep their own and share the
  counters through the database.

A hit costs one indexed statement (the counters, and the session row for handsets) and no
Flask at all. ``benchmarks/throughput.py`` measures it; ``tests/test_pagecache.py`` shows
each rule above.
"""
import threading
import time
from collections import OrderedDict

from flask import current_app, g, request, session
from flask_login import current_user

from . import sessions
from ..db import database, utcnow
from ..models.generations import SITE, PageGeneration
from ..models.sessions import UrlSession

ENVIRON_KEY = "portal.page_cache.key"  # set by the middleware: this request may be kept
ENVIRON_INFO = "portal.page_cache.info"  # set by the app: keep this response, and how
# Everything in a request a page may depend on: the URL (and what links are built from),
# the session, the device and what it accepts (XHTML, gzip, languages), and the address
# Flask-Login's session protection compares (X-Forwarded-For first, as it does).
HEADERS = ("PATH_INFO", "QUERY_STRING", "SCRIPT_NAME", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT",
           "wsgi.url_scheme", "HTTP_COOKIE", "HTTP_USER_AGENT", "HTTP_ACCEPT", "HTTP_ACCEPT_LANGUAGE",
           "HTTP_ACCEPT_ENCODING", "REMOTE_ADDR", "HTTP_X_FORWARDED_FOR")


def cacheable(view):
    """Mark a view whose GET responses may be kept (see the module's rules). Its GET must
    write nothing but through ``db.private_writes`` (or what it writes moves the site's
    generation and the page is never served from the cache, which is safe but useless)."""
    view.page_cache = True
    return view


def generation_columns(user_id_column):
    """The site's and a member's counters as columns of the user query."""
    return (PageGeneration.column(SITE).alias("site_generation"),
            PageGeneration.column(user_id_column).alias("user_generation"))


class Entry:
    """A kept response and what must still hold to send it again."""

    __slots__ = ("status", "headers", "body", "user_id", "generations", "token", "saved_at",
                 "expires", "size")

    def __init__(self, key, status, headers, body, info, expires):
        self.status, self.headers, self.body = status, headers, body
        self.user_id, self.generations, self.token, self.saved_at = info
        self.expires = expires
        # What the entry holds, its key included, plus the objects' own overhead (measured
        # with tracemalloc: ~60 bytes a string, ~500 for the entry, tuples and dict slot).
        self.size = (len(body) + sum(len(part) + 60 for part in key)
                     + sum(len(k) + len(v) + 120 for k, v in headers) + 500)


class PageCache:
    """WSGI middleware in front of Flask: sends kept pages, keeps the ones the app marks."""

    def __init__(self, wsgi_app, seconds, max_bytes):
        self.app = wsgi_app
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.entries = OrderedDict()
        self.bytes = 0
        self.lock = threading.Lock()
        self.hits = self.misses = self.stores = 0
        self._check_sql = {}

    def __call__(self, environ, start_response):
        # Only GETs without a body: a handset's session token may come in a form body
        # (sessions.py), which the key does not hold.
        if (environ.get("REQUEST_METHOD") != "GET" or environ.get("CONTENT_LENGTH", "") not in ("", "0")
                or "HTTP_TRANSFER_ENCODING" in environ):
            return self.app(environ, start_response)
        key = tuple(environ.get(name, "") for name in HEADERS)
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
        if entry is not None:
            if entry.expires > time.monotonic() and self._still_valid(entry):
                self.hits += 1
                start_response(entry.status, list(entry.headers))
                return [entry.body]
            self._forget(key, entry)
        self.misses += 1
        environ[ENVIRON_KEY] = key
        captured = []

        def capture(status, headers, exc_info=None):
            captured[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        info = environ.get(ENVIRON_INFO)
        if info is None or not captured:
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = captured
        if status.startswith("200 ") and self._keepable(headers, info):
            self._store(key, Entry(key, status, tuple(headers), body, info, time.monotonic() + self.seconds))
        return [body]

    @staticmethod
    def _keepable(headers, info):
        """No cookie is set, but a handset's unchanged session token (the same every time)."""
        token = info[2]
        for name, value in headers:
            if name.lower() == "set-cookie":
                if token is None or not value.startswith(f"{sessions.COOKIE}={token};"):
                    return False
        return True

    def _store(self, key, entry):
        if entry.size > self.max_bytes // 4:
            return
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.bytes -= old.size
            self.entries[key] = entry
            self.bytes += entry.size
            self.stores += 1
            while self.bytes > self.max_bytes and self.entries:
                _, evicted = self.entries.popitem(last=False)
                self.bytes -= evicted.size

    def _forget(self, key, entry):
        with self.lock:
            if self.entries.get(key) is entry:
                del self.entries[key]
                self.bytes -= entry.size

    def _still_valid(self, entry):
        """One statement: the counters the entry was kept under, and the session row."""
        db = database.obj
        sql = self._check_sql.get(type(db))
        if sql is None:
            p = db.param
            sql = self._check_sql[type(db)] = (
                f'SELECT (SELECT "n" FROM "page_generation" WHERE "scope" = {p}), '
                f'(SELECT "n" FROM "page_generation" WHERE "scope" = {p}), '
                f'(SELECT "updated_at" FROM "url_session" WHERE "token" = {p})')
        with database.connection_context():
            site, user, saved_at = database.execute_sql(
                sql, (SITE, entry.user_id, entry.token or "")).fetchone()
        if (site, user) != entry.generations:
            return False
        if entry.token is not None:
            saved_at = UrlSession.updated_at.python_value(saved_at)
            if saved_at != entry.saved_at or saved_at <= utcnow() - sessions.REFRESH:
                return False
        return True


def init_app(app):
    """Put the cache in front of the app (unless PAGE_CACHE_SECONDS is 0) and mark what to keep."""
    if not app.config["PAGE_CACHE_SECONDS"] or not app.config["PAGE_CACHE_BYTES"]:
        app.page_cache = None
        return
    app.page_cache = PageCache(app.wsgi_app, app.config["PAGE_CACHE_SECONDS"], app.config["PAGE_CACHE_BYTES"])
    app.wsgi_app = app.page_cache

    @app.before_request
    def _read_generations():
        """Before the page reads anything: the counters it will be kept under."""
        if ENVIRON_KEY not in request.environ or not _is_cacheable():
            return
        if current_user.is_authenticated:  # the user query read them (see _init_login)
            g.page_cache = (current_user.id, g.page_generations)
        else:  # the request's connection is open (db.init_app)
            site = PageGeneration.column(SITE).scalar()
            g.page_cache = (SITE, (site, site))

    @app.after_request
    def _mark(response):
        if "page_cache" in g and response.status_code == 200 and not response.is_streamed:
            info = _session_info()
            if info is not None:
                user_id, generations = g.page_cache
                request.environ[ENVIRON_INFO] = (user_id, generations, *info)
        return response


def _is_cacheable():
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "page_cache", False)


def _session_info():
    """(handset token, row time) for an unchanged session, or None when this response
    changes the session (its cookie or its row) and must not be kept."""
    if session.modified:
        return None
    if isinstance(session, sessions.ServerSession):
        if session.new or session.rotated_from or session.saved_at is None:
            return None
        if session.saved_at <= utcnow() - sessions.REFRESH:  # the row is written back on this response
            return None
        return session.token, session.saved_at
    return None, None
