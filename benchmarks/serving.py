"""Shared pieces of the serving benchmarks (throughput, memory, start-up).

Servers run in their own process (so the load client's GIL is not the server's):
``portal_server()`` is the real ``portal serve`` command on a data folder, ``hello_server()``
a bare Flask app under waitress with the same thread count, the baseline. ``Client`` is one
browser: one keep-alive HTTP/1.1 connection with its own cookies, which logs in through
the real login form. ``run_load()`` drives several clients from threads for a fixed time
or a fixed number of requests; every loop here is bounded. Only 127.0.0.1 is ever used.
"""
import gzip
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

HOST = "127.0.0.1"
THREADS = 8  # waitress threads of every server here, the portal's default
CONNECTIONS = 8  # concurrent keep-alive clients of every load
PASSWORD = "demo-password"  # portal.ops.demo.DEMO_PASSWORD

# The User-Agents of tests/conftest.py.
PC_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
DOCOMO_UA = "DoCoMo/2.0 SH903i(c100;TB;W24H16)"
SOFTBANK_UA = ("SoftBank/1.0/910T/TJ001/SN000000000000000 Browser/NetFront/3.3 "
               "Profile/MIDP-2.0 Configuration/CLDC-1.1")

# The baseline: the smallest Flask app, served like the portal (waitress, same threads).
HELLO_APP = """
import sys
import waitress
from flask import Flask

app = Flask("hello")


@app.route("/")
def hello():
    return "hello"


@app.route("/healthz")
def healthz():
    return "ok"


waitress.serve(app, host=sys.argv[1], port=int(sys.argv[2]), threads=int(sys.argv[3]), ident="hello")
"""


# -- servers ---------------------------------------------------------------------------------

def free_port():
    """A TCP port that is free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# ``portal`` as on a SQLite-only install: psycopg is the optional ``postgresql`` extra, but a
# development environment has it (for the tests), and peewee imports it when present.
SQLITE_ONLY_PORTAL = ("import sys; sys.modules['psycopg'] = sys.modules['psycopg2'] = None; "
                      "sys.argv[0] = 'portal'; from portal.cli import main; main()")


def portal_command():
    """How to run ``portal`` for a SQLite site (without the PostgreSQL driver loaded)."""
    return [sys.executable, "-c", SQLITE_ONLY_PORTAL]


def portal_env(data_dir, **extra):
    """The environment of a portal server on ``data_dir``: SQLite there, no rate limits in the way."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "PORTAL_MEDIA_DIR", "PORTAL_SECRET_KEY")}
    env.update(PORTAL_DATA_DIR=str(data_dir), PORTAL_RATELIMIT_ENABLED="0",
               PORTAL_MESSAGES_PER_HOUR="1000000", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


class Server:
    """A server in a child process, on 127.0.0.1:``port``; a context manager that stops it."""

    def __init__(self, argv, port, env=None, name="server"):
        self.argv, self.port, self.env, self.name = argv, port, env, name
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)
        self.process = None
        self.started = None

    def start(self):
        self.started = time.perf_counter()
        self.process = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        return self

    @property
    def pid(self):
        return self.process.pid

    def wait_ready(self, path="/healthz", timeout=60.0):
        """Poll ``path`` until it answers 200; seconds since ``start()``."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
            try:
                conn.request("GET", path)
                if conn.getresponse().status == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.005)
        raise RuntimeError(f"{self.name} not ready after {timeout} s:\n{self.log_tail()}")

    def rss_kb(self):
        """Resident memory of the server process (VmRSS), in KiB."""
        return proc_status(self.pid, "VmRSS")

    def log_tail(self, lines=30):
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s; only this child is signalled."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def __enter__(self):
        if self.process is None:
            self.start()
        self.wait_ready()
        return self

    def __exit__(self, *exc):
        self.stop()


def proc_status(pid, key):
    """A ``kB`` value of /proc/PID/status (VmRSS, VmHWM, ...), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def proc_cpu_seconds(pid):
    """CPU time (user + system) a process has used so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def portal_server(data_dir, port=None, threads=THREADS, **env):
    """``portal serve`` on ``data_dir`` (not started yet; use ``with``)."""
    port = port or free_port()
    argv = portal_command() + ["serve", "--host", HOST, "--port", str(port), "--threads", str(threads)]
    return Server(argv, port, env=portal_env(data_dir, **env), name="portal")


def hello_server(port=None, threads=THREADS):
    """The bare Flask baseline under waitress (not started yet; use ``with``)."""
    port = port or free_port()
    argv = [sys.executable, "-c", HELLO_APP, HOST, str(port), str(threads)]
    return Server(argv, port, name="hello")


# -- content ---------------------------------------------------------------------------------

def seed_portal(data_dir, users=10, entries_per_user=20, voices_per_user=10, comments=20):
    """A fresh portal database in ``data_dir``: ``portal.ops.demo.seed(users)`` plus more entries,
    voices and messages per user, and one members-only entry by demo1 with ``comments``
    comments. Returns {"entry": id of that entry, "users": [login IDs]}."""
    from portal import create_app, db
    from portal.ops import demo
    from portal.db import database
    from portal.models import Message, User
    from portal.models.diary import add_comment, create_entry
    from portal.models.voice import post_voice

    app = create_app({"DATA_DIR": str(data_dir)})  # the secret key is kept in data_dir for the server
    with app.app_context():
        db.upgrade()
        with database.connection_context():
            people = demo.seed(users)
            with database.atomic():
                levels = ["public", "members", "friends"]
                for i, user in enumerate(people):
                    for n in range(entries_per_user):
                        create_entry(user.id, title=f"Entry {n} of {user.login_id}",
                                     body=f"今日のこと {n}。\nSomething happened today ({n}).",
                                     visibility=levels[(i + n) % len(levels)])
                    for n in range(voices_per_user):
                        post_voice(user, f"つぶやき {n} / voice {n}", levels[n % len(levels)])
                    friend = people[(i + 1) % len(people)]
                    for n in range(5):
                        Message.create(sender=friend.id, recipient=user.id, subject=f"Hello {n}",
                                       body=f"メッセージ {n}\nA message.")
                entry = create_entry(people[0].id, title="20 comments", visibility="members",
                                     body="\n".join(f"段落 {n}: a paragraph of the entry." for n in range(12)))
                for n in range(comments):
                    author = User.get_by_id(people[n % len(people)].id)
                    add_comment(entry, author, f"コメント {n}: nice entry! ☺")
            login_ids = [user.login_id for user in people]
    if not database.is_closed():
        database.close()
    return {"entry": entry.id, "users": login_ids}


# -- clients ---------------------------------------------------------------------------------

_CHARSET = re.compile(r"charset=([\w-]+)", re.IGNORECASE)
_FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.IGNORECASE | re.DOTALL)
_ACTION = re.compile(r'action="([^"]*)"')
_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>', re.IGNORECASE)
_NAME = re.compile(r'name="([^"]+)"')
_VALUE = re.compile(r'value="([^"]*)"')


class Client:
    """One browser: a keep-alive connection, its cookies, its User-Agent.

    ``cookies=False`` is a handset that keeps no cookies: it carries the session token
    that login gives (``?sid=``) in every URL instead. PC clients accept gzip like browsers.
    """

    def __init__(self, port, user_agent=PC_UA, cookies=True, accept_gzip=None, timeout=30):
        self.port, self.user_agent, self.keep_cookies, self.timeout = port, user_agent, cookies, timeout
        self.gzip = user_agent.startswith("Mozilla/5.0") if accept_gzip is None else accept_gzip
        self.jar = {}
        self.sid = None
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def url(self, path):
        """``path`` with the session token for a handset without cookies."""
        if not self.sid:
            return path
        parts = urlsplit(path)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "sid"]
        return urlunsplit(("", "", parts.path, urlencode(query + [("sid", self.sid)]), ""))

    def request(self, method, path, body=None, headers=None):
        """(status, response, body) of one request on the kept connection (a GET is sent
        again once on a new connection when the server had closed the kept one)."""
        send = {"User-Agent": self.user_agent, "Host": f"{HOST}:{self.port}"}
        if self.gzip:
            send["Accept-Encoding"] = "gzip"
        if self.keep_cookies and self.jar:
            send["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        send.update(headers or {})
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, self.url(path), body=body, headers=send)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2 or method != "GET":  # never send a form twice
                    raise
                continue
            if response.will_close:
                self.close()
            self._keep(response)
            return response.status, response, data
        raise AssertionError("unreachable")

    def _keep(self, response):
        if not self.keep_cookies:
            return
        for header in response.headers.get_all("Set-Cookie") or []:
            try:
                cookie = SimpleCookie(header)
            except CookieError:
                continue
            for name, morsel in cookie.items():
                if morsel.value == "" or morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.jar.pop(name, None)
                else:
                    self.jar[name] = morsel.value

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def text(self, response, data):
        """A body as text, in the charset the response declares (Shift_JIS is cp932)."""
        if response.getheader("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        match = _CHARSET.search(response.getheader("Content-Type", ""))
        charset = match.group(1).lower() if match else "utf-8"
        return data.decode("cp932" if charset in ("shift_jis", "sjis", "cp932") else charset, "replace")

    def follow(self, path, limit=5):
        """GET ``path`` following up to ``limit`` redirects; (final path, status, response, body)."""
        for _ in range(limit + 1):
            status, response, data = self.get(path)
            if status not in (301, 302, 303, 307, 308):
                return path, status, response, data
            path = self._local(response.getheader("Location"), path)
        raise RuntimeError(f"too many redirects from {path}")

    def _local(self, location, base):
        url = urlsplit(urljoin(f"http://{HOST}:{self.port}{base}", location))
        sid = dict(parse_qsl(url.query)).get("sid")
        if sid and not self.keep_cookies:
            self.sid = sid
        return url.path + ("?" + url.query if url.query else "")

    def login(self, login_id, password=PASSWORD):
        """Log in through the login form (CSRF token and action read from the page, fields
        encoded as the handset would); returns the page landed on. Raises when it fails."""
        _, status, response, data = self.follow("/login")
        html = self.text(response, data)
        form = next((f for f in _FORM.findall(html) if "login_id" in f), None)
        if status != 200 or form is None:
            raise RuntimeError(f"no login form ({status})")
        action = _ACTION.search(form).group(1).replace("&amp;", "&")
        fields = {}
        for tag in _HIDDEN.findall(form):
            name, value = _NAME.search(tag), _VALUE.search(tag)
            if name:
                fields[name.group(1)] = value.group(1) if value else ""
        fields.update(login_id=login_id, password=password)
        charset = "cp932" if "Shift_JIS" in response.getheader("Content-Type", "") else "utf-8"
        body = urlencode(fields, encoding=charset)
        self.sid = None  # the action already carries the token of a cookie-less handset
        status, response, data = self.request(
            "POST", action, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"login of {login_id} answered {status}")
        landing = self._local(response.getheader("Location"), action)
        if not self.keep_cookies:
            landing = urlsplit(landing).path
        final, status, response, data = self.follow(landing)
        if status != 200 or "logout" not in self.text(response, data):
            raise RuntimeError(f"login of {login_id} did not stick ({status} at {final})")
        return final


def logged_in_clients(port, login_ids, user_agent, count=CONNECTIONS, cookies=True):
    """``count`` clients, client i logged in as ``login_ids[i % len(login_ids)]``."""
    clients = []
    for i in range(count):
        client = Client(port, user_agent, cookies=cookies)
        client.login(login_ids[i % len(login_ids)])
        clients.append(client)
    return clients


# -- load ------------------------------------------------------------------------------------

@dataclass
class LoadResult:
    """What one load run did."""

    requests: int = 0
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # exceptions by name (timeouts, resets)
    bytes: int = 0
    latencies: list = field(default_factory=list)
    client_cpu: float = 0.0  # CPU seconds the load client itself used
    server_cpu: float = 0.0  # CPU seconds the server process used (when its pid was given)

    @property
    def rps(self):
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failures(self):
        """Responses that were not 2xx, plus requests that got no response."""
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300) + sum(
            self.errors.values())

    @property
    def server_cpu_ms(self):
        """Server CPU milliseconds per request: steadier than req/s on a busy machine."""
        return self.server_cpu / self.requests * 1000 if self.requests else 0.0

    def percentile(self, fraction):
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def summary(self):
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        errors = "".join(f", {name}: {n}" for name, n in self.errors.items())
        return (f"{self.requests} requests in {self.seconds:.1f} s = {self.rps:.0f}/s; "
                f"median {statistics.median(self.latencies or [0]) * 1000:.1f} ms, "
                f"p95 {self.percentile(0.95) * 1000:.1f} ms; {codes}{errors}; "
                f"server CPU {self.server_cpu_ms:.2f} ms/request; "
                f"client CPU {self.client_cpu / max(self.seconds, 1e-9):.0%} of a core")


def run_load(clients, paths, duration=10.0, max_requests=None, warmup=1.0, server=None):
    """Each client in its own thread GETs ``paths`` in turn (client i starting at path i; ``paths``
    may also be a function of the client that returns its list) until
    ``duration`` seconds have passed or ``max_requests`` (in all) were sent. The first
    ``warmup`` seconds are run but not counted. Redirects are not followed (they count as
    non-2xx). With ``server`` (a Server), its CPU time is measured too. Returns a LoadResult."""
    if warmup:
        run_load(clients, paths, duration=warmup, warmup=0)
    if max_requests is None and duration is None:
        raise ValueError("a load needs a duration or a request count")
    result = LoadResult()
    lock = threading.Lock()
    budget = [max_requests if max_requests is not None else float("inf")]
    start = time.perf_counter()
    deadline = start + duration if duration is not None else start + 3600  # a hard stop anyway

    def drive(index, client):
        statuses, errors, latencies, sent, received = Counter(), Counter(), [], 0, 0
        mine = paths(client) if callable(paths) else paths
        turn = index
        while time.perf_counter() < deadline:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            path = mine[turn % len(mine)]
            turn += 1
            began = time.perf_counter()
            try:
                status, _, data = client.get(path)
            except (OSError, http.client.HTTPException) as exc:
                errors[type(exc).__name__] += 1
                client.close()
                continue
            latencies.append(time.perf_counter() - began)
            statuses[status] += 1
            received += len(data)
            sent += 1
        with lock:
            result.requests += sent
            result.statuses.update(statuses)
            result.errors.update(errors)
            result.latencies.extend(latencies)
            result.bytes += received

    cpu = time.process_time()
    server_cpu = proc_cpu_seconds(server.pid) if server else 0.0
    threads = [threading.Thread(target=drive, args=(i, c), daemon=True) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(1.0, deadline - time.perf_counter() + 60))
    result.seconds = time.perf_counter() - start
    result.client_cpu = time.process_time() - cpu
    result.server_cpu = proc_cpu_seconds(server.pid) - server_cpu if server else 0.0
    return result


# -- discovery -------------------------------------------------------------------------------

# Links a crawl leaves alone: leaving, switching, forms and confirmation pages of actions.
SKIP = re.compile(r"^/(lang/|static/|healthz|logout|jump|report/|likes/|settings|invites)|[?&]view=|\.atom"
                  r"|/(delete|edit|new|upload|reply|unfriend|block|introduce|alias)\b")


def crawl(client, starts=("/",), limit=200):
    """(pages, requests): same-site pages reachable from ``starts`` that answer 200 to ``client``
    (breadth first, pictures included; at most ``limit`` requests; never a link that would log
    out, switch the view or lead to a form)."""
    seen, queue, found = set(starts), list(starts), []
    fetched = 0
    while queue and fetched < limit:
        path = queue.pop(0)
        fetched += 1
        status, response, data = client.get(path)
        if status != 200:
            continue
        found.append(path)
        if not response.getheader("Content-Type", "").startswith(("text/html", "application/xhtml+xml")):
            continue
        for href in re.findall(r'(?:href|src)="([^"]+)"', client.text(response, data)):
            url = urlsplit(urljoin(f"http://{HOST}{path}", href.replace("&amp;", "&")))
            if url.netloc not in ("", HOST):
                continue
            query = urlencode([(k, v) for k, v in parse_qsl(url.query) if k != "sid"])
            link = url.path + ("?" + query if query else "")
            if link not in seen and not SKIP.search(link):
                seen.add(link)
                queue.append(link)
    return found, fetched


def report_at_least(name, value, limit=None, unit="×"):
    """Like common.report, for figures that must reach ``limit`` (throughput ratios)."""
    verdict = "" if limit is None else ("  ok" if value >= limit else f"  UNDER (limit {limit}{unit})")
    print(f"{name:<60} {value:8.3f}{unit}{verdict}")
    return limit is None or value >= limit
