"""The portal: one Flask app for feature phones and PCs.

``create_app(config=None)`` builds an app: configuration, database, login,
CSRF, Babel, device detection, blueprints and the request hooks.
"""
import gzip
from functools import cached_property, lru_cache

from flask import Flask, Response, g, request
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.local import LocalProxy
from werkzeug.routing import IntegerConverter

from . import db
from .web import device, keitai, limits, sessions
from .config import load_config
from .web.extensions import babel, csrf, login_manager
from .web.i18n import select_locale
from .web.rendering import SetEnvironment, make_loader, richtext, template_helpers, xhtml


class PortalResponse(Response):
    """Every redirect carries an absolute Location (docomo needs it)."""

    autocorrect_location_header = True


class Portal(Flask):
    """Flask with the two template sets (see rendering.py)."""

    jinja_environment = SetEnvironment
    request_class = keitai.PortalRequest
    response_class = PortalResponse

    @cached_property
    def jinja_loader(self):
        return make_loader()

    def url_for(self, endpoint, *, _external=None, **values):
        """Absolute URLs (mails, feeds, invite links: made to leave this request) never carry a
        handset's session token. Static files get a content fingerprint (``?v=``), so they
        can be cached for a year and still change on upgrade."""
        if _external:
            values.setdefault(sessions.PARAM, None)
        if endpoint == "static" and "filename" in values:
            values.setdefault("v", static_fingerprint(values["filename"]))
        return super().url_for(endpoint, _external=_external, **values)

    def get_send_file_max_age(self, filename):
        """A year for fingerprinted static files (the URL changes with the content)."""
        if request and request.args.get("v"):
            return 365 * 24 * 3600
        return super().get_send_file_max_age(filename)


@lru_cache(maxsize=64)
def static_fingerprint(filename):
    """A short hash of a static file's content."""
    import hashlib
    from pathlib import Path

    path = Path(__file__).parent / "static" / filename
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


class HealthCheck:
    """WSGI middleware answering ``/healthz`` before Flask: no session, no database."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                                      ("Content-Length", "2"), ("Cache-Control", "no-store")])
            return [b"ok"]
        return self.app(environ, start_response)


def create_app(config=None):
    """Build the portal app. ``config`` (a dict) overrides defaults and environment."""
    app = Portal(__name__, static_folder="static", template_folder=None)
    app.config.update(load_config(config))
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["DEFAULT_LANGUAGE"]
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["TIMEZONE"]

    db.init_app(app)
    sessions.init_app(app)
    device.init_app(app)
    csrf.init_app(app)
    limits.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories="translations")
    login_manager.init_app(app)
    _init_login(app)
    _register_blueprints(app)
    _register_hooks(app)

    from .web import errors, pagecache

    errors.init_app(app)
    pagecache.init_app(app)
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    app.wsgi_app = keitai.ShiftJISInput(HealthCheck(app.wsgi_app))
    return app


def _init_login(app):
    from flask_babel import lazy_gettext as _l

    from .models import User

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id):
        from flask import g

        from .models.logins import load_user as load
        from .models.messages import unread_query
        from .web.pagecache import generation_columns

        # The unread count every page's menu shows, and the page generations (read before
        # anything the page shows: pagecache.py), come with the user row: one query.
        user = load(session_id, unread_query(User.id).alias("unread_messages"),
                    *generation_columns(User.id), cache_key="unread+generations")
        if user is not None:
            g.unread_messages = user.unread_messages
            g.page_generations = (user.site_generation, user.user_generation)
        return user


class _BoundedInt(IntegerConverter):
    """``<int:...>`` in every route: at most a 64-bit signed integer, as an id column holds.
    A longer number is a 404 like any unknown id (SQLite would overflow on it: a 500)."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**63 - 1, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _register_blueprints(app):
    app.url_map.converters["int"] = _BoundedInt
    from .views import (admin, auth, diary, feeds, footprints, friends, home, invites, likes, media, messages,
                        people, photos, safety, settings, voice)

    for module in (home, auth, people, friends, diary, voice, photos, media, likes, messages, feeds, footprints,
                   invites, safety, settings, admin):
        app.register_blueprint(module.bp)


GZIP_MIN_BYTES = 512


def _gzip(response):
    """Compress PC-set pages for clients that accept gzip (never for carrier handsets; the
    mobile set is small and some handsets and proxies mishandle compressed XHTML)."""
    device = g.get("device")
    compressible = 200 <= response.status_code < 300 or response.status_code == 404
    if (device is None or device.kind != "pc" or device.is_carrier or response.direct_passthrough
            or not compressible
            or "Content-Encoding" in response.headers
            or not response.mimetype.startswith(("text/", "application/xhtml+xml", "application/atom+xml"))):
        return response
    response.vary.add("Accept-Encoding")
    if "gzip" not in request.headers.get("Accept-Encoding", ""):
        return response
    body = response.get_data()
    if len(body) < GZIP_MIN_BYTES:
        return response
    response.set_data(gzip.compress(body, compresslevel=6))
    response.headers["Content-Encoding"] = "gzip"
    return response


def _register_hooks(app):
    app.jinja_env.filters["xhtml"] = xhtml
    app.jinja_env.filters["richtext"] = richtext
    # Globals (not a context processor) so imported macros can call them too.
    app.jinja_env.globals.update(template_helpers())
    app.jinja_env.globals.update(current_user=current_user, device=LocalProxy(lambda: g.get("device")))
    from .views.messages import unread_for_menu

    app.jinja_env.globals["unread_messages"] = unread_for_menu

    @app.context_processor
    def _template_globals():
        return {"site_name": app.config["SITE_NAME"],
                "lang": str(get_locale() or app.config["DEFAULT_LANGUAGE"])}

    @app.after_request
    def _finish(response):
        response = keitai.encode_response(response)
        response = _gzip(response)
        response.vary.add("User-Agent")
        response.vary.add("Cookie")
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint != "static":
            device = g.get("device")
            # Handsets before i-mode browser 2.0 know only inline styles: allow style
            # attributes on mobile pages (never scripts).
            style = "'self' 'unsafe-inline'" if device is not None and device.is_mobile else "'self'"
            headers.setdefault(
                "Content-Security-Policy",
                f"default-src 'self'; img-src 'self' data:; style-src {style}; script-src 'self'; "
                "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
            headers.setdefault("Cache-Control", "private, no-cache")
        return response
