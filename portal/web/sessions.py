"""Sessions for handsets that may not keep cookies (KEITAI.md, "Cookie-less handsets").

PC clients keep Flask's signed cookie session. Clients whose User-Agent is a handset or
a text browser get a server-side session (a row in ``url_session``) whose random token
travels in a cookie *and*, until that cookie comes back, in the URL (``?sid=``), added to
every link, form action and redirect by ``url_defaults``. Like jpmobile's trans_sid and
OpenPNE's ksid: the token is bound to the User-Agent, expires after an hour idle, and is
replaced at login. Links to other sites go through the jump page, which sends no Referer.
"""
import datetime
import hashlib
import secrets

from flask import request
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_login import user_logged_in
from werkzeug.datastructures import CallbackDict

from ..db import database, private_writes, utcnow
from .device import detect
from ..models.sessions import UrlSession

PARAM = "sid"
COOKIE = "msid"
IDLE = datetime.timedelta(hours=1)
# An unchanged session is written back only when its row is older than this, so a page
# view costs no write; the idle expiry is then exact to within REFRESH.
REFRESH = datetime.timedelta(minutes=5)
SERIALIZER = TaggedJSONSerializer()  # what Flask's cookie sessions use: Markup, datetimes, bytes


class ServerSession(CallbackDict, SessionMixin):
    """Session data kept in the database; ``token`` names the row."""

    def __init__(self, initial=None, token=None, from_cookie=False):
        def on_update(self):
            self.modified = True

        super().__init__(initial, on_update)
        self.token = token or secrets.token_urlsafe(24)
        self.from_cookie = from_cookie  # the client showed it keeps our cookie
        self.modified = False
        self.rotated_from = None
        self.token_used = False  # the token went into a URL: keep the session
        self.new = True  # no row yet
        self.saved_at = None  # when the row was last written


def _ua_hash():
    return hashlib.sha256(request.headers.get("User-Agent", "").encode()).hexdigest()


def uses_server_session(environ_request):
    """Handsets and text browsers (by User-Agent, never PC clients) get server sessions."""
    return detect(environ_request.headers.get("User-Agent", ""), environ_request.is_secure).kind == "mobile"


class PortalSessionInterface(SecureCookieSessionInterface):
    """Signed cookies for PCs; server-side sessions with URL tokens for handsets."""

    def open_session(self, app, req):
        if not uses_server_session(req):
            return super().open_session(app, req)
        cookie_token = req.cookies.get(COOKIE)
        token = cookie_token or req.args.get(PARAM) or req.form.get(PARAM)
        if token:
            row = self._load(token)
            if row is not None:
                session = ServerSession(SERIALIZER.loads(row.data), token=token,
                                        from_cookie=cookie_token == token)
                session.new = False
                session.saved_at = row.updated_at
                return session
        return ServerSession()

    @staticmethod
    def _load(token):
        with database.connection_context():
            row = UrlSession.get_or_none(UrlSession.token == token[:64])
            if row is None or row.ua_hash != _ua_hash() or row.updated_at < utcnow() - IDLE:
                return None
            return row

    def save_session(self, app, session, response):
        if not isinstance(session, ServerSession):
            return super().save_session(app, session, response)
        if not (session or session.modified or session.rotated_from or session.token_used):
            return
        now = utcnow()
        unchanged = not (session.new or session.modified or session.rotated_from)
        if unchanged and session.saved_at is not None and session.saved_at > now - REFRESH:
            if not session.from_cookie:
                self._set_cookie(app, session, response)  # until the client shows it keeps it
            response.vary.add("Cookie")
            return
        # No page shows a session row: its writes move no page generation (the page cache
        # checks the row itself, see pagecache.py).
        with database.connection_context(), private_writes():
            with database.atomic():
                if session.rotated_from:
                    UrlSession.delete().where(UrlSession.token == session.rotated_from).execute()
                data = SERIALIZER.dumps(dict(session))
                (UrlSession.insert(token=session.token, ua_hash=_ua_hash(), data=data, updated_at=now)
                 .on_conflict(conflict_target=[UrlSession.token],
                              update={UrlSession.data: data, UrlSession.updated_at: now})
                 .execute())
                # Forget idle sessions whenever a new one starts (indexed on updated_at).
                if session.new or session.rotated_from:
                    UrlSession.purge(now - IDLE)
        self._set_cookie(app, session, response)

    @staticmethod
    def _set_cookie(app, session, response):
        response.set_cookie(COOKIE, session.token, httponly=True, samesite="Lax",
                            secure=app.config["SESSION_COOKIE_SECURE"], path="/")
        response.vary.add("Cookie")


def _rotate_on_login(sender, user, **extra):
    """A new token at login, so a token seen before login is worth nothing after it."""
    from flask import session

    if isinstance(session, ServerSession):
        session.rotated_from = session.token
        session.token = secrets.token_urlsafe(24)
        session.from_cookie = False
        session.modified = True


def url_token():
    """The token to put in URLs for this request, or None (PCs, or the cookie came back)."""
    from flask import session

    if isinstance(session, ServerSession) and not session.from_cookie:
        session.token_used = True
        return session.token
    return None


def init_app(app):
    """Install the session interface and add the token to URLs built for handsets."""
    app.session_interface = PortalSessionInterface()
    user_logged_in.connect(_rotate_on_login, app)

    @app.url_defaults
    def _add_token(endpoint, values):
        if endpoint == "static" or PARAM in values:
            return
        token = url_token()
        if token:
            values[PARAM] = token


def with_token(url):
    """Add (or replace) the session token in a same-site URL, for redirects to ``next``."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    token = url_token()
    parts = urlsplit(url)
    args = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != PARAM]
    if token:
        args.append((PARAM, token))
    return urlunsplit(parts._replace(query=urlencode(args)))
