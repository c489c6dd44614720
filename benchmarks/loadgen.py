"""Load on a real portal server, shared by load.py and crash.py.

``Server`` runs ``portal serve`` (waitress) in a subprocess on 127.0.0.1 and a free port,
over a fresh data dir seeded with ``portal demo``, its output in a log file. ``run_load``
drives logged-in members (PC and handset User-Agents, one demo user each) through the
real forms, CSRF tokens and all: diary entries (some with pictures), comments, likes,
messages, footprints, albums, photo uploads, profile pictures, and page reads. Every write
the server acknowledged (its redirect after the POST) goes into a ``Ledger`` with a token
that identifies it, and ``verify`` checks the database file and the media folder against
the ledger: integrity, acknowledged writes present, a file for every media id a row names.
"""
import datetime
import html
import http.client
import io
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

HOST = "127.0.0.1"
PASSWORD = "demo-password"
LOCKED = "database is locked"

# (name, User-Agent, keeps cookies): PCs, a smartphone and handsets (UTF-8 and Shift_JIS;
# the last docomo keeps no cookies, so its session travels in the URL as ?sid=).
CLIENT_KINDS = [
    ("pc", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", True),
    ("softbank", "SoftBank/1.0/910T/TJ001/SN000000000000000 Browser/NetFront/3.3 "
                 "Profile/MIDP-2.0 Configuration/CLDC-1.1", True),
    ("smartphone", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/126.0.0.0 Mobile Safari/537.36", True),
    ("au", "KDDI-CA32 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0", True),
    ("pc", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", True),
    ("docomo", "DoCoMo/2.0 P07A3(c500;TB;W24H15)", True),
    ("pc", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
           "Version/17.5 Safari/605.1.15", True),
    ("docomo-nocookie", "DoCoMo/2.0 SH903i(c100;TB;W24H16)", False),
]
SHIFT_JIS_UA = re.compile(r"^(DoCoMo/|KDDI-|UP\.Browser/)")

# What a member does, with weights: mostly reading, a good share of writes.
ACTIONS = {"read": 32, "footprint": 12, "diary": 10, "edit": 5, "comment": 12, "like": 10, "message": 10,
           "photo": 6, "avatar": 2}


def server_env(data_dir, **extra):
    """The environment of a server (and of ``portal demo``) on ``data_dir``: SQLite there,
    deliberate load allowed (no rate limits, a high message limit), no e-mail."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PORTAL_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PORTAL_DATA_DIR=str(data_dir), PORTAL_RATELIMIT_ENABLED="0",
               PORTAL_MESSAGES_PER_HOUR="100000", PYTHONUNBUFFERED="1", **extra)
    return env


def seed(data_dir, users):
    """``portal demo --users N`` on ``data_dir`` (creates the database)."""
    subprocess.run([sys.executable, "-m", "portal.cli", "demo", "--users", str(users)],
                   env=server_env(data_dir), check=True, stdout=subprocess.DEVNULL, timeout=600)


def free_port():
    """A port nothing listens on right now (the kernel's choice)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """``portal serve`` in a subprocess; its stdout and stderr go to ``log_path`` (appended
    across restarts, so ``log_since`` can read what one run wrote)."""

    def __init__(self, data_dir, threads=8, port=None):
        self.data_dir = Path(data_dir)
        self.threads = threads
        self.port = port or free_port()
        self.log_path = self.data_dir / "server.log"
        self.process = None

    @property
    def base(self):
        return f"http://{HOST}:{self.port}"

    def start(self, timeout=120):
        """Start and wait until /healthz answers (``portal serve`` upgrades the schema first)."""
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "portal.cli", "serve", "--host", HOST, "--port", str(self.port),
                 "--threads", str(self.threads)],
                env=server_env(self.data_dir), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"the server did not answer within {timeout} s:\n{self.log_tail()}")

    def kill(self):
        """SIGKILL: no cleanup of any kind, like a power cut for the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_size(self):
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset=0):
        """What the server wrote from byte ``offset`` of its log on."""
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")

    def log_tail(self, chars=3000):
        return self.log_since()[-chars:]


# --------------------------------------------------------------------------- the record

@dataclass
class Stats:
    """Requests and their outcomes, shared by every client thread."""

    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    connection_errors: int = 0
    server_errors: list = field(default_factory=list)  # (method, path, status)
    unexpected: list = field(default_factory=list)  # (method, path, status, snippet)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, method, path, status):
        with self.lock:
            self.requests += 1
            self.statuses[status] += 1
            if status >= 500:
                self.server_errors.append((method, path, status))

    def error(self):
        with self.lock:
            self.connection_errors += 1

    def surprise(self, method, path, status, text):
        with self.lock:
            self.unexpected.append((method, path, status, " ".join(text.split())[:200]))


class Ledger:
    """Writes the server acknowledged: dicts with ``kind``, ``login`` and what identifies them."""

    def __init__(self):
        self.writes = []
        self._lock = threading.Lock()

    def add(self, kind, login, **what):
        with self._lock:
            self.writes.append({"kind": kind, "login": login, **what})

    def __len__(self):
        return len(self.writes)

    def kinds(self):
        return Counter(w["kind"] for w in self.writes)


def token():
    """A string no page, name or other write contains."""
    return "lg" + secrets.token_hex(6)


def utcnow_text():
    """Now in UTC the way the portal stores it (naive ISO with a space)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None).isoformat(" ")


# --------------------------------------------------------------------------- an HTTP client

@dataclass
class Response:
    method: str
    url: str  # what was asked for
    status: int
    location: str
    body: bytes
    charset: str

    @property
    def text(self):
        return self.body.decode("cp932" if self.charset == "shift_jis" else self.charset, "replace")

    @property
    def path(self):
        """The path and query of the Location (redirects are absolute)."""
        parts = urlsplit(self.location)
        return parts.path + ("?" + parts.query if parts.query else "")


class ConnectionLost(Exception):
    """The server went away (or never answered) during a request."""


_FORM = re.compile(r"(<form\b[^>]*\baction=\"([^\"]*)\"[^>]*>)(.*?)</form>", re.S)
_HIDDEN = re.compile(r"<input\b[^>]*type=\"hidden\"[^>]*>")
_ATTR = re.compile(r"\b(name|value)=\"([^\"]*)\"")
_SID = re.compile(r"[?&]sid=([A-Za-z0-9_-]+)")
_BODY = re.compile(r"<textarea\b[^>]*name=\"body\"[^>]*>(.*?)</textarea>", re.S)


class Browser:
    """One keep-alive connection with a User-Agent and cookies, like one phone or PC.

    A browser that keeps no cookies carries the session token it was given in URLs (``sid``).
    Form posts are encoded as the handset would: Shift_JIS for the carriers that use it.
    """

    def __init__(self, port, user_agent, keeps_cookies, stats, timeout=60):
        self.port, self.user_agent, self.keeps_cookies = port, user_agent, keeps_cookies
        self.codec = "cp932" if SHIFT_JIS_UA.match(user_agent) else "utf-8"
        self.stats, self.timeout = stats, timeout
        self.cookies, self.sid, self.conn = {}, None, None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _with_sid(self, path):
        if self.keeps_cookies or not self.sid or "sid=" in path:
            return path
        return path + ("&" if "?" in path else "?") + "sid=" + self.sid

    def request(self, method, path, body=None, content_type=None):
        """Send one request; returns a Response, or raises ConnectionLost."""
        path = self._with_sid(path)
        headers = {"User-Agent": self.user_agent, "Accept": "text/html,application/xhtml+xml,*/*"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = content_type
        # A kept-alive connection the server closed meanwhile fails at once: try a new one, once.
        for attempt in (1, 2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                raw = self.conn.getresponse()
                data = raw.read()
                break
            except (OSError, http.client.HTTPException) as error:
                self.close()
                if not (reused and attempt == 1 and isinstance(
                        error, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))):
                    self.stats.error()
                    raise ConnectionLost(f"{method} {path}: {error!r}") from error
        if raw.getheader("Connection", "").lower() == "close":
            self.close()
        for cookie in raw.headers.get_all("Set-Cookie") or []:
            self._remember(cookie)
        ctype = raw.getheader("Content-Type", "")
        match = re.search(r"charset=([\w-]+)", ctype)
        response = Response(method, path, raw.status, raw.getheader("Location", ""), data,
                            match.group(1).lower() if match else "utf-8")
        self.stats.count(method, path, raw.status)
        if not self.keeps_cookies:
            found = _SID.search(response.location) or (
                _SID.search(response.text) if ctype.startswith(("text/", "application/xhtml")) else None)
            if found:
                self.sid = found.group(1)
        return response

    def _remember(self, header):
        if not self.keeps_cookies:
            return
        pair, _sep, attrs = header.partition(";")
        name, _eq, value = pair.strip().partition("=")
        attrs = attrs.lower()
        if "max-age=0" in attrs or "expires=thu, 01 jan 1970" in attrs:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def get(self, path):
        return self.request("GET", path)

    def post(self, action, fields, files=(), multipart=False):
        """POST a form: urlencoded, or multipart (always with ``files`` = [(name, filename, bytes)])."""
        if not (files or multipart):
            body = urlencode(fields, encoding=self.codec).encode("ascii")
            return self.request("POST", action, body, "application/x-www-form-urlencoded")
        boundary = "----portal" + secrets.token_hex(12)
        out = io.BytesIO()
        for name, value in fields.items():
            out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n".encode())
            out.write(str(value).encode(self.codec, "replace") + b"\r\n")
        for name, filename, data in files:
            out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                      f"filename=\"{filename}\"\r\nContent-Type: image/jpeg\r\n\r\n".encode())
            out.write(data + b"\r\n")
        out.write(f"--{boundary}--\r\n".encode())
        return self.request("POST", action, out.getvalue(), f"multipart/form-data; boundary={boundary}")


@dataclass
class Form:
    action: str
    hidden: dict
    multipart: bool


def find_form(page, action_path):
    """The form on ``page`` that posts to ``action_path`` (its hidden fields filled in), or None."""
    for tag, action, inner in _FORM.findall(page):
        action = html.unescape(action)
        if urlsplit(action).path == action_path:
            hidden = {}
            for field_tag in _HIDDEN.findall(inner):
                attrs = dict(_ATTR.findall(field_tag))
                if "name" in attrs:
                    hidden[attrs["name"]] = html.unescape(attrs.get("value", ""))
            return Form(action, hidden, "multipart/form-data" in tag)
    return None


def picture(rng, size=(480, 360)):
    """A small JPEG with random shapes (the portal re-encodes what it gets)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.ellipse([x, y, x + rng.randrange(20, 160), y + rng.randrange(20, 160)],
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


# --------------------------------------------------------------------------- a member

class Member:
    """A demo user at one browser, doing what members do, recording acknowledged writes."""

    def __init__(self, browser, login, users, ledger, rng):
        self.browser, self.login, self.ledger, self.rng = browser, login, ledger, rng
        number = int(login[4:])
        # portal demo makes friends in a ring: each with the next two and the previous two.
        self.friends = [f"demo{(number - 1 + step) % users + 1}" for step in (-2, -1, 1, 2)]
        self.others = [f"demo{n}" for n in range(1, users + 1) if n != number]
        self.album_id = None
        self.entries = []  # (id, title, visibility) of the entries this member wrote
        self.pictures = [picture(rng) for _ in range(2)]

    def _expect(self, response, *statuses):
        if response.status in statuses:
            return True
        if response.status < 500:  # 5xx are counted by Stats already
            self.browser.stats.surprise(response.method, response.url, response.status, response.text)
        return False

    def _form(self, page_path, action_path):
        """GET the page with the form; the Form or None."""
        page = self.browser.get(page_path)
        if not self._expect(page, 200):
            return None
        form = find_form(page.text, action_path)
        if form is None:
            self.browser.stats.surprise("GET", page_path, page.status, f"no form for {action_path}")
        return form

    def _submit(self, page_path, action_path, fields, files=()):
        """Fill in and send a form; the redirect's Location path on success, else None."""
        form = self._form(page_path, action_path)
        if form is None:
            return None
        response = self.browser.post(form.action, {**form.hidden, **fields}, files, form.multipart)
        return response.path if self._expect(response, 302) else None

    def log_in(self):
        where = self._submit("/login", "/login", {"login_id": self.login, "password": PASSWORD})
        return where is not None

    def act(self):
        kind = self.rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
        getattr(self, "do_" + kind)()

    def _some_feed_entry(self):
        """An entry of the friends' diaries, at random, or None."""
        page = self.browser.get("/diary/")
        if not self._expect(page, 200):
            return None
        entries = sorted({int(n) for n in re.findall(r"href=\"/diary/(\d+)[\"?]", page.text)})
        return self.rng.choice(entries) if entries else None

    def do_read(self):
        friend = self.rng.choice(self.friends)
        path = self.rng.choice(["/", "/diary/", f"/u/{friend}/diary", "/messages/", "/messages/sent",
                                "/footprints/", "/likes/received", f"/u/{friend}/albums", "/notices",
                                "/diary/commented", "entry", "album"])
        if path == "entry":
            entry = self._some_feed_entry()
            path = f"/diary/{entry}" if entry else "/"
        elif path == "album":
            page = self.browser.get(f"/u/{friend}/albums")
            albums = re.findall(r"href=\"(/albums/\d+)[\"?]", page.text) if page.status == 200 else []
            path = self.rng.choice(albums) if albums else "/"
        page = self.browser.get(path)
        if self._expect(page, 200):
            # Pictures on the page: their variants are made on first request.
            # (404: the member replaced the picture since, which deletes the old file.)
            for src in re.findall(r"src=\"(/media/[^\"]+)\"", page.text)[:2]:
                self._expect(self.browser.get(html.unescape(src)), 200, 404)

    def do_footprint(self):
        owner = self.rng.choice(self.others)
        since = utcnow_text()
        if self._expect(self.browser.get(f"/u/{owner}"), 200):
            self.ledger.add("footprint", self.login, owner=owner, since=since)

    def do_diary(self):
        mark = token()
        files = []
        if self.rng.random() < 0.2:
            files = [("photos", "photo.jpg", self.rng.choice(self.pictures))]
        fields = {"title": f"負荷 {mark}", "body": f"日記の本文です。Body of {mark}.\n2行目",
                  "visibility": self.rng.choice(["public", "members", "friends"]), "group": "0",
                  "allow_comments": "y"}
        where = self._submit("/diary/new", "/diary/new", fields, files)
        match = re.match(r"/diary/(\d+)", where or "")
        if match:
            self.ledger.add("diary", self.login, token=mark, entry=int(match.group(1)), photos=len(files))
            self.entries.append((int(match.group(1)), fields["title"], fields["visibility"]))

    def do_edit(self):
        """Add a line to one of my entries (edits keep the earlier lines, so every acknowledged
        edit's token stays in the body)."""
        if not self.entries:
            return self.do_diary()
        entry, title, visibility = self.rng.choice(self.entries)
        path = f"/diary/{entry}/edit"
        page = self.browser.get(path)
        form = find_form(page.text, path) if self._expect(page, 200) else None
        body = _BODY.search(page.text) if form else None
        if body is None:
            self.browser.stats.surprise("GET", path, page.status, "no edit form")
            return
        text = html.unescape(body.group(1))
        text = text[2:] if text.startswith("\r\n") else text[1:] if text.startswith("\n") else text
        mark = token()
        response = self.browser.post(form.action, {
            **form.hidden, "title": title, "body": f"{text}\n編集 {mark}", "visibility": visibility,
            "group": "0", "allow_comments": "y"}, multipart=form.multipart)
        if self._expect(response, 302):
            self.ledger.add("edit", self.login, token=mark, entry=entry)

    def do_comment(self):
        entry = self._some_feed_entry()
        if entry is None:
            return
        mark = token()
        path = f"/diary/{entry}/comments"
        if self._submit(path, path, {"body": f"コメント {mark}"}) is not None:
            self.ledger.add("comment", self.login, token=mark, entry=entry)

    def do_like(self):
        entry = self._some_feed_entry()
        if entry is None:
            return
        page = self.browser.get(f"/diary/{entry}")
        if not self._expect(page, 200):
            return
        form, part = find_form(page.text, f"/like/diary/{entry}"), 1
        for _ in range(50):  # a phone shows a long entry in parts, the button on the last
            later = [n for n in map(int, re.findall(r"[?&](?:amp;)?part=(\d+)", page.text)) if n > part]
            if form is not None or not later:
                break
            part = max(later)
            page = self.browser.get(f"/diary/{entry}?part={part}")
            if not self._expect(page, 200):
                return
            form = find_form(page.text, f"/like/diary/{entry}")
        if form is None:
            self.browser.stats.surprise("GET", page.url, page.status, "no like button")
            return
        if form.hidden.get("undo") == "1":  # liked already: it stays liked
            return
        response = self.browser.post(form.action, form.hidden)
        if self._expect(response, 302):
            self.ledger.add("like", self.login, entry=entry)

    def do_message(self):
        mark = token()
        to = self.rng.choice(self.friends)
        if self._submit(f"/messages/new?to={to}", "/messages/new",
                        {"to": to, "subject": f"件名 {mark}", "body": f"メッセージ {mark}"}) is not None:
            self.ledger.add("message", self.login, token=mark, to=to)

    def do_photo(self):
        if self.album_id is None:
            mark = token()
            where = self._submit("/albums/new", "/albums/new", {
                "title": f"アルバム {mark}", "description": "", "visibility": "members", "group": "0"})
            match = re.match(r"/albums/(\d+)/upload", where or "")
            if not match:
                return
            self.album_id = int(match.group(1))
            self.ledger.add("album", self.login, token=mark, album=self.album_id)
        mark = token()
        count = self.rng.choice([1, 1, 2])
        path = f"/albums/{self.album_id}/upload"
        files = [("files", f"p{n}.jpg", self.pictures[n % 2]) for n in range(count)]
        if self._submit(path, path, {"caption": f"写真 {mark}"}, files) is not None:
            self.ledger.add("photo", self.login, token=mark, album=self.album_id, count=count)

    def do_avatar(self):
        files = [("files", "me.jpg", self.rng.choice(self.pictures))]
        if self._submit("/settings/avatar", "/settings/avatar", {}, files) is not None:
            self.ledger.add("avatar", self.login)


def run_load(port, clients, users, seconds, ledger, stats, stop=None, seed=None, ready=None):
    """``clients`` members (demo1.., one each) log in, then act for ``seconds`` from the start
    or until ``stop`` is set. ``ready`` (an Event) is set once every member tried to log in.
    Returns the number of members who logged in."""
    stop = stop or threading.Event()
    ready = ready or threading.Event()
    master = random.Random(seed)
    deadline = time.monotonic() + seconds
    logged_in, tried = [], []
    lock = threading.Lock()

    def tried_one():
        with lock:
            tried.append(1)
            if len(tried) == clients:
                ready.set()

    def member_loop(n, rng):
        kind, user_agent, keeps = CLIENT_KINDS[n % len(CLIENT_KINDS)]
        browser = Browser(port, user_agent, keeps, stats)
        member = Member(browser, f"demo{n % users + 1}", users, ledger, rng)
        try:
            try:
                if not member.log_in():
                    return
            finally:
                tried_one()
            logged_in.append(kind)
            while time.monotonic() < deadline and not stop.is_set():
                member.act()
        except ConnectionLost:
            if not stop.is_set():
                stats.surprise("", "", 0, "connection lost while the server should be up")
        finally:
            browser.close()

    threads = [threading.Thread(target=member_loop, args=(n, random.Random(master.random())),
                                name=f"member-{n}", daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic()) + 120)
    return len(logged_in)


# --------------------------------------------------------------------------- the checks

@dataclass
class Verdict:
    integrity: str
    lost: list
    missing_files: list
    media_rows: int


def _parse_time(text):
    return datetime.datetime.fromisoformat(str(text))


def verify(data_dir, ledger):
    """Check the database file and the media folder against the acknowledged writes."""
    data_dir = Path(data_dir)
    conn = sqlite3.connect(data_dir / "portal.db", timeout=60)
    try:
        integrity = "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
        ids = dict(conn.execute("SELECT login_id, id FROM user"))
        lost = [write for write in ledger.writes if not _present(conn, ids, write)]
        media = [row[0] for sql in (
            "SELECT media_id FROM photo", "SELECT media_id FROM diary_photo",
            "SELECT avatar_media FROM user WHERE avatar_media IS NOT NULL",
            "SELECT cover_media FROM album WHERE cover_media IS NOT NULL") for row in conn.execute(sql)]
    finally:
        conn.close()
    media_dir = data_dir / "media"
    missing = [m for m in set(media) if not (media_dir / m[:2] / m / "original.jpg").is_file()]
    return Verdict(integrity, lost, sorted(missing), len(media))


def _present(conn, ids, write):
    kind, user = write["kind"], ids.get(write["login"])

    def one(sql, *args):
        return conn.execute(sql, args).fetchone()

    if kind == "diary":
        row = one("SELECT (SELECT COUNT(*) FROM diary_photo WHERE entry_id = e.id) FROM diary_entry e "
                  "WHERE e.id = ? AND e.owner_id = ? AND instr(e.title, ?) AND instr(e.body, ?)",
                  write["entry"], user, write["token"], write["token"])
        return row is not None and row[0] == write["photos"]
    if kind == "edit":
        return one("SELECT 1 FROM diary_entry WHERE id = ? AND owner_id = ? AND instr(body, ?)",
                   write["entry"], user, write["token"]) is not None
    if kind == "comment":
        return one("SELECT 1 FROM diary_comment WHERE entry_id = ? AND author_id = ? AND instr(body, ?)",
                   write["entry"], user, write["token"]) is not None
    if kind == "like":
        return one("SELECT 1 FROM \"like\" WHERE kind = 'diary' AND object_id = ? AND user_id = ?",
                   write["entry"], user) is not None
    if kind == "message":
        return one("SELECT 1 FROM message WHERE sender_id = ? AND recipient_id = ? AND instr(subject, ?) "
                   "AND instr(body, ?)", user, ids[write["to"]], write["token"], write["token"]) is not None
    if kind == "footprint":
        # A visit to the same page within Footprint FRESH of the recorded one, or one answered
        # from the page cache (at most PAGE_CACHE_SECONDS after the view that recorded it),
        # leaves the recorded time: it is exact to within their sum.
        from portal.config import DEFAULTS
        from portal.models.footprints import FRESH

        slack = FRESH + datetime.timedelta(seconds=DEFAULTS["PAGE_CACHE_SECONDS"])
        row = one("SELECT visited_at FROM footprint WHERE owner_id = ? AND visitor_id = ?",
                  ids[write["owner"]], user)
        return row is not None and _parse_time(row[0]) >= _parse_time(write["since"]) - slack
    if kind == "album":
        return one("SELECT 1 FROM album WHERE id = ? AND owner_id = ? AND instr(title, ?)",
                   write["album"], user, write["token"]) is not None
    if kind == "photo":
        row = one("SELECT COUNT(*) FROM photo WHERE album_id = ? AND owner_id = ? AND instr(caption, ?)",
                  write["album"], user, write["token"])
        return row[0] == write["count"]
    if kind == "avatar":
        return one("SELECT 1 FROM user WHERE id = ? AND avatar_media IS NOT NULL", user) is not None
    raise ValueError(f"unknown write kind {kind}")


def locked_lines(log_text):
    """How many times the server said "database is locked"."""
    return log_text.count(LOCKED)


def describe_lost(lost, limit=5):
    """A few lost writes, one a line, for the report."""
    return "\n".join(f"  lost: {write}" for write in lost[:limit])


def parse_arguments(parser, argv, seed_help):
    """The arguments load.py and crash.py share, added to ``parser``, then parsed and checked."""
    parser.add_argument("--clients", type=int, default=32, help="members acting at once")
    parser.add_argument("--users", type=int, default=40, help="demo users seeded")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--seed", type=int, default=None, help=seed_help)
    parser.add_argument("--keep", action="store_true", help="keep the data dir (and its server.log)")
    args = parser.parse_args(argv)
    if args.clients > args.users:
        parser.error("--clients must not exceed --users (one demo user per client)")
    return args


def print_problems(stats, verdict, limit):
    """The first ``limit`` unexpected answers, server errors and missing files, and the lost writes."""
    for method, path, status, text in stats.unexpected[:limit]:
        print(f"  unexpected: {method} {path} -> {status}: {text}")
    for method, path, status in stats.server_errors[:limit]:
        print(f"  server error: {method} {path} -> {status}")
    if verdict.lost:
        print(describe_lost(verdict.lost))
    for media_id in verdict.missing_files[:limit]:
        print(f"  missing file: {media_id}")


def finish(data_dir, server, failed, keep):
    """Keep the data dir when something failed (or when asked), else remove it; the exit code."""
    if failed or keep:
        print(f"data dir kept: {data_dir} (server log: {server.log_path})")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 1 if failed else 0
