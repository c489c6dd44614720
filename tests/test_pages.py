"""Every page of both template sets and both languages: status, doctype, well-formedness, budget."""
import re
from pathlib import Path

import pytest

from helpers import DOCOMO_UA, PC_UA, SOFTBANK_UA, login
from pagecheck import check_page
from routes import rules

CLIENTS = {"pc": PC_UA, "mobile": SOFTBANK_UA, "docomo": DOCOMO_UA}
KIND = {"pc": "pc", "mobile": "mobile", "docomo": "mobile"}
TEMPLATES = Path(__file__).parent.parent / "portal"


def page_templates(kind):
    root = TEMPLATES / f"templates_{kind}"
    return {str(p.relative_to(root)) for p in root.rglob("*.html") if not p.name.startswith("_")}


def test_every_page_template_exists_in_both_sets():
    mobile, pc = page_templates("mobile"), page_templates("pc")
    assert mobile == pc, f"only mobile: {mobile - pc}; only pc: {pc - mobile}"


NEEDS_ARGS = {"/jump"}  # answers 400 without its query argument (tested on its own)


def get_routes(app):
    """GET routes without URL arguments, from the URL map (new pages are covered automatically)."""
    return sorted(rule.rule for rule in rules(app, "GET") if not rule.arguments)


@pytest.mark.parametrize("client_name", sorted(CLIENTS))
@pytest.mark.parametrize("language", ["ja", "en"])
def test_all_pages_logged_in_as_admin(app, make_client, admin, client_name, language):
    app.config["SMTP_HOST"] = "127.0.0.1"  # pages that exist only with e-mail (nothing is sent)
    client = make_client(CLIENTS[client_name], Accept_Language=language)
    assert login(client, "root_admin").status_code == 302
    seen = 0
    for path in get_routes(app):
        response = client.get(path)
        if response.status_code in (301, 302):
            continue
        if path in NEEDS_ARGS:
            assert response.status_code == 400, path
            continue
        assert response.status_code == 200, (path, response.status_code)
        root = check_page(KIND[client_name], response)
        lang = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
        assert lang == language, (path, lang)
        seen += 1
    assert seen >= 6


@pytest.mark.parametrize("client_name", sorted(CLIENTS))
@pytest.mark.parametrize("language", ["ja", "en"])
def test_all_pages_logged_out(app, make_client, client_name, language):
    app.config["SMTP_HOST"] = "127.0.0.1"
    client = make_client(CLIENTS[client_name], Accept_Language=language)
    for path in get_routes(app):
        response = client.get(path)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"], path
            continue
        assert response.status_code in ((400,) if path in NEEDS_ARGS else (200, 403)), path
        check_page(KIND[client_name], response)


def test_language_follows_accept_language_then_default(client, make_client):
    assert 'lang="ja"' in client.get("/").get_data(as_text=True)
    en = make_client(PC_UA, Accept_Language="en-US,en;q=0.8")
    assert 'lang="en"' in en.get("/").get_data(as_text=True)


def test_language_switch_link_is_remembered(client):
    html = client.get("/login").get_data(as_text=True)
    link = re.search(r'href="(/lang/en[^"]*)"', html).group(1).replace("&amp;", "&")
    response = client.get(link)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
    client.get("/lang/ja?next=/")
    assert 'lang="ja"' in client.get("/").get_data(as_text=True)


def test_language_switch_refuses_offsite_next(client):
    response = client.get("/lang/en?next=//evil.example/")
    assert response.headers["Location"] == "http://localhost/"


def test_japanese_and_english_text(make_client):
    ja = make_client(PC_UA, Accept_Language="ja").get("/login").get_data(as_text=True)
    en = make_client(PC_UA, Accept_Language="en").get("/login").get_data(as_text=True)
    assert "ログイン" in ja and "Log in" not in ja
    assert "Log in" in en and "ログイン" not in en


def test_pc_pages_are_gzipped_for_clients_that_accept_it(make_client):
    import gzip

    pc = make_client(PC_UA, Accept_Encoding="gzip, deflate")
    response = pc.get("/login")
    assert response.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in response.vary
    assert b"<!DOCTYPE html>" in gzip.decompress(response.data)
    docomo = make_client(DOCOMO_UA, Accept_Encoding="gzip")
    assert "Content-Encoding" not in docomo.get("/login").headers  # never for carrier handsets


def test_static_files_are_fingerprinted_and_cached_long(client):
    html = client.get("/login").get_data(as_text=True)
    href = re.search(r'href="(/static/pc\.css\?v=[0-9a-f]+)"', html).group(1)
    with client.get(href) as response:
        assert response.status_code == 200 and response.cache_control.max_age == 365 * 24 * 3600
