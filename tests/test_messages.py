"""Messages: who may write to whom, boxes, replies, privacy of every message route, the
rate limit, unread counts, and the optional e-mail (against a local SMTP server)."""
import datetime
import email
import email.policy
import re
import socket
import time

import pytest

from helpers import DOCOMO_UA, PASSWORD, PC_UA, SOFTBANK_UA, login, post, text_of
from people_world import befriend
from portal.db import database
from portal.models import Block, Message, PasswordReset, Report, User


@pytest.fixture
def trio(make_user, make_client):
    """alice and bob are friends; carol is a member who knows neither."""
    users = [make_user(n, nickname=nick) for n, nick in (("alice", "アリス"), ("bobby", "ボブ"), ("carol", "キャロル"))]
    with database.connection_context():
        befriend(users[0], users[1])
    clients = []
    for user in users:
        client = make_client(PC_UA, Accept_Language="en")
        login(client, user.login_id)
        clients.append(client)
    return users, clients


def send(client, to, subject="件名", body="本文です"):
    return post(client, "/messages/new", {"to": to, "subject": subject, "body": body}, token_from="/messages/new")


def only_message():
    with database.connection_context():
        return Message.get()


class TestWhoMayWrite:
    def test_friends_only_by_default(self, trio):
        (alice, bob, carol), (a, b, c) = trio
        assert send(a, "bobby").status_code == 302
        response = send(c, "alice")
        assert response.status_code == 400 and "accepts messages from friends only" in response.get_data(as_text=True)
        with database.connection_context():
            assert Message.select().count() == 1

    def test_any_member_setting(self, trio):
        (alice, bob, carol), (a, b, c) = trio
        assert post(a, "/messages/settings", {"message_policy": "members"}).status_code == 302
        assert send(c, "alice").status_code == 302

    def test_blocked_and_unknown_and_self(self, trio):
        (alice, bob, carol), (a, b, c) = trio
        with database.connection_context():
            Block.add(alice.id, bob.id)
            User.update(message_policy="members").where(User.id == alice.id).execute()
        for client, to in ((b, "alice"), (a, "bobby"), (a, "nobody"), (a, "alice")):
            assert send(client, to).status_code == 400, to
        with database.connection_context():
            assert not Message.select().exists()

    @pytest.mark.parametrize("changes,message", [
        ({"subject": ""}, "Please enter a subject"), ({"subject": "x" * 101}, "At most 100"),
        ({"body": ""}, "Please write a message"), ({"body": "x" * 5001}, "At most 5000"),
        ({"to": ""}, "Please enter the login ID")])
    def test_bad_input(self, trio, changes, message):
        (alice, bob, carol), (a, b, c) = trio
        data = {"to": "bobby", "subject": "s", "body": "b", **changes}
        response = post(a, "/messages/new", data, token_from="/messages/new")
        assert response.status_code == 400 and message in response.get_data(as_text=True)


class TestBoxes:
    def test_read_reply_quote_and_unread_count(self, trio):
        (alice, bob, carol), (a, b, c) = trio
        send(a, "bobby", "こんにちは", "元気？\n二行目")
        assert "1 new messages" in b.get("/").get_data(as_text=True)
        assert '<span class="badge">1</span>' in b.get("/settings/").get_data(as_text=True)
        message = only_message()
        assert "元気？" in b.get(f"/messages/{message.id}").get_data(as_text=True)
        assert "badge" not in b.get("/settings/").get_data(as_text=True)
        reply_form = b.get(f"/messages/{message.id}/reply?quote=1").get_data(as_text=True)
        assert "&gt; 元気？" in reply_form and "Re: こんにちは" in reply_form
        assert post(b, f"/messages/{message.id}/reply", {"to": "alice", "subject": "Re: こんにちは",
                                                         "body": "元気だよ"}).status_code == 302
        with database.connection_context():
            answer = Message.get(Message.sender == bob.id)
            assert answer.reply_to_id == message.id
        assert "元気だよ" in text_of(a.get(f"/messages/{answer.id}"))

    def test_deleting_removes_only_my_copy(self, trio):
        (alice, bob, carol), (a, b, c) = trio
        send(a, "bobby", "消す")
        message = only_message()
        assert post(b, f"/messages/{message.id}/trash").status_code == 302
        assert "消す" not in b.get("/messages/").get_data(as_text=True)
        assert "消す" in b.get("/messages/trash").get_data(as_text=True)
        assert post(b, f"/messages/{message.id}/restore").status_code == 302
        assert "消す" in b.get("/messages/").get_data(as_text=True)
        post(b, f"/messages/{message.id}/trash")
        assert post(b, "/messages/trash/empty", token_from="/messages/trash").status_code == 302
        assert b.get(f"/messages/{message.id}").status_code == 404
        assert "消す" in a.get("/messages/sent").get_data(as_text=True)  # the sender keeps theirs
        post(a, f"/messages/{message.id}/trash")
        assert post(a, f"/messages/{message.id}/delete").status_code == 302
        with database.connection_context():
            assert not Message.select().exists()  # gone from both sides: the row goes

    def test_delete_only_from_trash(self, trio):
        (alice, bob, carol), (a, b, c) = trio
        send(a, "bobby")
        assert post(b, f"/messages/{only_message().id}/delete").status_code == 400


def test_no_third_user_reads_a_message(app, trio, admin, make_client):
    (alice, bob, carol), (a, b, c) = trio
    send(a, "bobby", "ひみつ", "秘密の話")
    message = only_message()
    boss = make_client(PC_UA)
    login(boss, "root_admin")
    for client in (c, boss):
        for path in (f"/messages/{message.id}", f"/messages/{message.id}/reply",
                     f"/messages/{message.id}/reply?quote=1"):
            assert client.get(path).status_code == 404, path
        for action in ("trash", "restore", "delete"):
            assert post(client, f"/messages/{message.id}/{action}", token_from="/").status_code == 404
        assert post(client, f"/report/message/{message.id}", {"reason": "x"}, token_from="/").status_code == 404
        for path in ("/", "/notices", "/messages/", "/messages/sent", "/messages/trash", "/people/search?q=ひみつ"):
            assert "秘密" not in text_of(client.get(path)) and "ひみつ" not in text_of(client.get(path)).replace(
                'value="ひみつ"', ""), path
    assert make_client(PC_UA).get(f"/messages/{message.id}").status_code == 302  # logged out: log in first
    # The admins see it only once the recipient reports it.
    assert "秘密の話" not in boss.get("/admin/reports").get_data(as_text=True)
    assert post(b, f"/report/message/{message.id}", {"reason": "迷惑"}).status_code == 302
    assert "秘密の話" in boss.get("/admin/reports").get_data(as_text=True)
    with database.connection_context():
        assert Report.get().target_user_id == alice.id


def test_rate_limit(app, trio):
    (alice, bob, carol), (a, b, c) = trio
    app.config["MESSAGES_PER_HOUR"] = 3
    for n in range(3):
        assert send(a, "bobby", f"#{n}").status_code == 302
    response = send(a, "bobby", "one too many")
    assert response.status_code == 429 and "3 messages in the last hour" in response.get_data(as_text=True)
    with database.connection_context():
        assert Message.select().count() == 3


@pytest.mark.parametrize("ua", [SOFTBANK_UA, DOCOMO_UA])
def test_mobile_boxes_in_japanese(make_user, make_client, ua):
    alice, bob = make_user("alice"), make_user("bobby")
    with database.connection_context():
        befriend(alice, bob)
    a, b = make_client(ua), make_client(ua)
    login(a, "alice")
    login(b, "bobby")
    assert send(a, "bobby", "携帯から", "～①ｱ テスト").status_code == 302
    message = only_message()
    assert message.body == "～①ｱ テスト"
    assert "メッセージ(1)" in text_of(b.get("/"))  # the unread count in the menu of every page
    page = b.get(f"/messages/{message.id}")
    assert page.status_code == 200 and "～①ｱ テスト" in text_of(page)
    assert "メッセージ(1)" not in text_of(b.get("/"))


class SMTPCapture:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages = []
        capture = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
                capture.messages.append((envelope.rcpt_tos, parsed.get_content()))
                return "250 OK"

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def wait(self, count, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def smtp(app):
    server = SMTPCapture()
    server.controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_FROM="portal@example.org")
    yield server
    server.controller.stop()


def test_new_message_mail_when_asked(trio, smtp):
    (alice, bob, carol), (a, b, c) = trio
    with database.connection_context():
        User.update(email="bob@example.org").where(User.id == bob.id).execute()
    send(a, "bobby", "1")
    assert smtp.messages == []  # not asked for yet
    post(b, "/messages/settings", {"message_policy": "friends", "email_on_message": "y"})
    send(a, "bobby", "2")
    mails = smtp.wait(1)
    assert len(mails) == 1 and mails[0][0] == ["bob@example.org"] and "/messages/" in mails[0][1]


def test_forgot_password(app, make_user, make_client, smtp):
    make_user("alice", email="alice@example.org")
    old_session = make_client(PC_UA)
    login(old_session, "alice")
    anonymous = make_client(PC_UA, Accept_Language="en")
    known = post(anonymous, "/password/forgot", {"email": "ALICE@example.org"}, token_from="/password/forgot")
    unknown = post(anonymous, "/password/forgot", {"email": "nobody@example.org"}, token_from="/password/forgot")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    mails = smtp.wait(1)
    assert len(mails) == 1 and mails[0][0] == ["alice@example.org"]
    token = re.search(r"/password/reset/([\w-]+)", mails[0][1]).group(1)
    form = {"password": "brand-new-pass", "confirm": "brand-new-pass"}
    assert post(anonymous, f"/password/reset/{token}", form, token_from=f"/password/reset/{token}").status_code == 302
    assert login(make_client(PC_UA), "alice", "brand-new-pass").status_code == 302
    assert old_session.get("/settings/").status_code == 302  # the old session ended
    # Single use.
    assert anonymous.get(f"/password/reset/{token}").status_code == 404
    # Expired after an hour.
    with app.app_context(), database.connection_context():
        stale = PasswordReset.issue(User.by_login_id("alice"))
        PasswordReset.update(expires_at=datetime.datetime(2000, 1, 1)).execute()
    assert anonymous.get(f"/password/reset/{stale}").status_code == 404
    assert login(make_client(PC_UA), "alice", PASSWORD).status_code == 400


def test_forgot_password_is_off_without_smtp(client):
    assert client.get("/password/forgot").status_code == 404
