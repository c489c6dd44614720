"""What tests share besides fixtures: User-Agents, forms with CSRF, the CLI, skipping rules."""
import os
import re
from urllib.parse import urlencode

import pytest

from portal.web.device import detect

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


def _client(app, user_agent, **headers):
    """A test client of ``app`` sending ``user_agent`` (and other headers) with every request."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_USER_AGENT"] = user_agent
    for name, value in headers.items():
        test_client.environ_base["HTTP_" + name.upper().replace("-", "_")] = value
    return test_client


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
