"""Crawl the demo site as a logged-in member on each kind of client: every page reachable
from home must pass its template set's checks (mobile: well-formed XHTML, budget, no
script, images with sizes, unique access keys)."""
import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest

from helpers import DOCOMO_UA, PC_UA, SOFTBANK_UA, login, text_of
from dbsnapshot import differences, tables
from pagecheck import check_page
from querycount import count_queries
from portal.ops import demo
from portal.db import database
from portal.models import PageGeneration

CLIENTS = {"docomo": (DOCOMO_UA, "mobile"), "softbank": (SOFTBANK_UA, "mobile"), "pc": (PC_UA, "pc")}
SKIP = re.compile(r"^/(lang/|static/|healthz)|[?&]view=")
MAX_PAGES = 400
MAX_STATEMENTS = 12
# What a GET may write, by design: footprints (a visit is recorded, and old ones purged when
# the owner opens the list), the handset session store, "seen" markers (comment watches,
# notices) and the read time of a message opened by its recipient.
GET_WRITES = ("footprint", "footprint_deletion", "url_session", "comment_watch.seen_at",
              "message.read_at", "user.footprints_seen_at", "user.likes_seen_at", "user.invitees_seen_at",
              "page_generation")


def site_generation():
    with database.connection_context():
        return PageGeneration.get_by_id(0).n


def links_of(html, base):
    for href in re.findall(r'href="([^"]+)"', html):
        href = href.replace("&amp;", "&")
        url = urlsplit(urljoin(base, href))
        if url.netloc not in ("", "localhost"):
            continue
        path = url.path + ("?" + url.query if url.query else "")
        if not SKIP.search(path):
            yield path


def image_size(client, src, cache):
    """Bytes of an image of the page (fetched once per crawl)."""
    src = src.replace("&amp;", "&")
    if src not in cache:
        with client.get(src) as response:
            cache[src] = len(response.data)
    return cache[src]


def crawl(client, kind, start="/", statements=None):
    """Follow every link from ``start``; ``statements`` (a dict) gets the SQL count per page."""
    seen, queue, pages, images = {start}, deque([start]), 0, {}
    problems = []
    while queue and pages < MAX_PAGES:
        path = queue.popleft()
        with count_queries() as queries:
            response = client.get(path)
        if statements is not None:
            statements[path] = len(queries)
        pages += 1
        if response.status_code in (301, 302):
            continue
        if response.status_code != 200:
            problems.append((path, response.status_code))
            continue
        if response.mimetype not in ("text/html", "application/xhtml+xml"):
            continue  # feeds and media are checked by their own tests
        try:
            check_page(kind, response)
            if kind == "mobile":
                total = len(response.data) + sum(image_size(client, src, images)
                                                  for src in re.findall(r'<img [^>]*src="([^"]+)"', text_of(response)))
                assert total <= 20 * 1024, f"{total} bytes with images"
        except Exception as exc:  # noqa: BLE001 - report every failing page at once
            problems.append((path, str(exc)[:200]))
        for link in links_of(text_of(response), "http://localhost" + path):
            if link not in seen:
                seen.add(link)
                queue.append(link)
    return pages, problems


@pytest.fixture
def demo_site(app):
    with app.app_context(), database.connection_context():
        demo.seed(10)
    return app


@pytest.mark.parametrize("name", sorted(CLIENTS))
@pytest.mark.parametrize("login_id", ["demo1", "demo4"])
def test_crawl_demo_site(demo_site, make_client, name, login_id):
    ua, kind = CLIENTS[name]
    client = make_client(ua)
    assert login(client, login_id, demo.DEMO_PASSWORD).status_code == 302
    before = tables(GET_WRITES)
    generation = site_generation()
    statements = {}
    pages, problems = crawl(client, kind, statements=statements)
    assert not problems, problems
    print(f"crawled {pages} {kind} pages as {login_id} ({name})")
    assert pages >= 25, pages
    # Reading never changes anything but the intended GET writes.
    changes = differences(before, tables(GET_WRITES))
    assert not changes, changes
    # ...and those are private writes (pagecache.py): no member's cached page but the reader's
    # and the visited owner's goes stale, so the site's generation has not moved.
    assert site_generation() == generation
    # No page runs more than MAX_STATEMENTS SQL statements, whatever it shows.
    worst = sorted(statements.items(), key=lambda item: -item[1])
    print(f"SQL statements per page: max {worst[0][1]} ({worst[0][0]}), "
          f"median {sorted(statements.values())[len(statements) // 2]}")
    over = [(path, n) for path, n in worst if n > MAX_STATEMENTS]
    assert not over, over
