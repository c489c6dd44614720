"""Error pages on both sets in both languages; CSRF on every POST route; /healthz."""
import pytest

from helpers import PC_UA, SOFTBANK_UA, DOCOMO_UA, login, text_of
from pagecheck import check_page
from portal import create_app, db
from routes import rules, sample_url

UAS = {"pc": PC_UA, "mobile": SOFTBANK_UA, "docomo": DOCOMO_UA}
KIND = {"pc": "pc", "mobile": "mobile", "docomo": "mobile"}


def post_routes(app):
    """Every rule that accepts POST, with sample arguments filled in."""
    return [sample_url(app, rule) for rule in rules(app, "POST")]


def test_every_post_route_refuses_a_missing_csrf_token(app, make_client, admin):
    client = make_client(PC_UA)
    login(client, "root_admin")
    routes = list(post_routes(app))
    assert "/logout" in routes and "/login" in routes and len(routes) >= 8
    for path in routes:
        response = client.post(path, data={"x": "1"})
        assert response.status_code == 400, path
        assert "フォームの有効期限" in response.get_data(as_text=True), path
    # A token from another session is refused too.
    stranger = make_client(PC_UA)
    html = stranger.get("/login").get_data(as_text=True)
    token = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 400


def test_healthz_touches_no_session(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.data == b"ok"
    assert "Set-Cookie" not in response.headers and "Vary" not in response.headers


@pytest.fixture
def failing_app(app_config):
    """An app with a route that raises, to see the 500 page."""
    application = create_app({**app_config, "TESTING": False, "PROPAGATE_EXCEPTIONS": False})

    @application.route("/boom")
    def boom():
        raise RuntimeError("secret detail")

    db.upgrade()
    return application


@pytest.mark.parametrize("name", sorted(UAS))
@pytest.mark.parametrize("language,words", [("ja", "エラーが発生しました"),
                                            ("en", "Something went wrong")])
def test_500_page_has_no_traceback(failing_app, name, language, words):
    client = failing_app.test_client()
    client.environ_base.update(HTTP_USER_AGENT=UAS[name], HTTP_ACCEPT_LANGUAGE=language)
    response = client.get("/boom")
    assert response.status_code == 500
    text = text_of(response)
    assert words in text and "secret detail" not in text and "Traceback" not in text
    check_page(KIND[name], response)


@pytest.mark.parametrize("name", sorted(UAS))
@pytest.mark.parametrize("language", ["ja", "en"])
def test_error_pages(app, make_client, alice, name, language):
    client = make_client(UAS[name], Accept_Language=language)
    expected = {
        404: ("ページが見つかりません", "Page not found"),
        405: ("この操作はできません", "Method not allowed"),
        400: ("フォームの有効期限", "Your form expired"),
        403: ("権限がありません", "do not have permission"),
        413: ("大きすぎます", "too large"),
    }
    responses = {
        404: client.get("/no/such/page"),
        405: client.get("/logout"),
        400: client.post("/login", data={}),
    }
    login(client)
    responses[403] = client.get("/admin/")
    app.config["MAX_CONTENT_LENGTH"] = 1000
    responses[413] = client.post("/login", data={"login_id": "x" * 5000},
                                 content_type="application/x-www-form-urlencoded")
    for code, response in responses.items():
        assert response.status_code == code, code
        assert expected[code][0 if language == "ja" else 1] in text_of(response), code
        check_page(KIND[name], response)
