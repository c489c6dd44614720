"""Small helpers shared by the views."""
import re
import unicodedata
from urllib.parse import urlsplit

from flask import current_app, redirect, request, url_for
from flask_wtf import FlaskForm
from werkzeug.exceptions import default_exceptions


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean_text(value):
    """Drop characters no page may carry (C0 controls, lone surrogates): they would break
    XHTML and Atom, and nobody types them on purpose. CRLF becomes LF. Carrier emoji
    become Unicode (keitai.emoji_in)."""
    if isinstance(value, str):
        from flask import g

        from ..web.keitai import emoji_in

        value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
        device = g.get("device")
        return emoji_in(value, device.carrier) if device is not None else value
    return value


class BaseForm(FlaskForm):
    """Every form of the site: text fields are cleaned of unprintable characters."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = list(unbound_field.kwargs.get("filters", ()))
            if not any(f is clean_text for f in filters):
                unbound_field.kwargs["filters"] = [clean_text, *filters]
            return unbound_field.bind(form=form, **options)


class ActionForm(BaseForm):
    """A bare button (accept, revoke, delete, ...): only the CSRF token."""


def normalize_query(text):
    """Search text as typed on any keyboard: NFKC folds full-width letters and half-width kana;
    control characters go (PostgreSQL refuses a NUL in LIKE)."""
    return clean_text(unicodedata.normalize("NFKC", text or "")).strip()[:50]


def safe_next(default_endpoint="home.index"):
    """The ``next`` target of this request if it stays on this site, else the default URL.
    The handset session token in it is brought up to date (it changes at login)."""
    from ..web.sessions import with_token

    target = request.values.get("next", "")
    return with_token(target) if is_same_site(target) else url_for(default_endpoint)


def is_same_site(target):
    """True for a path on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if any(ch in target for ch in "\r\n\t\\"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def redirect_next(default_endpoint="home.index"):
    """Redirect to a same-site ``next`` or to the default endpoint."""
    return redirect(safe_next(default_endpoint))


def client_address():
    """The client's address as the app sees it (ProxyFix applies PORTAL_PROXY_COUNT)."""
    return request.remote_addr or "unknown"


def abort_with(code, message):
    """Abort with an HTTP error whose page shows ``message``."""
    error = default_exceptions[code]()
    error.portal_message = message
    raise error


# Site settings the admin page may change; the config gives their defaults.
SITE_SETTINGS = ("INVITE_QUOTA", "FOOTPRINT_RETENTION_DAYS", "FOOTPRINT_DELETIONS_PER_MONTH")


def site_setting(name):
    """An integer site setting: the admin's value, else the configured default."""
    from ..models import SiteSetting

    return SiteSetting.get_int(name.lower(), current_app.config[name])


def get_user_or_404(login_id, *extra_columns, key=""):
    """The active user with this login id, or a 404; ``extra_columns`` (aliased expressions
    over the user row, named by ``key``) come in the same query."""
    from flask import abort

    from ..models import User

    user = User.by_login_id(login_id, *extra_columns, key=key)
    if user is None or user.is_suspended:
        abort(404)
    return user
