"""The authorization matrix (issue #8): every content kind x every visibility setting x every
viewer relation x both template sets, asserting allow or deny on every route that shows or
acts on the content, and that denied items stay out of lists (diary lists, the friends' feed
on home, the Atom feed, search, album lists).

- "allow": 200 and the content's distinctive text is on the page (media: 200 and image bytes).
- "deny": what the app does for that case: 404 where one may not know the thing exists, 403
  where one may know it but not do it (admin pages, other people's comments), a redirect
  to the login page for logged-out visitors of member pages; the content's text is nowhere
  in the body. In lists, a denied item is simply absent.
- POST routes: a denied request gets the same codes; an allowed one passes the check and
  then fails form validation (400 with the form, not the CSRF page), or acts on a scratch
  object made for that one case and removed after it (its effect is checked both ways).

Kinds and relations are registries (``KINDS`` here, ``RELATIONS`` in authz_world.py): when
communities and games land, add their kinds here and their relations there. Every GET and
POST route of the URL map must be reached by some probe of some kind, or be listed in
``EXEMPT`` with the reason; ``test_every_route_is_in_the_matrix`` fails for a new route that is
neither. The world is built once per module (its own app and database, SQLite file or
PostgreSQL schema, as in conftest.py); pages are read once per viewer and URL.

Where a dimension cannot change the answer, it is not multiplied out, to keep the run short:
the handset asks for one picture size (the PC client for every size), sends each form once per
relation and kind (the PC client for every setting), and owner-only edit pages are probed at
the widest and the narrowest level. A case is still one kind x setting x relation x set.
"""
import datetime
import os
import secrets
from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote

import pytest

import authz_world as aw
from authz_world import BLOCKED, FIELD_SEES, FRIENDS, LADDER_SEES, RELATIONS, SETS, Viewer
from portal import create_app, db, media, privacy
from portal.db import database
from portal.models import (Album, DiaryComment, DiaryEntry, Footprint, FriendGroup, FriendRequest,
                           Introduction, InviteCode, Login, Report, Voice)
from portal.models.diary import count_month, create_entry
from portal.models.visibility import FIELD_LEVELS, LEVELS
from routes import rules

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")

# Expectations of one probe.
ALLOW = "allow"  # 200, every token on the page
ABSENT = "absent"  # 200, no token on the page (a list or a page that must not show the item)
MAYBE = "maybe"  # 200, tokens may or may not be there (a list cut short), secrets must not
IMAGE = "image"  # 200 and image bytes
LOGIN = "login"  # a redirect to the login page
FORM = "form"  # 400 with the form's errors: the request passed every access check
CSRF_PAGE = "Your form expired"

# Routes outside the matrix, each public by design and showing nobody's content. (/healthz is
# answered before Flask by a WSGI middleware: it is not in the URL map.)
EXEMPT = {
    "static": "static files (CSS, icons, upload.js); routes.rules() leaves them out anyway",
    "auth.login": "the login form (tests/test_accounts.py)",
    "auth.logout": "ends the session; CSRF tested in tests/test_errors_and_csrf.py",
    "auth.register": "registration (tests/test_accounts.py, test_safety_and_invites.py)",
    "auth.forgot": "password reset request; answers alike for known and unknown addresses",
    "auth.reset": "a single-use token link (tests/test_messages.py)",
    "home.jump": "the leaving-the-site page: shows only the URL it was given",
    "home.language": "switches the session's language; shows nothing",
    "settings.end_other_logins": "names nobody: ends the member's own other logins, which here would log out "
                                 "the viewer's client of the other template set (tests/test_logins.py)",
}


@dataclass(frozen=True)
class Probe:
    """One request and what it must give. ``url`` may hold ``{id}``: then ``scratch`` makes the
    object for the case, ``scratch(world, relation) -> (id, effect(), cleanup())``, and
    ``effect()`` after the request must be True exactly when the request was allowed."""

    method: str
    url: str
    expect: object  # ALLOW, ABSENT, MAYBE, IMAGE, LOGIN, FORM, an int status, ("redirect", path)
    tokens: tuple = ()  # must be there when allowed, must not be there otherwise
    secrets: tuple = ()  # must not be there unless allowed
    data: dict = None
    fresh: bool = False  # read again, not from the page cache (notices change as pages are read)
    scratch: Callable = None
    allowed: bool = None  # whether a scratch action may take effect (default: by ``expect``)


def get(url, expect, tokens=(), secrets=(), fresh=False):
    return Probe("GET", url, expect, tuple(tokens), tuple(secrets), fresh=fresh)


def post(url, expect, data=None, scratch=None, allowed=None):
    return Probe("POST", url, expect, data=data or {}, scratch=scratch, allowed=allowed)


@dataclass(frozen=True)
class Kind:
    name: str
    settings: tuple
    probes: Callable  # (world, setting, relation, set name) -> [Probe]
    prepare: Callable = None  # (world) -> None, before the kind's probes run


# What is looked at: name -> Kind. Communities (topics, events, members-only content) and
# games add their kinds here when they land; their relations go in authz_world.RELATIONS.
KINDS = {}


def kind(name, settings, prepare=None):
    """Register the probes function of a kind of content with its settings."""
    def register(func):
        KINDS[name] = Kind(name, tuple(settings), func, prepare)
        return func
    return register


# --- Rules, as the views apply them ---------------------------------------------------

def sees(rel, level):
    return level in LADDER_SEES[rel]


def ladder(rel, level, allowed=ALLOW):
    """An item's own page: 404 for whoever may not see it (logged out too)."""
    return allowed if sees(rel, level) else 404


def owner_page(rel, shown=True):
    """A page about the owner (profile, her diary, voices, albums, feed): 404 across a block.
    ``shown``: True (ALLOW), False (ABSENT) or the expectation itself."""
    if rel in BLOCKED:
        return 404
    if shown is True or shown is False:
        return either(shown)
    return shown


def member_page(rel, expect):
    """A page behind the login (login_required)."""
    return LOGIN if rel == "anonymous" else expect


def owner_only(rel, allowed=ALLOW):
    """Editing and deleting one's own things: 404 for everyone else."""
    return member_page(rel, allowed if rel == "self" else 404)


def either(flag, yes=ALLOW, no=ABSENT):
    return yes if flag else no


def comment_post(rel, level):
    """Commenting on (or replying to) an item: 404 when it cannot be seen; logged out: 403."""
    if not sees(rel, level):
        return 404
    return 403 if rel == "anonymous" else FORM


def report(rel, allowed, author="self"):
    """Reporting an item: its author and whoever may not see it get a 404."""
    return member_page(rel, FORM if allowed and rel != author else 404)


def report_page(rel, allowed, author="self"):
    expect = report(rel, allowed, author)
    return ALLOW if expect == FORM else expect


def report_probes(kind_name, object_id, rel, allowed, author="self", page=True):
    """Reporting an item (the form page too, unless ``page`` is False: same view, same check)."""
    url = f"/report/{kind_name}/{object_id}"
    form = [get(url, report_page(rel, allowed, author))] if page else []
    return [*form, post(url, report(rel, allowed, author), {"reason": ""})]


def media_probes(media_id, allowed, set_name, mobile="m240"):
    """The media route decides alike for every size and never looks at the template set: the
    PC client asks for every size, the handset (server-side session) for the one its pages use."""
    names = media.VARIANTS if set_name == "pc" else (mobile,)
    return [get(f"/media/{media_id}/{name}.jpg", IMAGE if allowed else 404) for name in names]


# Editing one's things is for the owner whatever their level: probed at the widest and the
# narrowest level only.
OWNER_LEVELS = ("public", "private")


def login_id(rel):
    return RELATIONS[rel].login_id


# --- Kinds ----------------------------------------------------------------------------

@kind("profile", ["page"])
def profile_probes(w, setting, rel, set_name):
    owner = w.owner
    blocked = rel in BLOCKED
    return [
        get("/u/olive", owner_page(rel), ["オリーブ", w.avatar]),
        get("/u/olive/introductions", owner_page(rel, MAYBE)),
        *report_probes("user", owner.id, rel, not blocked),
    ]


@kind("avatar", ["profile picture"])
def avatar_probes(w, setting, rel, set_name):
    return media_probes(w.avatar, rel not in BLOCKED, set_name, mobile="a48")


@kind("profile_field", FIELD_LEVELS)
def field_probes(w, level, rel, set_name):
    token = [f"PF.{level}"]
    visible = level in FIELD_SEES[rel]
    return [
        get("/u/olive", owner_page(rel, visible), token),
        get(f"/u/olive/about/{aw.field_name(level)}", owner_page(rel, ALLOW if visible else 404), token),
        get("/profile/edit", member_page(rel, either(rel == "self")), token),
        get(f"/profile/edit/{aw.field_name(level)}", member_page(rel, either(rel == "self")), token),
    ]


@kind("search", [*FIELD_LEVELS, "unsearchable"])
def search_probes(w, setting, rel, set_name):
    """A profile is found by a field only where the field is searchable and visible to the
    searcher; nobody finds themselves."""
    query = "PF.unsearch" if setting == "unsearchable" else f"PF.{setting}"
    found = setting != "unsearchable" and setting in FIELD_SEES[rel] and rel != "self"
    return [get(f"/people/search?q={quote(query)}", member_page(rel, either(found)), ["オリーブ"])]


@kind("diary", LEVELS)
def diary_probes(w, level, rel, set_name):
    entry, media_id = w.entries[level], w.entry_media[level]
    visible = sees(rel, level)
    title = [f"DT.{level}"]
    in_feed = either(visible and rel in FRIENDS, no=MAYBE if rel == "self" else ABSENT)
    probes = [
        get(f"/diary/{entry.id}", ladder(rel, level), [*title, f"DB.{level}", media_id]),
        get("/u/olive/diary", owner_page(rel, visible), title),
        get("/u/olive", owner_page(rel, MAYBE if visible else ABSENT), title, secrets=[media_id]),
        get("/diary/", member_page(rel, in_feed), title),
        get("/", ABSENT if rel == "anonymous" else in_feed, title),
        get("/diary/commented", member_page(rel, MAYBE if visible else ABSENT), title),
        post(f"/diary/{entry.id}/comments", comment_post(rel, level), {"body": ""}),
        *media_probes(media_id, visible, set_name),
        *report_probes("diary", entry.id, rel, visible),
    ]
    if level in OWNER_LEVELS:
        probes += [
            get(f"/diary/{entry.id}/edit", owner_only(rel), [*title, f"DB.{level}"]),
            get(f"/diary/{entry.id}/delete", owner_only(rel), title),
            post(f"/diary/{entry.id}/edit", owner_only(rel, FORM), {"title": "", "body": "", "visibility": level}),
        ]
    return probes


@kind("atom", LEVELS)
def atom_probes(w, level, rel, set_name):
    """The Atom feed has the public entries only, whoever asks."""
    return [get("/u/olive/diary.atom", owner_page(rel, level == "public"), [f"DT.{level}", f"DB.{level}"])]


@kind("diary_comment", LEVELS)
def diary_comment_probes(w, level, rel, set_name):
    """A friend's comment is as visible as the entry it is on."""
    entry, comment = w.entries[level], w.comments[level]
    visible = sees(rel, level)
    token = [f"DC.{level}"]
    inline = ALLOW if set_name == "pc" else MAYBE  # phones list comments on a page of their own
    return [
        get(f"/diary/{entry.id}/comments", ladder(rel, level), token),
        get(f"/diary/comment/{comment.id}", ladder(rel, level), token),
        get(f"/diary/{entry.id}", ladder(rel, level, inline), token),
        *report_probes("diary_comment", comment.id, rel, visible, author="friend", page=False),
    ]


@kind("voice", LEVELS)
def voice_probes(w, level, rel, set_name):
    voice = w.voices[level]
    visible = sees(rel, level)
    token = [f"VB.{level}"]
    timeline = ALLOW if rel == "self" else either(visible and rel in FRIENDS)
    home = MAYBE if rel == "self" else either(visible and rel in FRIENDS)  # home shows 5 of 6
    return [
        get(f"/voice/{voice.id}", ladder(rel, level), token),
        get("/u/olive/voice", owner_page(rel, visible), token),
        get("/voice/", member_page(rel, timeline), token),
        get("/", ABSENT if rel == "anonymous" else home, token),
        post(f"/voice/{voice.id}", comment_post(rel, level), {"body": ""}),
        *report_probes("voice", voice.id, rel, visible, page=False),
    ]


@kind("voice_reply", LEVELS)
def reply_probes(w, level, rel, set_name):
    """A friend's reply is as visible as the voice it answers."""
    voice, reply = w.voices[level], w.replies[level]
    token = [f"VR.{level}"]
    return [
        get(f"/voice/{reply.id}", ladder(rel, level), token),
        get(f"/voice/{voice.id}", ladder(rel, level), token),
        *report_probes("voice", reply.id, rel, sees(rel, level), author="friend", page=False),
    ]


@kind("likers", [f"{k}/{level}" for k in ("diary", "voice", "photo") for level in LEVELS])
def likers_probes(w, setting, rel, set_name):
    kind_name, level = setting.split("/")
    item = {"diary": w.entries, "voice": w.voices, "photo": w.photos}[kind_name][level]
    return [
        get(f"/likes/{kind_name}/{item.id}", ladder(rel, level), [aw.LIKER[1]]),
        post(f"/like/{kind_name}/{item.id}", member_page(rel, 302 if sees(rel, level) else 404), {"undo": "1"}),
    ]


@kind("album", LEVELS)
def album_probes(w, level, rel, set_name):
    album, photo = w.albums[level], w.photos[level]
    visible = sees(rel, level)
    title = [f"AT.{level}"]
    probes = [
        get(f"/albums/{album.id}", ladder(rel, level), [*title, photo.media_id]),
        get("/u/olive/albums", owner_page(rel, visible), title, secrets=[photo.media_id]),
    ]
    if level in OWNER_LEVELS:
        probes += [
            get(f"/albums/{album.id}/edit", owner_only(rel), title),
            get(f"/albums/{album.id}/upload", owner_only(rel), title),
            get(f"/albums/{album.id}/delete", owner_only(rel), title),
            post(f"/albums/{album.id}/edit", owner_only(rel, FORM), {"title": "", "visibility": level, "group": "0"}),
            post(f"/albums/{album.id}/upload", owner_only(rel, FORM), {"caption": ""}),
        ]
    return probes


@kind("photo", LEVELS)
def photo_probes(w, level, rel, set_name):
    """A photo (with a friend's comment) is as visible as its album, every picture size too."""
    photo = w.photos[level]
    visible = sees(rel, level)
    probes = [
        get(f"/photos/{photo.id}", ladder(rel, level), [f"PC.{level}", f"PK.{level}", photo.media_id]),
        post(f"/photos/{photo.id}", comment_post(rel, level), {"body": ""}),
        *media_probes(photo.media_id, visible, set_name),
        *report_probes("photo", photo.id, rel, visible, page=False),
    ]
    if level in OWNER_LEVELS:
        probes += [
            get(f"/photos/{photo.id}/edit", owner_only(rel), [f"PC.{level}"]),
            post(f"/photos/{photo.id}/later", owner_only(rel, 302)),  # alone in its album: no change
            post(f"/photos/{photo.id}/edit", owner_only(rel, FORM), {"caption": "", "album": "999999"}),
        ]
    return probes


MESSAGE_READERS = {"delivered": {"self", "friend"}, "sendergone": {"friend"}, "recipientgone": {"self"}}


@kind("message", list(MESSAGE_READERS))
def message_probes(w, setting, rel, set_name):
    """A message from the owner to the friend: only its sender and its recipient read it, each
    while it is in one of their boxes; admins neither."""
    message = w.messages[setting]
    reader = rel in MESSAGE_READERS[setting]
    tokens = [f"MS.{setting}"]
    in_inbox = rel == "friend" and message.recipient_box == "inbox"
    in_sent = rel == "self" and message.sender_box == "sent"
    recipient_may_report = rel == "friend" and message.recipient_box != "gone"
    url = f"/report/message/{message.id}"
    return [
        get(f"/messages/{message.id}", member_page(rel, either(reader, no=404)), [*tokens, f"MB.{setting}"]),
        get(f"/messages/{message.id}/reply", member_page(rel, either(reader, no=404)), tokens),
        get("/messages/", member_page(rel, either(in_inbox)), tokens),
        get("/messages/sent", member_page(rel, either(in_sent)), tokens),
        get("/messages/trash", member_page(rel, ABSENT), tokens),
        post(f"/messages/{message.id}/restore", member_page(rel, 302 if reader else 404)),  # no change
        post(f"/messages/{message.id}/reply", member_page(rel, FORM if reader else 404),
             {"to": "", "subject": "", "body": ""}),
        get(url, member_page(rel, ALLOW if recipient_may_report else 404)),
        post(url, member_page(rel, FORM if recipient_may_report else 404), {"reason": ""}),
    ]


FOOTPRINT_VISITOR = {"by_friend": "friend", "by_blocked": "blocked", "by_blocker": "blocker"}


@kind("footprint", list(FOOTPRINT_VISITOR))
def footprint_probes(w, setting, rel, set_name):
    """Footprints on the owner's pages: she sees her visitors, each visitor where they went;
    a block hides them both ways."""
    visitor = FOOTPRINT_VISITOR[setting]
    shown = setting == "by_friend"
    # The friend's own footprint on the owner is on his page whatever the setting.
    left = either(shown) if rel == visitor else MAYBE if rel == "friend" else ABSENT
    return [
        get("/footprints/", member_page(rel, either(shown and rel == "self")), [RELATIONS[visitor].nickname]),
        get("/footprints/left", member_page(rel, left), ["オリーブ"]),
    ]


NOTICES = {"message": ("friend", "new messages"), "friend_request": ("self", "friend requests"),
           "comment": ("self", "new comments"), "like": ("self", "new likes"),
           "footprint": ("self", "new footprints")}


@kind("notices", list(NOTICES), prepare=aw.reset_seen)
def notices_probes(w, setting, rel, set_name):
    """Each notice reaches its one recipient (pages read elsewhere mark them seen: they are made
    new again before, and read fresh)."""
    recipient, text = NOTICES[setting]
    expect = either(rel == recipient)
    return [get("/notices", member_page(rel, expect), [text], fresh=True),
            get("/", ABSENT if rel == "anonymous" else expect, [text], fresh=True)]


@kind("friends_list", ["owner's list", "in a friend's list"])
def friends_list_probes(w, setting, rel, set_name):
    """Friends lists are for members who may see the profile."""
    if setting == "owner's list":
        own_list = MAYBE if rel == "group_friend" else either(rel == "self")  # her own page names her
        return [get("/u/olive/friends", member_page(rel, owner_page(rel)), ["フレッド", "ジーナ"]),
                get("/friends/", member_page(rel, own_list), ["ジーナ"])]
    # The friend's friends: the owner is left out for those she blocked or who blocked her.
    return [get("/u/fred/friends", member_page(rel, either(rel not in BLOCKED)), ["オリーブ"])]


@kind("suggestions", ["friend of a friend"])
def suggestion_probes(w, setting, rel, set_name):
    """The owner is suggested to her friend's friends, never across a block (both blocked
    viewers are friends of her friend too)."""
    return [get("/people/suggestions", member_page(rel, either(rel == "fof")), ["オリーブ"])]


def _scratch_group(w, rel):
    group = FriendGroup.create(owner=w.owner.id, name="SCR.group")
    return (group.id, lambda: not FriendGroup.select().where(FriendGroup.id == group.id).exists(),
            lambda: FriendGroup.delete().where(FriendGroup.id == group.id).execute())


@kind("friend_group", [aw.GROUP_NAME])
def group_probes(w, setting, rel, set_name):
    gid = w.group.id
    return [
        get("/friends/groups", member_page(rel, either(rel == "self")), [aw.GROUP_NAME]),
        get(f"/friends/groups/{gid}", owner_only(rel), [aw.GROUP_NAME]),
        post(f"/friends/groups/{gid}", owner_only(rel, FORM), {"name": ""}),
        post("/friends/groups/{id}/delete", owner_only(rel, 302), scratch=_scratch_group),
    ]


def _scratch_request(sender, recipient):
    def make(w, rel):
        users = {**w.users, "liker": w.liker}
        row = FriendRequest.create(sender=users[sender].id, recipient=users[recipient].id, message="SCR")
        return (row.id, lambda: not FriendRequest.select().where(FriendRequest.id == row.id).exists(),
                lambda: FriendRequest.delete().where(FriendRequest.id == row.id).execute())
    return make


@kind("friend_request", ["from a member"])
def request_probes(w, setting, rel, set_name):
    """The member's request to the owner: only she reads it. Answering a request that is not
    yours is a no-op (a redirect with "no longer pending")."""
    return [
        get("/friends/requests", member_page(rel, either(rel == "self")), ["RQ.msg"]),
        post("/friends/requests/{id}/decline", member_page(rel, 302),
             scratch=_scratch_request("liker", "self"), allowed=rel == "self"),  # the recipient
        post("/friends/requests/{id}/cancel", member_page(rel, 302),
             scratch=_scratch_request("member", "liker"), allowed=rel == "member"),  # the sender
    ]


INTRO_WRITER = {"shown": "friend", "hidden": "group_friend"}


def _scratch_intro(w, rel):
    intro = Introduction.create(about=w.owner.id, writer=w.users["fof"].id, body="SCR.intro")

    def effect():
        row = Introduction.get_or_none(Introduction.id == intro.id)
        return row is None or row.hidden
    return intro.id, effect, lambda: Introduction.delete().where(Introduction.id == intro.id).execute()


@kind("introduction", list(INTRO_WRITER))
def intro_probes(w, setting, rel, set_name):
    """Introductions are shown with the profile; a hidden one only to the owner. Only friends
    write them; the writer or the owner deletes, the owner hides."""
    intro = w.intros[setting]
    token = [f"IN.{setting}"]
    shown = setting == "shown" or rel == "self"
    on_list = ALLOW if shown and (set_name == "pc" or setting == "shown") else MAYBE if shown else ABSENT
    writes = rel in FRIENDS
    refused = 404 if rel in BLOCKED else 403  # across a block the owner is not there at all
    form = member_page(rel, either(rel == INTRO_WRITER[setting]) if writes else refused)
    return [
        get("/u/olive", owner_page(rel, shown), token),
        get("/u/olive/introductions", owner_page(rel, on_list), token),  # one a page on phones
        get("/u/olive/introduce", form, token),
        post("/u/olive/introduce", member_page(rel, FORM if writes else refused), {"body": ""}),
        *report_probes("introduction", intro.id, rel, True, author=INTRO_WRITER[setting]),
        post("/introductions/{id}/hide", member_page(rel, 302 if rel == "self" else 403), scratch=_scratch_intro),
        post("/introductions/{id}/delete", member_page(rel, 302 if rel in ("self", "fof") else 403),
             scratch=_scratch_intro),
    ]


def _scratch_invite(creator):
    def make(w, rel):
        code = InviteCode.create(created_by=w.users[creator].id, max_uses=1, note="SCR")

        def effect():
            return InviteCode.get_by_id(code.id).revoked
        return code.id, effect, lambda: InviteCode.delete().where(InviteCode.id == code.id).execute()
    return make


@kind("invites", ["owner's invite link"])
def invite_probes(w, setting, rel, set_name):
    return [
        get("/invites/", member_page(rel, either(rel == "self")), [w.invite.code]),
        post("/invites/{id}/revoke", owner_only(rel, 302), scratch=_scratch_invite("self")),
    ]


@kind("alias", ["owner's private name for the friend"])
def alias_probes(w, setting, rel, set_name):
    """The name the owner gave her friend is seen by her alone."""
    mine = rel == "self"
    return [
        get("/u/fred", either(mine), ["AL.name"]),
        get("/friends/", member_page(rel, either(mine)), ["AL.name"]),
        get("/u/fred/alias", member_page(rel, 404 if rel == "friend" else either(mine)), ["AL.name"]),
    ]


@kind("blocked_list", ["owner blocked", "owner was blocked"])
def blocked_list_probes(w, setting, rel, set_name):
    blocker, name = ("self", "ボブ") if setting == "owner blocked" else ("blocker", "オリーブ")
    return [get("/settings/blocked", member_page(rel, either(rel == blocker)), [name])]


OWNER_HANDSET = "DoCoMo/2.0 LGX99i(c100;TB;W24H16)"  # the owner's login elsewhere: "docomo LGX99i"


def _owner_handset_login(w):
    if not Login.select().where((Login.user == w.owner.id) & (Login.user_agent == OWNER_HANDSET)).exists():
        Login.start(w.owner, OWNER_HANDSET, datetime.timedelta(days=1))


def _scratch_login(w, rel):
    Login.start(w.owner, "SCR.agent", datetime.timedelta(days=1))
    row = Login.get(Login.user_agent == "SCR.agent")
    return (row.id, lambda: not Login.select().where(Login.id == row.id).exists(),
            lambda: Login.delete().where(Login.id == row.id).execute())


@kind("logins", ["owner's login on a handset"], prepare=_owner_handset_login)
def login_probes(w, setting, rel, set_name):
    """Where one is logged in: each member sees and ends only their own logins."""
    return [get("/settings/logins", member_page(rel, either(rel == "self")), ["LGX99i"]),
            post("/settings/logins/{id}/end", owner_only(rel, 302), scratch=_scratch_login)]


@kind("likes_received", ["liked by a member"])
def likes_received_probes(w, setting, rel, set_name):
    return [get("/likes/received", member_page(rel, either(rel == "self")), [aw.LIKER[1]])]


def _admin(rel, allowed=ALLOW):
    """Admin pages: 403 for everyone else, logged out too."""
    return allowed if rel == "admin" else 403


def _scratch_report(w, rel):
    row = Report.create(reporter=w.users["friend"].id, target_user=w.owner.id, kind="user",
                        object_id=w.owner.id, reason="SCR.report")
    return (row.id, lambda: Report.get_by_id(row.id).status != "open",
            lambda: Report.delete().where(Report.id == row.id).execute())


ADMIN_TOKENS = {"index": "/admin/registration", "users": 'name="q"', "reports": "RP.reason",
                "invites": 'name="max_uses"', "site": 'name="invite_quota"'}


@kind("admin", list(ADMIN_TOKENS))
def admin_probes(w, page, rel, set_name):
    url = "/admin/" if page == "index" else f"/admin/{page}"
    probes = [get(url, _admin(rel), [ADMIN_TOKENS[page]], secrets=["RP.reason", w.invite.code])]
    if page == "index":
        probes.append(post("/admin/registration", _admin(rel, FORM), {"mode": "bogus"}))
    elif page == "users":  # suspending oneself is refused: no change
        probes.append(post(f"/admin/users/{w.users['admin'].id}/suspend", _admin(rel, 302)))
    elif page == "reports":
        probes.append(post("/admin/reports/{id}/dismiss", _admin(rel, 302), scratch=_scratch_report))
    elif page == "invites":
        probes += [get(url, _admin(rel), [w.invite.code]),  # members' invite links too
                   post(url, _admin(rel, FORM), {"note": "", "max_uses": "-1"}),
                   post("/admin/invites/{id}/revoke", _admin(rel, 302), scratch=_scratch_invite("admin"))]
    elif page == "site":
        probes.append(post(url, _admin(rel, FORM), {"invite_quota": "-5", "footprint_retention_days": "0",
                                                    "footprint_deletions_per_month": "-1"}))
    return probes


# Deleting things: the owner's (or writer's, or visitor's) alone. Each case deletes a scratch
# object made for it; (url, scratch factory, relations allowed, denial code).
def _scratch(make, exists):
    def factory(w, rel):
        row = make(w)
        return row.id, lambda: not exists(row.id), lambda: type(row).delete().where(type(row).id == row.id).execute()
    return factory


def _scratch_entry(w, rel):
    """An entry counted in the monthly archive, as the delete view uncounts it."""
    entry = create_entry(w.owner.id, title="SCR.entry", body="x", visibility="public")

    def cleanup():
        if DiaryEntry.select().where(DiaryEntry.id == entry.id).exists():
            count_month(entry, -1)
            DiaryEntry.delete().where(DiaryEntry.id == entry.id).execute()
    return entry.id, lambda: not DiaryEntry.select().where(DiaryEntry.id == entry.id).exists(), cleanup


DELETIONS = {
    "diary entry": ("/diary/{id}/delete", _scratch_entry, {"self"}, 404),
    "voice": ("/voice/{id}/delete", _scratch(
        lambda w: Voice.create(owner=w.owner.id, body="SCR.voice", visibility="public"),
        lambda i: Voice.select().where(Voice.id == i).exists()), {"self"}, 404),
    "album": ("/albums/{id}/delete", _scratch(
        lambda w: Album.create(owner=w.owner.id, title="SCR.album", visibility="public"),
        lambda i: Album.select().where(Album.id == i).exists()), {"self"}, 404),
    "diary comment": ("/diary/comments/{id}/delete", _scratch(
        lambda w: DiaryComment.create(entry=w.entries["public"].id, author=w.users["friend"].id, body="SCR.c"),
        lambda i: DiaryComment.select().where(DiaryComment.id == i).exists()), {"self", "friend"}, 403),
    "footprint": ("/footprints/{id}/delete", _scratch(
        lambda w: Footprint.create(owner=w.liker.id, visitor=w.users["friend"].id, kind="profile"),
        lambda i: Footprint.select().where(Footprint.id == i).exists()), {"friend"}, 404),
}


@kind("deletion", list(DELETIONS))
def deletion_probes(w, setting, rel, set_name):
    url, factory, allowed, code = DELETIONS[setting]
    return [post(url, member_page(rel, 302 if rel in allowed else code), scratch=factory)]


def _restore_graph(w, rel):
    return None, None, lambda: aw.restore_graph(w)


@kind("person_action", ["befriend", "block", "unblock", "unfriend", "alias", "mute"])
def person_action_probes(w, action, rel, set_name):
    """Acting on the owner as a person, by login ID. A block refuses friend requests (404, as
    the profile) and introductions (403); blocking, unblocking, unfriending, a private name
    and hiding voices stay possible across it: they show nobody's content, only the
    nickname, which the public part of the profile shows anyone logged out."""
    name = ["オリーブ"]
    if action == "befriend":
        code = 400 if rel == "self" else 404 if rel in BLOCKED else None
        return [get("/u/olive/befriend", member_page(rel, code or ALLOW), name),
                post("/u/olive/befriend", member_page(rel, code or FORM), {"message": "x" * 501})]
    if action == "block":
        return [get("/u/olive/block", member_page(rel, 400 if rel == "self" else ALLOW), name),
                post("/u/olive/block", member_page(rel, 400 if rel == "self" else 302), scratch=_restore_graph)]
    if action == "unblock":
        return [post("/u/olive/unblock", member_page(rel, 302), scratch=_restore_graph)]
    if action == "unfriend":
        return [get("/u/olive/unfriend", member_page(rel, ALLOW), name),
                post("/u/olive/unfriend", member_page(rel, 302), scratch=_restore_graph)]
    if action == "alias":
        code = 404 if rel == "self" else None
        return [get("/u/olive/alias", member_page(rel, code or ALLOW), name),
                post("/u/olive/alias", member_page(rel, code or 302), {"name": ""})]
    return [post("/u/olive/voice/show", member_page(rel, 302), scratch=_restore_graph)]


def _new_invite(w, rel):
    before = {c.id for c in InviteCode.select(InviteCode.id)}

    def cleanup():
        InviteCode.delete().where(InviteCode.id.not_in(list(before))).execute()
    return None, None, cleanup


OWN_PAGES = {
    # setting: (GET url or None, POST url or None, POST data, POST expectation when logged in)
    "settings": ("/settings/", "/settings/", {"language": "xx"}, FORM),
    "password": ("/settings/password", "/settings/password", {"current": "wrong"}, FORM),
    "delete account": ("/settings/delete", "/settings/delete", {"password": "wrong"}, FORM),
    "avatar": ("/settings/avatar", "/settings/avatar", {}, FORM),
    "footprint settings": ("/footprints/settings", None, None, None),
    "message settings": ("/messages/settings", "/messages/settings", {"message_policy": "bogus"}, FORM),
    "compose": ("/messages/new", "/messages/new", {"to": "", "subject": "", "body": ""}, FORM),
    "empty trash": (None, "/messages/trash/empty", {}, 302),
    "new diary entry": ("/diary/new", "/diary/new", {"title": "", "body": ""}, FORM),
    "new album": ("/albums/new", "/albums/new", {"title": ""}, FORM),
    "new group": (None, "/friends/groups", {"name": ""}, FORM),
    "new voice": (None, "/voice/", {"body": ""}, FORM),
    "edit profile": (None, "/profile/edit", {"nickname": ""}, FORM),
    "edit nickname": (None, "/profile/edit/nickname", {"value": ""}, FORM),
    "new invite link": (None, "/invites/new", {}, 302),
    "search form": ("/people/search", None, None, None),
    "my profile": ("/profile/", None, None, None),
    "my albums": ("/photos/", None, None, None),
}


@kind("own_pages", list(OWN_PAGES))
def own_page_probes(w, setting, rel, set_name):
    """One's own settings and forms: any member, for themselves; never the owner's data."""
    get_url, post_url, data, posted = OWN_PAGES[setting]
    me = login_id(rel)
    redirects = {"/profile/": f"/u/{me}", "/photos/": f"/u/{me}/albums"}
    private = ["PF.private", "RQ.msg", w.invite.code, "MS.delivered"]
    probes = []
    if get_url:
        expect = ("redirect", redirects[get_url]) if get_url in redirects else ALLOW
        probes.append(get(get_url, member_page(rel, expect), secrets=[] if rel == "self" else private))
    if post_url:
        probes.append(post(post_url, member_page(rel, posted), data,
                           scratch=_new_invite if setting == "new invite link" else None))
    if setting == "footprint settings":  # the same switches again: no change
        flags = {"leave_footprints": "y"} if rel == "self" else {}
        probes.append(post("/footprints/settings", member_page(rel, 302), {**flags, "show_visitors": "y"}))
    return probes


# --- Running the matrix -----------------------------------------------------------------

@pytest.fixture(scope="module")
def world_app(tmp_path_factory):
    """An app on its own database for the whole module (a SQLite file, or a PostgreSQL schema
    as conftest.py makes one per test)."""
    tmp = tmp_path_factory.mktemp("authz")
    schema = None
    if PG_URL:
        import psycopg

        schema = "t_" + secrets.token_hex(6)
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in PG_URL else "?"
        url = f"{PG_URL}{sep}options={quote('-c search_path=' + schema)}"
    else:
        url = "sqlite:///" + str(tmp / "data" / "portal.db")
    app = create_app({"DATA_DIR": str(tmp / "data"), "DATABASE_URL": url, "TESTING": True,
                      "SECRET_KEY": "authz-" + secrets.token_hex(8), "REGISTRATION": "open",
                      "PASSWORD_HASH_METHOD": "scrypt:4096:8:1",
                      # 36 logins and hundreds of refused comments from one address in a minute:
                      # rate limits (tests/test_limits.py) would answer 429 instead of the rule.
                      "RATE_LIMITS": False})
    db.upgrade()
    yield app
    if not database.is_closed():
        database.close()
    if schema:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module")
def world(world_app):
    return aw.build(world_app)


@pytest.fixture(scope="module")
def viewers(world_app, world):
    made = {}

    def viewer(rel, set_name):
        if (rel, set_name) not in made:
            made[(rel, set_name)] = Viewer(world_app, rel, set_name)
        return made[(rel, set_name)]
    return viewer


TALLY = {"cases": 0, "failures": 0}


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    """The one summary line, printed after the module's tests."""
    yield
    if TALLY["cases"]:
        line = f"authz: {TALLY['cases']} cases, {TALLY['failures']} failures"
        plugins = request.config.pluginmanager
        reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
        if reporter is None or capture is None:  # pragma: no cover - no terminal
            print(line)
            return
        with capture.global_and_fixture_disabled():  # past pytest's output capture
            reporter.write_line("")
            reporter.write_line(line)


def _check(viewer, probe, world_app, world):
    """The failure of one probe, or None."""
    url, effect, cleanup, took_effect = probe.url, None, None, None
    if probe.scratch is not None:
        with world_app.app_context(), database.connection_context():
            object_id, effect, cleanup = probe.scratch(world, viewer.relation)
        url = url.format(id=object_id)
    try:
        if probe.method == "GET":
            status, location, body, mimetype = viewer.get(url, fresh=probe.fresh)
        else:
            status, location, body, mimetype = viewer.post(url, probe.data or {})
        if effect is not None:
            with world_app.app_context(), database.connection_context():
                took_effect = effect()
    finally:
        if cleanup is not None:
            with world_app.app_context(), database.connection_context():
                cleanup()
    expect = probe.expect
    where = f"{probe.method} {url}: expected {expect!r}, got {status}"
    text = body if isinstance(body, str) else ""
    allowed = expect in (ALLOW, MAYBE, IMAGE, FORM) or (isinstance(expect, int) and expect < 400)
    if probe.allowed is not None:
        allowed = probe.allowed
    if expect == IMAGE:
        if status != 200 or not mimetype.startswith("image/") or not body.startswith((b"\xff\xd8", b"RIFF")):
            return f"{where} ({mimetype}, {len(body)} bytes)"
    elif expect == LOGIN:
        if status != 302 or location != "/login":
            return f"{where} -> {location}"
    elif isinstance(expect, tuple):
        if status != 302 or location != expect[1]:
            return f"{where} -> {location}"
    elif expect == FORM:
        if status != 400 or CSRF_PAGE in text:
            return f"{where} (CSRF page: {CSRF_PAGE in text})"
    elif isinstance(expect, int):
        if status != expect or (status == 302 and location == "/login"):
            return f"{where} -> {location}"
    elif status != 200:
        return where
    if expect == ALLOW:
        missing = [t for t in probe.tokens if t not in text]
        if missing:
            return f"{probe.method} {url}: allowed but {missing} not on the page"
    if not allowed or expect == ABSENT:
        leaked = [t for t in probe.tokens + probe.secrets if t in text]
        if leaked:
            return f"{probe.method} {url}: LEAK of {leaked} (status {status})"
    if took_effect is not None and took_effect != allowed:
        return f"{probe.method} {url}: effect {took_effect}, expected {allowed}"
    return None


def test_the_world_is_what_the_matrix_assumes(world_app, world):
    """Each viewer stands in the relation its name says (privacy.relation decides)."""
    with world_app.app_context(), database.connection_context():
        for rel in RELATIONS:
            viewer = world.users.get(rel)
            assert privacy.relation(viewer, world.owner) == aw.PRIVACY_RELATION[rel], rel
        assert privacy.in_group(world.users["group_friend"], world.group.id)
        assert not privacy.in_group(world.users["friend"], world.group.id)


@pytest.mark.parametrize("kind_name", list(KINDS))
def test_matrix(world_app, world, viewers, kind_name):
    """Every setting of one kind, for every relation on both template sets."""
    spec = KINDS[kind_name]
    if spec.prepare is not None:
        with world_app.app_context(), database.connection_context():
            spec.prepare(world)
    adapter = world_app.url_map.bind("localhost")
    failures, posted = [], set()
    for setting in spec.settings:
        for rel in RELATIONS:
            for set_name in SETS:
                viewer = viewers(rel, set_name)
                probes = []
                for probe in spec.probes(world, setting, rel, set_name):
                    if probe.method == "POST" and set_name != "pc":
                        # A form is decided by the same view before any template, whichever
                        # the set: the handset sends each form once per relation and kind
                        # (its session, CSRF and Shift_JIS paths), the PC client every time.
                        route = adapter.match(probe.url.format(id=1), method="POST")[0]
                        if (rel, route) in posted:
                            continue
                        posted.add((rel, route))
                    probes.append(probe)
                problems = [p for p in (_check(viewer, probe, world_app, world) for probe in probes) if p]
                TALLY["cases"] += 1
                if problems:
                    TALLY["failures"] += 1
                    failures += [f"{kind_name}[{setting}] as {rel} ({set_name}): {p}" for p in problems]
    assert not failures, "\n".join(failures)


def _probed_routes(world_app, world):
    """(endpoint, method) of every probe of every kind, found through the URL map."""
    adapter = world_app.url_map.bind("localhost")
    reached = set()
    for spec in KINDS.values():
        for setting in spec.settings:
            for rel in RELATIONS:
                for set_name in SETS:
                    for probe in spec.probes(world, setting, rel, set_name):
                        path = probe.url.format(id=1).split("?")[0]
                        endpoint, _args = adapter.match(path, method=probe.method)
                        reached.add((endpoint, probe.method))
    return reached


def test_every_route_is_in_the_matrix(world_app, world):
    """A new GET or POST route fails here until a kind probes it or EXEMPT says why not."""
    reached = _probed_routes(world_app, world)
    endpoints = {rule.endpoint for rule in world_app.url_map.iter_rules()}
    assert set(EXEMPT) <= endpoints, f"stale exemptions: {set(EXEMPT) - endpoints}"
    missing = sorted((rule.rule, method) for method in ("GET", "POST") for rule in rules(world_app, method)
                     if rule.endpoint not in EXEMPT and (rule.endpoint, method) not in reached)
    assert not missing, f"routes missing from the authorization matrix: {missing}"
    assert not {endpoint for endpoint, _m in reached} & set(EXEMPT), "an exempt route is probed"


def test_the_world_is_left_as_built(world_app, world):
    """Scratch objects and graph changes made by POST cases were all undone."""
    from portal.models import Album, DiaryMonth, Report

    def rows(snapshot):
        return {model: sorted(tuple(sorted((k, str(v)) for k, v in row.items() if k != "id")) for row in snapshot[model])
                for model in aw.GRAPH_MODELS}

    with world_app.app_context(), database.connection_context():
        assert rows(aw.snapshot_graph()) == rows(world.graph)
        assert DiaryEntry.select().count() == len(LEVELS) and Voice.select().count() == 2 * len(LEVELS)
        assert Album.select().count() == len(LEVELS) and DiaryComment.select().count() == len(LEVELS)
        assert Introduction.select().count() == 2
        assert Footprint.select().where(Footprint.owner == world.owner.id).count() == 3
        assert Report.select().count() == 1 and InviteCode.select().where(InviteCode.revoked).count() == 0
        assert InviteCode.select().count() == 2 and FriendGroup.select().count() == 1
        months = DiaryMonth.select().where(DiaryMonth.owner == world.owner.id)
        assert sum(m.count for m in months) == len(LEVELS)
