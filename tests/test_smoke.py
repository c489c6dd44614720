from conftest import login, post


def test_home_logged_out(client):
    r = client.get("/")
    assert r.status_code == 200


def test_register_login_flow(client, alice):
    r = login(client)
    assert r.status_code == 302, r.get_data(as_text=True)
    r = client.get("/")
    assert "アリス" in r.get_data(as_text=True)
