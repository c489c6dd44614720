"""Cross-site scripting (issue #8): every payload of ``data/xss_payloads.txt`` in every field
a member can fill, on every page that shows it, in both template sets (a PC browser, and a
docomo handset whose pages are XHTML in Shift_JIS), as the owner and as another member who
may see it.

How, so that it stays fast enough to run twice in CI:

- The world is written through the models: one row per payload and field (the text cleaned as
  the forms clean it and cut to the form's limit), one member named by each payload. Fields
  that only an item's own page shows (diary and message bodies, album descriptions, "About
  me") also come in packs: a few items holding many payloads, one a line.
- While the world is crawled every list shows all its items on one page, and a phone's text
  budget grows by the same factor (``scaled_devices``) so each item keeps its share; a second
  pass at the real sizes walks long texts part by part on the phone.
- A few payloads go through the real forms (cleaning, Shift_JIS input, forms shown again with
  errors, reflected queries) and are read back by the writer and another member.
- Every payload also goes straight through the form widgets (``|xhtml`` in the mobile set)
  and ``richtext``.

Each page is parsed with lxml.html (and as XML for the mobile set) and may have no script but
the app's own file, no ``on*`` attribute, no URL whose scheme (whitespace and controls
dropped) is not http, https or mailto, no element the templates do not write (svg, math,
iframe, object, embed, base, style, ...), no refresh and no script in a style; no payload may
appear unescaped, and each must be readable where it is shown. The Chromium test serves the
world with waitress, opens its pages as a PC and as handsets (CSP bypassed: handsets know no
CSP) and fails on a dialog, ``window.__xss``, the title "XSS", a page or console error or a
request to another host.
"""
import datetime
import html
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from lxml import etree
from lxml import html as lxml_html

from helpers import DOCOMO2_UA, PASSWORD, PC_UA, SOFTBANK_UA, login, text_of
from e2e_server import HOST
from pagecheck import parse_mobile
from portal import db
from portal.db import utcnow
from portal.web.device import Device
from portal.web.keitai import emoji_out, to_cp932
from portal.models import (Album, Alias, DiaryComment, DiaryEntry, Footprint, FriendGroup, FriendRequest,
                           Friendship, InviteCode, Introduction, Like, Login, Message, Photo, PhotoComment,
                           ProfileField, Report, User, Voice)
from portal.models.diary import rebuild_months
from portal.models.profiles import FIELDS as PROFILE_FIELDS

HERE = Path(__file__).parent
PORTAL = HERE.parent / "portal"
PAYLOAD_FILE = HERE / "data" / "xss_payloads.txt"
KINDS = ("pc", "mobile")
UAS = {"pc": PC_UA, "mobile": DOCOMO2_UA}  # docomo: i-XHTML, Shift_JIS
SCALE = 200  # list sizes and phone text budgets while the world is crawled

# --------------------------------------------------------------------------- the corpus

_ESCAPE = re.compile(r"\\(?:\{(\d+):([^}]*)\}|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.)|$)")
_SIMPLE = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t", "0": "\0", "s": " ", "#": "#"}


def unescape(line):
    """One payload line of the corpus file as text (escapes described in the file's header)."""
    def one(match):
        count, text, x2, u4, u8, char = match.groups()
        if count is not None:
            return text * int(count)
        if x2 or u4 or u8:
            return chr(int(x2 or u4 or u8, 16))
        if char in _SIMPLE:
            return _SIMPLE[char]
        raise ValueError(f"unknown escape \\{char or ''} in {line!r}")
    return _ESCAPE.sub(one, line)


def load_payloads(path=PAYLOAD_FILE):
    """The payloads, in file order."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return [unescape(line) for line in lines if line and not line.startswith("#")]


PAYLOADS = load_payloads()

# --------------------------------------------------------------------------- the checks

TEMPLATE_SOURCE = "\n".join(p.read_text(encoding="utf-8") for name in ("templates_pc", "templates_mobile")
                            for p in sorted((PORTAL / name).rglob("*.html")))
# Elements a page may have: those the templates write, those WTForms widgets and richtext make,
# and those an HTML parser adds around them.
TEMPLATE_TAGS = ({t.lower() for t in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", TEMPLATE_SOURCE)}
                 | {"html", "head", "body", "p", "input", "textarea", "select", "option", "label", "ul", "li", "a"})
NEVER = {"iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "base", "style",
         "template", "noscript", "xmp", "plaintext", "isindex", "bgsound", "marquee", "video", "audio"}
OWN_SCRIPTS = {f"/static/{p.name}" for p in (PORTAL / "static").glob("*.js")}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "background", "data", "codebase",
                  "cite", "longdesc", "dynsrc", "lowsrc", "ping", "srcset"}
SAFE_SCHEMES = {"http", "https", "mailto"}
# Removed before a URL's scheme is read: whitespace, controls and invisible format characters.
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\xa0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
BAD_STYLE = ("expression(", "url(javascript", "javascript:", "vbscript:", "behavior:", "-moz-binding")
TAG_LIKE = re.compile(r"<[a-zA-Z!/?]")


def scheme_of(value):
    """The scheme a browser would see in a URL attribute, lower case, or None (relative)."""
    match = _SCHEME.match(_INVISIBLE.sub("", value).lower())
    return match.group(1) if match else None


def problems_in(root):
    """What an injection could have left in a parsed page (lxml.html or XML tree)."""
    found = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = etree.QName(element).localname.lower()
        if tag == "script":
            if element.get("src") not in OWN_SCRIPTS or (element.text or "").strip():
                found.append(f"script element src={element.get('src')!r}")
        elif tag in NEVER or tag not in TEMPLATE_TAGS:
            found.append(f"<{tag}> element")
        elif tag == "meta" and (element.get("http-equiv") or "content-type").lower() != "content-type":
            found.append(f"meta http-equiv={element.get('http-equiv')!r}")
        elif tag == "link" and (element.get("rel") not in ("stylesheet", "alternate")
                                or not (element.get("href") or "").startswith("/")):
            found.append(f"link rel={element.get('rel')!r} href={element.get('href')!r}")
        for name, value in element.attrib.items():
            # xlink:href (XML: {http://www.w3.org/1999/xlink}href) counts as href.
            local = (etree.QName(name).localname if name.startswith("{") else name).lower().rsplit(":", 1)[-1]
            if local.startswith("on"):
                found.append(f"event attribute {name}={value[:60]!r} on <{tag}>")
            if local in URL_ATTRIBUTES:
                urls = [part.strip().split(" ")[0] for part in value.split(",")] if local == "srcset" else [value]
                for url in urls:
                    scheme = scheme_of(url)
                    if scheme is not None and scheme not in SAFE_SCHEMES:
                        found.append(f"{scheme}: URL in {name} of <{tag}>: {url[:60]!r}")
            if local == "style":
                squashed = _INVISIBLE.sub("", value).lower()
                found.extend(f"style with {bad!r} on <{tag}>" for bad in BAD_STYLE if bad in squashed)
    return found


def squash(text):
    """Text without whitespace, for "is it on the page" comparisons across line breaks."""
    return "".join(text.split())


@lru_cache(maxsize=None)
def as_sent(text, kind):
    """``text`` as a docomo handset would receive it unescaped (carrier emoji, Shift_JIS with 〓)."""
    return to_cp932(emoji_out(text, "docomo")).decode("cp932") if kind == "mobile" else text


@lru_cache(maxsize=None)
def is_distinctive(text):
    """A payload whose raw presence in a page can only mean it was not escaped."""
    return bool(TAG_LIKE.search(text)) and len(text) >= 6 and text not in TEMPLATE_SOURCE


@lru_cache(maxsize=None)
def needle(text, kind):
    """The start of ``text`` as a reader sees it on a page (empty: nothing to look for): escaped,
    then through the handset's output (emoji, Shift_JIS) and read back."""
    if kind == "mobile":
        text = html.unescape(as_sent(html.escape(text, quote=False), kind))
    return squash(text[:16])[:12]


@dataclass
class Tally:
    """Pages rendered, cases checked, fields covered and what went wrong."""

    pages: int = 0
    cases: int = 0
    fields: set = field(default_factory=set)
    failures: list = field(default_factory=list)
    jumps: set = field(default_factory=set)  # /jump links seen on pages

    def fail(self, where, what):
        self.failures.append(f"{where}: {what}")

    def report(self, limit=40):
        """The failures grouped by page and kind of problem, then the first ``limit`` in full."""
        groups = Counter(re.sub(r"\d+", "N", f.split(": payload not shown")[0].split(": raw payload")[0])[:160]
                         for f in self.failures)
        return ("\n".join(f"{n:5d} x {group}" for group, n in groups.most_common())
                + "\n--\n" + "\n".join(self.failures[:limit]))

    def summary(self, label="xss"):
        return (f"{label}: {len(PAYLOADS)} payloads x {len(self.fields)} fields x {self.pages} pages "
                f"= {self.cases} cases, failures {len(self.failures)}")


def html_tree(text):
    """A page as an HTML parser (a browser, a lenient handset) reads it."""
    return lxml_html.document_fromstring(text.split("?>", 1)[1] if text.startswith("<?xml") else text)


def parse(kind, response):
    """[(parser name, root)] of a page: lxml.html always, XML too for the mobile set."""
    text = text_of(response)
    trees = [("html", html_tree(text))]
    if kind == "mobile":
        charset = response.mimetype_params.get("charset", "utf-8")
        trees.append(("xml", parse_mobile(response.data, charset)))
    return text, trees


def haystack(root):
    """Everything a reader or a form shows of a page: its text and attribute values."""
    parts = list(root.itertext())
    parts.extend(v for element in root.iter() if isinstance(element.tag, str) for v in element.attrib.values())
    return squash(" ".join(parts))


_NEXT_MOBILE = re.compile(r'<a href="([^"]+)" accesskey="#">')
_NEXT_PC = re.compile(r'<a rel="next" href="([^"]*\?[^"]*)">')  # a page of a list, not the next entry


def check_page(tally, client, kind, path, shows=(), parts=False, statuses=(200,), method="GET",
               response=None):
    """Fetch ``path`` (or take ``response``), follow its parts when asked, and check every
    part; ``shows`` are (field, stored text) pairs that must be on it, escaped."""
    seen, label, pieces = "", f"{kind} {method} {path[:90]}", 0
    shows = shows.get(kind, ()) if isinstance(shows, dict) else shows
    while True:
        if response is None:
            response = client.get(path)
        tally.pages += 1
        pieces += 1
        if response.status_code not in statuses:
            tally.fail(label, f"status {response.status_code}")
            return ""
        try:
            text, trees = parse(kind, response)
        except (etree.XMLSyntaxError, etree.ParserError, ValueError) as exc:
            tally.fail(label, f"not well-formed: {exc}")
            text, trees = text_of(response), [("html", html_tree(text_of(response)))]
        for parser, root in trees:
            for problem in problems_in(root):
                tally.fail(f"{label} [{parser}]", problem)
        seen += haystack(trees[0][1])
        for name, stored in shows:
            sent = as_sent(stored, kind)
            if is_distinctive(stored) and sent in text:
                tally.fail(label, f"{name}: raw payload in the page: {stored[:60]!r}")
        tally.jumps.update(h.replace("&amp;", "&") for h in re.findall(r'href="(/jump\?[^"]+)"', text))
        following = (_NEXT_MOBILE if kind == "mobile" else _NEXT_PC).search(text)
        if not parts or following is None or pieces >= 40:
            break
        path, response = following.group(1).replace("&amp;", "&"), None
    for name, stored in shows:
        tally.cases += 1
        tally.fields.add(name)
        wanted = needle(stored, kind)
        if wanted and wanted not in seen:
            tally.fail(label, f"{name}: payload not shown: {stored[:40]!r} (looked for {wanted!r})")
    return seen


# --------------------------------------------------------------------------- the world

def clean(text):
    """What the forms keep of ``text`` (views.util.clean_text without a device)."""
    from portal.views.util import clean_text

    return clean_text(text)


@dataclass
class World:
    """Everything the crawl needs to know about the rows written for the payloads."""

    texts: list  # the payloads as the forms would keep them
    owner: User
    viewer: User
    users: list  # one member per payload, nickname = the payload
    host_entry: int = 0
    host_voice: int = 0
    host_album: int = 0
    host_photo: int = 0
    entries: list = field(default_factory=list)  # ids of the one-payload rows, in payload order
    entry_packs: list = field(default_factory=list)  # (entry id, [texts])
    message_packs: list = field(default_factory=list)
    album_packs: list = field(default_factory=list)
    groups: list = field(default_factory=list)
    profile_packs: list = field(default_factory=list)  # (login id, [texts]) of the "About me" field

    def cut(self, limit):
        """Every payload cut to a form's limit."""
        return [text[:limit] for text in self.texts]


# Packs hold up to this many characters, past the forms' limits for messages (5,000), album
# descriptions (1,000) and "About me" (2,000): the pages render any length the same way, and
# fewer, fuller pages keep the test fast. Each text in a pack is cut to its field's limit.
PACK = 10000


def packs(texts, limit, cut=None):
    """Group texts (each cut to ``cut``) into packs of at most ``limit`` characters, one a line."""
    out, current = [], []
    for text in (t[:cut or limit] for t in texts):
        if current and len("\n".join(current + [text])) > limit:
            out.append(current)
            current = []
        current.append(text)
    return out + [current]


def _insert(model, rows):
    for start in range(0, len(rows), 50):
        model.insert_many(rows[start:start + 50]).execute()


def build_world(app):
    """Owner (an admin), a friend of theirs who reads along, one member per payload, and the
    payloads in every field; returns the World."""
    with app.app_context(), db.database.connection_context():
        texts = [clean(p) for p in PAYLOADS]
        owner = User(login_id="xowner", nickname="Owner", is_admin=True)
        owner.set_password(PASSWORD)
        owner.save()
        viewer = User(login_id="xviewer", nickname="Viewer", password_hash=owner.password_hash,
                      leave_footprints=False)
        viewer.save()
        Friendship.make(owner.id, viewer.id)
        _insert(User, [{"login_id": f"xp{i:03d}", "nickname": text[:30], "password_hash": owner.password_hash}
                       for i, text in enumerate(texts)])
        users = list(User.select().where(User.login_id.startswith("xp")).order_by(User.login_id))
        world = World(texts, owner, viewer, users)
        o, v = owner.id, viewer.id
        _insert(Friendship, [{"user": a, "friend": b} for u in users for a, b in ((o, u.id), (u.id, o))])
        _insert(ProfileField, [{"user": u.id, "name": name, "value": text[:spec[1]], "visibility": "members"}
                               for u, text in zip(users, texts, strict=True) for name, spec in PROFILE_FIELDS.items()
                               if name not in ("birthday", "birth_year") and text[:spec[1]]])
        # Diary: one entry per payload (title and body), comments on a host entry, packs of bodies.
        _insert(DiaryEntry, [{"owner": o, "title": text[:100], "body": text, "visibility": "public"}
                             for text in texts])
        world.entries = [e.id for e in DiaryEntry.select().order_by(DiaryEntry.id)]
        world.host_entry = DiaryEntry.create(owner=o, title="host entry", body="host", visibility="friends").id
        _insert(DiaryComment, [{"entry": world.host_entry, "author": u.id, "body": text[:1000]}
                               for u, text in zip(users, texts, strict=True)])
        DiaryEntry.update(comment_count=len(users), like_count=len(users)).where(
            DiaryEntry.id == world.host_entry).execute()
        _insert(Like, [{"kind": "diary", "object_id": world.host_entry, "user": u.id, "owner": o} for u in users])
        for n, pack in enumerate(packs(texts, PACK)):
            entry = DiaryEntry.create(owner=o, title=texts[n][:100], body="\n".join(pack), visibility="friends")
            world.entry_packs.append((entry.id, pack))
        rebuild_months()
        # Voice: one voice per payload; replies of every member to a host voice.
        _insert(Voice, [{"owner": o, "body": text[:150], "visibility": "friends"} for text in texts])
        world.host_voice = Voice.create(owner=o, body="host voice", visibility="members",
                                        reply_count=len(users)).id
        _insert(Voice, [{"owner": u.id, "body": text[:150], "visibility": "members", "reply_to": world.host_voice}
                        for u, text in zip(users, texts, strict=True)])
        # Messages: a subject (and body) per payload to the viewer, and packs of bodies.
        _insert(Message, [{"sender": o, "recipient": v, "subject": text[:100], "body": text[:5000]}
                          for text in texts])
        for n, pack in enumerate(packs(texts, PACK, 5000)):
            message = Message.create(sender=o, recipient=v, subject=texts[-1 - n][:100], body="\n".join(pack))
            world.message_packs.append((message.id, pack))
        # People: requests to the viewer, introductions of the owner, the viewer's private names for
        # every member, the owner's friend groups, and members' footprints on the owner.
        _insert(FriendRequest, [{"sender": u.id, "recipient": v, "message": text[:500]}
                                for u, text in zip(users, texts, strict=True)])
        _insert(Introduction, [{"about": o, "writer": u.id, "relationship": text[:50], "body": text[:1000]}
                               for u, text in zip(users, texts, strict=True)])
        _insert(Alias, [{"owner": v, "target": u.id, "name": text[:30], "note": text[:500]}
                        for u, text in zip(users, texts, strict=True)])
        names = []
        for n, text in enumerate(texts):
            name = text[:30]
            while name in names:  # (owner, name) is unique: a repeat gets a number
                name = f"{text[:24]}~{n}"
            names.append(name)
        _insert(FriendGroup, [{"owner": o, "name": name} for name in names])
        world.groups = names
        for n, pack in enumerate(packs(texts, PACK, 2000)):
            user = User.create(login_id=f"xpack{n}", nickname=f"pack {n}", password_hash=owner.password_hash)
            Friendship.make(o, user.id)
            ProfileField.create(user=user.id, name="intro", value="\n".join(pack), visibility="members")
            world.profile_packs.append((user.login_id, pack))
        _insert(Footprint, [{"owner": o, "visitor": u.id, "kind": "profile", "object_id": o} for u in users])
        # Photos: an album per payload, captions in a host album, comments on a host photo.
        _insert(Album, [{"owner": o, "title": text[:100], "description": text[:1000], "visibility": "friends"}
                        for text in texts])
        for n, pack in enumerate(packs(texts, PACK, 1000)):
            album = Album.create(owner=o, title=f"pack {n}", description="\n".join(pack), visibility="friends")
            world.album_packs.append((album.id, pack))
        world.host_album = Album.create(owner=o, title="host album", visibility="friends",
                                        photo_count=len(texts)).id
        _insert(Photo, [{"owner": o, "album": world.host_album, "media_id": f"xss{n:05d}", "width": 640,
                         "height": 480, "caption": text[:200], "position": n} for n, text in enumerate(texts)])
        comments_album = Album.create(owner=o, title="comments album", visibility="friends", photo_count=1)
        world.host_photo = Photo.create(owner=o, album=comments_album.id, media_id="xsshost", width=640, height=480,
                                        caption="host photo", comment_count=len(users)).id
        _insert(PhotoComment, [{"photo": world.host_photo, "author": u.id, "body": text[:1000]}
                               for u, text in zip(users, texts, strict=True)])
        # Admin: a report per payload (by the viewer, about each member) and invite notes.
        _insert(Report, [{"reporter": v, "target_user": u.id, "kind": "user", "object_id": u.id,
                          "reason": text[:1000]} for u, text in zip(users, texts, strict=True)])
        _insert(InviteCode, [{"code": f"xss-invite-{n}", "created_by": o, "note": text[:100]}
                             for n, text in enumerate(texts)])
    return world


@contextmanager
def scaled_devices(monkeypatch, factor=SCALE):
    """Every list on one page, and a phone's text budget grown by the same factor so each item
    keeps its share of the page (the templates divide the budget by the page size)."""
    with monkeypatch.context() as patch:
        for name in ("page_size", "album_page_size", "inline_comments", "comment_page_size",
                     "long_page_size", "text_budget"):
            original = getattr(Device, name)
            patch.setattr(Device, name, property(lambda self, original=original: original.fget(self) * factor))
        yield


def shows(name, texts):
    return [(name, text) for text in texts]


def world_pages(world):
    """(path, who opens it, shows, follow parts) for every page that shows the world's fields."""
    w, owner = world, world.owner.login_id
    nick = shows("nickname", w.cut(30))
    both = ("owner", "viewer")
    pages = [
        (f"/u/{owner}/friends", ("owner",), nick, False),
        (f"/u/{owner}/friends", ("viewer",), nick + shows("alias:name", w.cut(30)), False),
        ("/people/search?q=xp", both, nick, False),
        (f"/u/{owner}/diary", both, shows("diary:title", w.cut(100)), False),
        ("/diary/", ("viewer",), shows("diary:title", w.cut(100)), False),
        (f"/diary/{w.host_entry}/comments", both, shows("diary_comment", w.cut(1000)) + nick, False),
        ("/voice/", both, shows("voice", w.cut(150)), False),
        (f"/u/{owner}/voice", both, shows("voice", w.cut(150)), False),
        (f"/voice/{w.host_voice}", both, shows("voice_reply", w.cut(150)) + nick, True),
        (f"/u/{owner}/albums", both, shows("album:title", w.cut(100)), False),
        (f"/albums/{w.host_album}", both, shows("photo:caption", w.cut(200)), False),
        (f"/photos/{w.host_photo}", both, shows("photo_comment", w.cut(1000)) + nick, False),
        ("/messages/", ("viewer",), shows("message:subject", w.cut(100)), False),
        ("/messages/sent", ("owner",), shows("message:subject", w.cut(100)), False),
        ("/friends/requests", ("viewer",), shows("friend_request:message", w.cut(500)) + nick, False),
        ("/friends/groups", ("owner",), shows("friend_group:name", w.groups), False),
        ("/diary/new", ("owner",), shows("friend_group:name", w.groups), False),
        ("/albums/new", ("owner",), shows("friend_group:name", w.groups), False),
        (f"/u/{owner}/introductions", both, shows("introduction:relationship", w.cut(50))
         + shows("introduction:body", w.cut(1000)) + nick, False),
        (f"/u/{owner}", both, [], False),
        ("/admin/reports", ("owner",), shows("report:reason", w.cut(1000)) + nick, False),
        ("/admin/invites", ("owner",), shows("invite:note", w.cut(100)), False),
        ("/admin/users?q=xp", ("owner",), nick, False),
        ("/footprints/", ("owner",), nick, False),
        (f"/likes/diary/{w.host_entry}", both, nick, False),
        ("/likes/received", ("owner",), [], False),
        ("/diary/commented", ("owner",), [], False),
        ("/", both, [], False),
    ]
    pages += [(f"/diary/{entry_id}", both, shows("diary:body", pack), True) for entry_id, pack in w.entry_packs]
    pages += [(f"/diary/{entry_id}/edit", ("owner",), shows("diary:body", pack), True)
              for entry_id, pack in w.entry_packs]
    pages += [(f"/messages/{message_id}", both, shows("message:body", pack), True)
              for message_id, pack in w.message_packs]
    pages += [(f"/messages/{message_id}/reply?quote=1", ("viewer",), [], False) for message_id, _ in w.message_packs]
    pages += [(f"/albums/{album_id}", both, shows("album:description", pack), True)
              for album_id, pack in w.album_packs]
    pages += [(f"/albums/{album_id}/edit", ("owner",), shows("album:description", pack), False)
              for album_id, pack in w.album_packs]
    pages += [(f"/u/{login_id}", both, shows("profile:intro", pack), False) for login_id, pack in w.profile_packs]
    # A member's profile: nickname, every profile field, and the viewer's private name and note.
    for user, text in zip(w.users, w.texts, strict=True):
        fields = [(f"profile:{name}", text[:spec[1]]) for name, spec in PROFILE_FIELDS.items()
                  if name not in ("birthday", "birth_year")]
        pages.append((f"/u/{user.login_id}", ("viewer",), [("nickname", text[:30]), ("alias:name", text[:30]),
                                                            ("alias:note", text[:500])] + fields, False))
    return pages


# --------------------------------------------------------------------------- clients and forms

def logged_in(make_client, login_id, kind):
    client = make_client(UAS[kind])
    response = login(client, login_id)
    assert response.status_code == 302, (login_id, kind, response.status_code)
    return client


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def submit(client, kind, path, data):
    """POST a form as the browser of ``kind`` encodes it: UTF-8 (a lone surrogate goes out as
    the bytes a careless client would send), or Shift_JIS where characters it cannot hold
    become numeric references, as handsets and browsers do."""
    if not getattr(client, "xss_token", None):
        for source in ("/settings/", "/login"):
            found = _CSRF.search(text_of(client.get(source)))
            if found:
                client.xss_token = found.group(1)
                break
    data = {"csrf_token": client.xss_token, **data}
    if kind == "mobile":
        body = urlencode(data, doseq=True, encoding="cp932", errors="xmlcharrefreplace")
    else:
        body = urlencode(data, doseq=True, encoding="utf-8", errors="surrogatepass")
    return client.post(path, data=body, content_type="application/x-www-form-urlencoded")


# A few payloads of each family for the real forms.
FORM_SAMPLE = [
    "x checked onfocus=alert(1) autofocus y",
    '"\'><img src=x onerror=alert(1)> http://example.com/"onmouseover="alert(1) java\tscript:alert(1)',
    "a\0b<script>alert(1)</script>\r\n表示ソ能予～①ｱ \ud800 \xc3\x28 \u202e😀 ◀ 🙏 \ue63e {{7*7}} %(name)s",
]


def newest(model, *where):
    """The newest row of ``model`` matching ``where``, or None."""
    with db.database.connection_context():
        query = model.select().order_by(model.id.desc())
        for condition in where:
            query = query.where(condition)
        return query.first()


class FormRun:
    """The sample payloads through the real forms of one template set."""

    def __init__(self, tally, kind, world, clients, make_client):
        self.tally, self.kind, self.world = tally, kind, world
        self.writer, self.reader = clients[("viewer", kind)], clients[("owner", kind)]
        self.guest = make_client(UAS[kind])
        with db.database.connection_context():
            v = world.viewer.id
            self.photo = Photo.create(owner=v, album=Album.create(owner=v, title="v album").id,
                                      media_id=f"xssv-{kind}", width=64, height=48).id
            self.other = User.create(login_id=f"xother{kind}", nickname="Other",
                                     password_hash=world.owner.password_hash)
        self.other_client = logged_in(make_client, self.other.login_id, kind)

    def page(self, client, path, shows=(), **kwargs):
        return check_page(self.tally, client, self.kind, path, shows, **kwargs)

    def query(self, client, path, params, reflects):
        """A GET form (search): the query encoded as the handset encodes it."""
        codec = "cp932" if self.kind == "mobile" else "utf-8"
        errors = "xmlcharrefreplace" if self.kind == "mobile" else "surrogatepass"
        self.count(reflects)
        return self.page(client, f"{path}?{urlencode(params, encoding=codec, errors=errors)}")

    def count(self, fields):
        """Cases of a payload shown back in a form (with an error) or a query."""
        self.tally.cases += len(fields)
        self.tally.fields.update(fields)

    def post(self, client, path, data, ok=(302,), reflects=()):
        """Submit a form; a redirect is success, a form with errors (400) is checked like a page.
        ``reflects``: the fields a refused form shows again."""
        self.count(reflects)
        response = submit(client, self.kind, path, data)
        if response.status_code in ok and response.status_code in (302, 303):
            return
        check_page(self.tally, client, self.kind, path, response=response, statuses=ok + (400,),
                   method="POST")

    def run(self, payload):
        w, kind, writer, reader = self.world, self.kind, self.writer, self.reader
        o, v = w.owner, w.viewer
        # Profile: every field at once (PC) or one by one (the phone's pages); a bad birthday
        # or year comes back in the form.
        if kind == "pc":
            fields = {f"f_{name}": payload for name in PROFILE_FIELDS if name not in ("birthday", "birth_year")}
            visibility = {f"v_{name}": "members" for name in PROFILE_FIELDS}
            self.post(writer, "/profile/edit", {"nickname": payload[:30], **fields, **visibility})
        else:
            for name, value in [("nickname", payload[:30]), ("intro", payload), ("school", payload)]:
                self.post(writer, f"/profile/edit/{name}", {"value": value, "visibility": "members"})
        self.post(writer, "/profile/edit/birthday", {"value": payload, "visibility": "members"}, ok=(),
                  reflects=["profile:birthday"])
        self.post(writer, "/profile/edit", {"nickname": payload[:30], "f_birth_year": payload}, ok=(),
                  reflects=["profile:birth_year"])
        with db.database.connection_context():
            nickname = User.get_by_id(v.id).nickname
            profile = [(f"profile:{f.name}", f.value)
                       for f in ProfileField.select().where(ProfileField.user == v.id)]
        for client in (writer, reader):
            self.page(client, f"/u/{v.login_id}", [("nickname", nickname)] + profile)
        self.page(writer, "/profile/edit", {"pc": [("nickname", nickname)] + profile,
                                            "mobile": [("nickname", nickname)]})  # values cut to 12
        # Diary: an entry, its edit form, a comment on the owner's entry.
        self.post(writer, "/diary/new", {"title": payload[:100], "body": payload, "visibility": "friends",
                                         "group": "0", "allow_comments": "y"})
        entry = newest(DiaryEntry, DiaryEntry.owner == v.id)
        if entry is not None:
            self.page(reader, f"/diary/{entry.id}", [("diary:title", entry.title), ("diary:body", entry.body)])
            self.page(writer, f"/diary/{entry.id}/edit", [("diary:title", entry.title)])
        self.post(writer, f"/diary/{w.host_entry}/comments", {"body": payload})
        # Voice and a reply; a message read by both sides, the quoting reply form, a bad recipient.
        self.post(writer, "/voice/", {"body": payload[:150], "visibility": "friends"})
        self.post(writer, f"/voice/{w.host_voice}", {"body": payload[:150]})
        self.post(writer, "/messages/new", {"to": o.login_id, "subject": payload[:100], "body": payload})
        message = newest(Message, Message.sender == v.id)
        if message is not None:
            shown = [("message:subject", message.subject), ("message:body", message.body)]
            self.page(reader, f"/messages/{message.id}", shown)
            self.page(reader, f"/messages/{message.id}/reply?quote=1")
        self.post(writer, "/messages/new", {"to": payload[:64], "subject": payload[:100], "body": payload}, ok=(),
                  reflects=["message:to"])
        # Friends: an introduction of the owner, a private name for them, a group, a request.
        self.post(writer, f"/u/{o.login_id}/introduce", {"relationship": payload[:50], "body": payload[:1000]})
        self.post(writer, f"/u/{o.login_id}/alias", {"name": payload[:30], "note": payload[:500]})
        intro = newest(Introduction, Introduction.writer == v.id)
        if intro is not None:
            self.page(reader, f"/u/{o.login_id}/introductions",
                      [("introduction:relationship", intro.relationship), ("introduction:body", intro.body)])
        alias = newest(Alias, Alias.owner == v.id)
        self.page(writer, f"/u/{o.login_id}",
                  [("alias:name", alias.name), ("alias:note", alias.note)] if alias is not None else [])
        self.page(writer, f"/u/{o.login_id}/alias")
        self.page(writer, f"/u/{o.login_id}/introduce")
        self.post(writer, "/friends/groups", {"name": payload[:30]})
        group = newest(FriendGroup, FriendGroup.owner == v.id)
        if group is not None:
            self.page(writer, f"/friends/groups/{group.id}", [("friend_group:name", group.name)])
        self.post(writer, f"/u/{self.other.login_id}/befriend", {"message": payload[:500]})
        request = newest(FriendRequest, FriendRequest.sender == v.id)
        if request is not None:
            self.page(self.other_client, "/friends/requests", [("friend_request:message", request.message)])
            with db.database.connection_context():
                FriendRequest.delete().where(FriendRequest.id == request.id).execute()
        # Photos: an album, a caption, a comment on the owner's photo.
        self.post(writer, "/albums/new", {"title": payload[:100], "description": payload[:1000],
                                          "visibility": "friends", "group": "0"})
        album = newest(Album, Album.owner == v.id)
        self.page(reader, f"/albums/{album.id}", [("album:title", album.title),
                                                  ("album:description", album.description)])
        self.page(writer, f"/albums/{album.id}/edit", [("album:title", album.title)])
        self.post(writer, f"/photos/{self.photo}/edit", {"caption": payload[:200], "album": str(album.id)})
        caption = newest(Photo, Photo.id == self.photo).caption
        self.page(reader, f"/photos/{self.photo}", [("photo:caption", caption)])
        self.page(writer, f"/photos/{self.photo}/edit", [("photo:caption", caption)])
        self.post(writer, f"/photos/{w.host_photo}", {"body": payload})
        # A report; searches; the admin's invite notes and site settings (numbers: the payload
        # comes back in the form).
        self.post(writer, f"/report/user/{o.id}", {"reason": payload})
        self.query(writer, "/people/search", {"q": payload}, ["search:q"])
        self.query(reader, "/admin/users", {"q": payload}, ["admin:users:q"])
        self.post(reader, "/admin/invites", {"note": payload[:100], "max_uses": "1"})
        self.post(reader, "/admin/invites", {"note": payload[:100], "max_uses": payload}, ok=(),
                  reflects=["invite:max_uses"])
        self.post(reader, "/admin/site", {"invite_quota": payload, "footprint_retention_days": payload,
                                          "footprint_deletions_per_month": payload}, ok=(),
                  reflects=["site:invite_quota", "site:footprint_retention_days",
                            "site:footprint_deletions_per_month"])
        # Before login: registration, login (and its ``next``), a forgotten password.
        guest = self.guest
        self.post(guest, "/register", {"login_id": payload[:20], "nickname": payload[:30], "password": "x",
                                       "confirm": "y", "email": payload, "invite": payload[:64]}, ok=(200,),
                  reflects=["register:login_id", "register:nickname", "register:email", "register:invite"])
        self.post(guest, "/login", {"login_id": payload[:64], "password": "wrong", "next": payload},
                  ok=(200,), reflects=["login:login_id", "login:next"])
        self.query(guest, "/login", {"next": payload}, ["login:next"])
        self.post(guest, "/password/forgot", {"email": payload}, ok=(200,), reflects=["password_forgot:email"])

    def read_back(self):
        """What accumulated: comments, voices, replies, photo comments, reports, invites, groups."""
        w, reader, writer = self.world, self.reader, self.writer
        for path in (f"/diary/{w.host_entry}/comments", f"/voice/{w.host_voice}", "/voice/",
                     f"/photos/{w.host_photo}", "/admin/reports", "/admin/invites", "/messages/"):
            self.page(reader, path)
        for path in ("/friends/groups", "/diary/new"):
            self.page(writer, path)


# --------------------------------------------------------------------------- tests

@pytest.fixture
def app_config(app_config):
    """No rate limits or login throttling (the test posts far more than a member would), and
    e-mail "configured" (to a closed port; no payload is an address) for the reset form."""
    app_config.update(RATE_LIMITS=False, RATELIMIT_ENABLED=False, MESSAGES_PER_HOUR=1_000_000,
                      LOGIN_FAILS_PER_ACCOUNT=1_000_000, LOGIN_FAILS_PER_ADDRESS=1_000_000,
                      SMTP_HOST="127.0.0.1", SMTP_PORT=9)
    return app_config


@pytest.fixture
def world(app):
    return build_world(app)


def test_corpus_is_large_and_well_formed():
    assert len(PAYLOADS) >= 100
    assert len(set(PAYLOADS)) == len(PAYLOADS), "repeated payloads"
    assert max(map(len, PAYLOADS)) >= 5000
    assert any("\0" in p for p in PAYLOADS) and any("\ud800" in p for p in PAYLOADS)
    assert any("\u202e" in p for p in PAYLOADS) and any("\n" in p for p in PAYLOADS)
    assert unescape(r"a\\b\n\x41\u3042\{3:ab}\s\#") == "a\\b\nAあababab #"
    with pytest.raises(ValueError):
        unescape(r"\q")


def test_checks_catch_injections():
    """The page checks find what an unescaped payload would leave (so a pass means something)."""
    page = ('<!DOCTYPE html><html><head><meta http-equiv="refresh" content="0"></head><body>'
            '<a href=" jav&#x09;ascript:alert(1)">x</a><img src=x onerror=alert(1)><svg></svg>'
            '<div style="width:expression(alert(1))"></div><script>alert(1)</script>'
            '<a href="data:text/html,x">d</a><a href="/jump?url=http%3A//e.example/">ok</a></body></html>')
    found = problems_in(lxml_html.document_fromstring(page))
    for expected in ("meta http-equiv", "javascript: URL", "event attribute onerror", "<svg>",
                     "style with 'expression('", "script element", "data: URL"):
        assert any(expected in problem for problem in found), (expected, found)
    assert not any("/jump" in problem for problem in found)
    assert not problems_in(lxml_html.document_fromstring(
        '<html><body><script src="/static/upload.js"></script><a href="mailto:a@b">m</a></body></html>'))
    xml = etree.fromstring('<html xmlns="http://www.w3.org/1999/xhtml" xmlns:x="http://www.w3.org/1999/xlink">'
                           '<body><a x:href="&#10;JAVASCRIPT:alert(1)" onClick="x">a</a></body></html>')
    assert {p.split(" ")[0] for p in problems_in(xml)} == {"javascript:", "event"}, problems_in(xml)


def test_form_widgets_and_richtext_escape_every_payload(app):
    """Every payload in the form widgets both sets use (the mobile set through ``|xhtml``) and in
    ``richtext``, whole and cut into a phone's parts."""
    from markupsafe import Markup
    from wtforms import Form, HiddenField, IntegerField, SelectField, StringField, TextAreaField
    from werkzeug.datastructures import MultiDict

    from portal.web.rendering import richtext, xhtml
    from portal.web.textparts import split_text

    class Widgets(Form):
        text = StringField()
        area = TextAreaField()
        hidden = HiddenField()
        number = IntegerField()
        choice = SelectField(choices=[])

    failures = []
    with app.test_request_context("/"):
        for payload in PAYLOADS:
            text = clean(payload)
            form = Widgets(MultiDict({"text": text, "area": text, "hidden": text, "number": text}))
            form.choice.choices = [("1", text), (text, "x")]
            pieces = [str(form[name]()) for name in ("text", "area", "hidden", "number", "choice")]
            pieces += [str(richtext(text))] + [str(richtext(part)) for part in split_text(text, 300, "cp932")]
            for kind, markup in (("pc", "".join(pieces)), ("mobile", "".join(str(xhtml(Markup(p))) for p in pieces))):
                source = f'<html xmlns="http://www.w3.org/1999/xhtml"><body><div>{markup}</div></body></html>'
                trees = [lxml_html.document_fromstring(source)]
                if kind == "mobile":
                    try:
                        trees.append(etree.fromstring(source.encode("utf-8")))
                    except etree.XMLSyntaxError as exc:
                        failures.append((kind, payload[:50], f"not well-formed: {exc}"))
                failures += [(kind, payload[:50], problem) for root in trees for problem in problems_in(root)]
                if is_distinctive(text) and text in source:
                    failures.append((kind, payload[:50], "raw payload"))
    assert not failures, "\n".join(map(str, failures[:40]))


def test_every_payload_in_every_field_is_escaped(app, world, make_client, monkeypatch, capsys):
    """The world crawled in both sets as owner and viewer, the sample through the real forms."""
    tally = Tally()
    clients = {(role, kind): logged_in(make_client, user.login_id, kind)
               for role, user in (("owner", world.owner), ("viewer", world.viewer)) for kind in KINDS}
    # The owner's logins elsewhere, one per payload as the User-Agent they sent (added after the
    # clients logged in: a new login would retire the oldest past 50).
    with app.app_context(), db.database.connection_context():
        _insert(Login, [{"user": world.owner.id, "token_hash": f"{n:064x}", "user_agent": text, "lifetime": 86400,
                         "expires_at": utcnow() + datetime.timedelta(days=1)}
                        for n, text in enumerate(world.cut(200))])
    with scaled_devices(monkeypatch):
        for path, roles, shown, parts in world_pages(world):
            for role in roles:
                for kind in KINDS:
                    check_page(tally, clients[(role, kind)], kind, path, shown, parts=parts)
        for kind in KINDS:  # the PC page shows each User-Agent whole, the phone only its device's name
            check_page(tally, clients[("owner", kind)], kind, "/settings/logins",
                       shows("login:user_agent", world.cut(200)) if kind == "pc" else [])
        feed = clients[("viewer", "pc")].get(f"/u/{world.owner.login_id}/diary.atom")
        tally.pages += 1
        try:
            etree.fromstring(feed.data)
        except etree.XMLSyntaxError as exc:
            tally.fail("atom feed", f"not well-formed: {exc}")
    # At the real sizes: long texts in parts on the phone.
    long_user = world.users[max(range(len(world.texts)), key=lambda n: len(world.texts[n]))]
    for path in [f"/diary/{world.entry_packs[0][0]}", f"/messages/{world.message_packs[0][0]}",
                 f"/u/{long_user.login_id}/about/intro", f"/u/{world.profile_packs[0][0]}/about/intro"]:
        for kind in KINDS:
            check_page(tally, clients[("viewer", kind)], kind, path, parts=True)
    # The leaving page of every link richtext made.
    for path in sorted(tally.jumps):
        for kind in KINDS:
            check_page(tally, clients[("viewer", kind)], kind, path, statuses=(200, 400))  # 400: too long
    for kind in KINDS:
        forms = FormRun(tally, kind, world, clients, make_client)
        for payload in FORM_SAMPLE:
            forms.run(payload)
        forms.read_back()
    with capsys.disabled():
        print("\n" + tally.summary())
    assert not tally.failures, f"{len(tally.failures)} failures:\n" + tally.report()


# --------------------------------------------------------------------------- Chromium

# (template set, User-Agent, extra headers): a PC; a SoftBank handset that takes text/html, so
# the mobile set meets an HTML parser as lenient as the handsets'; docomo's XHTML.
BROWSERS = {
    "pc": (PC_UA, {}),
    "mobile-html": (SOFTBANK_UA, {"Accept": "text/html, */*;q=0.1"}),
    "docomo-xhtml": (DOCOMO2_UA, {}),
}
GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


class Watch:
    """Every sign that a page ran script, asked for another host, or did not parse."""

    def __init__(self):
        self.where = ""
        self.events = []
        self.headers = {}

    def attach(self, context, headers):
        self.headers = headers  # set on every request (Chromium puts its own Accept on navigations)
        context.route("**/*", self._route)
        context.on("page", self._page)

    def _route(self, route):
        parts = urlsplit(route.request.url)
        if parts.scheme in ("http", "https") and parts.hostname != HOST:
            self.events.append(f"{self.where}: request to {route.request.url[:80]}")
            route.abort()
        elif parts.path.startswith("/media/"):  # the world's photos have no files
            route.fulfill(status=200, content_type="image/gif", body=GIF)
        else:
            route.continue_(headers={**route.request.headers, **self.headers})

    def _page(self, page):
        def on_dialog(dialog):
            self.events.append(f"{self.where}: {dialog.type} dialog {dialog.message[:60]!r}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: self.events.append(f"{self.where}: page error {error}"))
        page.on("console", lambda message: message.type == "error" and "Failed to load resource" not in message.text
                and self.events.append(f"{self.where}: console error {message.text[:120]}"))

    def visit(self, page, url):
        self.where = url
        page.goto(url, wait_until="load")
        state = page.evaluate("""() => ({xss: window.__xss === undefined ? null : String(window.__xss),
                                         title: document.title,
                                         broken: document.getElementsByTagName('parsererror').length})""")
        if state["xss"] is not None or state["title"] == "XSS":
            self.events.append(f"{url}: script ran (window.__xss={state['xss']}, title={state['title']!r})")
        if state["broken"]:
            self.events.append(f"{url}: the page did not parse")
        # The rest of a list (replies come 50 a page).
        following = page.evaluate("""() => { const a = document.querySelector('a[rel=next], a[accesskey="#"]');
                                            return a && a.href.includes('?') ? a.getAttribute('href') : null; }""")
        return 1 + (self.visit(page, following) if following and "login" not in url else 0)


def batch(app, world):
    """One diary entry, message, album and profile holding every payload (one a line, in every
    profile field), past the forms' limits: a browser reads the lot in a few pages."""
    text = "\n".join(world.texts)
    o, v = world.owner.id, world.viewer.id
    with app.app_context(), db.database.connection_context():
        entry = DiaryEntry.create(owner=o, title="all payloads", body=text, visibility="friends")
        message = Message.create(sender=o, recipient=v, subject="all payloads", body=text)
        album = Album.create(owner=o, title="all payloads", description=text, visibility="friends")
        user = User.create(login_id="xall", nickname="all payloads", password_hash=world.owner.password_hash)
        _insert(ProfileField, [{"user": user.id, "name": name, "value": text, "visibility": "members"}
                               for name in PROFILE_FIELDS])
    return [f"/diary/{entry.id}", f"/messages/{message.id}", f"/albums/{album.id}", "/u/xall"]


def browser_pages(world, batched):
    """(who opens it, path): pages showing all the world's payloads, and the edit forms of the
    payloads that would run on their own (autofocus) if a form let them out of their value."""
    w, owner = world, world.owner.login_id
    pages = [("owner", path) for path in (
        f"/u/{owner}/diary", f"/diary/{w.host_entry}", f"/diary/{w.host_entry}/comments", "/friends/groups",
        "/admin/reports", "/admin/invites", f"/albums/{w.host_album}", f"/photos/{w.host_photo}")]
    pages += [("viewer", path) for path in (
        f"/u/{owner}/friends", "/voice/", f"/voice/{w.host_voice}", "/messages/", "/friends/requests",
        f"/u/{owner}/introductions", f"/u/{owner}/albums", *batched)]
    for n, text in enumerate(w.texts):
        if "autofocus" in text[:100]:
            pages.append(("owner", f"/diary/{w.entries[n]}/edit"))
    return pages


@pytest.mark.e2e
def test_no_payload_runs_in_chromium(app, world, waitress_server, chromium, monkeypatch, capsys):
    """The world's pages in headless Chromium (CSP bypassed: handsets know no CSP, so escaping
    alone must hold), PC and both kinds of handset page, as owner and as viewer: no dialog,
    no ``window.__xss``, no title "XSS", no page or console error, no request elsewhere."""
    watch, loads = Watch(), 0
    pages = browser_pages(world, batch(app, world))
    docomo_pages = {pages[-1][1], next(path for _, path in pages if path.startswith("/diary/"))}
    with scaled_devices(monkeypatch):
        for name, (user_agent, headers) in BROWSERS.items():
            for role, user in (("owner", world.owner), ("viewer", world.viewer)):
                # XHTML parses or shows nothing (the XML checks cover that): docomo gets a sample.
                paths = [path for who, path in pages if who == role
                         and (name != "docomo-xhtml" or path in docomo_pages)]
                if not paths:
                    continue
                context = chromium.new_context(base_url=waitress_server.url, user_agent=user_agent, bypass_csp=True,
                                               extra_http_headers={"Accept-Language": "en"})
                try:
                    context.set_default_timeout(15_000)
                    watch.attach(context, {k.lower(): v for k, v in headers.items()})
                    page = context.new_page()
                    watch.visit(page, "/login")
                    page.fill("input[name=login_id]", user.login_id)
                    page.fill("input[name=password]", PASSWORD)
                    with page.expect_navigation():
                        page.locator("form:has(input[name=password]) [type=submit]").first.click()
                    assert "/login" not in page.url, (name, role, page.url)
                    for path in paths:
                        loads += watch.visit(page, path)
                finally:
                    context.close()
    with capsys.disabled():
        print(f"\nxss chromium: {len(PAYLOADS)} payloads on {len(pages)} pages in {len(BROWSERS)} browsers "
              f"= {loads} page loads, failures {len(watch.events)}")
    assert not watch.events, "\n".join(watch.events[:50])
