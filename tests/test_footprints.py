"""Footprints: recording, collapsing, retention, stealth reciprocity, deletion limit, blocks, notices."""
import datetime

import pytest

from helpers import PC_UA, SOFTBANK_UA, login, post, text_of
from portal.db import database, utcnow
from portal.models import Block, Footprint, FootprintDeletion, SiteSetting, User


@pytest.fixture
def pair(make_user):
    return make_user("owner_u", nickname="Owner"), make_user("visitor_u", nickname="ビジター")


def visit(client, login_id="owner_u"):
    assert client.get(f"/u/{login_id}").status_code == 200


def rows():
    with database.connection_context():
        return list(Footprint.select())


def test_visits_collapse_and_count(app, pair):
    owner, visitor = pair
    now = utcnow()
    with database.connection_context():
        for minutes in (0, 1, 4):  # within 5 minutes of the previous: one visit
            Footprint.record(owner.id, visitor.id, "profile", owner.id, now=now + datetime.timedelta(minutes=minutes))
        Footprint.record(owner.id, visitor.id, "diary", 7, now=now + datetime.timedelta(minutes=20))
        row = Footprint.get()
        assert Footprint.select().count() == 1
        assert row.visits == 2 and row.kind == "diary" and row.object_id == 7
        assert row.visited_at == now + datetime.timedelta(minutes=20)


def test_profile_visit_leaves_one_footprint_and_own_visits_do_not(make_client, pair):
    client = make_client(PC_UA)
    login(client, "visitor_u")
    visit(client)
    visit(client)
    assert len(rows()) == 1
    owner_client = make_client(PC_UA)
    login(owner_client, "owner_u")
    visit(owner_client)
    assert len(rows()) == 1
    html = owner_client.get("/footprints/").get_data(as_text=True)
    assert "ビジター" in html
    anonymous = make_client(PC_UA)
    visit(anonymous)
    assert len(rows()) == 1


def test_retention_purges_but_keeps_the_total(app, pair, make_client):
    owner, visitor = pair
    old = utcnow() - datetime.timedelta(days=40)
    with database.connection_context():
        Footprint.record(owner.id, visitor.id, "profile", now=old)
        Footprint.record(owner.id, visitor.id, "profile", now=old + datetime.timedelta(hours=1))
        assert Footprint.get().visits == 2
    client = make_client(PC_UA, Accept_Language="en")
    login(client, "owner_u")
    html = client.get("/footprints/").get_data(as_text=True)
    assert "ビジター" not in html and "Visits in total: 2" in html
    with database.connection_context():
        assert not Footprint.select().exists()
        assert User.get_by_id(owner.id).footprints_purged == 2
        SiteSetting.set_value("footprint_retention_days", "100")
        Footprint.record(owner.id, visitor.id, "profile", now=old)
    assert "ビジター" in client.get("/footprints/").get_data(as_text=True)


def test_stealth_is_reciprocal(make_client, pair):
    owner, visitor = pair
    with database.connection_context():
        User.update(leave_footprints=False).where(User.id == visitor.id).execute()
    stealthy = make_client(PC_UA, Accept_Language="en")
    login(stealthy, "visitor_u")
    visit(stealthy)
    assert rows() == []
    # The stealthy user cannot see their own visitors.
    owner_client = make_client(PC_UA)
    login(owner_client, "owner_u")
    visit(owner_client, "visitor_u")
    assert len(rows()) == 1
    html = stealthy.get("/footprints/").get_data(as_text=True)
    assert "Owner" not in html and "Your visitors are hidden" in html
    assert "new footprints" not in stealthy.get("/").get_data(as_text=True)


def test_show_visitors_off_hides_the_list(make_client, pair):
    owner_client = make_client(PC_UA)
    login(owner_client, "owner_u")
    assert post(owner_client, "/footprints/settings", {"leave_footprints": "y"}).status_code == 302
    visitor = make_client(PC_UA)
    login(visitor, "visitor_u")
    visit(visitor)
    html = owner_client.get("/footprints/").get_data(as_text=True)
    assert "ビジター" not in html


def test_deleting_footprints_is_limited_per_month(app, make_client, make_user):
    me = make_user("walker")
    others = [make_user(f"host{n}") for n in range(3)]
    with database.connection_context():
        SiteSetting.set_value("footprint_deletions_per_month", "2")
        for other in others:
            Footprint.record(other.id, me.id, "profile")
        ids = [f.id for f in Footprint.select().order_by(Footprint.id)]
    client = make_client(PC_UA, Accept_Language="en")
    login(client, "walker")
    assert "remove 2 more" in client.get("/footprints/left").get_data(as_text=True)
    for fid in ids[:2]:
        assert post(client, f"/footprints/{fid}/delete").status_code == 302
    response = post(client, f"/footprints/{ids[2]}/delete", token_from="/footprints/left")
    assert response.status_code == 302
    with database.connection_context():
        assert Footprint.select().count() == 1 and FootprintDeletion.select().count() == 2
    # Someone else's footprint cannot be deleted.
    stranger = make_user("stranger")
    with database.connection_context():
        SiteSetting.set_value("footprint_deletions_per_month", "10")
        Footprint.record(me.id, stranger.id, "profile")
        theirs = Footprint.get(Footprint.visitor == stranger.id).id
    assert post(client, f"/footprints/{theirs}/delete").status_code == 404


def test_blocked_users_leave_and_see_no_footprints(make_client, pair):
    owner, visitor = pair
    owner_client = make_client(PC_UA)
    login(owner_client, "owner_u")
    visitor_client = make_client(PC_UA)
    login(visitor_client, "visitor_u")
    visit(visitor_client)
    with database.connection_context():
        Block.add(owner.id, visitor.id)
    # The old footprint disappears from the owner's list, and no new one is left.
    assert "ビジター" not in owner_client.get("/footprints/").get_data(as_text=True)
    assert visitor_client.get("/u/owner_u").status_code == 404
    assert "Owner" not in visitor_client.get("/footprints/left").get_data(as_text=True)


def test_new_footprints_appear_in_notices_until_seen(make_client, pair):
    owner_client = make_client(PC_UA, Accept_Language="en")
    login(owner_client, "owner_u")
    visitor = make_client(PC_UA)
    login(visitor, "visitor_u")
    visit(visitor)
    assert "1 new footprints" in owner_client.get("/").get_data(as_text=True)
    owner_client.get("/footprints/")
    assert "new footprints" not in owner_client.get("/").get_data(as_text=True)


def test_footprint_pages_on_mobile(make_client, pair):
    client = make_client(SOFTBANK_UA)
    login(client, "owner_u")
    for path in ("/footprints/", "/footprints/left", "/footprints/settings"):
        response = client.get(path)
        assert response.status_code == 200 and text_of(response).startswith("<?xml")
