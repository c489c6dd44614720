"""Template sets and page rendering.

Both sets live side by side (``templates_mobile/``, ``templates_pc/``) with the
same page names. A PrefixLoader exposes them as ``mobile/...`` and ``pc/...``;
inside a set, ``{% extends "_base.html" %}`` resolves to the same set, so the
templates never name their own set.
"""
import re
from urllib.parse import urlencode
from pathlib import Path

from flask import g, make_response, render_template, request
from flask.templating import Environment
from jinja2 import FileSystemLoader, PrefixLoader
from markupsafe import Markup

from .device import wants_xhtml
from .textparts import text_part

PACKAGE_DIR = Path(__file__).parent.parent
TEMPLATE_SETS = {
    "mobile": PACKAGE_DIR / "templates_mobile",
    "pc": PACKAGE_DIR / "templates_pc",
}


class SetEnvironment(Environment):
    """Jinja environment that resolves names relative to the set of the including template."""

    def join_path(self, template, parent):
        if template.startswith(tuple(f"{name}/" for name in TEMPLATE_SETS)):
            return template
        prefix = parent.split("/", 1)[0]
        if prefix in TEMPLATE_SETS:
            return f"{prefix}/{template}"
        return template


def make_loader():
    """The loader over both template sets."""
    return PrefixLoader({name: FileSystemLoader(str(path)) for name, path in TEMPLATE_SETS.items()})


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render(name, /, status=200, **context):
    """Render page ``name`` from the set that fits ``g.device`` and return a response.

    Mobile pages get ``application/xhtml+xml`` where the client takes it; the
    charset is set (and the body encoded) by the keitai output hook.
    """
    device = g.device
    mimetype = "application/xhtml+xml" if wants_xhtml(device) else "text/html"
    body = render_template(f"{device.kind}/{name}", mimetype=mimetype, **context)
    if device.is_mobile:  # XML forbids these; one reflected from a query would break the page
        body = _NOT_XML.sub("", body)
    response = make_response(body, status)
    response.mimetype = mimetype
    return response


def url_with(**changes):
    """The current URL with some query arguments changed (None removes one); the handset
    session token is always the current one."""
    from .sessions import PARAM, url_token

    args = request.args.to_dict(flat=False)
    args.pop(PARAM, None)
    token = url_token()
    if token:
        args[PARAM] = [token]
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [value]
    query = urlencode(args, doseq=True)
    return request.path + ("?" + query if query else "")


_START_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)\b([^>]*?)\s*(/?)>")
# A quoted value is matched first and kept as it is, so words inside values stay text.
_BARE_ATTR = re.compile(r"\"[^\"]*\"|'[^']*'"
                        r"|\s(checked|selected|required|disabled|readonly|multiple|autofocus)(?=[\s/]|$)")
_VOID = {"input", "br", "hr", "img", "meta", "link"}


def xhtml(markup):
    """Make HTML from a form widget well-formed XML: close void tags, give bare attributes values."""
    def fix_tag(match):
        name, attrs = match.group(1), match.group(2)
        attrs = _BARE_ATTR.sub(lambda m: f' {m.group(1)}="{m.group(1)}"' if m.group(1) else m.group(0), attrs)
        close = " /" if name.lower() in _VOID else ""
        return f"<{name}{attrs}{close}>"

    text = _START_TAG.sub(fix_tag, str(markup))
    # WTForms starts a textarea with a newline that HTML parsers drop and XML parsers keep;
    # the mobile set is parsed as XML by some handsets, so leave it out (edited parts never
    # start with a newline, see diary.edit).
    return Markup(re.sub(r"(<textarea\b[^>]*>)\r?\n", r"\1", text))


_URL = re.compile(r"https?://[^\s<>\"'\u3000-\u303f\uff01-\uff0f]+")


def richtext(text):
    """Plain text for a page: markup shown as text, line breaks kept, URLs become links
    through the jump page (which sends no Referer to the other site)."""
    from flask import url_for
    from markupsafe import escape

    out, last = [], 0
    for match in _URL.finditer(text or ""):
        url = match.group(0).rstrip(".,)!?")
        end = match.start() + len(url)
        out.append(escape(text[last:match.start()]))
        # The jump link carries no session token: the page that sends the reader away must not
        # show it in a Referer, even on handsets that ignore Referrer-Policy.
        out.append(Markup('<a href="%s" rel="nofollow">%s</a>') % (url_for("home.jump", url=url, sid=None), url))
        last = end
    out.append(escape((text or "")[last:]))
    return Markup("".join(str(piece) for piece in out)).replace("\n", Markup("<br />\n"))


def alias_of(user):
    """The private alias the current viewer gave ``user``, or None (one query per request)."""
    from flask_login import current_user

    from ..models import Alias

    if not current_user.is_authenticated or user is None:
        return None
    if "aliases" not in g:
        g.aliases = Alias.map_for(current_user.id)
    return g.aliases.get(user.id)


def template_helpers():
    """Functions every template may call."""
    return {"url_with": url_with, "current_path": lambda: url_with(), "alias_of": alias_of,
            "text_part": text_part, "sid_field": sid_field}


def sid_field():
    """A hidden input with the handset session token, for GET forms (whose query the browser
    replaces with the form's fields)."""
    from .sessions import PARAM, url_token

    token = url_token()
    return Markup('<input type="hidden" name="%s" value="%s" />') % (PARAM, token) if token else ""
