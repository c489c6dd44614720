"""Demo content so a newcomer sees a living site: ``portal demo`` and ``portal serve --demo``.

Each area adds a seeder with ``@seeder``; seeders run in registration order
inside one transaction, after the users exist.
"""
from werkzeug.security import generate_password_hash

from ..db import database, utcnow
from ..models import InviteCode, User

DEMO_PASSWORD = "demo-password"
_SEEDERS = []

NICKNAMES = ["さくら", "Taro", "ゆうき", "Hana", "けんじ", "Mika", "そら", "Ken", "あおい", "Rin"]


def seeder(func):
    """Register ``func(users)`` to add an area's demo content."""
    _SEEDERS.append(func)
    return func


def seed(count=10):
    """Create users demo1..demoN (password ``demo-password``; demo1 is an admin) and content.

    Existing demo users are kept; returns the list of demo users.
    """
    count = max(1, count)
    # One hash for all: hashing is deliberately slow, and these share a password anyway.
    password_hash = generate_password_hash(DEMO_PASSWORD, method="scrypt")
    with database.atomic():
        users = []
        for n in range(1, count + 1):
            login_id = f"demo{n}"
            user = User.by_login_id(login_id)
            if user is None:
                user = User.create(login_id=login_id, nickname=f"{NICKNAMES[(n - 1) % len(NICKNAMES)]}{n}",
                                   password_hash=password_hash,
                                   is_admin=(n == 1), last_login_at=utcnow())
            users.append(user)
        if not InviteCode.select().where(InviteCode.note == "demo").exists():
            InviteCode.create(note="demo", max_uses=0, created_by=users[0])
        for func in _SEEDERS:
            func(users)
    return users


@seeder
def people(users):
    """Friendships in a ring with chords, groups, introductions, aliases, invites, footprints."""
    from ..models import (Alias, FriendGroup, FriendGroupMember, FriendRequest, Friendship, Footprint,
                          Introduction, InviteCode, ProfileField)
    from ..models.visibility import FOF, FRIENDS, MEMBERS, PUBLIC

    n = len(users)
    if n < 2 or Friendship.select().where(Friendship.user == users[0].id).exists():
        return
    towns = ["札幌", "Sendai", "東京", "Yokohama", "名古屋", "Kyoto", "大阪", "Kobe", "広島", "Fukuoka"]
    schools = ["さくら高校", "Midori High School"]
    for i, user in enumerate(users):
        fields = [("intro", f"はじめまして、{user.nickname}です。Hello from {towns[i % len(towns)]}!", MEMBERS, False),
                  ("hometown", towns[i % len(towns)], PUBLIC, True),
                  ("school", schools[i % 2], FOF, True),
                  ("birthday", f"{(i % 12) + 1:02d}-{(i % 28) + 1:02d}", FRIENDS, False),
                  ("interests", ["写真, 旅行", "games, music", "料理", "reading"][i % 4], MEMBERS, True)]
        ProfileField.insert_many([{"user": user.id, "name": name, "value": value, "visibility": vis,
                                   "searchable": search} for name, value, vis, search in fields]).execute()
    # Friends: each with the next two (a ring), so most people have friends of friends.
    for i in range(n):
        for step in (1, 2):
            j = (i + step) % n
            if i != j:
                Friendship.make(users[i].id, users[j].id)
    for sender in users[3:5]:
        if not Friendship.exists_between(sender.id, users[0].id):
            FriendRequest.insert(sender=sender.id, recipient=users[0].id,
                                 message="マイミクになってください！ Let's be friends!").on_conflict_ignore().execute()
    group = FriendGroup.create(owner=users[0].id, name="仲良し")
    FriendGroupMember.create(group=group, friend=users[1].id)
    Introduction.create(about=users[0].id, writer=users[1].id, relationship="同じクラブ / same club",
                        body="いつも明るくて頼れる人です。Always cheerful and reliable.")
    if n > 2:
        Introduction.create(about=users[1].id, writer=users[0].id, relationship="classmate",
                            body="写真がとても上手！ Great photographer.")
        Alias.create(owner=users[0].id, target=users[2].id, name="中学の友だち",
                     note="Taro from middle school")
    InviteCode.create(created_by=users[0].id, max_uses=1)
    for i in range(1, n):
        Footprint.record(users[0].id, users[i].id, "profile", users[0].id)


@seeder
def diaries(users):
    """Entries of every visibility (some long enough to split on phones), comments, voices, likes."""
    from ..models import DiaryEntry, FriendGroup
    from ..models.diary import add_comment, create_entry
    from ..models.likes import set_like
    from ..models.visibility import FIELD_LEVELS, GROUP, LEVELS
    from ..models.voice import post_voice

    if DiaryEntry.select().exists():
        return
    long_body = "\n".join(
        f"{n}日目。今日は朝から雨でした。駅前のカフェで本を読みながら、友だちを待ちました。"
        f"Day {n}: rain all morning; I read at the café by the station while waiting for friends. ☕"
        for n in range(1, 41))
    group = FriendGroup.get_or_none(FriendGroup.owner == users[0].id)
    titles = ["はじめての日記", "週末のこと", "Trip to Kyoto", "新しいカメラ", "料理メモ", "Rainy days"]
    for i, user in enumerate(users):
        for j, level in enumerate(LEVELS):
            if level == GROUP and (group is None or user.id != users[0].id):
                continue
            body = long_body if (i + j) % 5 == 0 else f"{titles[(i + j) % len(titles)]}。\nhttps://example.org/{i}/{j}"
            entry = create_entry(user.id, title=f"{titles[(i + j) % len(titles)]} ({level})",
                                 body=body, visibility=level, group=group.id if level == GROUP else None)
            if level in ("public", "members", "friends"):
                for k in (1, 2):
                    commenter = users[(i + k) % len(users)]
                    if commenter.id != user.id:
                        add_comment(entry, commenter, ["いいね！", "Nice one!", "また行こうね"][(i + k) % 3])
                        set_like("diary", entry, commenter, True)
        voice = post_voice(user, ["おはよう☀", "Lunch time!", "眠い…", "今日もがんばろう"][i % 4],
                           FIELD_LEVELS[i % 4])
        if len(users) > 1:
            replier = users[(i + 1) % len(users)]
            post_voice(replier, "👍", voice.visibility, reply_to=voice)
            set_like("voice", voice, replier, True)


@seeder
def conversations(users):
    """Messages between friends, some read and some not."""
    from ..models import Message

    if len(users) < 3 or Message.select().exists():
        return
    lines = [("週末の予定", "土曜日、みんなでカフェに行かない？\nLet's meet at the café on Saturday!"),
             ("Re: 週末の予定", "いいね！13時でどう？"), ("写真ありがとう", "Thanks for the photos from the trip.")]
    now = utcnow()
    for i, user in enumerate(users):
        friend = users[(i + 1) % len(users)]
        for k, (subject, body) in enumerate(lines):
            sender, recipient = (user, friend) if k % 2 == 0 else (friend, user)
            Message.create(sender=sender.id, recipient=recipient.id, subject=subject, body=body,
                           read_at=now if k == 0 else None)


def _demo_picture(seed, size=(800, 600)):
    """A generated picture (sky, sun, hills): made at seeding time, no binaries in the repo."""
    from PIL import Image, ImageDraw

    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    top = (70 + seed * 23 % 120, 130 + seed * 37 % 100, 220)
    for y in range(height):
        shade = y / height
        draw.line([(0, y), (width, y)], fill=tuple(int(c * (1 - shade) + 255 * shade * 0.6) for c in top))
    draw.ellipse([width * 0.65, height * 0.1, width * 0.85, height * 0.37], fill=(255, 220, 120))
    draw.polygon([(0, height), (width * 0.3, height * 0.55), (width * 0.6, height)], fill=(60, 140, 80))
    draw.polygon([(width * 0.35, height), (width * 0.7, height * 0.6), (width, height)], fill=(40, 110, 70))
    return image


@seeder
def photos(users):
    """Albums of every visibility with generated pictures; profile pictures for half the users."""
    from flask import current_app

    from .. import media
    from ..models import Album, Photo, User
    from ..models.photos import recount
    from ..models.visibility import FIELD_LEVELS

    if Album.select().exists():
        return
    media_dir = current_app.config["MEDIA_DIR"]

    def store(image):
        media_id = media.new_media_id()
        media.commit_file(media.save_original(image, media_dir, media_id))
        return media_id

    for i, user in enumerate(users[:6]):
        level = FIELD_LEVELS[i % len(FIELD_LEVELS)]
        album = Album.create(owner=user.id, title=["旅行 Trip", "ごはん", "Club day", "散歩"][i % 4],
                             description="デモのアルバムです。A demo album.", visibility=level)
        for k in range(3):
            Photo.create(owner=user.id, album=album.id, media_id=store(_demo_picture(i * 3 + k)),
                         width=800, height=600, caption=f"#{k + 1}", position=k)
        recount(album.id)
        if i % 2 == 0:
            User.update(avatar_media=store(_demo_picture(i + 50, (300, 300)))).where(User.id == user.id).execute()


def is_empty():
    """True when the database has no users yet."""
    return not User.select().exists()
