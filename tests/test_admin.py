"""The admin page: only for admins; users, suspension, registration mode, invite codes."""
import pytest

from helpers import PC_UA, SOFTBANK_UA, login, post, text_of
from portal.db import database
from routes import sample_url
from portal.models import InviteCode, Report, SiteSetting, User


def admin_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin"):
            yield sorted(rule.methods & {"GET", "POST"}), sample_url(app, rule)


@pytest.mark.parametrize("logged_in", [False, True])
def test_non_admins_get_403_everywhere(app, make_client, alice, logged_in):
    client = make_client(PC_UA)
    if logged_in:
        login(client)
    routes = list(admin_routes(app))
    assert len(routes) >= 5
    for methods, path in routes:
        for method in methods:
            if method == "GET":
                response = client.get(path)
            else:
                # A valid token, so the refusal comes from the admin check, not CSRF.
                from helpers import csrf_token
                response = client.post(path, data={"csrf_token": csrf_token(client)})
            assert response.status_code == 403, (method, path)


@pytest.fixture
def admin_client(make_client, admin):
    client = make_client(PC_UA)
    assert login(client, "root_admin").status_code == 302
    return client


def test_user_search_and_suspend(admin_client, make_user):
    bob = make_user("bob", nickname="ボブ")
    make_user("carol")
    html = admin_client.get("/admin/users?q=ボ").get_data(as_text=True)
    assert "bob" in html and "carol" not in html
    html = admin_client.get("/admin/users?q=CAR").get_data(as_text=True)
    assert "carol" in html and "bob" not in html
    response = post(admin_client, f"/admin/users/{bob.id}/suspend", token_from="/admin/users")
    assert response.status_code == 302
    with database.connection_context():
        assert User.get_by_id(bob.id).is_suspended
    assert login(admin_client.application.test_client(), "bob").status_code in (400, 403)
    post(admin_client, f"/admin/users/{bob.id}/suspend", {"undo": "1"}, token_from="/admin/users")
    with database.connection_context():
        assert not User.get_by_id(bob.id).is_suspended


def test_admin_cannot_suspend_self_or_unknown(admin_client, admin):
    post(admin_client, f"/admin/users/{admin.id}/suspend", token_from="/admin/users")
    with database.connection_context():
        assert not User.get_by_id(admin.id).is_suspended
    assert post(admin_client, "/admin/users/99999/suspend", token_from="/admin/users").status_code == 404
    # Nor through a report about oneself (another admin may act on it).
    with database.connection_context():
        report = Report.create(reporter=admin.id, target_user=admin.id, kind="user", object_id=admin.id,
                               reason="me")
    response = post(admin_client, f"/admin/reports/{report.id}/suspend", token_from="/admin/reports")
    assert response.status_code == 302
    with database.connection_context():
        assert not User.get_by_id(admin.id).is_suspended and Report.get_by_id(report.id).status == "open"
    assert admin_client.get("/admin/").status_code == 200  # still logged in


def test_registration_mode(admin_client):
    assert post(admin_client, "/admin/registration", {"mode": "invite"}, token_from="/admin/").status_code == 302
    with database.connection_context():
        assert SiteSetting.get_value("registration") == "invite"
    response = post(admin_client, "/admin/registration", {"mode": "anarchy"}, token_from="/admin/")
    assert response.status_code == 400
    with database.connection_context():
        assert SiteSetting.get_value("registration") == "invite"


def test_invite_codes_create_list_revoke(admin_client):
    response = post(admin_client, "/admin/invites", {"note": "club", "max_uses": "3"}, token_from="/admin/invites")
    assert response.status_code == 302
    with database.connection_context():
        invite = InviteCode.get(InviteCode.note == "club")
    assert invite.max_uses == 3 and invite.is_usable
    html = admin_client.get("/admin/invites").get_data(as_text=True)
    assert invite.code in html and f"/register?invite={invite.code}" in html
    assert post(admin_client, f"/admin/invites/{invite.id}/revoke", token_from="/admin/invites").status_code == 302
    with database.connection_context():
        assert not InviteCode.get_by_id(invite.id).is_usable
    bad = post(admin_client, "/admin/invites", {"note": "x" * 101, "max_uses": "-1"}, token_from="/admin/invites")
    assert bad.status_code == 400
    assert "100文字以内" in bad.get_data(as_text=True)


def test_admin_pages_on_mobile(make_client, admin):
    client = make_client(SOFTBANK_UA)
    login(client, "root_admin")
    for path in ("/admin/", "/admin/users", "/admin/invites"):
        response = client.get(path)
        assert response.status_code == 200 and response.data.startswith(b"<?xml")
        assert "管理" in text_of(response) or "招待" in text_of(response) or "ユーザー" in text_of(response)
