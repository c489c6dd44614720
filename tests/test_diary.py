"""Diary, voice, likes and the home feed: visibility per relation, parts, markup, comments,
notices, Atom, query counts."""
import re

import pytest
from lxml import etree

from helpers import DOCOMO_UA, PC_UA, SOFTBANK_UA, login, post, text_of
from people_world import ITEM_SEES, RELATIONS, build_world
from portal.db import database
from portal.models import DiaryComment, DiaryEntry, Like, User, Voice
from portal.models.diary import add_comment, create_entry, rebuild_months
from portal.models.likes import set_like
from portal.models.visibility import LEVELS
from pagecheck import parse_mobile
from querycount import count_queries

UAS = {"pc": PC_UA, "mobile": SOFTBANK_UA, "docomo": DOCOMO_UA}
SEES = ITEM_SEES


@pytest.fixture
def world(make_user):
    return build_world(make_user)


@pytest.fixture
def entries(world):
    """One entry of the owner at each level, each with a comment by the owner and a like."""
    made = {}
    with database.connection_context():
        for level in LEVELS:
            entry = create_entry(world.owner.id, title=f"title-{level}", body=f"body-{level}-本文",
                                 visibility=level, group=world.group.id if level == "group" else None)
            add_comment(entry, world.owner, f"comment-{level}")
            set_like("diary", entry, world.owner, True)
            made[level] = entry
    return made


def client_as(make_client, world, relation, ua=PC_UA, **headers):
    client = make_client(ua, **headers)
    if relation != "anonymous":
        assert login(client, world.users[relation].login_id).status_code == 302
    return client


@pytest.mark.parametrize("relation", RELATIONS)
@pytest.mark.parametrize("ua_name", sorted(UAS))
def test_entry_visibility_matrix(make_client, world, entries, relation, ua_name):
    client = client_as(make_client, world, relation, UAS[ua_name])
    for level, entry in entries.items():
        allowed = level in SEES[relation]
        paths = [f"/diary/{entry.id}", f"/diary/{entry.id}/comments", f"/likes/diary/{entry.id}"]
        for path in paths:
            response = client.get(path)
            assert response.status_code == (200 if allowed else 404), (relation, level, path)
        if allowed:
            assert f"body-{level}-本文" in text_of(client.get(f"/diary/{entry.id}"))
            assert f"comment-{level}" in text_of(client.get(f"/diary/{entry.id}/comments"))
            assert "オリーブ" in text_of(client.get(f"/likes/diary/{entry.id}"))
    # The owner's diary list shows exactly the visible entries.
    listing = client.get("/u/olive/diary")
    if relation == "blocked":
        assert listing.status_code == 404
    else:
        text = text_of(listing)
        for level in LEVELS:
            assert (f"title-{level}" in text) == (level in SEES[relation]), (relation, level)


@pytest.mark.parametrize("relation", ["friend", "group_friend", "fof", "member"])
def test_friends_feed_and_home(make_client, world, entries, relation):
    client = client_as(make_client, world, relation)
    feed = text_of(client.get("/diary/"))
    home = text_of(client.get("/"))
    for level in LEVELS:
        # Only friends see the owner's entries in their feed, and only those they may see.
        expected = relation in ("friend", "group_friend") and level in SEES[relation]
        assert (f"title-{level}" in feed) == expected, (relation, level)
    assert ("title-friends" in home) == (relation in ("friend", "group_friend"))


def test_atom_feed_has_only_public_entries(make_client, world, entries):
    for relation in ("anonymous", "self", "friend"):
        client = client_as(make_client, world, relation)
        response = client.get("/u/olive/diary.atom")
        assert response.status_code == 200 and response.mimetype == "application/atom+xml"
        root = etree.fromstring(response.data)
        titles = root.xpath("//a:entry/a:title/text()", namespaces={"a": "http://www.w3.org/2005/Atom"})
        assert titles == ["title-public"], relation
    blocked = client_as(make_client, world, "blocked")
    assert blocked.get("/u/olive/diary.atom").status_code == 404
    html = client_as(make_client, world, "member").get("/u/olive/diary").get_data(as_text=True)
    assert 'rel="alternate" type="application/atom+xml"' in html


LONG = ("今日は晴れ。☀ 駅前で友だちと会いました😀。" * 60 + "\n") * 4 + "最後の行🎌"


def reassemble(client, path, codec):
    parts, n = [], 1
    while True:
        response = client.get(f"{path}?part={n}")
        assert response.status_code == 200
        assert len(response.data) <= 5120, (n, len(response.data))
        root = parse_mobile(response.data, response.mimetype_params.get("charset", "utf-8"))
        ns = {"x": "http://www.w3.org/1999/xhtml"}
        body = root.xpath("//x:h1/following-sibling::x:p[1]", namespaces=ns)[0]
        parts.append("".join(body.itertext()))
        hrefs = root.xpath("//x:a/@href", namespaces=ns)
        if not any(re.search(rf"[?&]part={n + 1}(&|$)", href) for href in hrefs):
            return "".join(parts), n
        n += 1


OPERA_MINI_UA = "Opera/9.80 (J2ME/MIDP; Opera Mini/4.2.14912/812; U; en) Presto/2.4.15"


@pytest.mark.parametrize("ua,text", [(OPERA_MINI_UA, LONG), (DOCOMO_UA, LONG.replace("😀", "").replace("☀", "")
                                                                    .replace("🎌", "") + "～①ｱ")],
                         ids=["utf8-emoji", "shift_jis"])
def test_long_entry_splits_into_parts_that_reassemble(make_client, make_user, ua, text):
    make_user("writer")
    with database.connection_context():
        entry = DiaryEntry.create(owner=User.by_login_id("writer").id, title="長い日記", body=text,
                                  visibility="public")
    client = make_client(ua)
    whole, count = reassemble(client, f"/diary/{entry.id}", "cp932" if ua == DOCOMO_UA else "utf-8")
    assert count >= 3
    assert whole == text


def test_long_entry_with_emoji_on_a_carrier_handset(make_client, make_user):
    from portal.web.keitai import emoji_out

    make_user("writer")
    with database.connection_context():
        entry = DiaryEntry.create(owner=User.by_login_id("writer").id, title="長い日記", body=LONG,
                                  visibility="public")
    whole, count = reassemble(make_client(SOFTBANK_UA), f"/diary/{entry.id}", "utf-8")
    assert count >= 3 and whole == emoji_out(LONG, "softbank")  # the carrier's own emoji codes


def test_markup_is_shown_as_text_everywhere(make_client, world):
    olive = client_as(make_client, world, "self")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = post(olive, "/diary/new", {"title": evil, "body": evil + "\nhttp://example.org/?a=<b>",
                                          "visibility": "public", "group": "0", "allow_comments": "y"})
    assert response.status_code == 302
    entry_id = int(response.headers["Location"].rsplit("/", 1)[1])
    post(olive, f"/diary/{entry_id}/comments", {"body": evil})
    for ua in UAS.values():
        client = make_client(ua)
        login(client, "olive")
        for path in (f"/diary/{entry_id}", f"/diary/{entry_id}/comments", "/u/olive/diary", "/"):
            html = text_of(client.get(path))
            assert "<script>" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", ""), path
    html = text_of(olive.get(f"/diary/{entry_id}"))
    assert "&lt;script&gt;" in html
    assert '/jump?url=http' in html  # the URL became a link through the jump page


class TestComments:
    def test_permissions(self, make_client, world, entries):
        entry = entries["members"]
        member = client_as(make_client, world, "member")
        assert post(member, f"/diary/{entry.id}/comments", {"body": "こんにちは"}).status_code == 302
        anonymous = client_as(make_client, world, "anonymous")
        assert anonymous.post(f"/diary/{entry.id}/comments", data={"body": "x"}).status_code == 400  # no CSRF
        fof = client_as(make_client, world, "fof")
        assert post(fof, f"/diary/{entries['friends'].id}/comments", {"body": "x"}).status_code == 404
        blocked = client_as(make_client, world, "blocked")
        assert post(blocked, f"/diary/{entries['public'].id}/comments", {"body": "x"},
                    token_from="/").status_code == 404
        with database.connection_context():
            mine = DiaryComment.get(DiaryComment.body == "こんにちは")
            DiaryEntry.update(allow_comments=False).where(DiaryEntry.id == entry.id).execute()
        assert post(member, f"/diary/{entry.id}/comments", {"body": "more"}).status_code == 403
        # Only the writer and the entry's owner delete a comment.
        fred = client_as(make_client, world, "friend")
        assert post(fred, f"/diary/comments/{mine.id}/delete", token_from="/").status_code == 403
        assert post(member, f"/diary/comments/{mine.id}/delete", token_from="/").status_code == 302
        olive = client_as(make_client, world, "self")
        owner_comment = DiaryComment.get(DiaryComment.body == "comment-members")
        assert post(olive, f"/diary/comments/{owner_comment.id}/delete", token_from="/").status_code == 302
        with database.connection_context():
            assert DiaryEntry.get_by_id(entry.id).comment_count == 0

    @pytest.mark.parametrize("body,code", [("", 400), ("x" * 1001, 400), ("ok", 302)])
    def test_length(self, make_client, world, entries, body, code):
        member = client_as(make_client, world, "member")
        assert post(member, f"/diary/{entries['members'].id}/comments", {"body": body}).status_code == code

    def test_notices_for_owner_and_earlier_commenters(self, make_client, world, entries):
        entry = entries["members"]
        member = client_as(make_client, world, "member", Accept_Language="en")
        fred = client_as(make_client, world, "friend", Accept_Language="en")
        olive = client_as(make_client, world, "self", Accept_Language="en")
        post(member, f"/diary/{entry.id}/comments", {"body": "first"})
        assert "1 new comments" in olive.get("/").get_data(as_text=True)
        olive.get(f"/diary/{entry.id}")
        assert "new comments" not in olive.get("/").get_data(as_text=True)
        post(fred, f"/diary/{entry.id}/comments", {"body": "second"})
        # The earlier commenter is told (Mixi's comment history), and so is the owner.
        assert "1 new comments" in member.get("/").get_data(as_text=True)
        assert "1 new comments" in olive.get("/").get_data(as_text=True)
        assert "new comments" not in fred.get("/").get_data(as_text=True)


class TestEntries:
    def form(self, **changes):
        return {"title": "タイトル", "body": "本文です", "visibility": "friends", "group": "0",
                "allow_comments": "y", **changes}

    @pytest.mark.parametrize("changes,message", [
        ({"title": ""}, "Please enter a title"), ({"title": "x" * 101}, "At most 100"),
        ({"body": ""}, "Please write something"), ({"body": "x" * 10001}, "At most 10000"),
        ({"visibility": "everyone"}, "Not a valid choice"), ({"visibility": "group"}, "Choose a friend group"),
        ({"visibility": "group", "group": "99999"}, "Not a valid choice"),
    ])
    def test_bad_input(self, make_client, world, changes, message):
        client = client_as(make_client, world, "self", Accept_Language="en")
        response = post(client, "/diary/new", self.form(**changes))
        assert response.status_code == 400 and message in response.get_data(as_text=True)
        with database.connection_context():
            assert not DiaryEntry.select().exists()

    def test_edit_and_delete_own_only(self, make_client, world, entries):
        entry = entries["public"]
        fred = client_as(make_client, world, "friend")
        assert fred.get(f"/diary/{entry.id}/edit").status_code == 404
        assert post(fred, f"/diary/{entry.id}/delete", token_from="/").status_code == 404
        olive = client_as(make_client, world, "self")
        assert post(olive, f"/diary/{entry.id}/edit", self.form(title="新しい")).status_code == 302
        with database.connection_context():
            assert DiaryEntry.get_by_id(entry.id).title == "新しい"
        assert post(olive, f"/diary/{entry.id}/delete").status_code == 302
        with database.connection_context():
            assert not DiaryEntry.select().where(DiaryEntry.id == entry.id).exists()
            assert not Like.select().where((Like.kind == "diary") & (Like.object_id == entry.id)).exists()

    def test_editing_a_long_entry_part_by_part_on_a_phone(self, make_client, world):
        body = "".join(f"{n:04d}行目のテキスト。\n" for n in range(400))
        with database.connection_context():
            entry = DiaryEntry.create(owner=world.owner.id, title="長い", body=body, visibility="public")
        phone = client_as(make_client, world, "self", SOFTBANK_UA)
        page = phone.get(f"/diary/{entry.id}/edit?part=2")
        assert page.status_code == 200 and len(page.data) <= 5120
        root = etree.fromstring(page.data)
        part2 = root.xpath("//x:textarea[@name='body']/text()", namespaces={"x": "http://www.w3.org/1999/xhtml"})[0]
        assert part2 and part2 in body and not body.startswith(part2)
        response = post(phone, f"/diary/{entry.id}/edit?part=2", self.form(title="長い", body=part2 + "追記",
                                                                            visibility="public"))
        assert response.status_code == 302
        with database.connection_context():
            assert DiaryEntry.get_by_id(entry.id).body == body.replace(part2, part2 + "追記", 1)

    def test_prev_next_respect_visibility(self, make_client, world, entries):
        member = client_as(make_client, world, "member")
        html = member.get(f"/diary/{entries['public'].id}").get_data(as_text=True)
        assert f"/diary/{entries['members'].id}" in html
        assert f"/diary/{entries['fof'].id}\"" not in html

    def test_monthly_archive(self, make_client, world, entries):
        import datetime

        with database.connection_context():
            DiaryEntry.update(created_at=datetime.datetime(2025, 3, 5)).where(
                DiaryEntry.id == entries["public"].id).execute()
            rebuild_months()
        client = client_as(make_client, world, "member")
        html = client.get("/u/olive/diary").get_data(as_text=True)
        assert "2025-03" in html
        march = client.get("/u/olive/diary?month=2025-03").get_data(as_text=True)
        assert "title-public" in march and "title-members" not in march
        assert client.get("/u/olive/diary?month=garbage").status_code == 400


class TestLikes:
    def test_like_unlike_count_and_double_like(self, make_client, world, entries):
        entry = entries["members"]
        member = client_as(make_client, world, "member")
        for _ in range(2):
            assert post(member, f"/like/diary/{entry.id}", token_from="/").status_code == 302
        with database.connection_context():
            assert DiaryEntry.get_by_id(entry.id).like_count == 2
        post(member, f"/like/diary/{entry.id}", {"undo": "1"}, token_from="/")
        with database.connection_context():
            assert DiaryEntry.get_by_id(entry.id).like_count == 1

    def test_likers_list_leaves_out_blocked_users(self, make_client, world, entries):
        from portal.models import Block

        member = client_as(make_client, world, "member")
        post(member, f"/like/diary/{entries['public'].id}", token_from="/")
        olive = client_as(make_client, world, "self")
        assert "マーク" in olive.get(f"/likes/diary/{entries['public'].id}").get_data(as_text=True)
        with database.connection_context():
            Block.add(world.owner.id, world.users["member"].id)
        assert "マーク" not in olive.get(f"/likes/diary/{entries['public'].id}").get_data(as_text=True)
        assert member.get(f"/likes/diary/{entries['public'].id}").status_code == 404

    def test_cannot_like_what_you_cannot_see(self, make_client, world, entries):
        fof = client_as(make_client, world, "fof")
        assert post(fof, f"/like/diary/{entries['friends'].id}", token_from="/").status_code == 404
        assert post(fof, "/like/nonsense/1", token_from="/").status_code == 404

    def test_like_notices(self, make_client, world, entries):
        olive = client_as(make_client, world, "self", Accept_Language="en")
        member = client_as(make_client, world, "member")
        post(member, f"/like/diary/{entries['public'].id}", token_from="/")
        assert "1 new likes" in olive.get("/").get_data(as_text=True)
        assert "マーク" in olive.get("/likes/received").get_data(as_text=True)
        assert "new likes" not in olive.get("/").get_data(as_text=True)


class TestVoice:
    def test_post_reply_like_and_timeline(self, make_client, world):
        olive = client_as(make_client, world, "self")
        assert post(olive, "/voice/", {"body": "おはよう", "visibility": "friends"}).status_code == 302
        with database.connection_context():
            voice = Voice.get()
        fred = client_as(make_client, world, "friend")
        assert "おはよう" in fred.get("/voice/").get_data(as_text=True)
        assert post(fred, f"/voice/{voice.id}", {"body": "おはよう！"}).status_code == 302
        post(fred, f"/like/voice/{voice.id}", token_from="/")
        with database.connection_context():
            voice = Voice.get_by_id(voice.id)
            assert voice.reply_count == 1 and voice.like_count == 1
        member = client_as(make_client, world, "member")
        assert member.get(f"/voice/{voice.id}").status_code == 404
        assert "おはよう" not in member.get("/voice/").get_data(as_text=True)

    @pytest.mark.parametrize("body,code", [("", 400), ("x" * 151, 400), ("あ" * 150, 302)])
    def test_length(self, make_client, world, body, code):
        olive = client_as(make_client, world, "self")
        assert post(olive, "/voice/", {"body": body, "visibility": "friends"}).status_code == code

    def test_hide_a_friends_voices(self, make_client, world):
        fred = client_as(make_client, world, "friend")
        post(fred, "/voice/", {"body": "fred speaks", "visibility": "friends"})
        olive = client_as(make_client, world, "self")
        assert "fred speaks" in olive.get("/voice/").get_data(as_text=True)
        post(olive, "/u/fred/voice/hide", token_from="/")
        assert "fred speaks" not in olive.get("/voice/").get_data(as_text=True)
        assert "fred speaks" in olive.get("/u/fred/voice").get_data(as_text=True)
        post(olive, "/u/fred/voice/show", token_from="/")
        assert "fred speaks" in olive.get("/voice/").get_data(as_text=True)


def _seed_feed(world, n):
    with database.connection_context():
        for i in range(n):
            entry = DiaryEntry.create(owner=world.users["friend"].id, title=f"feed-{i}", body="b",
                                      visibility="friends")
            add_comment(entry, world.owner, f"c{i}")
            Voice.create(owner=world.users["friend"].id, body=f"v{i}", visibility="friends")


@pytest.mark.parametrize("ua", [PC_UA, SOFTBANK_UA])
def test_query_counts_do_not_grow_with_items(make_client, world, ua):
    def measure(path):
        client = client_as(make_client, world, "self", ua)
        client.get(path)
        with count_queries() as statements:
            assert client.get(path).status_code == 200
        return len(statements)

    _seed_feed(world, 1)
    with database.connection_context():
        entry = DiaryEntry.select().order_by(DiaryEntry.id.desc()).get()
    home_1, entry_1 = measure("/"), measure(f"/diary/{entry.id}")
    _seed_feed(world, 20)
    with database.connection_context():
        for i in range(19):
            add_comment(entry, world.users["friend"], f"more {i}")
    home_20, entry_20 = measure("/"), measure(f"/diary/{entry.id}")
    print(f"queries: home {home_1}/{home_20}, entry {entry_1}/{entry_20}")
    assert home_1 == home_20 and entry_1 == entry_20, (home_1, home_20, entry_1, entry_20)
    assert home_20 <= 20 and entry_20 <= 14, (home_20, entry_20)


def test_archive_counts_follow_writes(make_client, world):
    from portal.models import DiaryMonth

    olive = client_as(make_client, world, "self")
    form = {"title": "t", "body": "b", "group": "0", "allow_comments": "y"}
    for level in ("public", "friends", "friends"):
        post(olive, "/diary/new", {**form, "visibility": level})
    with database.connection_context():
        ids = [e.id for e in DiaryEntry.select().order_by(DiaryEntry.id)]
    post(olive, f"/diary/{ids[1]}/edit", {**form, "visibility": "private"})
    post(olive, f"/diary/{ids[2]}/delete")

    def snapshot():
        return sorted((m.month, m.visibility, m.count) for m in DiaryMonth.select() if m.count)

    with database.connection_context():
        live = snapshot()
        rebuild_months()
        assert live == snapshot() and sum(c for _, _, c in live) == 2
    member = client_as(make_client, world, "member", Accept_Language="en")
    html = member.get("/u/olive/diary").get_data(as_text=True)
    assert "(1)" in html  # the archive counts only the public entry for a member
