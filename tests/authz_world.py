"""The world of the authorization matrix (tests/test_authz_matrix.py).

One owner, "olive", has content of every kind at every visibility setting; one viewer stands
in each relation to her. Who looks is a registry (``RELATIONS``), what is looked at is a
registry too (``KINDS`` in the test module): when communities and games land, their
relations (community member, moderator, game opponent, ...) are added here and their kinds
there, and the matrix and its route coverage test pick them up.

Every text an item shows is a distinctive token (``DT.friends`` is the title of the diary
entry at level "friends"), so a page can be searched for exactly what it must, or must not,
show. All clients speak English (the notices are matched by their English text).
"""
import datetime
import io
import re
from dataclasses import dataclass, field

from PIL import Image

from helpers import PASSWORD, login, text_of
from people_world import FIELD_FOR_LEVEL, ITEM_SEES, SEES
from portal import media
from portal.db import database, utcnow
from portal.web.device import detect
from portal.models import (Alias, Album, Block, CommentWatch, DiaryPhoto, Footprint, FriendGroup,
                           FriendGroupMember, FriendRequest, Friendship, Introduction, InviteCode, Message,
                           Photo, ProfileField, Report, SiteSetting, User, VoiceMute)
from portal.models.diary import add_comment, create_entry
from portal.models.likes import set_like
from portal.models.photos import add_photo_comment, recount
from portal.models.visibility import LEVELS
from portal.models.voice import post_voice


@dataclass(frozen=True)
class Relation:
    """A viewer's standing towards the owner."""

    name: str
    login_id: str | None  # None: logged out
    nickname: str
    about: str


RELATIONS = {r.name: r for r in (
    Relation("self", "olive", "オリーブ", "the owner of everything in the world"),
    Relation("friend", "fred", "フレッド", "a friend, not in the owner's group"),
    Relation("group_friend", "gina", "ジーナ", "a friend in the owner's group 仲良しGR"),
    Relation("fof", "fiona", "フィオナ", "a friend of the friend"),
    Relation("member", "mark", "マーク", "logged in, unrelated"),
    Relation("anonymous", None, "", "logged out"),
    Relation("blocked", "bob", "ボブ", "blocked by the owner (and a friend of the friend)"),
    Relation("blocker", "bella", "ベラ", "blocked the owner (and a friend of the friend)"),
    Relation("admin", "root", "管理人", "a site admin, otherwise unrelated"),
    # Later: community member / moderator, game opponent, ... (see the module docstring).
)}
BLOCKED = {"blocked", "blocker"}  # a block, in either direction
FRIENDS = {"friend", "group_friend"}
# What privacy.relation() says for each viewer (a block wins over friend-of-friend).
PRIVACY_RELATION = {"self": "self", "friend": "friend", "group_friend": "friend", "fof": "fof",
                    "member": "member", "anonymous": "anonymous", "blocked": "blocked",
                    "blocker": "blocked", "admin": "member"}
# Which ladder levels (diary entries, voices, albums) and profile field levels each viewer sees.
LADDER_SEES = {**ITEM_SEES, "blocker": set(), "admin": {"public", "members"}}
FIELD_SEES = {**SEES, "blocker": set(), "admin": {"public", "members"}}

LIKER = ("lena", "レナ")  # likes everything of the owner; not a viewer
GROUP_NAME = "仲良しGR"
SETS = {"pc": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "docomo": "DoCoMo/2.0 SH903i(c100;TB;W24H16)"}


def field_name(level):
    return FIELD_FOR_LEVEL[level]


@dataclass
class World:
    users: dict  # relation -> User (no entry for anonymous)
    liker: User
    group: FriendGroup
    entries: dict = field(default_factory=dict)  # level -> DiaryEntry
    entry_media: dict = field(default_factory=dict)  # level -> media id of its picture
    comments: dict = field(default_factory=dict)  # level -> DiaryComment (by the friend)
    voices: dict = field(default_factory=dict)  # level -> Voice
    replies: dict = field(default_factory=dict)  # level -> reply Voice (by the friend)
    albums: dict = field(default_factory=dict)  # level -> Album
    photos: dict = field(default_factory=dict)  # level -> Photo (with a comment by the friend)
    intros: dict = field(default_factory=dict)  # "shown" / "hidden" -> Introduction
    messages: dict = field(default_factory=dict)  # setting -> Message (owner -> friend)
    footprints: dict = field(default_factory=dict)  # setting -> Footprint on the owner's pages
    avatar: str = ""
    invite: InviteCode = None  # the owner's invite link
    admin_invite: InviteCode = None
    graph: dict = field(default_factory=dict)  # snapshot of friendships, blocks, groups, requests

    @property
    def owner(self):
        return self.users["self"]


def jpeg(color, size=(320, 240)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


def store_picture(app, color):
    """A stored picture (through the real intake), as an upload would leave it; its media id."""
    image = media.intake(jpeg(color))
    media_id = media.new_media_id()
    media.commit_file(media.save_original(image, app.config["MEDIA_DIR"], media_id))
    return media_id, image.width, image.height


def _user(login_id, nickname, **fields):
    user = User(login_id=login_id, nickname=nickname, **fields)
    user.set_password(PASSWORD)
    user.save()
    return user


def befriend(a, b):
    Friendship.make(a.id, b.id)


GRAPH_MODELS = (Friendship, Block, FriendGroupMember, FriendRequest)


def snapshot_graph():
    return {model: list(model.select().dicts()) for model in GRAPH_MODELS}


def restore_graph(world):
    """Put friendships, blocks, group members and requests back as built (after a POST that
    blocked, unblocked or unfriended someone)."""
    with database.atomic():
        for model in GRAPH_MODELS:
            model.delete().execute()
            rows = [{k: v for k, v in row.items() if k != "id"} for row in world.graph[model]]
            if rows:
                model.insert_many(rows).execute()
        VoiceMute.delete().execute()


def build(app):
    """Build the world (once per module)."""
    with app.app_context(), database.connection_context():
        users = {name: _user(rel.login_id, rel.nickname, is_admin=name == "admin",
                             leave_footprints=name == "self")  # no new footprints but the seeded ones
                 for name, rel in RELATIONS.items() if rel.login_id}
        liker = _user(*LIKER, leave_footprints=False)
        owner, friend = users["self"], users["friend"]
        for a, b in ((owner, friend), (owner, users["group_friend"]), (friend, users["fof"]),
                     (friend, users["blocked"]), (friend, users["blocker"])):
            befriend(a, b)
        group = FriendGroup.create(owner=owner.id, name=GROUP_NAME)
        FriendGroupMember.create(group=group, friend=users["group_friend"].id)
        Block.add(owner.id, users["blocked"].id)
        Block.add(users["blocker"].id, owner.id)
        world = World(users=users, liker=liker, group=group)

        for level, name in FIELD_FOR_LEVEL.items():
            ProfileField.create(user=owner.id, name=name, value=f"PF.{level}", visibility=level,
                                searchable=True)
        ProfileField.create(user=owner.id, name="current_town", value="PF.unsearch", visibility="public",
                            searchable=False)

        for n, level in enumerate(LEVELS):
            group_id = group.id if level == "group" else None
            entry = create_entry(owner.id, title=f"DT.{level}", body=f"DB.{level}", visibility=level,
                                 group=group_id, allow_comments=True)
            media_id, width, height = store_picture(app, (40 * n, 90, 160))
            DiaryPhoto.create(entry=entry.id, media_id=media_id, width=width, height=height)
            world.entries[level], world.entry_media[level] = entry, media_id
            world.comments[level] = add_comment(entry, friend, f"DC.{level}")
            set_like("diary", entry, liker, True)

            voice = post_voice(owner, f"VB.{level}", level, group_id)
            world.voices[level] = voice
            world.replies[level] = post_voice(friend, f"VR.{level}", level, group_id, reply_to=voice)
            set_like("voice", voice, liker, True)

            album = Album.create(owner=owner.id, title=f"AT.{level}", visibility=level, group=group_id)
            media_id, width, height = store_picture(app, (200, 40 * n, 60))
            photo = Photo.create(owner=owner.id, album=album.id, media_id=media_id, width=width,
                                 height=height, caption=f"PC.{level}")
            recount(album.id)
            add_photo_comment(photo, friend, f"PK.{level}")
            set_like("photo", Photo.get_by_id(photo.id), liker, True)
            world.albums[level], world.photos[level] = album, photo

        world.avatar = store_picture(app, (10, 200, 10))[0]
        User.update(avatar_media=world.avatar).where(User.id == owner.id).execute()

        now = utcnow()
        world.intros["shown"] = Introduction.create(about=owner.id, writer=friend.id, body="IN.shown",
                                                    updated_at=now)
        world.intros["hidden"] = Introduction.create(about=owner.id, writer=users["group_friend"].id,
                                                     body="IN.hidden", hidden=True,
                                                     updated_at=now - datetime.timedelta(hours=1))
        for setting, boxes in (("delivered", {}), ("sendergone", {"sender_box": "gone"}),
                               ("recipientgone", {"recipient_box": "gone"})):
            world.messages[setting] = Message.create(sender=owner.id, recipient=friend.id,
                                                     subject=f"MS.{setting}", body=f"MB.{setting}", **boxes)
        for setting, visitor in (("by_friend", "friend"), ("by_blocked", "blocked"), ("by_blocker", "blocker")):
            Footprint.record(owner.id, users[visitor].id, "profile", owner.id)
            world.footprints[setting] = Footprint.get((Footprint.owner == owner.id)
                                                      & (Footprint.visitor == users[visitor].id))
        FriendRequest.create(sender=users["member"].id, recipient=owner.id, message="RQ.msg")
        world.invite = InviteCode.create(created_by=owner.id, max_uses=1)
        world.admin_invite = InviteCode.create(created_by=users["admin"].id, note="AI.note", max_uses=5)
        Report.create(reporter=friend.id, target_user=owner.id, kind="diary",
                      object_id=world.entries["members"].id, reason="RP.reason")
        Alias.create(owner=owner.id, target=friend.id, name="AL.name", note="AL.note")
        SiteSetting.set_value("footprint_deletions_per_month", "100000")
        world.graph = snapshot_graph()
    return world


def reset_seen(world):
    """Make every notice of the world new again (pages such as /footprints/ mark them seen)."""
    long_ago = datetime.datetime(2000, 1, 1)
    CommentWatch.update(seen_at=long_ago).where(CommentWatch.user == world.owner.id).execute()
    User.update(likes_seen_at=None, footprints_seen_at=None).where(User.id == world.owner.id).execute()
    Message.update(read_at=None).execute()


# --- Clients -----------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Viewer:
    """A logged-in (or logged-out) client of one relation on one template set. Pages are
    read through ``get`` (cached: GET changes no content) and forms sent through ``post`` (a
    separate client, so that its flashed messages never show on the pages read)."""

    def __init__(self, app, relation, set_name):
        self.relation, self.set_name = relation, set_name
        self.user_agent = SETS[set_name]
        self.reader = self._client(app)
        self.writer = self._client(app)
        self._cache = {}
        self._token = None

    def _client(self, app):
        client = app.test_client()
        client.environ_base.update(HTTP_USER_AGENT=self.user_agent, HTTP_ACCEPT_LANGUAGE="en")
        login_id = RELATIONS[self.relation].login_id
        if login_id:
            response = login(client, login_id)
            assert response.status_code == 302, (self.relation, self.set_name, text_of(response)[:500])
        return client

    def get(self, url, fresh=False):
        """(status, location path, text or bytes, mimetype) of a GET."""
        if not fresh and url in self._cache:
            return self._cache[url]
        with self.reader.get(url) as response:
            result = _result(response)
        if not fresh and not url.startswith("/media/"):
            self._cache[url] = result
        return result

    def post(self, url, data):
        if self._token is None:
            for candidate in ("/", "/login"):
                match = _CSRF.search(text_of(self.writer.get(candidate)))
                if match:
                    self._token = match.group(1)
                    break
        data = {"csrf_token": self._token, **data}
        device = detect(self.user_agent)
        if device.codec == "cp932":
            from urllib.parse import urlencode

            with self.writer.post(url, data=urlencode(data, encoding="cp932"),
                                  content_type="application/x-www-form-urlencoded") as response:
                result = _result(response)
        else:
            with self.writer.post(url, data=data) as response:
                result = _result(response)
        if device.kind == "pc":  # flashes pile up in the cookie otherwise
            with self.writer.session_transaction() as session:
                session.pop("_flashes", None)
        return result


def _result(response):
    from urllib.parse import urlsplit

    location = urlsplit(response.headers.get("Location", "")).path
    if response.mimetype.startswith("image/"):
        body = response.get_data()
    else:
        body = text_of(response)
    return response.status_code, location, body, response.mimetype
