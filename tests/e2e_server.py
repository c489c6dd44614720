"""A real HTTP server for end-to-end tests: the test's app under waitress on
127.0.0.1 and an ephemeral port, in a background thread.

Every request that reaches the app is recorded (client address, Host header,
method, path, Cookie header, request body, status, response headers and body)
so a test can check what a real client sent and was sent, that no request
failed with a 5xx or an exception, and that every client was on 127.0.0.1 and
meant to talk to this server.
"""
import http.client
import io
import threading
import time
import traceback
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import waitress
from waitress import wasyncore

HOST = "127.0.0.1"


@dataclass
class Exchange:
    """One request the app answered."""

    remote_addr: str
    host: str  # the Host header: who the client meant to talk to
    method: str
    path: str
    query: str
    user_agent: str
    cookie: str = ""  # the Cookie header the client sent ("" when none)
    request_body: bytes = b""  # as the client sent it (before any re-encoding by the app)
    status: int = 0
    content_type: str = ""
    headers: list = field(default_factory=list)  # the response headers, (name, value) pairs
    body: bytes = b""
    error: str = ""  # a traceback when the app raised

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def header(self, name):
        """The response header ``name`` (the first one), or ""."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    @property
    def location(self):
        return self.header("Location")

    @property
    def sid(self):
        """The handset session token in the request's query string, or None."""
        return parse_qs(self.query).get("sid", [None])[0]

    def __str__(self):
        target = self.path + ("?" + self.query if self.query else "")
        return f"{self.method} {target} -> {self.status or 'exception'}"


@dataclass
class Recorder:
    """WSGI middleware that keeps an ``Exchange`` for every request."""

    MAX_BODY = 1 << 20  # request bodies up to this size are recorded

    app: object
    expected_host: str = ""  # host:port of the server, set once it is bound
    exchanges: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ, start_response):
        exchange = Exchange(environ.get("REMOTE_ADDR", ""), environ.get("HTTP_HOST", ""),
                            environ["REQUEST_METHOD"],
                            environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
                            environ.get("HTTP_USER_AGENT", ""), environ.get("HTTP_COOKIE", ""))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if 0 < length <= self.MAX_BODY:  # keep the body, hand the app an unread copy
            exchange.request_body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(exchange.request_body)
        with self.lock:
            self.exchanges.append(exchange)

        def recording_start_response(status, headers, exc_info=None):
            exchange.status = int(status.split(" ", 1)[0])
            exchange.headers = list(headers)
            exchange.content_type = exchange.header("Content-Type")
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, recording_start_response)
            try:
                chunks = list(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            exchange.error = traceback.format_exc()
            raise
        exchange.body = b"".join(chunks)
        return chunks

    def snapshot(self):
        with self.lock:
            return list(self.exchanges)

    def failures(self):
        """Exchanges that ended in an exception or a 5xx."""
        return [x for x in self.snapshot() if x.error or x.status >= 500]

    def stray(self):
        """Exchanges from a client not on 127.0.0.1, or meant for another host (a client
        whose proxy is this server, see ``proxy_env``, tried to reach elsewhere)."""
        return [x for x in self.snapshot()
                if x.remote_addr != HOST or x.host != self.expected_host]

    def by_agent(self, prefix):
        """The exchanges whose User-Agent starts with ``prefix``, in order."""
        return [x for x in self.snapshot() if x.user_agent.startswith(prefix)]

    def forget(self, exchanges):
        """Drop exchanges a test has dealt with."""
        with self.lock:
            done = {id(x) for x in exchanges}
            self.exchanges = [x for x in self.exchanges if id(x) not in done]


class LiveServer:
    """waitress serving ``app`` on 127.0.0.1:<ephemeral port> in a daemon thread.

    The asyncore loop runs in short slices so ``stop()`` can end it; the shutdown
    then happens in the loop's own thread: client channels closed, worker threads
    joined, listening socket and trigger pipe closed, so nothing is left for the
    garbage collector to warn about.
    """

    def __init__(self, app, threads=4):
        self.recorder = Recorder(app)
        self.server = waitress.create_server(self.recorder, host=HOST, port=0, threads=threads,
                                             ident="portal-e2e")
        self.port = int(self.server.effective_port)
        self.url = f"http://{HOST}:{self.port}"
        self.recorder.expected_host = f"{HOST}:{self.port}"
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._error = None
        self.thread = threading.Thread(target=self._serve, name=f"e2e-waitress-{self.port}",
                                       daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _serve(self):
        server = self.server
        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self._error = exc
        finally:
            try:
                for channel in list(server._map.values()):
                    if channel is not server and channel is not server.trigger:
                        channel.handle_close()
                server.task_dispatcher.shutdown(timeout=5)
                server.close()
            finally:
                self._stopped.set()

    def stop(self, timeout=10):
        """Stop serving and release every socket; raise if the loop failed."""
        self._stopping.set()  # the loop notices within one 0.05 s slice
        if not self._stopped.wait(timeout):
            raise RuntimeError(f"waitress did not stop within {timeout} s")
        self.thread.join(timeout)
        if self._error is not None:
            raise RuntimeError("waitress loop failed") from self._error

    def proxy_env(self):
        """Environment variables that send a client's requests for any other host to this
        server as proxy requests, where ``Recorder.stray`` sees them: nothing leaves."""
        env = {"no_proxy": HOST, "NO_PROXY": HOST}
        for scheme in ("http", "https", "ftp", "gopher", "news", "wais", "snews", "finger"):
            env[f"{scheme}_proxy"] = self.url + "/"
            env[f"{scheme.upper()}_PROXY"] = self.url + "/"
        return env

    def fetch(self, path, user_agent, method="GET", body=None, headers=None, timeout=10):
        """One raw request to this server (no redirect followed, no cookie kept):
        ``(status, {lower-case header name: value}, body bytes)``."""
        parts = urlsplit(path)
        assert not parts.netloc or parts.netloc == f"{HOST}:{self.port}", path
        target = parts.path + ("?" + parts.query if parts.query else "")
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request(method, target, body=body,
                         headers={"User-Agent": user_agent, **(headers or {})})
            response = conn.getresponse()
            return (response.status, {k.lower(): v for k, v in response.getheaders()},
                    response.read())
        finally:
            conn.close()

    def wait_until_up(self, timeout=10):
        """Return once /healthz answers (bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
            try:
                conn.request("GET", "/healthz")
                if conn.getresponse().read() == b"ok":
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
            finally:
                conn.close()
            if time.monotonic() > deadline:
                raise RuntimeError("server did not answer /healthz")
            time.sleep(0.05)
