"""End-to-end tests: the portal under a real waitress server, driven by real clients.

Mobile (XHTML MP set): lynx, driven keystroke by keystroke with ``-cmd_script``,
goes through the whole account life (register, log out, log in, change the
password, delete the account); w3m dumps pages in both languages and in
Shift_JIS. Cookie-less handsets: lynx and w3m with cookies refused keep their
session through the ``?sid=`` token in the URLs alone (log in, write and read a
diary entry, read a message, switch the language), and lynx posing as a docomo
handset in a Shift_JIS terminal writes an entry whose ～ ① ｱ arrive intact.
PC (HTML5 set): headless Chromium through Playwright does the same life,
checks that pages fit 320 px and that the console stays clean.

Every client talks to 127.0.0.1 only: the text browsers run with the test
server as their proxy for every other host (a stray request lands there and is
flagged, see ``Recorder.stray``), Chromium resolves no other host and aborts
any request that is not for the test server, and the server checks the address
and Host header of every request. Every wait is bounded: subprocess timeouts,
Playwright timeouts, server start and stop deadlines.

Diagnostics of a failed lynx run stay in the test's tmp_path: the keystroke
script (keys.txt), the terminal output (screen.log) and the saved pages.
"""
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from helpers import DOCOMO_UA, PASSWORD, PC_UA, W3M_UA, unavailable
from e2e_server import HOST, LiveServer
from portal import db
from portal.ops.demo import DEMO_PASSWORD
from portal.models import DiaryEntry, Message, UrlSession, User

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "battery-staple-42"
CLIENT_TIMEOUT = 30  # seconds for one run of a text browser
MOBILE_BUDGET = 5120  # bytes of markup a mobile page may have (DESIGN.md)


# --------------------------------------------------------------------------- helpers

def require_binary(name, package):
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (Debian package {package!r})")
    return path


def client_env(home, server):
    """A small environment for the text browsers: HOME in tmp, UTF-8, and the test server
    as proxy for every host but 127.0.0.1, so a stray request is caught, not sent."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        **server.proxy_env(),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TERM": "vt100",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "LINES": "24",
        "COLUMNS": "80",
    }


def find_user(login_id):
    """The user row as stored now, or None."""
    with db.database.connection_context():
        return User.get_or_none(User.login_id == login_id)


def assert_no_traceback(text, where):
    assert "Traceback" not in text and "Internal Server Error" not in text, \
        f"{where} shows an error:\n{text}"


def describe(server):
    return "\n".join(f"  {x}  [{x.user_agent[:30]}]" for x in server.recorder.snapshot())


@dataclass
class Dumped:
    """A page as a text browser dumped it with its numbered link list (lynx ``-dump``
    without ``-nolist``, w3m ``-o display_link_number=1``): the text, and the URL of
    each link number."""

    text: str
    links: dict

    def link(self, label, path=None):
        """The URL of the one link shown as ``[N]label`` (and going to ``path``, if given),
        as a reader picks a link by its words."""
        numbers = re.findall(r"\[(\d+)\]" + re.escape(label), self.text)
        urls = [self.links[int(n)] for n in numbers if int(n) in self.links]
        if path is not None:
            urls = [url for url in urls if urlsplit(url).path == path]
        assert len(urls) == 1, f"{len(urls)} links {label!r} (to {path}):\n{self.text}"
        return urls[0]


def dumped(output):
    """Split a dump into its text and its link list (the part after 'References')."""
    text, _, references = output.rpartition("\nReferences")
    assert text, f"no link list in the dump:\n{output}"
    links = {int(n): url for n, url in re.findall(
        r"^\s*\[?(\d+)[.\]]\s+(\S+://\S+)\s*$", references, re.MULTILINE)}
    return Dumped(text, links)


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append((attrs.get("action", ""), {}))
        elif tag == "input" and attrs.get("type") == "hidden" and self.forms:
            self.forms[-1][1][attrs.get("name")] = attrs.get("value") or ""


def form_of(html, path):
    """(action, hidden fields) of the page's form whose action goes to ``path``."""
    reader = _FormReader()
    reader.feed(html)
    found = [(action, fields) for action, fields in reader.forms if urlsplit(action).path == path]
    assert len(found) == 1, f"{len(found)} forms posting to {path}:\n{html}"
    return found[0]


def sid_of(url):
    """The handset session token in a URL (None when it has none)."""
    return parse_qs(urlsplit(url).query).get("sid", [None])[0]


def assert_session_in_urls_only(exchanges):
    """A cookie-less client's requests: none carried a Cookie header although the server
    offered one; every request after the first carried ``sid`` in its URL, and every
    redirect sent it on in an absolute Location. Returns the tokens in order of use."""
    assert exchanges, "no requests from the client"
    assert [str(x) for x in exchanges if x.cookie] == [], "the client sent cookies"
    assert any(name.lower() == "set-cookie" and value.startswith("msid=")
               for x in exchanges for name, value in x.headers), \
        "the server never offered its cookie: the refusal was not tested"
    assert exchanges[0].sid is None, exchanges[0]
    without = [str(x) for x in exchanges[1:] if not x.sid]
    assert not without, f"requests without sid: {without}"
    for x in exchanges:
        if 300 <= x.status < 400:
            assert x.location.startswith(f"http://{HOST}:") and sid_of(x.location), x.location
    tokens = []
    for x in exchanges[1:]:
        if x.sid not in tokens:
            tokens.append(x.sid)
    return tokens


def session_tokens():
    """Tokens of the server-side sessions now stored."""
    with db.database.connection_context():
        return {row.token for row in UrlSession.select(UrlSession.token)}


@pytest.fixture
def demo_users(app):
    """``portal.ops.demo.seed(3)``: demo1..demo3 (password DEMO_PASSWORD), friends, diaries,
    messages. Returns their login IDs and nicknames."""
    from portal.ops.demo import seed

    with app.app_context(), db.database.connection_context():
        return {user.login_id: user.nickname for user in seed(3)}


# --------------------------------------------------------------------------- the server

@pytest.fixture
def live_server(waitress_server):
    """The base URL of the test's app served by waitress, e.g. ``http://127.0.0.1:40123``."""
    return waitress_server.url


def test_live_server_serves_and_stops(app):
    """The fixture's server answers on 127.0.0.1 and lets go of its port when stopped."""
    import http.client
    import socket

    server = LiveServer(app).start()
    try:
        server.wait_until_up()
        assert urlsplit(server.url).hostname == HOST and server.port > 0
        conn = http.client.HTTPConnection(HOST, server.port, timeout=5)
        try:
            conn.request("GET", "/", headers={"User-Agent": "w3m/0.5.3"})
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        assert response.status == 200 and body.startswith(b"<?xml")
    finally:
        server.stop()
    assert not server.thread.is_alive()
    with socket.socket() as probe:
        probe.settimeout(2)
        assert probe.connect_ex((HOST, server.port)) != 0, "port still accepting after stop()"


# --------------------------------------------------------------------------- lynx

class LynxScript:
    """A ``-cmd_script`` file: one keystroke per line (see ``man lynx``)."""

    def __init__(self, outdir, encoding="utf-8"):
        self.outdir = outdir
        self.encoding = encoding  # of the terminal lynx runs in: what a key sends
        self.lines = ["# written by tests/test_e2e.py"]
        self.saved = {}

    def key(self, name, times=1):
        self.lines.extend([f"key {name}"] * times)
        return self

    def type(self, text):
        """Type text (into the current field or a prompt). Space and non-ASCII go in as
        hexadecimal bytes in the terminal's encoding (UTF-8 in a C.UTF-8 locale; cp932
        in a Shift_JIS terminal, see ``Lynx``)."""
        for ch in text:
            if ch.isascii() and ch.isprintable() and ch != " ":
                self.key(ch)
            else:
                assert ch == " " or not ch.isascii(), f"cannot script {ch!r}"
                for byte in ch.encode(self.encoding):
                    self.key(f"0x{byte:02x}")
        return self

    def find(self, text):
        """Search the page ('/', case-insensitive); a link or button holding the text
        becomes the selected one. Only when no text field is selected: there '/' is typed.
        Used for links and buttons, whose place on a page changes as areas are added."""
        return self.key("/").type(text).enter()

    def down(self, times=1):
        """Move to the next link or form field."""
        return self.key("Down Arrow", times)

    def enter(self):
        """Follow a link, toggle a checkbox or press a submit button."""
        return self.key("^J")

    def goto(self, url):
        """The 'g' command: open a URL."""
        return self.key("g").type(url).enter()

    def save(self, name):
        """Print the rendered page to a text file ('p', 'Save to a local file').

        'p' is a command only when no text field is selected. Afterwards lynx is back
        on the page with its first link or field selected."""
        path = self.outdir / f"{len(self.saved):02d}-{name}.txt"
        self.saved[name] = path
        return self.key("p").enter().key("^U").type(str(path)).enter()

    def quit(self):
        """Quit without asking; lynx then writes its cookie file."""
        return self.key("Q")


class Lynx:
    """lynx with its own HOME, config and cookie jar under tmp_path.

    ``cookies=False``: lynx ignores every Set-Cookie (``SET_COOKIES:FALSE``), so it
    neither sends nor stores one, like a handset without cookies. ``user_agent``: what it
    says it is. ``charset="cp932"``: a Shift_JIS terminal (display character set
    shift_jis, C locale): saved pages come out in cp932 and typed keys are cp932 bytes,
    which lynx sends unchanged to a Shift_JIS page. ``language``: its Accept-Language.
    """

    def __init__(self, binary, workdir, server, cookies=True, user_agent=None, charset="utf-8",
                 language="en"):
        self.binary = binary
        self.server = server
        self.base_url = server.url
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.env = client_env(workdir / "home", server)
        self.accepts_cookies = cookies
        self.user_agent = user_agent
        self.encoding = charset
        self.cookies = workdir / "cookies.txt"
        self.cfg = workdir / "lynx.cfg"
        system_cfg = Path("/etc/lynx/lynx.cfg")
        settings = [f"INCLUDE:{system_cfg}"] if system_cfg.exists() else []
        if cookies:
            # Save cookies with an expiry date (the remember-me cookie) when lynx quits.
            settings += ["PERSISTENT_COOKIES:TRUE", "ACCEPT_ALL_COOKIES:TRUE"]
        else:
            settings += ["SET_COOKIES:FALSE", "ACCEPT_ALL_COOKIES:FALSE", "PERSISTENT_COOKIES:FALSE"]
        if charset == "cp932":
            settings += ["LOCALE_CHARSET:FALSE", "CHARACTER_SET:shift_jis"]
            self.env.update(LANG="C", LC_ALL="C")
        else:
            assert charset == "utf-8", charset
        settings.append(f"PREFERRED_LANGUAGE:{language}")
        self.cfg.write_text("\n".join(settings) + "\n")
        self.runs = 0

    def args(self, cookie_file=None):
        cookie_file = cookie_file or self.cookies
        return ([self.binary, f"-cfg={self.cfg}"]
                + (["-accept_all_cookies"] if self.accepts_cookies else [])
                + [f"-cookie_file={cookie_file}", f"-cookie_save_file={cookie_file}",
                   "-nopause", "-noreferer", "-connect_timeout=5", "-read_timeout=15"]
                + ([f"-useragent={self.user_agent}"] if self.user_agent else []))

    def script(self):
        self.runs += 1
        outdir = self.dir / f"run{self.runs}"
        outdir.mkdir()
        return LynxScript(outdir, self.encoding)

    def run(self, script, start_path):
        """Run lynx interactively from ``start_path`` with the keystrokes of ``script``;
        return {name: rendered page text} for every ``save``."""
        script_file = script.outdir / "keys.txt"
        script_file.write_text("\n".join(script.lines) + "\n")
        screen = script.outdir / "screen.log"
        with screen.open("wb") as out:
            result = subprocess.run(
                self.args() + [f"-cmd_script={script_file}", self.base_url + start_path],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=self.env, cwd=self.dir, timeout=CLIENT_TIMEOUT, check=False)
        assert result.returncode == 0, f"lynx exited {result.returncode}; screen in {screen}"
        pages = {}
        for name, path in script.saved.items():
            assert path.exists(), (f"lynx did not save page {name!r} (a keystroke went astray?); "
                                   f"script {script_file}, screen {screen}, requests:\n"
                                   + describe(self.server))
            pages[name] = path.read_text(encoding=self.encoding)
            assert_no_traceback(pages[name], f"lynx page {name}")
        return pages

    def dump(self, path, cookie_file=None, references=False, post=None, source=False):
        """``lynx -dump``: the rendered page, with the given (or the usual) cookie jar;
        ``references``: with the numbered link list; ``post``: a form body (one line)
        sent with ``-post_data``; ``source``: the markup (``-source``) instead."""
        url = path if "://" in path else self.base_url + path
        mode = ["-source"] if source else ["-dump"] + ([] if references else ["-nolist"])
        if post is not None:
            assert "\n" not in post, "lynx reads -post_data up to a line of ---"
            mode.append("-post_data")
        result = subprocess.run(
            self.args(cookie_file) + mode + [url],
            input=None if post is None else f"{post}\n---\n".encode("ascii"),
            stdin=subprocess.DEVNULL if post is None else None, capture_output=True,
            env=self.env, cwd=self.dir, timeout=CLIENT_TIMEOUT, check=False)
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        text = result.stdout.decode(self.encoding)
        assert_no_traceback(text, f"lynx -dump {path}")
        return text

    def cookie_names(self, cookie_file=None):
        """Names of the cookies lynx saved (Netscape cookie file format)."""
        path = cookie_file or self.cookies
        if not path.exists():
            return set()
        return {line.split("\t")[5] for line in path.read_text().splitlines()
                if line and not line.startswith("#") and line.count("\t") >= 6}


@pytest.fixture
def make_lynx(waitress_server, tmp_path):
    """Factory: a ``Lynx`` in tmp_path/<name> with the given options (see ``Lynx``)."""
    binary = require_binary("lynx", "lynx")

    def make(name="lynx", **options):
        return Lynx(binary, tmp_path / name, waitress_server, **options)

    return make


@pytest.fixture
def lynx(make_lynx):
    return make_lynx()


def test_lynx_account_lifecycle(waitress_server, lynx):
    """A text-browser user goes through the whole account life, keystroke by keystroke:
    register through the real form (a Japanese nickname typed as UTF-8), land on home
    logged in, log out, log in again with "keep me logged in", change the password (the
    old remember-me cookie stops working, the old password too), delete the account."""
    base = waitress_server.url
    login_id, nickname, email = "lynx_user", "リンクス", "lynx@example.com"

    # Links and buttons are reached by searching their text; form fields by their order
    # (Down Arrow moves to the next field; Enter ticks a checkbox or presses a button).
    # 1. Home -> Register -> fill the form -> home, logged in; log out; log in (remember me).
    s = lynx.script()
    s.find("Register").enter()
    s.type(login_id).down().type(nickname).down().type(PASSWORD).down().type(PASSWORD)
    s.down().type(email).down().down().enter()  # skip the invite code, press Register
    s.save("home-registered")
    s.find("Log out").enter()
    s.save("home-logged-out")
    s.find("Log in").enter()
    s.type(login_id).down().type(PASSWORD).down().enter().down().enter()  # tick remember, submit
    s.save("home-logged-in")
    s.quit()
    pages = lynx.run(s, "/")

    assert f"Hello, {nickname}" in pages["home-registered"], pages["home-registered"]
    assert "Welcome" in pages["home-registered"]
    assert "You have logged out." in pages["home-logged-out"]
    assert "Hello," not in pages["home-logged-out"] and "Register" in pages["home-logged-out"]
    assert f"Hello, {nickname}" in pages["home-logged-in"], pages["home-logged-in"]
    user = find_user(login_id)
    assert user is not None, describe(waitress_server)
    assert (user.nickname, user.email) == (nickname, email)
    assert user.check_password(PASSWORD) and user.last_login_at is not None
    assert "remember_token" in lynx.cookie_names(), "remember-me cookie was not kept"

    # What lynx was sent: the mobile set, within the byte budget.
    from_lynx = [x for x in waitress_server.recorder.snapshot() if x.user_agent.startswith("Lynx")]
    assert [(x.method, x.path, x.status) for x in from_lynx if x.method == "POST"] == [
        ("POST", "/register", 302), ("POST", "/logout", 302), ("POST", "/login", 302)]
    pages_sent = [x for x in from_lynx if not 300 <= x.status < 400]
    assert pages_sent
    for exchange in pages_sent:
        assert exchange.body.startswith(b"<?xml"), f"{exchange} is not the mobile set"
        assert len(exchange.body) <= MOBILE_BUDGET, f"{exchange}: {len(exchange.body)} bytes"

    # 2. A new lynx process is still logged in through the remember-me cookie alone.
    assert f"Hello, {nickname}" in lynx.dump("/")
    stale_jar = lynx.dir / "cookies-before-password-change.txt"
    shutil.copy(lynx.cookies, stale_jar)
    assert "remember_token" in lynx.cookie_names(stale_jar)

    # 3. Change the password; log out; the old password fails, the new one works.
    s = lynx.script()
    s.type(PASSWORD).down().type(NEW_PASSWORD).down().type(NEW_PASSWORD).down().enter()
    s.save("settings-password-changed")
    s.goto(base + "/").find("Log out").enter()
    s.find("Log in").enter()
    s.type(login_id).down().type(PASSWORD).down().down().enter()
    s.down(3).save("login-old-password")  # off the text fields, onto the button
    # The form comes back with the login ID kept: correct the password only.
    s.down().type(NEW_PASSWORD).down().down().enter()
    s.save("home-new-password")
    s.goto(base + "/settings/logins").save("logins")
    s.quit()
    pages = lynx.run(s, "/settings/password")  # logged in by the remember-me cookie

    assert "Your password was changed." in pages["settings-password-changed"], \
        pages["settings-password-changed"]
    assert "The login ID or password is wrong." in pages["login-old-password"]
    assert f"Hello, {nickname}" in pages["home-new-password"]
    # The one login left (the password change and the logout ended the others) is this lynx.
    logins = pages["logins"]
    assert "Where you are logged in" in logins and "Lynx(This device)" in logins, logins
    assert logins.count("Last used") == 1, logins
    user = find_user(login_id)
    assert user.check_password(NEW_PASSWORD) and not user.check_password(PASSWORD)
    # The remember-me cookie issued before the change no longer logs anyone in.
    stale_home = lynx.dump("/", cookie_file=stale_jar)
    assert "Hello," not in stale_home and "Log in" in stale_home, stale_home
    assert "remember_token" not in lynx.cookie_names(), "logout did not clear remember-me"

    # 4. Log in with the new password and delete the account.
    s = lynx.script()
    s.type(login_id).down().type(NEW_PASSWORD).down().down().enter()
    s.save("home-before-delete")
    s.goto(base + "/settings/delete")
    s.type(NEW_PASSWORD).down().enter().down().enter()  # password, tick confirm, submit
    s.save("home-deleted")
    s.goto(base + "/login")
    s.type(login_id).down().type(NEW_PASSWORD).down().down().enter()
    s.down(3).save("login-after-delete")  # off the text fields, onto the button
    s.down(3).quit()
    pages = lynx.run(s, "/login")

    assert f"Hello, {nickname}" in pages["home-before-delete"]
    assert "Your account has been deleted." in pages["home-deleted"], pages["home-deleted"]
    assert "Hello," not in pages["home-deleted"]
    assert "The login ID or password is wrong." in pages["login-after-delete"]
    assert find_user(login_id) is None


# --------------------------------------------------------------------------- w3m

@pytest.fixture
def w3m(waitress_server, tmp_path):
    """``w3m -dump`` of a path on the test server (or of a full URL)."""
    binary = require_binary("w3m", "w3m")
    env = client_env(tmp_path / "w3m-home", waitress_server)
    posts = []

    def dump(path, language="en", user_agent=None, source=False, cookies=True,
             references=False, post=None):
        """``cookies=False``: w3m neither keeps nor sends a cookie (``-no-cookie``);
        ``references``: with the numbered link list; ``post``: a form body to POST."""
        args = [binary, "-dump_source" if source else "-dump", "-O", "UTF-8",
                "-o", f"accept_language={language}"]
        if user_agent:
            args += ["-o", f"user_agent={user_agent}"]
        if not cookies:
            args.append("-no-cookie")
        if references:
            args += ["-o", "display_link_number=1"]
        if post is not None:
            posts.append(tmp_path / f"w3m-post-{len(posts)}.txt")
            posts[-1].write_bytes(post.encode("ascii"))
            args += ["-post", str(posts[-1])]
        url = path if "://" in path else waitress_server.url + path
        result = subprocess.run(args + [url], stdin=subprocess.DEVNULL,
                                capture_output=True, env=env, timeout=CLIENT_TIMEOUT,
                                check=False)
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        if source:
            return result.stdout
        text = result.stdout.decode("utf-8")
        assert_no_traceback(text, f"w3m -dump {path}")
        return text

    return dump


@pytest.mark.parametrize("language,expected", [
    ("en", {"/": ["Portal", "[1]Log in", "[2]Register", "[0]Home", "日本語", "PC view"],
            "/login": ["Log in", "Login ID", "Password", "Keep me logged in", "[1]Register"]}),
    ("ja", {"/": ["Portal", "[1]ログイン", "[2]新規登録", "[0]ホーム", "English"],
            "/login": ["ログイン", "ログインID", "ログインしたままにする", "[1]新規登録"]}),
])
def test_w3m_dumps_home_and_login(waitress_server, w3m, language, expected):
    """w3m gets the mobile pages, readable, in the language it asks for."""
    for path, words in expected.items():
        text = w3m(path, language=language)
        missing = [word for word in words if word not in text]
        assert not missing, f"{path} ({language}) lacks {missing}:\n{text}"
    sent = [x for x in waitress_server.recorder.snapshot() if x.path in expected]
    assert sent and all(x.body.startswith(b"<?xml") for x in sent)


def test_w3m_handset_page_and_error_page(waitress_server, w3m):
    """A handset page in Shift_JIS reads right after decoding; a missing page is a page."""
    text = w3m("/", language="ja", user_agent=DOCOMO_UA)
    assert "[1]ログイン" in text and "[2]新規登録" in text, text
    raw = w3m("/login", language="ja", user_agent=DOCOMO_UA, source=True)
    assert "ログインID".encode("cp932") in raw and b"i-XHTML" in raw
    text = w3m("/no-such-page", language="en")
    assert "Page not found" in text and "[0]Home" in text, text
    statuses = [x.status for x in waitress_server.recorder.snapshot() if x.path == "/no-such-page"]
    assert statuses == [404]


def test_text_browsers_cannot_leave_127_0_0_1(waitress_server, lynx, w3m):
    """The containment itself: a text browser asked for another host reaches the test
    server as a proxy request, which the recorder flags; nothing goes out."""
    lynx.dump("http://example.org/?from=lynx")
    w3m("http://example.org/?from=w3m")
    recorder = waitress_server.recorder
    stray = recorder.stray()
    assert sorted((x.host, x.path, x.query) for x in stray) == [
        ("example.org", "/", "from=lynx"), ("example.org", "/", "from=w3m")]
    assert all(x.remote_addr == HOST for x in stray)
    recorder.forget(stray)  # dealt with: the fixture's final check is for accidents


# --------------------------------------------------------------------------- cookie-less handsets

LYNX_UA_PREFIX = "Lynx/"


def test_lynx_without_cookies_writes_and_reads_a_diary_entry(waitress_server, make_lynx,
                                                             demo_users):
    """lynx refusing every cookie, keystroke by keystroke: log in as demo1, read home, write
    a diary entry through the form, land on it, open it again from the diary list. The
    session lives only in the ``?sid=`` of the URLs: no request carried a Cookie header,
    every one after the first carried the token, the token changed at login (the old one
    is gone), and it works for this User-Agent only."""
    server = waitress_server
    lynx = make_lynx("lynx-nocookies", cookies=False)
    nickname = demo_users["demo1"]
    title, lines = "Cookieless note", ["Typed in lynx", "with no cookies."]

    s = lynx.script()
    s.find("Log in").enter()
    s.type("demo1").down().type(DEMO_PASSWORD).down().down().enter()  # skip remember-me
    s.save("home")
    s.find("1]Diary").enter()
    s.find("Write a diary entry").enter()
    # Title; the body textarea has 6 rows, each a field of its own in lynx: two typed,
    # four passed; then visibility and group (defaults kept), allow comments (ticked), the
    # (empty) picture field, Post.
    s.type(title).down().type(lines[0]).down().type(lines[1]).down(5).down(4).enter()
    s.save("entry-posted")
    s.find("Diary of").enter()
    s.find(title).enter()
    s.save("entry-again")
    s.quit()
    pages = lynx.run(s, "/")

    assert f"Hello, {nickname}" in pages["home"] and "[1]Diary" in pages["home"], pages["home"]
    assert "Your diary entry was posted." in pages["entry-posted"], pages["entry-posted"]
    for name in ("entry-posted", "entry-again"):
        assert title in pages[name] and "\n".join(f"   {line}" for line in lines) in pages[name], \
            pages[name]
    assert "was posted" not in pages["entry-again"]

    with db.database.connection_context():
        entry = DiaryEntry.get_or_none(DiaryEntry.title == title)
        assert entry is not None, describe(server)
        assert entry.owner.login_id == "demo1"
        assert (entry.body, entry.visibility, entry.group_id, entry.allow_comments) == (
            "\n".join(lines), "public", None, True)

    # No cookie was stored anywhere, none was sent; the token carried the session.
    assert not lynx.cookies.exists(), "lynx wrote a cookie file"
    assert not [p for p in (lynx.dir / "home").rglob("*") if "cookie" in p.name.lower()]
    exchanges = server.recorder.by_agent(LYNX_UA_PREFIX)
    before, after = assert_session_in_urls_only(exchanges)  # exactly two tokens
    posts = [(x.method, x.path, x.sid, x.status) for x in exchanges if x.method == "POST"]
    assert posts == [("POST", "/login", before, 302), ("POST", "/diary/new", after, 302)]
    login = next(x for x in exchanges if x.path == "/login" and x.method == "POST")
    assert sid_of(login.location) == after != before
    assert all(x.sid == after for x in exchanges[exchanges.index(login) + 1:])
    entry_page = next(x for x in exchanges if x.path == f"/diary/{entry.id}")
    assert f"/diary/{entry.id}?sid={after}" in next(
        x.location for x in exchanges if x.path == "/diary/new" and x.method == "POST")
    assert entry_page.status == 200 and f"sid={after}".encode() in entry_page.body
    tokens = session_tokens()
    assert after in tokens and before not in tokens, "the token before login was kept"

    # The token is worth something only to this User-Agent, and the old one nothing.
    user_agent = exchanges[0].user_agent
    greeting = f"Hello, {nickname}".encode()
    english = {"Accept-Language": "en"}
    assert greeting in server.fetch(f"/?sid={after}", user_agent, headers=english)[2]
    assert greeting not in server.fetch(f"/?sid={before}", user_agent, headers=english)[2]
    assert greeting not in server.fetch(f"/?sid={after}", W3M_UA, headers=english)[2]
    # A PC browser is never given a token.
    status, headers, body = server.fetch("/login", PC_UA)
    assert status == 200 and b"sid=" not in body and "msid" not in headers.get("set-cookie", "")


@pytest.mark.parametrize("browser", ["w3m", "lynx"])
def test_text_browser_without_cookies_reads_a_message_and_switches_language(
        waitress_server, w3m, make_lynx, demo_users, browser):
    """A text browser that keeps no cookie, run once per page with ``-dump`` as a script
    would: log in (the form posted with -post / -post_data), read home and the inbox in
    Japanese, open an unread message (it becomes read), follow the "English" link (it
    carries the token) back to the message in English, and home stays English. Each
    link is picked by its words from the browser's own link list."""
    server = waitress_server
    if browser == "w3m":
        prefix = "w3m/"

        def get(url, post=None, source=False):
            output = w3m(url, language="ja", cookies=False, references=not source,
                         post=post, source=source)
            return output.decode("utf-8") if source else dumped(output)
    else:
        prefix = LYNX_UA_PREFIX
        lynx = make_lynx("lynx-dump-nocookies", cookies=False, language="ja")

        def get(url, post=None, source=False):
            output = lynx.dump(url, references=not source, post=post, source=source)
            return output if source else dumped(output)

    nickname = demo_users["demo2"]
    with db.database.connection_context():
        user = User.get(User.login_id == "demo2")
        message = (Message.select().where((Message.recipient == user.id)
                                          & Message.read_at.is_null())
                   .order_by(Message.id).first())
        assert message is not None, "the demo has no unread message for demo2"
        sender = User.get_by_id(message.sender_id).nickname

    action, fields = form_of(get("/login", source=True), "/login")
    assert sid_of(action), f"the login form posts to {action}"
    home = get(server.url + action, post=urlencode(
        {**fields, "login_id": "demo2", "password": DEMO_PASSWORD}))
    assert f"こんにちは、{nickname}さん" in home.text, home.text

    inbox = get(home.link("[2]メッセージ"))
    assert "受信箱" in inbox.text and "[未読]" in inbox.text, inbox.text
    page = get(inbox.link(message.subject, path=f"/messages/{message.id}"))
    assert message.subject in page.text and re.search(rf"差出人: \[\d+\]{re.escape(sender)}\n", page.text), \
        page.text
    for line in message.body.splitlines():
        assert line in page.text, page.text
    with db.database.connection_context():
        assert Message.get_by_id(message.id).read_at is not None, "reading did not mark it read"

    switch = page.link("English")
    assert urlsplit(switch).path == "/lang/en" and sid_of(switch), switch
    assert parse_qs(urlsplit(switch).query)["next"][0].startswith(f"/messages/{message.id}")
    page = get(switch)
    assert re.search(rf"From: \[\d+\]{re.escape(sender)}\n", page.text) and "[1]Reply" in page.text, \
        page.text
    assert "差出人" not in page.text and message.subject in page.text
    home = get(page.link("[0]Home"))
    assert f"Hello, {nickname}" in home.text and "[2]Messages" in home.text, home.text

    exchanges = server.recorder.by_agent(prefix)
    tokens = assert_session_in_urls_only(exchanges)
    assert [(x.method, x.path) for x in exchanges] == [
        ("GET", "/login"), ("POST", "/login"), ("GET", "/"), ("GET", "/messages/"),
        ("GET", f"/messages/{message.id}"), ("GET", "/lang/en"),
        ("GET", f"/messages/{message.id}"), ("GET", "/")], describe(server)
    assert len(tokens) == 2 and exchanges[1].sid == tokens[0]  # replaced at login
    assert all(x.sid == tokens[1] for x in exchanges[2:])


# Japanese with the characters that need Windows-31J rather than plain Shift_JIS: ～ (cp932
# 0x8160, which Shift_JIS reads as WAVE DASH), ① (NEC row 13) and half-width kana.
# lynx's line editor pairs bytes >= 0xA1 as EUC-JP does, so some half-width kana do not
# survive typing: "ｹｰﾀｲ" typed first in a field is sent as "弘晴", and a kana typed just
# before Down Arrow swallows the key. These strings go through it unchanged.
DOCOMO_TITLE = "ケータイ日記～①"
DOCOMO_BODY = "ｱｲｳ～①テスト ok"


def test_docomo_handset_writes_shift_jis_diary_entry(waitress_server, make_lynx, demo_users):
    """lynx as a docomo handset (its User-Agent, no cookies) in a Shift_JIS terminal: pages
    come in Shift_JIS as application/xhtml+xml; it logs in, writes a diary entry with ～ ①
    and half-width kana typed as cp932 bytes, which it posts as they are; the entry is
    stored exactly as typed (decoded from cp932) and reads back on the handset."""
    server = waitress_server
    nickname = demo_users["demo3"]
    status, headers, body = server.fetch("/login", DOCOMO_UA, headers={"Accept-Language": "ja"})
    assert status == 200 and headers["content-type"] == "application/xhtml+xml; charset=Shift_JIS"
    assert body.startswith(b'<?xml version="1.0" encoding="Shift_JIS"?>')
    assert "ログインID".encode("cp932") in body and "ログイン".encode() not in body
    assert re.search(rb'action="/login\?sid=[\w-]+"', body), body

    lynx = make_lynx("lynx-docomo", cookies=False, user_agent=DOCOMO_UA, charset="cp932",
                     language="ja")
    s = lynx.script()
    s.type("demo3").down().type(DEMO_PASSWORD).down().down().enter()
    s.save("home")
    s.find("1]日記").enter()
    s.find("1]日記を書く").enter()
    s.type(DOCOMO_TITLE).down().type(DOCOMO_BODY).down(6).down(4).enter()  # ... pictures, Post
    s.save("entry")
    s.quit()
    pages = lynx.run(s, "/login")

    assert f"こんにちは、{nickname}さん" in pages["home"], pages["home"]
    assert "日記を投稿しました。" in pages["entry"], pages["entry"]
    # lynx shows half-width kana at full width; the page it was sent has them as they are.
    shown = DOCOMO_BODY.replace("ｱｲｳ", "アイウ")
    assert DOCOMO_TITLE in pages["entry"] and shown in pages["entry"], pages["entry"]
    with db.database.connection_context():
        entry = DiaryEntry.select().order_by(DiaryEntry.id.desc()).first()
        assert entry.owner.login_id == "demo3", describe(server)
        assert (entry.title, entry.body) == (DOCOMO_TITLE, DOCOMO_BODY)

    exchanges = server.recorder.by_agent("DoCoMo/")[1:]  # after the raw fetch above
    assert_session_in_urls_only(exchanges)
    for x in exchanges:
        if x.status == 200:
            assert x.content_type == "application/xhtml+xml; charset=Shift_JIS", x
            x.body.decode("cp932")  # strictly
            assert b"i-XHTML" in x.body
    entry_page = next(x for x in exchanges if x.path == f"/diary/{entry.id}")
    assert DOCOMO_BODY.encode("cp932") in entry_page.body, entry_page.body
    post = next(x for x in exchanges if x.method == "POST" and x.path == "/diary/new")
    # What went over the wire: the diary form is multipart (it has a picture field), its text
    # parts in cp932 bytes (～ 81 60, ① 87 40, ｱｲｳ B1 B2 B3).
    assert DOCOMO_TITLE.encode("cp932") in post.request_body
    assert DOCOMO_BODY.encode("cp932") in post.request_body
    assert b"\x81\x60" in post.request_body and b"\xb1\xb2\xb3" in post.request_body
    assert post.status == 302 and post.location.startswith(f"{server.url}/diary/{entry.id}?sid=")


# --------------------------------------------------------------------------- Chromium

class BrowserWatch:
    """What a page did that a test should know about: console errors, page errors,
    failed requests, and requests for anything but the test server (aborted)."""

    def __init__(self):
        self.console = []
        self.foreign = []
        self.failed = []

    def attach(self, context):
        context.route("**/*", self._guard)
        context.on("page", self._watch_page)

    def _guard(self, route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname != HOST:
            self.foreign.append(url)
            route.abort()
        else:
            route.continue_()

    def _watch_page(self, page):
        page.on("console", lambda msg: msg.type == "error" and self.console.append(msg.text))
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))
        page.on("requestfailed", lambda req: self.failed.append(f"{req.url}: {req.failure}"))

    def take_console(self):
        messages, self.console = self.console, []
        return messages


@pytest.fixture
def browser_watch():
    """What the browser contexts of a test did (see BrowserWatch)."""
    watch = BrowserWatch()
    yield watch
    assert not watch.foreign, f"requests to other hosts: {watch.foreign}"
    assert not watch.failed, f"failed requests: {watch.failed}"


@pytest.fixture
def new_context(chromium, live_server, browser_watch):
    """Factory: a fresh browser profile speaking English to the test server, watched,
    320 px wide unless told otherwise; closed at teardown (before the server stops)."""
    contexts = []

    def make(width=320, height=640):
        context = chromium.new_context(base_url=live_server,
                                       viewport={"width": width, "height": height},
                                       locale="en-US", extra_http_headers={"Accept-Language": "en"})
        contexts.append(context)
        context.set_default_timeout(10_000)
        context.set_default_navigation_timeout(15_000)
        browser_watch.attach(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def browser_context(new_context):
    return new_context()


def assert_fits_320(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"{page.url} is {width} px wide at a 320 px viewport"


def assert_clean_console(watch, allow=()):
    messages = [m for m in watch.take_console() if not any(a in m for a in allow)]
    assert not messages, f"console errors: {messages}"


def submit(page, form="main form"):
    """Press the submit button of a form and wait for the next page."""
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").click()


def test_chromium_account_lifecycle(live_server, browser_context, new_context, browser_watch):
    """A PC browser (the HTML5 set, here at phone width) goes through the account life:
    register, home, log out, log in with "keep me logged in" (which survives losing the
    session cookie), change the password (the old remember-me cookie is dead, the old
    password too), delete the account. Pages fit 320 px; the console stays clean."""
    context, base = browser_context, live_server
    login_id, nickname = "chrome_user", "クローム太郎"
    page = context.new_page()

    page.goto("/")
    assert page.evaluate("document.doctype.publicId") == ""  # <!DOCTYPE html>: the PC set
    page.locator("main a[href$='/register']").click()
    page.wait_for_url(base + "/register")
    page.fill("#login_id", login_id)
    page.fill("#nickname", nickname)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    submit(page)
    assert page.url == base + "/"
    assert page.locator("main h1").inner_text() == f"Hello, {nickname}"
    assert "Welcome" in page.locator(".flash").inner_text()
    assert_fits_320(page)
    user = find_user(login_id)
    assert user is not None and user.nickname == nickname and user.check_password(PASSWORD)

    submit(page, "header form")  # the Log out button
    assert "You have logged out." in page.locator(".flash").inner_text()
    assert page.locator("header a[href$='/login']").count() == 1
    assert {c["name"] for c in context.cookies()} & {"remember_token"} == set()

    page.locator("header a[href$='/login']").click()
    page.wait_for_url(base + "/login")
    assert_fits_320(page)
    page.fill("#login_id", login_id)
    page.fill("#password", PASSWORD)
    page.check("#remember")
    submit(page)
    assert page.url == base + "/"
    assert page.locator("main h1").inner_text() == f"Hello, {nickname}"
    remember = {c["name"]: c for c in context.cookies()}.get("remember_token")
    assert remember is not None, context.cookies()
    assert remember["httpOnly"] and remember["sameSite"] == "Lax"
    assert 29 * 86400 < remember["expires"] - time.time() <= 30 * 86400 + 60  # "keep me logged in": 30 days
    stale_remember = dict(remember)

    # Losing the session cookie (closing the browser) keeps the user logged in.
    context.clear_cookies(name="session")
    page.goto("/")
    assert page.locator("main h1").inner_text() == f"Hello, {nickname}"

    page.locator("header a[href$='/settings/']").click()
    page.wait_for_url(base + "/settings/")
    assert_fits_320(page)
    page.locator("main a[href$='/settings/password']").click()
    page.wait_for_url(base + "/settings/password")
    page.fill("#current", PASSWORD)
    page.fill("#password", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    submit(page)
    assert page.url == base + "/settings/"
    assert "Your password was changed." in page.locator(".flash").inner_text()
    user = find_user(login_id)
    assert user.check_password(NEW_PASSWORD) and not user.check_password(PASSWORD)

    # Another browser holding the old remember-me cookie is logged out.
    other = new_context(width=1280, height=800)
    other.add_cookies([stale_remember])
    other_page = other.new_page()
    other_page.goto("/")
    assert other_page.locator("main h1").inner_text() != f"Hello, {nickname}"
    assert other_page.locator("header a[href$='/login']").count() == 1
    other.close()

    # Where am I logged in: this browser alone now, marked, and named by its User-Agent.
    page.goto("/settings/")
    page.locator("main a[href$='/settings/logins']").click()
    page.wait_for_url(base + "/settings/logins")
    assert_fits_320(page)
    items = page.locator("main ul.logins li")
    assert items.count() == 1
    assert "Chrome / Linux" in items.first.inner_text() and "This device" in items.first.inner_text()

    # Logging out ends the login for good: a copy of the cookies taken before is worth nothing.
    copied = [c for c in context.cookies() if c["name"] in ("session", "remember_token")]
    assert copied
    submit(page, "header form")
    replay = new_context(width=1280, height=800)
    replay.add_cookies(copied)
    replay_page = replay.new_page()
    replay_page.goto("/settings/logins")
    assert "/login" in replay_page.url
    replay.close()

    page.goto("/login")
    page.fill("#login_id", login_id)
    page.fill("#password", PASSWORD)
    submit(page)  # answered 400 with the form again
    assert "The login ID or password is wrong." in page.locator("main .error").inner_text()
    assert_clean_console(browser_watch, allow=["status of 400"])  # Chromium logs the 400 itself
    page.fill("#password", NEW_PASSWORD)
    submit(page)
    assert page.locator("main h1").inner_text() == f"Hello, {nickname}"

    page.goto("/settings/delete")
    assert_fits_320(page)
    page.fill("#password", NEW_PASSWORD)
    page.check("#confirm")
    submit(page)
    assert page.url == base + "/"
    assert "Your account has been deleted." in page.locator(".flash").inner_text()
    assert page.locator("main a[href$='/register']").count() == 1
    assert find_user(login_id) is None
    assert_clean_console(browser_watch)


@pytest.mark.parametrize("logged_in", [False, True], ids=["logged-out", "logged-in"])
@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_chromium_pages_fit_320px_with_clean_console(browser_context, browser_watch,
                                                     alice, logged_in, color_scheme):
    """Home and login (and settings, logged in) fit a 320 px screen, in light and dark mode,
    and load without console errors such as CSP violations."""
    page = browser_context.new_page()
    page.emulate_media(color_scheme=color_scheme)
    paths = ["/", "/login", "/register"]
    if logged_in:
        page.goto("/login")
        page.fill("#login_id", "alice")
        page.fill("#password", PASSWORD)
        submit(page)
        assert page.locator("main h1").inner_text() == "Hello, アリス"
        paths = ["/", "/settings/", "/settings/password", "/settings/delete"]
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        assert page.evaluate("document.documentElement.clientWidth") == 320
        assert_fits_320(page)
        stylesheets = page.evaluate("document.styleSheets.length")
        assert stylesheets == 1, f"{path}: the stylesheet did not load"
    assert_clean_console(browser_watch)


def test_chromium_mobile_view_has_clean_console(browser_context, browser_watch):
    """A PC browser that switches to the mobile set gets a page without CSP violations."""
    page = browser_context.new_page()
    page.goto("/")
    with page.expect_navigation():
        page.locator("footer a[href*='view=mobile']").click()
    assert page.evaluate("document.doctype.publicId").startswith("-//WAPFORUM")
    assert_fits_320(page)
    assert_clean_console(browser_watch)


@pytest.mark.e2e
def test_chromium_uploads_pictures_with_a_progress_bar(live_server, browser_context, demo_users, tmp_path,
                                                       browser_watch):
    """Several pictures in one upload, sent by upload.js with a progress bar, land in the album."""
    from PIL import Image

    from portal.models import Album, Photo

    files = []
    for n in range(3):
        path = tmp_path / f"pic{n}.jpg"
        Image.new("RGB", (800, 600), (40 * n, 120, 200)).save(path, "JPEG")
        files.append(str(path))
    with db.database.connection_context():
        album = Album.create(owner=find_user("demo1").id, title="upload test", visibility="friends")
    page = browser_context.new_page()
    page.goto("/login")
    page.fill("#login_id", "demo1")
    page.fill("#password", "demo-password")
    submit(page)
    page.goto(f"/albums/{album.id}/upload")
    assert page.locator("form[data-progress] progress").count() == 1
    page.set_input_files("input[name=files]", files)
    with page.expect_navigation(url=f"**/albums/{album.id}"):
        page.locator("main form button[type=submit]").click()
    with db.database.connection_context():
        assert Photo.select().where(Photo.album == album.id).count() == 3
    assert page.locator("ul.grid img").count() == 3
    assert_clean_console(browser_watch)
