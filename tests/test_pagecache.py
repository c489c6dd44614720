"""The page cache (portal/pagecache.py): a kept page is sent again only while nothing it
shows can have changed, and only to the same request. Each rule of the module has a test."""
import os
import subprocess
import sys

import pytest

from helpers import DOCOMO_UA, PC_UA, SOFTBANK_UA, login, post, text_of
from querycount import count_queries
from portal.web import pagecache
from portal.db import database, private_writes
from portal.models import DiaryEntry, Footprint, Friendship, PageGeneration, User
from portal.models.diary import create_entry


@pytest.fixture
def world(make_user):
    """Hana and her friend Ken, and Mio who is no one's friend; Ken has an entry."""
    hana, ken, mio = (make_user("hana", nickname="ハナ"), make_user("ken", nickname="Ken"),
                      make_user("mio", nickname="Mio"))
    with database.connection_context():
        Friendship.make(hana.id, ken.id)
        entry = create_entry(ken.id, title="Ken's day", body="A walk by the river.", visibility="friends")
    return hana, ken, mio, entry


def cache(app):
    return app.page_cache


def get_twice(client, path):
    """GET twice; returns both responses and whether the second came from the cache."""
    page_cache = client.application.page_cache
    first = client.get(path)
    hits = page_cache.hits
    second = client.get(path)
    return first, second, page_cache.hits == hits + 1


def with_kept_home(make_client, login_id, ua=PC_UA):
    """A client logged in as ``login_id`` whose home page is kept (the second load was a hit)."""
    client = make_client(ua)
    login(client, login_id)
    client.get("/")
    assert get_twice(client, "/")[2]
    return client


def generation(scope=0):
    with database.connection_context():
        row = PageGeneration.get_or_none(PageGeneration.scope == scope)
    return row.n if row else None


@pytest.mark.parametrize("ua", [PC_UA, DOCOMO_UA], ids=["pc", "docomo"])
def test_a_reload_is_sent_again_after_one_statement(make_client, world, ua):
    hana, ken, mio, entry = world
    client = make_client(ua)
    login(client, "hana")
    for path, renders in (("/", 1), (f"/diary/{entry.id}", 2)):
        misses = client.application.page_cache.misses
        first, second, hit = get_twice(client, path)
        # The first view of the entry left a footprint: its page was kept under the counters
        # before it, and rendered once more; the home page writes nothing.
        if renders == 2:
            assert not hit
            first, second, hit = get_twice(client, path)
        assert hit and client.application.page_cache.misses == misses + renders
        with count_queries() as statements:
            third = client.get(path)
        assert third.status_code == 200 and third.data == second.data
        assert len(statements) == 1, statements  # the generations (and the handset's session row)
        assert "Ken" in text_of(third)


def test_members_never_get_each_others_pages(make_client, world):
    hana, ken, mio, entry = world
    clients = {}
    for name in ("hana", "ken", "mio"):
        clients[name] = make_client(PC_UA)
        login(clients[name], name)
    for _ in range(3):
        for name, client in clients.items():
            html = text_of(client.get("/"))
            nickname = {"hana": "ハナ", "ken": "Ken", "mio": "Mio"}[name]
            assert nickname in html
            others = {"ハナ", "Ken", "Mio"} - {nickname}
            # Ken's entry shows on Hana's home (a friend's diary) but nobody's name is in the menu.
            assert all(f"<strong>{other}</strong>" not in html for other in others)
    # Mio may not see Ken's friends-only entry, however often Hana loaded it.
    for _ in range(3):
        assert clients["hana"].get(f"/diary/{entry.id}").status_code == 200
        assert clients["mio"].get(f"/diary/{entry.id}").status_code == 404


def test_a_comment_shows_at_once_to_a_reader_with_a_kept_page(make_client, world):
    hana, ken, mio, entry = world
    reader, writer = make_client(PC_UA), make_client(PC_UA)
    login(reader, "hana")
    login(writer, "ken")
    path = f"/diary/{entry.id}"
    reader.get(path)
    assert get_twice(reader, path)[2]  # kept
    site = generation()
    response = post(writer, f"/diary/{entry.id}/comments", {"body": "川の写真も見せて"}, token_from=path)
    assert response.status_code == 302
    assert generation() > site
    assert "川の写真も見せて" in text_of(reader.get(path))
    # A new entry of a friend shows on the home page at once too.
    reader.get("/")
    assert get_twice(reader, "/")[2]
    with database.connection_context():
        create_entry(ken.id, title="Second walk", body="Again.", visibility="friends")
    assert "Second walk" in text_of(reader.get("/"))


def test_footprints_move_only_the_owner_and_the_visitor(make_client, world):
    hana, ken, mio, entry = world
    visitor = make_client(PC_UA)
    login(visitor, "hana")  # first: a login is a write everyone may see (the last login time)
    owner, bystander = with_kept_home(make_client, "ken"), with_kept_home(make_client, "mio")
    site, ken_gen = generation(), generation(ken.id)
    assert visitor.get("/u/ken").status_code == 200  # Hana leaves a footprint on Ken
    assert generation() == site  # nobody else's pages went stale
    assert generation(ken.id) == (ken_gen or 0) + 1
    hits = owner.application.page_cache.hits
    assert "ハナ" in text_of(owner.get("/footprints/"))
    bystander.get("/")
    assert owner.application.page_cache.hits == hits + 1  # Mio's home is still kept
    # A second visit within Footprint.FRESH writes nothing at all.
    ken_gen = generation(ken.id)
    with database.connection_context():
        before = Footprint.get().visited_at
    visitor.get("/u/ken")
    with database.connection_context():
        assert Footprint.get().visited_at == before
    assert generation(ken.id) == ken_gen


def test_the_new_footprint_notice_reaches_a_kept_home(make_client, world):
    hana, ken, mio, entry = world
    owner, visitor = make_client(PC_UA), make_client(PC_UA)
    login(owner, "ken")
    login(visitor, "mio")
    owner.get("/")
    _, kept, hit = get_twice(owner, "/")
    assert hit and "Mio" not in text_of(kept)
    visitor.get("/u/ken")
    assert "Mio" in text_of(owner.get("/")) or "足あと" in text_of(owner.get("/"))
    assert owner.get("/").data != kept.data


def test_a_suspended_member_is_logged_out_even_from_a_kept_page(make_client, world):
    hana, ken, mio, entry = world
    client = with_kept_home(make_client, "hana")
    with database.connection_context():
        User.update(is_suspended=True).where(User.id == hana.id).execute()
    html = text_of(client.get("/"))
    assert "ハナ" not in html and 'href="/login"' in html


def test_a_write_from_another_process_is_seen(make_client, world, app_config):
    hana, ken, mio, entry = world
    client = with_kept_home(make_client, "hana")
    env = {**os.environ, "PORTAL_DATA_DIR": app_config["DATA_DIR"], "DATABASE_URL": app_config["DATABASE_URL"],
           "PORTAL_SECRET_KEY": "cli-test"}
    result = subprocess.run([sys.executable, "-m", "portal.cli", "user", "suspend", "hana"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'href="/login"' in text_of(client.get("/"))


def test_handset_logout_and_session_changes_are_seen(make_client, world):
    hana, ken, mio, entry = world
    client = with_kept_home(make_client, "hana", DOCOMO_UA)
    response = post(client, "/logout", token_from="/settings/")
    assert response.status_code == 302
    html = text_of(client.get("/"))
    assert "ハナ" not in html


def test_a_handset_session_due_for_write_back_is_not_served_from_the_cache(make_client, world, monkeypatch):
    hana, ken, mio, entry = world
    client = with_kept_home(make_client, "hana", DOCOMO_UA)
    from portal.web import sessions
    from portal.models import UrlSession

    with database.connection_context():
        before = {row.token: row.updated_at for row in UrlSession.select()}
    monkeypatch.setattr(sessions, "REFRESH", sessions.REFRESH * 0)  # every row is due now
    hits = client.application.page_cache.hits
    assert client.get("/").status_code == 200
    assert client.application.page_cache.hits == hits
    with database.connection_context():
        after = {row.token: row.updated_at for row in UrlSession.select()}
    assert after.keys() == before.keys() and all(after[t] > before[t] for t in after)


def test_flash_messages_show_once(make_client, world):
    hana, ken, mio, entry = world
    client = with_kept_home(make_client, "hana")
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "お知らせテスト")]
    assert "お知らせテスト" in text_of(client.get("/"))
    assert "お知らせテスト" not in text_of(client.get("/"))


def test_language_and_device_are_part_of_the_key(make_client, world):
    hana, ken, mio, entry = world
    client = make_client(PC_UA)
    login(client, "hana")
    client.get("/lang/ja")
    client.get("/")
    _, ja, hit = get_twice(client, "/")
    assert hit
    client.get("/lang/en")
    en = client.get("/")
    assert en.data != ja.data and 'lang="en"' in text_of(en)
    # The same cookie with another Accept-Encoding is another entry (gzip or not).
    plain = client.get("/", headers={"Accept-Encoding": "identity"})
    zipped = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers.get("Content-Encoding") == "gzip" and "Content-Encoding" not in plain.headers
    # A handset that accepts XHTML gets it, one that does not gets text/html: two entries.
    handset = make_client(SOFTBANK_UA)
    login(handset, "ken")
    for _ in range(2):
        xhtml = handset.get("/", headers={"Accept": "application/xhtml+xml,text/html"})
        html = handset.get("/", headers={"Accept": "text/html"})
        assert xhtml.mimetype == "application/xhtml+xml" and html.mimetype == "text/html"


def test_a_token_in_a_get_body_is_never_kept_or_served(make_client, world):
    """A handset's token may come in a form body (sessions.py), which is not in the key: such
    a GET must neither be kept (a victim with the same headers would get the page of the
    token's owner) nor be answered from the cache."""
    from portal.web.sessions import COOKIE

    hana, ken, mio, entry = world
    attacker = make_client(DOCOMO_UA)
    login(attacker, "hana")
    token = attacker.get_cookie(COOKIE).value
    attacker.delete_cookie(COOKIE)
    page_cache = attacker.application.page_cache
    for _ in range(3):
        response = attacker.get("/", data=f"sid={token}", content_type="application/x-www-form-urlencoded")
        assert "ハナ" in text_of(response)
    assert page_cache.hits == 0
    victim = make_client(DOCOMO_UA)
    html = text_of(victim.get("/"))
    assert "ハナ" not in html and token not in html


def test_logged_out_pages_are_kept_too(make_client, world):
    client = make_client(PC_UA)
    client.get("/")  # sets the session cookie (CSRF token): not kept
    client.get("/")
    first, second, hit = get_twice(client, "/")
    assert hit and 'href="/login"' in text_of(second)
    login(client, "hana")
    assert "ハナ" in text_of(client.get("/"))


def test_entries_expire(make_client, world, monkeypatch):
    hana, ken, mio, entry = world
    client = with_kept_home(make_client, "hana")
    now = pagecache.time.monotonic()
    monkeypatch.setattr(pagecache.time, "monotonic", lambda: now + client.application.config["PAGE_CACHE_SECONDS"] + 1)
    hits = client.application.page_cache.hits
    client.get("/")
    assert client.application.page_cache.hits == hits


def test_a_rolled_back_write_moves_no_generation(app, world):
    hana, ken, mio, entry = world
    site = generation()
    with database.connection_context():
        with pytest.raises(RuntimeError):
            with database.atomic():
                DiaryEntry.update(title="changed").where(DiaryEntry.id == entry.id).execute()
                assert PageGeneration.get_by_id(0).n == site  # moved just before the commit
                raise RuntimeError("roll back")
        assert DiaryEntry.get_by_id(entry.id).title == "Ken's day"
    assert generation() == site
    with database.connection_context():
        with database.atomic():
            DiaryEntry.update(title="changed").where(DiaryEntry.id == entry.id).execute()
            DiaryEntry.update(title="twice").where(DiaryEntry.id == entry.id).execute()
    assert generation() == site + 1  # once per transaction
    site += 1
    # A statement that changes no row moves nothing; a private write only its members.
    with database.connection_context():
        DiaryEntry.update(title="x").where(DiaryEntry.id == -1).execute()
        assert generation() == site
        with private_writes(hana.id, ken.id):
            User.update(likes_seen_at=None).where(User.id == hana.id).execute()
            User.update(likes_seen_at=None).where(User.id == ken.id).execute()
    assert generation() == site
    assert generation(hana.id) == 1 and generation(ken.id) == 1  # one bump for the block


def test_the_cache_keeps_within_its_budget(app_config, make_user):
    from portal import create_app

    budget = 24_000  # a page is kept when it is at most a quarter of it (~4.5 kB with its key)
    app_config["PAGE_CACHE_BYTES"] = budget
    application = create_app(app_config)
    for n in range(10):
        make_user(f"user{n}")
    for n in range(10):
        client = application.test_client()
        client.environ_base["HTTP_USER_AGENT"] = PC_UA
        login(client, f"user{n}")
        for _ in range(3):
            assert client.get("/", headers={"Accept-Encoding": "gzip"}).headers["Content-Encoding"] == "gzip"
    page_cache = application.page_cache
    assert page_cache.stores >= 10
    assert 0 < page_cache.bytes <= budget and len(page_cache.entries) < 10
    assert page_cache.bytes == sum(entry.size for entry in page_cache.entries.values())


def test_the_cache_can_be_turned_off(app_config, make_user):
    from portal import create_app
    from portal.config import ConfigError, load_config

    app_config["PAGE_CACHE_SECONDS"] = 0
    application = create_app(app_config)
    assert application.page_cache is None and not isinstance(application.wsgi_app, pagecache.PageCache)
    with pytest.raises(ConfigError, match="PAGE_CACHE_BYTES"):
        load_config({**app_config, "PAGE_CACHE_BYTES": -1})
    with pytest.raises(ConfigError, match="PORTAL_PAGE_CACHE_SECONDS"):
        load_config(app_config, environ={"PORTAL_PAGE_CACHE_SECONDS": "soon"})
