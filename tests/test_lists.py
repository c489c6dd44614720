"""Lists and their arguments: odd page numbers, months, every entry with new comments, the page
a new comment lands on, parts that do not leak into the next item, stable orders on ties."""
import datetime
import re
from urllib.parse import quote

import pytest

from helpers import DOCOMO_UA, PC_UA, login, post, text_of
from portal.db import database
from portal.models import Block, DiaryComment, Friendship, Introduction, User
from portal.models.diary import add_comment, create_entry


@pytest.fixture
def pair(make_user):
    alice, bob = make_user("alice", nickname="アリス"), make_user("bob", nickname="ボブ")
    with database.connection_context():
        Friendship.make(alice.id, bob.id)
    return alice, bob


@pytest.mark.parametrize("ua", [PC_UA, DOCOMO_UA], ids=["pc", "docomo"])
@pytest.mark.parametrize("value", ["²", "①", "٣", "1" * 40])
def test_page_numbers_that_are_not_plain_digits_mean_page_one(make_client, pair, ua, value):
    client = make_client(ua)
    login(client)
    with database.connection_context():
        entry = create_entry(pair[0].id, title="t", body="b", visibility="friends")
    for path in ("/friends/", "/diary/", f"/diary/{entry.id}/comments", "/messages/"):
        for name in ("page", "before", "after"):
            response = client.get(f"{path}?{name}={quote(value)}")
            assert response.status_code == 200, (path, name, value)
    assert client.get(f"/diary/{entry.id}?part={quote(value)}").status_code == 200
    # A handset sends ① as Shift_JIS.
    assert client.get("/friends/?page=%87%40").status_code == 200


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "2024-13", "abcd"])
def test_a_month_out_of_range_is_a_400(make_client, pair, month):
    client = make_client(PC_UA, Accept_Language="en")
    login(client)
    response = client.get(f"/u/alice/diary?month={month}")
    assert response.status_code == 400 and "Bad request" in text_of(response)
    assert client.get("/u/alice/diary?month=2024-12").status_code == 200


def test_entries_with_new_comments_are_all_listed(make_client, pair):
    """More than 200 unseen comments: every entry they are on is listed, not only a few."""
    alice, bob = pair
    with database.connection_context():
        entries = [create_entry(alice.id, title=f"entry-{n:02d}", body="b", visibility="friends") for n in range(45)]
        for entry in entries:
            add_comment(entry, alice, "mine")  # alice follows her entry
            for k in range(5):
                add_comment(entry, bob, f"bob {k}")
    client = make_client(PC_UA)
    login(client)
    titles, path = set(), "/diary/commented"
    for _ in range(10):
        html = text_of(client.get(path))
        titles |= set(re.findall(r"entry-\d\d", html))
        more = re.search(r'<a rel="next" href="([^"]+)"', html)
        if not more:
            break
        path = more.group(1).replace("&amp;", "&")
    assert titles == {f"entry-{n:02d}" for n in range(45)}


@pytest.mark.parametrize("ua,per_page", [(PC_UA, 20), (DOCOMO_UA, 5)], ids=["pc", "docomo"])
def test_a_new_comment_is_on_the_page_it_redirects_to(make_client, make_user, pair, ua, per_page):
    """Comments of blocked members are not listed, so they must not count for the last page."""
    alice, bob = pair
    carol = make_user("carol")
    with database.connection_context():
        entry = create_entry(alice.id, title="t", body="b", visibility="members")
        for n in range(per_page - 1):
            add_comment(entry, alice, f"visible {n}")
        for n in range(3):
            add_comment(entry, carol, f"hidden {n}")
        Block.create(blocker=bob.id, blocked=carol.id)
    client = make_client(ua)
    login(client, "bob")
    response = post(client, f"/diary/{entry.id}/comments", {"body": "the newest one"},
                    token_from=f"/diary/{entry.id}/comments")
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert "the newest one" in text_of(page)


def test_the_next_introduction_starts_at_its_first_part(make_client, make_user, pair):
    """On a phone each introduction is a page of its own, long ones in parts: "next" after
    part 2 of one opens the next one at part 1."""
    alice, bob = pair
    carol = make_user("carol")
    with database.connection_context():
        Friendship.make(alice.id, carol.id)
        now = datetime.datetime(2026, 1, 1)
        Introduction.create(about=alice.id, writer=bob.id, body="ボブより。" + "長い紹介文です。" * 400,
                            updated_at=now)
        Introduction.create(about=alice.id, writer=carol.id, body="キャロルより。はじめの部分。" + "続き。" * 400,
                            updated_at=now - datetime.timedelta(days=1))
    client = make_client(DOCOMO_UA)
    login(client)
    html = text_of(client.get("/u/alice/introductions?part=2"))
    assert "ボブより" not in html  # part 2 of the first
    following = re.search(r'href="([^"]*page=2[^"]*)"', html).group(1).replace("&amp;", "&")
    assert "part=" not in following
    assert "キャロルより。はじめの部分。" in text_of(client.get(following))


def test_lists_with_equal_times_keep_a_stable_order(make_client, make_user, pair):
    """Blocked people and introductions sorted by time alone came back in any order among
    equal times (PostgreSQL): a row could show twice and another never."""
    alice, _bob = pair
    others = [make_user(f"user{n:02d}") for n in range(45)]
    same = datetime.datetime(2026, 2, 2, 2, 2, 2)
    with database.connection_context():
        for other in others:
            Block.create(blocker=alice.id, blocked=other.id, created_at=same)
    client = make_client(PC_UA)
    login(client)
    shown, path = [], "/settings/blocked"
    for _ in range(10):
        html = text_of(client.get(path))
        shown += re.findall(r"@(user\d\d)", html)
        more = re.search(r'<a rel="next" href="([^"]+)"', html)
        if not more:
            break
        path = more.group(1).replace("&amp;", "&")
    assert sorted(shown) == sorted(u.login_id for u in others)
    with database.connection_context():
        assert not DiaryComment.select().exists()
        assert User.select().count() == 47


def _follow(client, path, pattern, next_link):
    """Every match of ``pattern`` on the pages reached by following ``next_link`` from ``path``."""
    found = []
    for _ in range(30):
        html = text_of(client.get(path))
        found += re.findall(pattern, html)
        more = re.search(next_link, html)
        if not more:
            return found
        path = more.group(1).replace("&amp;", "&")
    raise AssertionError("too many pages")


@pytest.mark.parametrize("ua", [PC_UA, DOCOMO_UA], ids=["pc", "docomo"])
def test_sent_requests_and_invitees_are_all_reachable(make_client, make_user, ua):
    """Sent friend requests (a second pager beside the received ones: ``?sent=``) and the
    people who joined through one's invite links were cut at 50 and 100."""
    from portal.models import FriendRequest

    alice = make_user("alice")
    with database.connection_context():
        others = [User.create(login_id=f"m{n:03d}", nickname=f"m{n:03d}", password_hash=alice.password_hash,
                              invited_by=alice.id if n < 105 else None) for n in range(160)]
        for other in others[105:160]:
            FriendRequest.create(sender=alice.id, recipient=other.id)
        for other in others[100:103]:
            FriendRequest.create(sender=other.id, recipient=alice.id)
    client = make_client(ua)
    login(client)
    next_sent = r'href="([^"]*sent=\d+[^"]*)"[^>]*>(?:\[#\])?[^<]*(?:Next|次)'
    sent = [m for m in _follow(client, "/friends/requests", r">(m1[0-5]\d)<", next_sent) if m >= "m105"]
    assert sorted(sent) == [f"m{n:03d}" for n in range(105, 160)]  # each once
    received = re.findall(r">(m10[0-2])<", text_of(client.get("/friends/requests")))
    assert sorted(received) == ["m100", "m101", "m102"]
    next_page = r'href="([^"]*page=\d+[^"]*)"[^>]*>(?:\[#\])?[^<]*(?:Next|次)'
    invitees = _follow(client, "/invites/", r">(m\d\d\d)<", next_page)
    assert sorted(invitees) == [f"m{n:03d}" for n in range(105)]
