"""Feature-phone fidelity: cookie-less sessions with URL tokens, Shift_JIS in and out,
content types, absolute redirects."""
import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from helpers import DOCOMO_UA, DOCOMO2_UA, PASSWORD, PC_UA, W3M_UA, csrf_token, text_of
from portal.db import database
from portal.models import DiaryEntry, UrlSession
from querycount import count_queries


def cookieless(app, ua):
    client = app.test_client(use_cookies=False)
    client.environ_base["HTTP_USER_AGENT"] = ua
    return client


def sid_of(url):
    return parse_qs(urlsplit(url).query).get("sid", [None])[0]


def form_token(html):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def login_without_cookies(app, ua, login_id="alice"):
    client = cookieless(app, ua)
    page = client.get("/login")
    html = text_of(page)
    action = re.search(r'<form method="post" action="([^"]+)"', html).group(1).replace("&amp;", "&")
    old = sid_of(action)
    assert old, "the login form carries the session token"
    response = client.post(action, data={"login_id": login_id, "password": PASSWORD,
                                         "csrf_token": form_token(html)})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("http://localhost/")  # absolute
    new = sid_of(location)
    assert new and new != old  # replaced at login
    return client, old, new


def test_docomo_without_cookies_logs_in_through_the_url(app, alice):
    client, old, new = login_without_cookies(app, DOCOMO_UA)
    home = text_of(client.get(f"/?sid={new}"))
    assert "アリス" in home
    links = re.findall(r'href="(/[^"]*)"', home)
    assert links and all("sid=" + new in link for link in links if not link.startswith("/static"))
    # The token from before the login is worth nothing now.
    assert "アリス" not in text_of(client.get(f"/?sid={old}"))
    # Without the token: not logged in.
    assert client.get("/settings/").status_code == 302


def test_token_is_bound_to_the_user_agent(app, alice):
    client, _old, new = login_without_cookies(app, DOCOMO_UA)
    thief = cookieless(app, "DoCoMo/2.0 N905i(c100;TB;W24H16)")
    assert thief.get(f"/settings/?sid={new}").status_code == 302


def test_token_expires_after_an_hour_idle(app, alice):
    client, _old, new = login_without_cookies(app, DOCOMO_UA)
    assert client.get(f"/settings/?sid={new}").status_code == 200
    with database.connection_context():
        UrlSession.update(updated_at=datetime.datetime(2000, 1, 1)).execute()
    assert client.get(f"/settings/?sid={new}").status_code == 302


def test_reading_pages_does_not_rewrite_the_session_until_it_ages(app, alice):
    """An unchanged handset session is written back at most every REFRESH, which keeps an
    active reader logged in (the idle expiry counts from the last write)."""
    from portal.web.sessions import REFRESH

    client, _old, sid = login_without_cookies(app, DOCOMO_UA)
    with database.connection_context():
        written = UrlSession.get(UrlSession.token == sid).updated_at
    for _ in range(3):
        with count_queries() as statements:
            assert client.get(f"/settings/?sid={sid}").status_code == 200
        assert not [s for s in statements if "url_session" in s and not s.startswith("SELECT")]
    with database.connection_context():
        assert UrlSession.get(UrlSession.token == sid).updated_at == written
        aged = written - REFRESH - datetime.timedelta(seconds=1)
        UrlSession.update(updated_at=aged).where(UrlSession.token == sid).execute()
    assert client.get(f"/settings/?sid={sid}").status_code == 200
    with database.connection_context():
        assert UrlSession.get(UrlSession.token == sid).updated_at > aged


def test_write_and_read_a_diary_entry_without_cookies(app, alice):
    client, _old, sid = login_without_cookies(app, DOCOMO_UA)
    html = text_of(client.get(f"/diary/new?sid={sid}"))
    body = "ケータイから書きました～①ｱ"
    data = {"title": "無題", "body": body, "visibility": "public", "group": "0", "allow_comments": "y",
            "csrf_token": form_token(html)}
    from urllib.parse import urlencode

    response = client.post(f"/diary/new?sid={sid}", data=urlencode(data, encoding="cp932"),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302 and sid_of(response.headers["Location"]) == sid
    with database.connection_context():
        entry = DiaryEntry.get()
        assert entry.body == body
    assert body in text_of(client.get(f"/diary/{entry.id}?sid={sid}"))


@pytest.mark.parametrize("ua", [PC_UA])
def test_pc_clients_never_get_a_token(app, alice, ua):
    client = cookieless(app, ua)
    html = text_of(client.get("/login"))
    assert "sid=" not in html
    with database.connection_context():
        assert not UrlSession.select().exists()


def test_handsets_that_keep_cookies_drop_the_token(app, make_client, alice):
    client = make_client(DOCOMO2_UA)  # i-mode browser 2.0 keeps cookies
    first = text_of(client.get("/login"))
    assert "sid=" in first  # nothing proves the cookie works yet
    second = text_of(client.get("/login"))
    assert "sid=" not in second  # the cookie came back


def test_shift_jis_pages_declare_what_they_send(client, make_client):
    docomo = make_client(DOCOMO_UA)
    response = docomo.get("/login")
    assert response.headers["Content-Type"] == "application/xhtml+xml; charset=Shift_JIS"
    assert response.data.startswith(b'<?xml version="1.0" encoding="Shift_JIS"?>')
    assert b"charset=Shift_JIS" in response.data[:600]
    text = response.data.decode("cp932")
    assert "ログイン" in text


@pytest.mark.parametrize("accept,expected", [("application/xhtml+xml,text/html", "application/xhtml+xml"),
                                             ("text/html", "text/html"), ("", "text/html")])
def test_xhtml_content_type_only_when_accepted(make_client, accept, expected):
    client = make_client(W3M_UA, Accept=accept)
    assert client.get("/login").mimetype == expected


def test_wave_dash_and_unencodable_characters(app, make_client, make_user):
    user = make_user("writer", nickname="波〜ダッシュ🐈")
    docomo = make_client(DOCOMO_UA)
    html = docomo.get(f"/u/{user.login_id}").data.decode("cp932")
    assert "波～ダッシュ" in html  # WAVE DASH sent as FULLWIDTH TILDE
    assert "🐈" not in html


def test_redirects_are_absolute(client, alice):
    from helpers import login

    response = login(client)
    assert response.headers["Location"].startswith("http://localhost/")
    assert csrf_token(client)


class TestEmoji:
    def test_carrier_emoji_in_input_become_unicode(self, make_client, make_user):
        from portal.models import Voice
        from urllib.parse import urlencode

        from helpers import SOFTBANK_UA, login

        make_user("alice")
        for ua, raw in ((DOCOMO_UA, "晴れ\ue63e"), (SOFTBANK_UA, "晴れ\ue04a")):
            client = make_client(ua)
            login(client, "alice")
            html = text_of(client.get("/voice/"))
            data = {"body": raw, "visibility": "friends", "csrf_token": form_token(html)}
            codec = "cp932" if ua == DOCOMO_UA else "utf-8"
            client.post("/voice/", data=urlencode(data, encoding=codec),
                        content_type="application/x-www-form-urlencoded")
        with database.connection_context():
            assert [v.body for v in Voice.select().order_by(Voice.id)] == ["晴れ☀", "晴れ☀"]

    def test_unicode_emoji_go_out_as_carrier_codes_or_fallbacks(self, make_client, make_user):
        from helpers import AU_UA, SOFTBANK_UA

        user = make_user("writer", nickname="晴☀霧🌁旗🇯🇵")
        docomo = make_client(DOCOMO_UA).get(f"/u/{user.login_id}").data
        assert "晴\ue63e霧\ue644旗[日の丸]".encode("cp932") in docomo
        softbank = make_client(SOFTBANK_UA).get(f"/u/{user.login_id}").get_data(as_text=True)
        assert "晴\ue04a霧[霧]旗\ue50b" in softbank
        au = make_client(AU_UA).get(f"/u/{user.login_id}").data
        assert "晴\ue488霧\ue598".encode("cp932") in au
        pc = make_client(PC_UA).get(f"/u/{user.login_id}").get_data(as_text=True)
        assert "晴☀霧🌁旗🇯🇵" in pc


def test_docomo_text_round_trip_read_on_a_pc(make_client, make_user):
    """Japanese with ～ － ① half-width kana and an emoji, posted from a docomo handset in
    Shift_JIS, reads back the same on a PC."""
    from urllib.parse import urlencode

    from helpers import login

    make_user("alice")
    phone = make_client(DOCOMO_UA)
    login(phone, "alice")
    html = text_of(phone.get("/diary/new"))
    typed = "日記です～－①ｱｲｳ\ue63e"  # docomo's sun emoji arrives as its own code
    data = {"title": "携帯から", "body": typed, "visibility": "public", "group": "0",
            "allow_comments": "y", "csrf_token": form_token(html)}
    response = phone.post("/diary/new", data=urlencode(data, encoding="cp932"),
                          content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    with database.connection_context():
        entry = DiaryEntry.get()
    assert entry.body == "日記です～－①ｱｲｳ☀"
    pc = make_client(PC_UA)
    assert "日記です～－①ｱｲｳ☀" in pc.get(f"/diary/{entry.id}").get_data(as_text=True)


def test_links_made_to_leave_the_request_carry_no_token(app, alice):
    """Mails, feeds and invite links are absolute URLs: never with a handset's session token;
    the jump page to other sites is reached without it too."""
    from flask import url_for

    client, _old, sid = login_without_cookies(app, W3M_UA)
    with app.test_request_context(f"/?sid={sid}", headers={"User-Agent": W3M_UA}):
        app.preprocess_request()
        assert "sid=" in url_for("home.index")
        assert "sid=" not in url_for("messages.show", message_id=1, _external=True)
    invites = text_of(client.get(f"/invites/?sid={sid}"))
    form = form_token(invites)
    client.post(f"/invites/new?sid={sid}", data={"csrf_token": form})
    invites = text_of(client.get(f"/invites/?sid={sid}"))
    links = re.findall(r"http://localhost/register\?[^\s<\"]+", invites)
    assert links and all("sid=" not in link for link in links)
    from portal.web.rendering import richtext

    with app.test_request_context(f"/?sid={sid}", headers={"User-Agent": W3M_UA}):
        app.preprocess_request()
        assert "sid=" not in str(richtext("see https://example.org/x"))


def test_search_in_pc_view_keeps_the_url_session(app, alice):
    client, _old, sid = login_without_cookies(app, W3M_UA)
    html = text_of(client.get(f"/people/search?sid={sid}&view=pc"))
    assert f'name="sid" value="{sid}"' in html


def test_multipart_form_from_a_shift_jis_handset(make_client, make_user):
    """A diary form with a picture field is multipart; its text parts arrive in cp932."""
    from helpers import login

    make_user("alice")
    phone = make_client(DOCOMO_UA)
    login(phone, "alice")
    html = text_of(phone.get("/diary/new"))
    boundary = "xYzBoundary"
    fields = {"title": "写真なし～", "body": "本文①ｱ", "visibility": "public", "group": "0",
              "allow_comments": "y", "csrf_token": form_token(html)}
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n".encode("ascii")
                    + v.encode("cp932") + b"\r\n" for k, v in fields.items()) + f"--{boundary}--\r\n".encode()
    response = phone.post("/diary/new", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 302
    with database.connection_context():
        entry = DiaryEntry.get()
    assert (entry.title, entry.body) == ("写真なし～", "本文①ｱ")
