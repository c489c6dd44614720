"""Blocking, reports, and members' invite links."""
import pytest

from helpers import PC_UA, SOFTBANK_UA, login, post, text_of
from people_world import befriend
from portal.db import database
from portal.models import (Block, FriendRequest, Friendship, Introduction, InviteCode, Report, SiteSetting,
                           User)


@pytest.fixture
def two(make_user, make_client):
    alice, bob = make_user("alice", nickname="アリス"), make_user("bobby", nickname="ボブ")
    a, b = make_client(PC_UA), make_client(PC_UA)
    login(a, "alice")
    login(b, "bobby")
    return alice, bob, a, b


class TestBlocking:
    def test_block_ends_friendship_requests_and_hides_everything(self, two, make_user):
        alice, bob, a, b = two
        with database.connection_context():
            befriend(alice, bob)
            Introduction.create(about=alice.id, writer=bob.id, body="ボブの紹介文")
        carol = make_user("carol")
        assert "ボブの紹介文" in text_of(login_as(a.application, "carol").get("/u/alice"))
        assert post(a, "/u/bobby/block").status_code == 302
        with database.connection_context():
            assert not Friendship.select().exists()
            assert Block.between(alice.id, bob.id)
        # Neither sees the other's profile or friend list.
        assert b.get("/u/alice").status_code == 404
        assert a.get("/u/bobby").status_code == 404
        assert b.get("/u/alice/friends").status_code == 404
        # No friend request, introduction or private name across a block.
        assert post(b, "/u/alice/befriend").status_code == 404
        assert post(b, "/u/alice/introduce", {"body": "x"}).status_code == 404
        with database.connection_context():
            assert not FriendRequest.select().exists()
        # The blocked user's introduction disappears from the blocker's profile for the blocker.
        assert "ボブの紹介文" not in a.get("/u/alice").get_data(as_text=True)
        # Search and suggestions leave them out.
        assert "/u/alice" not in b.get("/people/search?q=アリス").get_data(as_text=True)
        del carol

    def test_blocked_list_and_unblock(self, two):
        alice, bob, a, b = two
        post(a, "/u/bobby/block")
        assert "ボブ" in a.get("/settings/blocked").get_data(as_text=True)
        assert post(a, "/u/bobby/unblock", token_from="/settings/blocked").status_code == 302
        assert b.get("/u/alice").status_code == 200
        with database.connection_context():
            assert not Block.select().exists()

    def test_cannot_block_self(self, two):
        alice, bob, a, b = two
        assert post(a, "/u/alice/block").status_code == 400


def login_as(app, login_id):
    from helpers import _client

    client = _client(app, PC_UA)
    login(client, login_id)
    return client


class TestReports:
    def test_report_a_user_and_suspend(self, two, admin, make_client):
        alice, bob, a, b = two
        response = post(a, f"/report/user/{bob.id}", {"reason": "スパムです"})
        assert response.status_code == 302
        boss = make_client(PC_UA)
        login(boss, "root_admin")
        html = boss.get("/admin/reports").get_data(as_text=True)
        assert "スパムです" in html and "ボブ" in html
        with database.connection_context():
            report = Report.get()
        assert post(boss, f"/admin/reports/{report.id}/suspend").status_code == 302
        with database.connection_context():
            assert User.get_by_id(bob.id).is_suspended
            assert Report.get_by_id(report.id).status == "acted"
        assert b.get("/settings/").status_code == 302  # the suspended session ends

    def test_report_an_introduction_and_delete_it(self, two, admin, make_client):
        alice, bob, a, b = two
        with database.connection_context():
            befriend(alice, bob)
            intro = Introduction.create(about=alice.id, writer=bob.id, body="ひどい")
        post(a, f"/report/introduction/{intro.id}", {"reason": "悪口"})
        boss = make_client(PC_UA)
        login(boss, "root_admin")
        with database.connection_context():
            report = Report.get()
            assert report.target_user_id == bob.id
        assert post(boss, f"/admin/reports/{report.id}/delete").status_code == 302
        with database.connection_context():
            assert not Introduction.select().exists()

    def test_dismiss(self, two, admin, make_client):
        alice, bob, a, b = two
        post(a, f"/report/user/{bob.id}", {"reason": "?"})
        boss = make_client(PC_UA)
        login(boss, "root_admin")
        with database.connection_context():
            report = Report.get()
        post(boss, f"/admin/reports/{report.id}/dismiss")
        with database.connection_context():
            assert Report.get_by_id(report.id).status == "dismissed"
            assert not User.get_by_id(bob.id).is_suspended
        assert post(boss, f"/admin/reports/{report.id}/dismiss").status_code == 404

    def test_bad_reports(self, two):
        alice, bob, a, b = two
        assert post(a, f"/report/user/{bob.id}", {"reason": ""}).status_code == 400
        assert post(a, "/report/user/99999", {"reason": "x"}).status_code == 404
        assert post(a, "/report/nonsense/1", {"reason": "x"}).status_code == 404
        with database.connection_context():
            assert not Report.select().exists()


class TestInvites:
    def test_registering_through_a_members_link_makes_friends(self, make_user, make_client):
        inviter = make_user("inviter", nickname="招待者")
        client = make_client(PC_UA)
        login(client, "inviter")
        assert post(client, "/invites/new", token_from="/invites/").status_code == 302
        with database.connection_context():
            invite = InviteCode.get(InviteCode.created_by == inviter.id)
        newcomer = make_client(SOFTBANK_UA)
        form = {"login_id": "newcomer", "nickname": "新入り", "password": "pass-word-1",
                "confirm": "pass-word-1", "invite": invite.code}
        assert post(newcomer, "/register", form, token_from=f"/register?invite={invite.code}").status_code == 302
        with database.connection_context():
            joined = User.by_login_id("newcomer")
            assert joined.invited_by_id == inviter.id
            assert Friendship.exists_between(inviter.id, joined.id)
            assert not InviteCode.get_by_id(invite.id).is_usable
        assert "新入り" in client.get("/invites/").get_data(as_text=True)

    def test_a_members_link_opens_an_invite_only_site(self, make_user, make_client):
        inviter = make_user("inviter")
        with database.connection_context():
            SiteSetting.set_value("registration", "closed")
            invite = InviteCode.create(created_by=inviter.id)
        form = {"login_id": "newcomer", "nickname": "N", "password": "pass-word-1",
                "confirm": "pass-word-1", "invite": invite.code}
        assert post(make_client(PC_UA), "/register", form).status_code == 302

    def test_quota(self, app, make_user, make_client):
        make_user("inviter")
        with database.connection_context():
            SiteSetting.set_value("invite_quota", "2")
        client = make_client(PC_UA, Accept_Language="en")
        login(client, "inviter")
        for _ in range(3):
            post(client, "/invites/new", token_from="/invites/")
        with database.connection_context():
            assert InviteCode.select().count() == 2
        assert "used all 2" in client.get("/invites/").get_data(as_text=True)

    def test_revoke_only_own(self, make_user, make_client):
        a, b = make_user("aaa"), make_user("bbb")
        with database.connection_context():
            theirs = InviteCode.create(created_by=b.id)
        client = make_client(PC_UA)
        login(client, "aaa")
        assert post(client, f"/invites/{theirs.id}/revoke", token_from="/invites/").status_code == 404
        del a
