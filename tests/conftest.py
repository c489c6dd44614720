"""Fixtures: an app with a real database per test (SQLite file, or a fresh
PostgreSQL schema when PORTAL_TEST_DATABASE_URL is set), clients and users."""
import os
import re
import secrets
from urllib.parse import quote, urlencode

import pytest

import e2e_server

from portal import create_app, db
from portal.device import detect
from portal.models import User

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
PASSWORD = "correct-horse-9"

PC_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36")
DOCOMO_UA = "DoCoMo/2.0 SH903i(c100;TB;W24H16)"
DOCOMO2_UA = "DoCoMo/2.0 P07A3(c500;TB;W24H15)"
AU_UA = "KDDI-CA32 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0"
SOFTBANK_UA = ("SoftBank/1.0/910T/TJ001/SN000000000000000 Browser/NetFront/3.3 "
               "Profile/MIDP-2.0 Configuration/CLDC-1.1")
W3M_UA = "w3m/0.5.3+git20230121"
UAS = {"pc": PC_UA, "mobile": SOFTBANK_UA}


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


def _client(app, user_agent, **headers):
    test_client = app.test_client()
    test_client.environ_base["HTTP_USER_AGENT"] = user_agent
    for name, value in headers.items():
        test_client.environ_base["HTTP_" + name.upper().replace("-", "_")] = value
    return test_client


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


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def text_of(response):
    """The body of a response decoded with the charset it declares."""
    charset = response.mimetype_params.get("charset", "utf-8")
    return response.data.decode("cp932" if charset.lower() == "shift_jis" else charset)


def csrf_token(client, path=None):
    """Fetch a page with a form and return the CSRF token of the client's session."""
    for candidate in ([path] if path else []) + ["/", "/login", "/register"]:
        html = text_of(client.get(candidate))
        match = _CSRF.search(html)
        if match:
            return match.group(1)
    raise AssertionError("no CSRF token found")


def post(client, path, data=None, token_from=None, **kwargs):
    """POST a form with a valid CSRF token, encoded as the client's handset would (cp932 or UTF-8)."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client, token_from))
    device = detect(client.environ_base.get("HTTP_USER_AGENT", ""))
    if device.codec == "cp932":
        body = urlencode(data, encoding="cp932")
        return client.post(path, data=body, content_type="application/x-www-form-urlencoded", **kwargs)
    return client.post(path, data=data, **kwargs)


def run_cli(app_config, *args, input=None):
    """Run the ``portal`` command on the test's data dir and database; returns click's Result."""
    from click.testing import CliRunner

    from portal import cli

    env = {"PORTAL_DATA_DIR": app_config["DATA_DIR"], "DATABASE_URL": app_config["DATABASE_URL"],
           "PORTAL_SECRET_KEY": "cli-test"}
    return CliRunner().invoke(cli.main, list(args), env=env, input=input, catch_exceptions=False)


def login(client, login_id="alice", password=PASSWORD, **extra):
    """Log ``client`` in through the login form; returns the response."""
    return post(client, "/login", {"login_id": login_id, "password": password, **extra},
                token_from="/login")


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

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--no-proxy-server",  # a proxy from the environment would see the requests first
    # Nothing but the test server resolves: a stray request fails instead of leaving the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def unavailable(what):
    """Skip with a reason, or fail when CI is set: e2e tests must not vanish in CI."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{what}; the CI environment variable is set, so end-to-end tests "
                    "must run here instead of being skipped", pytrace=False)
    pytest.skip(what)


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


