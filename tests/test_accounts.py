"""Register, log in, log out, change password, delete account; bad input on both sets."""
import pytest

from helpers import PASSWORD, PC_UA, SOFTBANK_UA, DOCOMO_UA, csrf_token, login, post, text_of
from portal.db import database
from portal.models import InviteCode, SiteSetting, User

GOOD = {"login_id": "newbie", "nickname": "新人さん", "password": "s3cret-pass", "confirm": "s3cret-pass"}


def count_users():
    with database.connection_context():
        return User.select().count()


def register(client, **changes):
    data = {**GOOD, **changes}
    return post(client, "/register", data, token_from="/register")


def test_register_from_a_shift_jis_handset(make_client):
    client = make_client(DOCOMO_UA)
    assert register(client, nickname="ﾃｽﾄ①～").status_code == 302
    with database.connection_context():
        assert User.get(User.login_id == "newbie").nickname == "ﾃｽﾄ①～"


def test_register_logs_in_and_stores_a_scrypt_hash(client):
    response = register(client, email="new@example.org")
    assert response.status_code == 302
    assert "新人さん" in client.get("/").get_data(as_text=True)
    with database.connection_context():
        user = User.get(User.login_id == "newbie")
    assert user.password_hash.startswith("scrypt:")
    assert user.email == "new@example.org"


def test_login_id_is_case_insensitive(client, alice):
    assert login(client, "ALICE").status_code == 302


@pytest.mark.parametrize("changes,ja,en", [
    ({"login_id": "ab"}, "ログインIDは3〜20文字", "The login ID must be 3 to 20"),
    ({"login_id": "a" * 21}, "ログインIDは3〜20文字", "The login ID must be 3 to 20"),
    ({"login_id": "bad-id!"}, "ログインIDは3〜20文字", "lowercase letters"),
    ({"login_id": ""}, "ログインIDを入力してください", "Please enter a login ID"),
    ({"nickname": ""}, "ニックネームを入力してください", "Please enter a nickname"),
    ({"nickname": "x" * 31}, "ニックネームは1〜30文字", "The nickname must be 1 to 30"),
    ({"password": "short", "confirm": "short"}, "パスワードは8〜200文字", "The password must be 8 to 200"),
    ({"password": "11111111", "confirm": "11111111"}, "推測されやすすぎます", "too easy to guess"),
    ({"password": "newbie123", "confirm": "newbie123"}, "ログインIDを含めないで", "must not contain your login ID"),
    ({"confirm": "different-1"}, "一致しません", "do not match"),
    ({"email": "not-an-address"}, "正しいメールアドレス", "valid e-mail"),
    ({"invite": "nope"}, "招待コードは無効", "invite code is not valid"),
])
@pytest.mark.parametrize("ua", [PC_UA, SOFTBANK_UA, DOCOMO_UA])
def test_bad_registration_is_refused_in_both_languages(make_client, changes, ja, en, ua):
    for language, expected in (("ja", ja), ("en", en)):
        client = make_client(ua, Accept_Language=language)
        response = register(client, **changes)
        assert response.status_code == 400
        if ua == DOCOMO_UA:  # Shift_JIS handsets get FULLWIDTH TILDE for the wave dash
            expected = expected.replace("\u301c", "\uff5e")
        assert expected in text_of(response)
    assert count_users() == 0


def test_duplicate_login_id(client, alice):
    response = register(client, login_id="alice")
    assert response.status_code == 400
    assert "すでに使われています" in response.get_data(as_text=True)
    assert count_users() == 1


def test_unknown_user_and_wrong_password_get_one_message(client, alice):
    wrong = login(client, "alice", "wrong-password")
    unknown = login(client, "nobody", "wrong-password")
    assert wrong.status_code == unknown.status_code == 400
    message = "ログインIDまたはパスワードが違います"
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_logout_needs_post_and_ends_the_session(client, alice):
    login(client)
    assert client.get("/logout").status_code == 405
    response = post(client, "/logout")
    assert response.status_code == 302
    assert client.get("/settings/").status_code == 302


def test_next_is_followed_only_on_site(client, alice):
    response = login(client, next="/settings/")
    assert response.headers["Location"] == "http://localhost/settings/"
    post(client, "/logout")
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        response = login(client, next=evil)
        assert response.headers["Location"] == "http://localhost/", evil
        post(client, "/logout")


def test_password_change_ends_other_sessions(make_client, alice):
    laptop, phone = make_client(PC_UA), make_client(SOFTBANK_UA)
    login(laptop, remember="y")
    login(phone)
    remember_cookie = laptop.get_cookie("remember_token")
    assert remember_cookie is not None
    response = post(laptop, "/settings/password",
                    {"current": PASSWORD, "password": "brand-new-pass", "confirm": "brand-new-pass"},
                    token_from="/settings/password")
    assert response.status_code == 302
    assert laptop.get("/settings/").status_code == 200  # this session stays
    assert phone.get("/settings/").status_code == 302  # the other one is logged out
    # A remember-me cookie from before the change no longer logs in.
    thief = make_client(PC_UA)
    thief.set_cookie("remember_token", remember_cookie.value)
    assert thief.get("/settings/").status_code == 302
    assert login(make_client(PC_UA), "alice", PASSWORD).status_code == 400
    assert login(make_client(PC_UA), "alice", "brand-new-pass").status_code == 302


def test_password_change_refuses_wrong_current(client, alice):
    login(client)
    response = post(client, "/settings/password",
                    {"current": "wrong-one", "password": "brand-new-pass", "confirm": "brand-new-pass"},
                    token_from="/settings/password")
    assert response.status_code == 400
    assert "現在のパスワードが違います" in response.get_data(as_text=True)


def test_remember_me_keeps_the_login_without_the_session_cookie(make_client, alice):
    client = make_client(PC_UA)
    login(client, remember="y")
    remember = client.get_cookie("remember_token").value
    fresh = make_client(PC_UA)
    fresh.set_cookie("remember_token", remember)
    assert fresh.get("/settings/").status_code == 200


def test_delete_account_needs_password_and_confirmation(client, alice):
    login(client)
    response = post(client, "/settings/delete", {"password": PASSWORD}, token_from="/settings/delete")
    assert response.status_code == 400 and count_users() == 1
    response = post(client, "/settings/delete", {"password": "wrong", "confirm": "y"},
                    token_from="/settings/delete")
    assert response.status_code == 400 and count_users() == 1
    response = post(client, "/settings/delete", {"password": PASSWORD, "confirm": "y"},
                    token_from="/settings/delete")
    assert response.status_code == 302 and count_users() == 0
    assert client.get("/settings/").status_code == 302
    assert login(client).status_code == 400


def test_suspended_user_cannot_log_in_and_is_logged_out(make_client, alice):
    client = make_client(PC_UA)
    login(client)
    with database.connection_context():
        User.update(is_suspended=True).where(User.id == alice.id).execute()
    assert client.get("/settings/").status_code == 302
    response = login(make_client(PC_UA))
    assert response.status_code == 403
    assert "利用停止中" in response.get_data(as_text=True)


def test_language_setting_is_saved(client, alice):
    login(client)
    response = post(client, "/settings/", {"language": "en"}, token_from="/settings/")
    assert response.status_code == 302
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
    with database.connection_context():
        assert User.get_by_id(alice.id).language == "en"
    response = post(client, "/settings/", {"language": "xx"}, token_from="/settings/")
    assert response.status_code == 400


class TestRegistrationModes:
    def set_mode(self, mode):
        with database.connection_context():
            SiteSetting.set_value("registration", mode)

    def make_invite(self, **fields):
        with database.connection_context():
            return InviteCode.create(**fields)

    @pytest.mark.parametrize("mode", ["invite", "closed"])
    def test_needs_an_invite(self, client, mode):
        self.set_mode(mode)
        response = register(client)
        assert response.status_code == 400
        assert "招待コードが必要です" in response.get_data(as_text=True)
        assert count_users() == 0
        invite = self.make_invite(max_uses=1)
        assert register(client, invite=invite.code).status_code == 302
        assert count_users() == 1

    def test_invite_link_prefills_the_code(self, client):
        self.set_mode("invite")
        invite = self.make_invite()
        assert invite.code in client.get(f"/register?invite={invite.code}").get_data(as_text=True)

    def test_used_up_revoked_and_expired_codes_are_refused(self, make_client):
        import datetime

        self.set_mode("invite")
        used = self.make_invite(max_uses=1, uses=1)
        revoked = self.make_invite(revoked=True)
        expired = self.make_invite(expires_at=datetime.datetime(2000, 1, 1))
        for n, invite in enumerate((used, revoked, expired)):
            response = register(make_client(PC_UA), invite=invite.code, login_id=f"user{n}")
            assert response.status_code == 400
        assert count_users() == 0

    def test_single_use_code_admits_one(self, make_client):
        self.set_mode("invite")
        invite = self.make_invite(max_uses=1)
        assert register(make_client(PC_UA), invite=invite.code).status_code == 302
        assert register(make_client(PC_UA), invite=invite.code, login_id="second").status_code == 400
        assert count_users() == 1


class TestThrottling:
    def test_five_failures_lock_the_account(self, make_client, alice):
        client = make_client(PC_UA)
        for _ in range(5):
            assert login(client, "alice", "wrong-password").status_code == 400
        response = login(client, "alice", PASSWORD)  # even the right password waits
        assert response.status_code == 429
        assert "15分" in response.get_data(as_text=True)

    def test_twenty_failures_from_one_address(self, make_client, make_user):
        client = make_client(PC_UA)
        make_user("victim")
        for n in range(20):
            assert login(client, f"guess{n}", "wrong-password").status_code == 400
        assert login(client, "victim", PASSWORD).status_code == 429
        other = make_client(PC_UA, Accept_Language="en")
        other.environ_base["REMOTE_ADDR"] = "10.9.9.9"
        assert login(other, "victim", PASSWORD).status_code == 302

    def test_429_page_on_mobile_in_english(self, make_client, alice):
        client = make_client(SOFTBANK_UA, Accept_Language="en")
        for _ in range(5):
            login(client, "alice", "wrong-password")
        response = login(client, "alice", PASSWORD)
        assert response.status_code == 429
        assert b"Too many failed logins" in response.data and response.data.startswith(b"<?xml")

    def test_success_clears_the_account_counter(self, client, alice):
        for _ in range(4):
            login(client, "alice", "wrong-password")
        assert login(client).status_code == 302
        post(client, "/logout")
        for _ in range(4):
            login(client, "alice", "wrong-password")
        assert login(client).status_code == 302


def test_csrf_token_is_required_on_login(client, alice):
    response = client.post("/login", data={"login_id": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert "フォームの有効期限" in response.get_data(as_text=True)
    assert csrf_token(client)


def test_at_most_two_password_hashes_run_at_once(app, alice, monkeypatch):
    """scrypt takes 32 MB while it runs; concurrent logins must not add up to a VPS's memory."""
    import threading
    import time

    from portal.models import users

    running, most, lock = [0], [0], threading.Lock()

    def slow_check(stored, password):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return True

    monkeypatch.setattr(users, "check_password_hash", slow_check)
    threads = [threading.Thread(target=alice.check_password, args=("x",)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert most[0] == 2
