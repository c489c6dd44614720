"""Logins (portal/models/logins.py): logging out ends a session for good, members see where
they are logged in and end any of those logins, and password changes, reset links and
suspension end them all."""
import datetime
import re

import pytest

from helpers import DOCOMO_UA, PASSWORD, PC_UA, SOFTBANK_UA, login, post, run_cli, text_of
from portal.ops import maintenance
from portal.db import database, utcnow
from portal.models import Login, PasswordReset, User
from portal.models.logins import MAX_PER_MEMBER, SEEN_REFRESH, describe_user_agent

IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/17.5 Mobile/15E148 Safari/604.1")


def rows(user_id=None):
    with database.connection_context():
        query = Login.select().order_by(Login.id)
        if user_id is not None:
            query = query.where(Login.user == user_id)
        return list(query)


def logged_in(client):
    """Whether the client's session (or remember-me cookie) still loads its member."""
    return client.get("/settings/").status_code == 200


def copy_of(client, make_client, user_agent=PC_UA):
    """Another client holding exactly the cookies ``client`` holds now (a stolen cookie)."""
    thief = make_client(user_agent)
    for name in ("session", "remember_token", "msid"):
        cookie = client.get_cookie(name)
        if cookie is not None:
            thief.set_cookie(name, cookie.value)
    return thief


def test_logging_out_ends_the_session_for_good(make_client, alice):
    laptop = make_client(PC_UA)
    assert login(laptop, remember="y").status_code == 302
    (row,) = rows(alice.id)
    assert row.user_agent == PC_UA and row.lifetime == 30 * 86400  # "keep me logged in"
    copy = copy_of(laptop, make_client)
    assert logged_in(copy)  # a copy works while the login lasts...
    assert post(laptop, "/logout", token_from="/settings/").status_code == 302
    assert not logged_in(laptop)
    assert not logged_in(copy)  # ...and not after: the session cookie and the remember-me cookie
    only_remember = make_client(PC_UA)
    only_remember.set_cookie("remember_token", copy.get_cookie("remember_token").value)
    assert not logged_in(only_remember)
    assert rows(alice.id) == []


def test_handset_logout_ends_its_login(make_client, alice):
    phone = make_client(SOFTBANK_UA)
    assert login(phone).status_code == 302
    (row,) = rows(alice.id)
    assert row.lifetime == 3600  # a handset session ends after an hour idle anyway
    token = phone.get_cookie("msid").value
    assert logged_in(phone)
    assert post(phone, "/logout", token_from="/settings/").status_code == 302
    assert rows(alice.id) == []
    stranger = make_client(SOFTBANK_UA)
    assert stranger.get(f"/settings/?sid={token}").status_code == 302


def test_the_database_keeps_only_a_hash_of_the_token(make_client, alice):
    laptop = make_client(PC_UA)
    login(laptop)
    (row,) = rows(alice.id)
    with laptop.session_transaction() as session:
        user_id, _, token = session["_user_id"].partition(":")
    assert int(user_id) == alice.id and len(token) >= 32
    assert row.token_hash != token and token not in row.token_hash


@pytest.mark.parametrize("ua", [PC_UA, DOCOMO_UA], ids=["pc", "docomo"])
def test_the_logins_page_lists_each_device(make_client, alice, ua):
    others = [make_client(u) for u in (SOFTBANK_UA, IPHONE_UA)]
    for other in others:
        login(other)
    me = make_client(ua, Accept_Language="en")
    login(me)
    html = text_of(me.get("/settings/logins"))
    assert "Where you are logged in" in html
    assert "SoftBank 910T" in html and "Safari / iPhone" in html
    assert (describe_user_agent(ua)) in html
    assert html.count("This device") == 1
    assert html.count("End this login") == 2 and "Log out everywhere else" in html
    me_ja = make_client(ua, Accept_Language="ja")
    login(me_ja)
    html = text_of(me_ja.get("/settings/logins"))
    assert "ログイン中の端末" in html and "この端末" in html and "このログインを終了" in html
    # The settings menu leads there on both sets.
    assert "/settings/logins" in text_of(me.get("/settings/"))


def test_ending_another_login_logs_that_device_out(make_client, alice, make_user):
    laptop, phone = make_client(PC_UA, Accept_Language="en"), make_client(SOFTBANK_UA)
    login(laptop)
    login(phone)
    phone_row = next(r for r in rows(alice.id) if r.user_agent == SOFTBANK_UA)
    response = post(laptop, f"/settings/logins/{phone_row.id}/end", token_from="/settings/logins")
    assert response.status_code == 302
    assert "That login has ended" in text_of(laptop.get("/settings/logins"))
    assert not logged_in(phone) and logged_in(laptop)
    # Again, or someone else's login: 404 with a message, nothing ended.
    response = post(laptop, f"/settings/logins/{phone_row.id}/end", token_from="/settings/logins")
    assert response.status_code == 404 and "This login has already ended." in text_of(response)
    bob_user = make_user("bob")
    bob = make_client(PC_UA)
    login(bob, "bob")
    (bob_row,) = rows(bob_user.id)
    response = post(laptop, f"/settings/logins/{bob_row.id}/end", token_from="/settings/logins")
    assert response.status_code == 404 and logged_in(bob)
    # Without the form's token: 400, nothing ended.
    response = laptop.post(f"/settings/logins/{bob_row.id}/end")
    assert response.status_code == 400 and logged_in(bob)


def test_ending_this_login_is_logging_out(make_client, alice):
    laptop = make_client(PC_UA)
    login(laptop)
    (row,) = rows(alice.id)
    response = post(laptop, f"/settings/logins/{row.id}/end", token_from="/settings/logins")
    assert response.status_code == 302 and not logged_in(laptop) and rows(alice.id) == []


def test_log_out_everywhere_else(make_client, alice):
    laptop = make_client(PC_UA, Accept_Language="ja")
    others = [make_client(u) for u in (SOFTBANK_UA, IPHONE_UA, DOCOMO_UA)]
    for client in [laptop, *others]:
        login(client)
    response = post(laptop, "/settings/logins/end-others", token_from="/settings/logins")
    assert response.status_code == 302
    assert "ほかの3件のログインを終了しました。" in text_of(laptop.get("/settings/logins"))
    assert logged_in(laptop) and not any(logged_in(c) for c in others)
    assert [r.user_agent for r in rows(alice.id)] == [PC_UA]


def test_password_change_ends_every_login_and_renews_this_one(make_client, alice):
    laptop, phone = make_client(PC_UA), make_client(SOFTBANK_UA)
    login(laptop, remember="y")
    login(phone)
    copy = copy_of(laptop, make_client)
    response = post(laptop, "/settings/password",
                    {"current": PASSWORD, "password": "brand-new-pass", "confirm": "brand-new-pass"},
                    token_from="/settings/password")
    assert response.status_code == 302
    assert logged_in(laptop) and not logged_in(phone) and not logged_in(copy)
    (row,) = rows(alice.id)
    assert row.user_agent == PC_UA and row.lifetime == 30 * 86400  # still "keep me logged in"
    assert laptop.get_cookie("remember_token").value != copy.get_cookie("remember_token").value


def test_reset_link_and_suspension_end_every_login(app_config, make_client, alice, admin):
    laptop = make_client(PC_UA)
    login(laptop)
    with database.connection_context():
        token = PasswordReset.issue(alice)
    stranger = make_client(PC_UA)
    response = post(stranger, f"/password/reset/{token}", {"password": "reset-pass-99", "confirm": "reset-pass-99"},
                    token_from=f"/password/reset/{token}")
    assert response.status_code == 302 and not logged_in(laptop) and rows(alice.id) == []

    login(laptop, password="reset-pass-99")
    assert run_cli(app_config, "user", "set-password", "alice", "--password", "cli-pass-777").exit_code == 0
    assert not logged_in(laptop) and rows(alice.id) == []

    login(laptop, password="cli-pass-777")
    assert run_cli(app_config, "user", "suspend", "alice").exit_code == 0
    assert not logged_in(laptop) and rows(alice.id) == []
    assert run_cli(app_config, "user", "suspend", "alice", "--undo").exit_code == 0
    assert not logged_in(laptop)  # reinstating brings no old session back

    login(laptop, password="cli-pass-777")
    boss = make_client(PC_UA)
    login(boss, "root_admin")
    response = post(boss, f"/admin/users/{alice.id}/suspend", token_from="/admin/users")
    assert response.status_code == 302 and not logged_in(laptop) and rows(alice.id) == []


def test_last_use_is_written_back_at_most_every_few_minutes(make_client, alice):
    laptop = make_client(PC_UA)
    login(laptop)
    (row,) = rows(alice.id)
    assert logged_in(laptop)
    assert rows(alice.id)[0].seen_at == row.seen_at  # fresh: no write
    old = utcnow() - SEEN_REFRESH - datetime.timedelta(seconds=5)
    with database.connection_context():
        Login.update(seen_at=old, expires_at=old + datetime.timedelta(days=1)).where(Login.id == row.id).execute()
    assert logged_in(laptop)
    (after,) = rows(alice.id)
    assert after.seen_at > old + SEEN_REFRESH and after.expires_at > after.seen_at + datetime.timedelta(hours=23)


def test_a_login_unused_past_its_lifetime_has_ended(app, make_client, alice):
    laptop, phone = make_client(PC_UA), make_client(SOFTBANK_UA)
    login(laptop)
    login(phone)
    laptop_row = next(r for r in rows(alice.id) if r.user_agent == PC_UA)
    past = utcnow() - datetime.timedelta(seconds=1)
    with database.connection_context():
        Login.update(expires_at=past).where(Login.id == laptop_row.id).execute()
    assert not logged_in(laptop) and logged_in(phone)
    with app.app_context(), database.connection_context():
        done = maintenance.run()
    assert done["ended logins"] == 1
    assert [r.user_agent for r in rows(alice.id)] == [SOFTBANK_UA]


def test_a_member_keeps_at_most_so_many_logins(app, alice):
    with app.app_context(), database.connection_context():
        start = utcnow() - datetime.timedelta(hours=1)
        for n in range(MAX_PER_MEMBER + 2):
            Login.start(alice, f"agent {n}", datetime.timedelta(days=1), now=start + datetime.timedelta(seconds=n))
    kept = rows(alice.id)
    assert len(kept) == MAX_PER_MEMBER
    assert {r.user_agent for r in kept} == {f"agent {n}" for n in range(2, MAX_PER_MEMBER + 2)}


def test_device_names(tmp_path):
    from pathlib import Path

    table = Path(__file__).parent / "data" / "user_agents.tsv"
    for line in table.read_text(encoding="utf-8").splitlines()[1:]:
        user_agent = line.split("\t")[0]
        assert describe_user_agent(user_agent), f"no name for {user_agent}"
    assert describe_user_agent("DoCoMo/2.0 SH903i(c100;TB;W24H16)") == "docomo SH903i"
    assert describe_user_agent("KDDI-CA32 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0") == "au CA32"
    assert describe_user_agent(PC_UA) == "Firefox / Linux"
    assert describe_user_agent("") == "" and describe_user_agent(None) == ""
    assert re.fullmatch(r"[\w ./+\-]*", describe_user_agent("<script>alert(1)</script>"))


def test_a_login_racing_a_password_change_or_suspension_is_refused(app, alice, make_client, monkeypatch):
    """The password is checked on a row read before; if the password changes (ending every
    login) or the account is suspended meanwhile, the login must not be recorded after."""
    with app.app_context(), database.connection_context():
        stale = User.get_by_id(alice.id)
        changed = User.get_by_id(alice.id)
        changed.set_password("another-pass-42")
        changed.save()
        assert Login.start(stale, PC_UA, datetime.timedelta(days=1)) is None
        fresh = User.get_by_id(alice.id)
        User.update(is_suspended=True).where(User.id == alice.id).execute()
        assert Login.start(fresh, PC_UA, datetime.timedelta(days=1)) is None
        User.update(is_suspended=False).where(User.id == alice.id).execute()
        assert Login.start(fresh, PC_UA, datetime.timedelta(days=1)) is not None
    assert len(rows(alice.id)) == 1

    # Through the form: the change lands while the password is being checked.
    original = User.check_password

    def check_then_change(self, password):
        ok = original(self, password)
        User.update(password_hash=changed.password_hash).where(User.id == self.id).execute()
        return ok

    with app.app_context(), database.connection_context():
        User.update(password_hash=stale.password_hash).where(User.id == alice.id).execute()
    monkeypatch.setattr(User, "check_password", check_then_change)
    laptop = make_client(PC_UA, Accept_Language="en")
    response = login(laptop)
    assert response.status_code == 400 and "The login ID or password is wrong." in text_of(response)
    assert not logged_in(laptop) and len(rows(alice.id)) == 1


def test_a_remembered_login_ends_with_its_cookie(make_client, alice):
    laptop = make_client(PC_UA)
    login(laptop, remember="y")
    (row,) = rows(alice.id)
    assert row.remembered and row.expires_at - row.created_at == datetime.timedelta(days=30)
    old = utcnow() - SEEN_REFRESH - datetime.timedelta(seconds=5)
    with database.connection_context():
        Login.update(seen_at=old).where(Login.id == row.id).execute()
    assert logged_in(laptop)
    (after,) = rows(alice.id)
    assert after.seen_at > old and after.expires_at == row.expires_at  # used, but not extended


def test_members_compare_by_id(app, alice):
    with app.app_context(), database.connection_context():
        one, again = User.get_by_id(alice.id), User.get_by_id(alice.id)
        assert one == again and one in [again] and len({one, again}) == 1
        assert one != User(id=alice.id + 1)


def test_an_id_too_long_for_a_column_is_a_404(make_client, alice):
    laptop = make_client(PC_UA)
    login(laptop)
    for path in ("/settings/logins/99999999999999999999/end", "/messages/99999999999999999999",
                 "/diary/9223372036854775808"):
        response = laptop.post(path) if path.endswith("/end") else laptop.get(path)
        assert response.status_code == 404, path


def test_migration_0010_down_gives_every_member_a_token(app, alice):
    from portal import db

    with database.connection_context(), db.untracked():
        db.migration_runner().down(target="0010_logins")
        tokens = database.execute_sql('SELECT session_token FROM "user"').fetchall()
        assert tokens and all(len(token) >= 32 for (token,) in tokens)
        assert "login" not in database.get_tables()
    assert db.upgrade() == ["0010_logins"]
    with database.connection_context():
        assert "login" in database.get_tables()
