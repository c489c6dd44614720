"""Template sets and page rendering.

Both sets live side by side (``templates_mobile/``, ``templates_pc/``) with the
same page names. A PrefixLoader exposes them as ``mobile/...`` and ``pc/...``;
inside a set, ``{% extends "_base.html" %}`` resolves to the same set, so the
templates never name their own set.
"""
import math
import re
from urllib.parse import urlencode
from pathlib import Path

from flask import g, make_response, render_template, request
from flask.templating import Environment
from jinja2 import FileSystemLoader, PrefixLoader
from markupsafe import Markup

from .device import wants_xhtml

PACKAGE_DIR = Path(__file__).parent
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


def render(name, status=200, **context):
    """Render page ``name`` from the set that fits ``g.device`` and return a response.

    Mobile pages get ``application/xhtml+xml`` where the client takes it; the
    charset is set (and the body encoded) by the keitai output hook.
    """
    device = g.device
    mimetype = "application/xhtml+xml" if wants_xhtml(device) else "text/html"
    body = render_template(f"{device.kind}/{name}", mimetype=mimetype, **context)
    response = make_response(body, status)
    response.mimetype = mimetype
    return response


def url_with(**changes):
    """The current URL with some query arguments changed (None removes one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [value]
    query = urlencode(args, doseq=True)
    return request.path + ("?" + query if query else "")


_VOID_TAG = re.compile(r"<(input|br|hr|img|meta|link)\b([^>]*?)\s*/?>")
_BARE_ATTR = re.compile(r"\s(checked|selected|required|disabled|readonly|multiple)(?=[\s/>])")


def xhtml(markup):
    """Make HTML from a form widget well-formed XML: close void tags, give bare attributes values."""
    def fix_tag(match):
        attrs = _BARE_ATTR.sub(lambda m: f' {m.group(1)}="{m.group(1)}"', match.group(2))
        return f"<{match.group(1)}{attrs} />"

    text = _VOID_TAG.sub(fix_tag, str(markup))
    text = re.sub(r"<option\b([^>]*)>", lambda m: "<option" + _BARE_ATTR.sub(
        lambda a: f' {a.group(1)}="{a.group(1)}"', m.group(1) + " ").rstrip() + ">", text)
    return Markup(text)


def template_helpers():
    """Functions every template may call."""
    return {"url_with": url_with, "current_path": lambda: url_with()}


class Page:
    """One page of a query: items, page number and whether there are neighbours.

    Uses LIMIT n+1 to learn whether a next page exists without a COUNT; lists
    that grow large use keyset pagination on top of this (``after=``).
    """

    def __init__(self, query, page=None, per_page=None):
        self.per_page = per_page or g.device.page_size
        self.number = page if page is not None else _page_arg()
        rows = list(query.paginate(self.number, self.per_page + 1))
        self.has_next = len(rows) > self.per_page
        self.items = rows[: self.per_page]
        self.has_prev = self.number > 1

    @property
    def next_number(self):
        return self.number + 1

    @property
    def prev_number(self):
        return self.number - 1


def _page_arg():
    """The ``page`` query argument as a positive int (1 when missing or bad)."""
    value = request.args.get("page", "1")
    if not value.isdigit():
        return 1
    return max(1, min(int(value), 10**6))


def page_count(total, per_page):
    """How many pages ``total`` items fill."""
    return max(1, math.ceil(total / per_page))
