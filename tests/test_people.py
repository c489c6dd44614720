"""People: profile visibility per relation, friends, requests, groups, introductions, aliases,
search and suggestions."""
import threading

import pytest
from peewee import Value

from helpers import PC_UA, SOFTBANK_UA, DOCOMO_UA, login, post, text_of
from people_world import FIELD_FOR_LEVEL, RELATIONS, SEES, befriend, build_world
from portal import privacy
from portal.db import database
from portal.models import (Alias, Block, FriendGroupMember, FriendRequest, Friendship, Introduction,
                           ProfileField, User)
from portal.models.visibility import LEVELS
from portal.views.people import suggestions_for

UAS = {"pc": PC_UA, "mobile": SOFTBANK_UA, "docomo": DOCOMO_UA}


@pytest.fixture
def world(make_user):
    return build_world(make_user)


def client_as(make_client, world, relation, ua=PC_UA):
    client = make_client(ua)
    if relation != "anonymous":
        assert login(client, world.users[relation].login_id).status_code == 302
    return client


@pytest.mark.parametrize("relation", RELATIONS)
@pytest.mark.parametrize("ua_name", sorted(UAS))
def test_profile_fields_per_relation(make_client, world, relation, ua_name):
    client = client_as(make_client, world, relation, UAS[ua_name])
    response = client.get("/u/olive")
    if relation == "blocked":
        assert response.status_code == 404
        return
    assert response.status_code == 200
    text = text_of(response)
    for level in FIELD_FOR_LEVEL:
        assert (f"value-{level}-値" in text) == (level in SEES[relation]), (relation, level)


def test_the_blocker_cannot_see_the_blocked_either(make_client, world):
    client = client_as(make_client, world, "self")
    assert client.get("/u/bob").status_code == 404


@pytest.mark.parametrize("relation", RELATIONS)
def test_sql_filter_agrees_with_the_python_check(app, world, relation):
    viewer = world.users.get(relation)
    owner = world.owner
    with database.connection_context():
        for level in LEVELS:
            group_id = world.group.id if level == "group" else None
            expected = privacy.can_see(viewer, owner, level, group_id)
            found = User.select().where(
                (User.id == owner.id)
                & privacy.visible_filter(viewer, User.id, Value(level), Value(group_id))).exists()
            assert found == expected, (relation, level)
    group_ok = {"self", "group_friend"}
    with database.connection_context():
        assert privacy.can_see(viewer, owner, "group", world.group.id) == (relation in group_ok)


def test_friend_count_and_common_friends(make_client, world):
    client = client_as(make_client, world, "fof")
    text = client.get("/u/olive").get_data(as_text=True)
    assert "Fred" in text  # the friend they have in common
    assert "共通の友人: 1" in text or "Friends in common: 1" in text


class TestRequests:
    def test_request_accept_flow(self, make_client, make_user):
        alice, bob = make_user("alice"), make_user("bobby")
        a, b = make_client(PC_UA), make_client(PC_UA)
        login(a, "alice")
        login(b, "bobby")
        assert post(a, "/u/bobby/befriend", {"message": "やあ"}).status_code == 302
        assert "1" in b.get("/").get_data(as_text=True)  # the notice
        page = b.get("/friends/requests").get_data(as_text=True)
        assert "やあ" in page
        with database.connection_context():
            req = FriendRequest.get()
        assert post(b, f"/friends/requests/{req.id}/accept").status_code == 302
        with database.connection_context():
            assert Friendship.exists_between(alice.id, bob.id) and Friendship.exists_between(bob.id, alice.id)
            assert not FriendRequest.select().exists()
        # Double accept: harmless, still one friendship.
        assert post(b, f"/friends/requests/{req.id}/accept").status_code == 302
        with database.connection_context():
            assert Friendship.select().count() == 2

    def test_crossed_requests_make_friends(self, make_client, make_user):
        alice, bob = make_user("alice"), make_user("bobby")
        a, b = make_client(PC_UA), make_client(PC_UA)
        login(a, "alice")
        login(b, "bobby")
        post(a, "/u/bobby/befriend")
        post(b, "/u/alice/befriend")
        with database.connection_context():
            assert Friendship.exists_between(alice.id, bob.id)
            assert not FriendRequest.select().exists()

    def test_concurrent_accepts_make_one_friendship(self, app, make_user):
        alice, bob = make_user("alice"), make_user("bobby")
        errors = []

        def accept():
            try:
                with database.connection_context():
                    Friendship.make(alice.id, bob.id)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=accept) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors
        with database.connection_context():
            assert Friendship.select().count() == 2

    def test_decline_and_cancel(self, make_client, make_user):
        make_user("alice"), make_user("bobby")
        a, b = make_client(PC_UA), make_client(PC_UA)
        login(a, "alice")
        login(b, "bobby")
        post(a, "/u/bobby/befriend")
        with database.connection_context():
            req = FriendRequest.get()
        # Only the recipient may decline, only the sender may cancel.
        post(a, f"/friends/requests/{req.id}/decline")
        with database.connection_context():
            assert FriendRequest.select().exists()
        post(a, f"/friends/requests/{req.id}/cancel")
        with database.connection_context():
            assert not FriendRequest.select().exists()
        post(a, "/u/bobby/befriend")
        with database.connection_context():
            req = FriendRequest.get()
        post(b, f"/friends/requests/{req.id}/decline")
        with database.connection_context():
            assert not FriendRequest.select().exists() and not Friendship.select().exists()

    def test_friend_limit(self, app, make_client, make_user):
        app.config["MAX_FRIENDS"] = 1
        alice, bob = make_user("alice"), make_user("bobby")
        make_user("carol")
        with database.connection_context():
            befriend(alice, bob)
        a = make_client(PC_UA, Accept_Language="en")
        login(a, "alice")
        response = post(a, "/u/carol/befriend")
        assert response.status_code == 400 and "limit of 1 friends" in response.get_data(as_text=True)
        with database.connection_context():
            assert not FriendRequest.select().exists()

    def test_unfriend_is_quiet_and_clears_groups(self, make_client, world):
        client = client_as(make_client, world, "self")
        assert post(client, "/u/gina/unfriend").status_code == 302
        with database.connection_context():
            assert not Friendship.exists_between(world.owner.id, world.users["group_friend"].id)
            assert not FriendGroupMember.select().exists()

    def test_cannot_request_self_or_blocked(self, make_client, world):
        client = client_as(make_client, world, "blocked")
        assert post(client, "/u/olive/befriend").status_code == 404
        assert post(client, "/u/bob/befriend").status_code == 400


def test_friends_list_sorting_and_pages(app, make_client, make_user):
    import datetime

    me = make_user("me_user")
    with database.connection_context():
        for n in range(25):
            friend = User.create(login_id=f"f{n:02d}", nickname=f"N{25 - n:02d}", password_hash="x",
                                 last_login_at=datetime.datetime(2026, 1, 1) + datetime.timedelta(hours=n))
            befriend(me, friend)
    client = make_client(PC_UA)
    login(client, "me_user")
    page1 = client.get("/friends/").get_data(as_text=True)
    assert page1.index("N01") < page1.index("N02") and "N25" not in page1
    assert "N25" in client.get("/friends/?page=2").get_data(as_text=True)
    by_login = client.get("/friends/?sort=login").get_data(as_text=True)
    assert by_login.index("N01") < by_login.index("N02")  # N01 logged in last
    mobile = make_client(SOFTBANK_UA)
    login(mobile, "me_user")
    assert mobile.get("/friends/?page=3").status_code == 200


def test_groups(make_client, world):
    client = client_as(make_client, world, "self")
    assert post(client, "/friends/groups", {"name": "家族"}).status_code == 302
    assert post(client, "/friends/groups", {"name": "家族"}).status_code == 400  # duplicate
    fred = world.users["fred"] if "fred" in world.users else world.users["friend"]
    gid = world.group.id
    response = post(client, f"/friends/groups/{gid}", {"name": "親友", "members": [str(fred.id)]})
    assert response.status_code == 302
    with database.connection_context():
        assert [m.friend_id for m in FriendGroupMember.select().where(FriendGroupMember.group == gid)] == [fred.id]
    # Not a friend: refused.
    response = post(client, f"/friends/groups/{gid}", {"name": "親友", "members": [str(world.users["member"].id)]})
    assert response.status_code == 400
    # Someone else's group: 404.
    other = client_as(make_client, world, "friend")
    assert other.get(f"/friends/groups/{gid}").status_code == 404


class TestIntroductions:
    def test_friend_writes_edits_owner_hides(self, make_client, world):
        fred = client_as(make_client, world, "friend")
        assert post(fred, "/u/olive/introduce", {"relationship": "同じクラブ", "body": "<b>いい人</b>"}).status_code == 302
        assert post(fred, "/u/olive/introduce", {"relationship": "同じクラブ", "body": "とてもいい人"}).status_code == 302
        with database.connection_context():
            intro = Introduction.get()
            assert Introduction.select().count() == 1 and intro.body == "とてもいい人"
        member = client_as(make_client, world, "member")
        assert "とてもいい人" in member.get("/u/olive").get_data(as_text=True)
        olive = client_as(make_client, world, "self")
        post(olive, f"/introductions/{intro.id}/hide")
        assert "とてもいい人" not in member.get("/u/olive").get_data(as_text=True)
        assert "とてもいい人" in olive.get("/u/olive").get_data(as_text=True)
        # A third person may neither hide nor delete it.
        assert post(member, f"/introductions/{intro.id}/delete").status_code == 403
        assert post(fred, f"/introductions/{intro.id}/hide").status_code == 403
        assert post(fred, f"/introductions/{intro.id}/delete").status_code == 302
        with database.connection_context():
            assert not Introduction.select().exists()

    def test_markup_is_shown_as_text(self, make_client, world):
        fred = client_as(make_client, world, "friend")
        post(fred, "/u/olive/introduce", {"body": "<script>alert(1)</script>"})
        html = fred.get("/u/olive").get_data(as_text=True)
        assert "<script>alert(1)" not in html and "&lt;script&gt;" in html

    def test_only_friends_write(self, make_client, world):
        for relation in ("fof", "member"):
            client = client_as(make_client, world, relation)
            assert post(client, "/u/olive/introduce", {"body": "hi"}).status_code == 403


def test_private_alias_is_seen_only_by_its_owner(make_client, world):
    olive = client_as(make_client, world, "self")
    assert post(olive, "/u/fred/alias", {"name": "中学のフレッド", "note": "from middle school"}).status_code == 302
    assert "中学のフレッド" in olive.get("/friends/").get_data(as_text=True)
    assert "中学のフレッド" in olive.get("/u/fred").get_data(as_text=True)
    fiona = client_as(make_client, world, "fof")
    assert "中学のフレッド" not in fiona.get("/u/fred/friends").get_data(as_text=True)
    assert "中学のフレッド" not in fiona.get("/u/fred").get_data(as_text=True)
    post(olive, "/u/fred/alias", {"name": ""})
    with database.connection_context():
        assert not Alias.select().exists()


class TestSearch:
    @pytest.fixture
    def people(self, make_user):
        sakura = make_user("sakura", nickname="さくら")
        taro = make_user("taro_y", nickname="Taro")
        hidden = make_user("hiro", nickname="Hiro")
        with database.connection_context():
            ProfileField.create(user=taro.id, name="school", value="Midori High School",
                                visibility="members", searchable=True)
            ProfileField.create(user=hidden.id, name="school", value="Midori High School",
                                visibility="members", searchable=False)
            ProfileField.create(user=sakura.id, name="hometown", value="札幌市",
                                visibility="friends", searchable=True)
        return sakura, taro, hidden

    def search(self, client, q):
        return client.get("/people/search", query_string={"q": q}).get_data(as_text=True)

    def test_japanese_and_english(self, make_client, make_user, people):
        make_user("seeker")
        client = make_client(PC_UA)
        login(client, "seeker")
        assert "さくら" in self.search(client, "くら")
        assert "Taro" in self.search(client, "taro")
        assert "Taro" in self.search(client, "ＴＡＲＯ")  # full-width letters, as typed on a phone
        assert "Taro" in self.search(client, "taro_y")
        result = self.search(client, "midori")
        assert "Taro" in result and "Hiro" not in result  # not searchable
        assert "さくら" not in self.search(client, "札幌")  # searchable but friends only
        with database.connection_context():
            befriend(people[0], User.by_login_id("seeker"))
        assert "さくら" in self.search(client, "札幌")

    def test_blocked_and_suspended_are_not_found(self, make_client, make_user, people):
        seeker = make_user("seeker")
        with database.connection_context():
            Block.add(people[1].id, seeker.id)
            User.update(is_suspended=True).where(User.id == people[0].id).execute()
        client = make_client(PC_UA)
        login(client, "seeker")
        assert "Taro" not in self.search(client, "taro")
        assert "/u/sakura" not in self.search(client, "さくら")

    def test_search_needs_login(self, client):
        assert client.get("/people/search?q=x").status_code == 302


def test_suggestions_ranking(app, make_user):
    me, a, b, c = (make_user(n) for n in ("me_user", "aa", "bb", "cc"))
    x, y, z, w, p, s = (make_user(n) for n in ("xx", "yy", "zz", "ww", "pp", "ss"))
    with database.connection_context():
        for friend in (a, b, c):
            befriend(me, friend)
        for mid in (a, b, c):
            befriend(mid, x)
            befriend(mid, w)
        befriend(a, y)
        befriend(a, z)
        befriend(b, z)
        befriend(a, p)
        befriend(a, s)
        Block.add(w.id, me.id)
        FriendRequest.create(sender=me.id, recipient=p.id)
        User.update(is_suspended=True).where(User.id == s.id).execute()
        ranked = [(u.login_id, u.mutual) for u in suggestions_for(me)]
    assert ranked == [("xx", 3), ("zz", 2), ("yy", 1)]


def test_suggestions_page(make_client, world):
    client = client_as(make_client, world, "fof")
    html = client.get("/people/suggestions").get_data(as_text=True)
    assert "オリーブ" in html or "olive" in html


@pytest.mark.parametrize("path", ["/people/search", "/admin/users"])
def test_control_characters_in_a_search_are_dropped(make_client, admin, path):
    """PostgreSQL refuses a NUL in LIKE; no query may reach it with one."""
    client = make_client()
    login(client, "root_admin")
    response = client.get(path, query_string={"q": "Ad\x00min\x07"})
    assert response.status_code == 200
    assert "\x00" not in text_of(response)
