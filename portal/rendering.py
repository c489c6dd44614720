"""Template sets and page rendering.

Both sets live side by side (``templates_mobile/``, ``templates_pc/``) with the
same page names. A PrefixLoader exposes them as ``mobile/...`` and ``pc/...``;
inside a set, ``{% extends "_base.html" %}`` resolves to the same set, so the
templates never name their own set.
"""
import itertools
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

    from .models import Alias

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


class Page:
    """One page of a query by page number: items and whether there are neighbours.

    Fetches LIMIT n+1 to learn whether a next page exists without a COUNT. For
    long lists that grow, use KeysetPage, which stays fast deep down.
    """

    def __init__(self, query, page=None, per_page=None, arg="page"):
        """``query``: a peewee query, or ``fetch(limit, offset) -> rows`` (a prepared query);
        ``arg``: the query argument with the page number (two lists on one page need two)."""
        self.per_page = per_page or g.device.page_size
        self.arg = arg
        self.number = page if page is not None else _page_arg(arg)
        if callable(query):
            rows = list(query(self.per_page + 1, (self.number - 1) * self.per_page))
        else:
            # One row more than a page tells whether a next page exists (peewee's paginate()
            # would also start each page one row further per page: rows lost between pages).
            rows = list(query.limit(self.per_page + 1).offset((self.number - 1) * self.per_page))
        self.has_next = len(rows) > self.per_page
        self.items = rows[: self.per_page]
        self.has_prev = self.number > 1

    @property
    def next_args(self):
        return {self.arg: self.number + 1}

    @property
    def prev_args(self):
        return {self.arg: self.number - 1}


class KeysetPage:
    """One page of a list ordered by ``key`` (newest first), addressed by the key of the
    neighbouring item (``?before=id`` / ``?after=id``): the cost does not grow with depth."""

    def __init__(self, query, key, per_page=None):
        self.per_page = per_page = per_page or g.device.page_size
        before, after = _int_arg("before"), _int_arg("after")
        if after and not before:
            rows = list(query.where(key > after).order_by(key.asc()).limit(per_page + 1))
            self.has_prev = len(rows) > per_page
            self.items = rows[:per_page][::-1]
            self.has_next = True
        else:
            if before:
                query = query.where(key < before)
            rows = list(query.order_by(key.desc()).limit(per_page + 1))
            self.has_next = len(rows) > per_page
            self.items = rows[:per_page]
            self.has_prev = bool(before)
        self.has_prev = self.has_prev and bool(self.items)
        self.has_next = self.has_next and bool(self.items)
        self._key = key.name

    @property
    def next_args(self):
        return {"before": getattr(self.items[-1], self._key), "after": None, "page": None}

    @property
    def prev_args(self):
        return {"after": getattr(self.items[0], self._key), "before": None, "page": None}


def part_arg():
    """The ``part`` query argument of a text split into parts (1 when missing or bad)."""
    return max(1, _int_arg("part"))


def _int_arg(name):
    """A non-negative int query argument, 0 when missing or bad."""
    value = request.args.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 16 else 0  # not "②"


def _page_arg(name="page"):
    """The ``page`` (or ``name``) query argument as a positive int (1 when missing or bad)."""
    value = request.args.get(name, "1")
    if not (value.isascii() and value.isdigit()) or len(value) > 15:  # "²" is a digit int() refuses
        return 1
    return max(1, min(int(value), 10**6))


_ESCAPED_SIZE = {"&": 5, "<": 4, ">": 4, '"': 5, "'": 5, "\n": 7}  # "\n" becomes "<br />\n"
_BREAK_AFTER = "\n。、．，.!?！？ 　)）」』"


def _char_bytes(ch, codec):
    size = _ESCAPED_SIZE.get(ch)
    if size is not None:
        return size
    try:
        return len(ch.encode(codec))
    except UnicodeEncodeError:
        return 2  # sent as the geta mark 〓


_KNOWN_COSTS = {}  # codec -> {character: _char_bytes}; what a page's texts use, bounded
_KNOWN_LIMIT = 20000


def _costs(text, codec):
    """``_char_bytes`` of every character of ``text``: looked up, not encoded one by one (a
    long entry has thousands of characters, a handset's page splits it on every view)."""
    known = _KNOWN_COSTS.setdefault(codec, {})
    costs = []
    for ch in text:
        cost = known.get(ch)
        if cost is None:
            cost = _char_bytes(ch, codec)
            if len(known) < _KNOWN_LIMIT:
                known[ch] = cost
        costs.append(cost)
    return costs


def split_text(text, max_bytes, codec="utf-8"):
    """Split ``text`` into parts whose escaped, encoded size is at most ``max_bytes`` each.

    Parts break between characters (never inside a multi-byte character or an
    entity), preferably after a line break or punctuation near the end of a
    part; ``"".join(parts) == text`` always holds.
    """
    text = text or ""
    if max_bytes <= 0:
        return [text]
    costs = _costs(text, codec)
    if sum(costs) <= max_bytes:
        return [text]
    before = [0, *itertools.accumulate(costs)]  # before[i]: the size of text[:i]
    parts, start, size, last_break = [], 0, 0, None
    for index, ch in enumerate(text):
        cost = costs[index]
        if size + cost > max_bytes and index > start:
            # Break at the last good place in the final fifth of the part, else here.
            cut = last_break if last_break is not None and last_break > start and \
                before[last_break] - before[start] >= max_bytes * 4 // 5 else index
            parts.append(text[start:cut])
            start = cut
            size = before[index] - before[start]
            last_break = None
        size += cost
        if ch in _BREAK_AFTER:
            last_break = index + 1
    parts.append(text[start:])
    return parts


def editable_parts(text, max_bytes, codec="utf-8"):
    """Like split_text, but no part after the first starts with a line break (a textarea
    would lose or gain it), so such breaks move to the end of the part before."""
    parts = split_text(text, max_bytes, codec)
    for i in range(1, len(parts)):
        stripped = parts[i].lstrip("\n")
        if stripped:
            parts[i - 1] += parts[i][: len(parts[i]) - len(stripped)]
            parts[i] = stripped
    return [part for i, part in enumerate(parts) if part or i == 0]


def text_part(text, budget, number):
    """(part text, part number, part count) of ``text`` split for ``budget`` bytes."""
    parts = split_text(text, budget, g.device.codec) if budget else [text or ""]
    number = max(1, min(number, len(parts)))
    return parts[number - 1], number, len(parts)

