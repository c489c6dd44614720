"""Fixtures: an app with a real database per test (SQLite file, or a fresh
PostgreSQL schema when PORTAL_TEST_DATABASE_URL is set), clients and users."""
import os
import secrets
from urllib.parse import quote

import pytest

import e2e_server
from helpers import CHROMIUM, CHROMIUM_ARGS, PASSWORD, PC_UA, PG_URL, _client, unavailable

from portal import create_app, db
from portal.models import User


@pytest.fixture
def database_url(tmp_path):
    """A fresh database for one test: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if not PG_URL:
        yield "sqlite:///" + str(tmp_path / "data" / "portal.db")
        return
    import psycopg

    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options={quote('-c search_path=' + schema)}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def app_config(tmp_path, database_url):
    """The config dict given to create_app; tests may change it before ``app`` is built."""
    return {
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-" + secrets.token_hex(8),
        "TESTING": True,
        "REGISTRATION": "open",
        "PASSWORD_HASH_METHOD": "scrypt:4096:8:1",  # cheaper than production's N=2**15
    }


@pytest.fixture
def app(app_config):
    """A portal app on a fresh, fully migrated database."""
    application = create_app(app_config)
    db.upgrade()
    yield application
    if not db.database.is_closed():
        db.database.close()
    close_all = getattr(db.database.obj, "close_all", None)  # the pool of SQLite connections
    if close_all:
        close_all()


@pytest.fixture
def client(app):
    """A test client that looks like a desktop browser."""
    return _client(app, PC_UA)


@pytest.fixture
def make_client(app):
    """Factory: a test client with a given User-Agent."""

    def make(user_agent=PC_UA, **headers):
        return _client(app, user_agent, **headers)

    return make


@pytest.fixture
def make_user(app):
    """Factory: create a user directly in the database."""

    def make(login_id="alice", password=PASSWORD, nickname=None, **fields):
        with app.app_context(), db.database.connection_context():
            user = User(login_id=login_id, nickname=nickname or login_id.title(), **fields)
            user.set_password(password)
            user.save()
        return user

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice", nickname="アリス")


@pytest.fixture
def admin(make_user):
    return make_user("root_admin", nickname="Admin", is_admin=True)


# --------------------------------------------------------------------------- real servers

@pytest.fixture
def waitress_server(app):
    """The test's ``app`` served by waitress on 127.0.0.1:<ephemeral port> in a background
    thread; yields the ``LiveServer`` (``.url``, ``.recorder``). Fails the test if any
    request ended in a 5xx or came from anywhere but 127.0.0.1."""
    server = e2e_server.LiveServer(app, threads=4).start()
    try:
        server.wait_until_up(timeout=10)
        yield server
    finally:
        server.stop(timeout=10)
    failures = server.recorder.failures()
    assert not failures, "server errors:\n" + "\n".join(
        f"{x}\n{x.error or x.text[:2000]}" for x in failures)
    stray = server.recorder.stray()
    assert not stray, f"requests from outside {e2e_server.HOST} or for another host: {stray}"



# --------------------------------------------------------------------------- Chromium

@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the whole run (from Debian, never downloaded): Playwright's
    sync API allows one instance per process, so every test module shares it."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the Python package playwright is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"{CHROMIUM} is not installed (Debian package 'chromium')")
    manager = sync_playwright().start()
    try:
        browser = manager.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                          timeout=30_000)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        manager.stop()


