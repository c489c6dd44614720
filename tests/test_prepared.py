"""portal.db.prepared: SQL built once per key, bound to each call's values."""
import datetime

import pytest

from portal.db import database, prepared, prepared_count
from portal.models import User


def test_a_prepared_query_binds_each_calls_values(app, make_user):
    users = [make_user(name) for name in ("anna", "bert", "cora")]
    built = []

    def build(first_id, name):
        built.append((first_id, name))
        return User.select().where((User.id >= first_id) & (User.login_id != name)).order_by(User.id)

    with database.connection_context():
        assert [u.login_id for u in prepared("t1", build, first_id=users[0].id, name="bert")] == ["anna", "cora"]
        assert [u.login_id for u in prepared("t1", build, first_id=users[1].id, name="cora")] == ["bert"]
        assert prepared_count("t1", build, first_id=users[0].id, name="nobody") == 3
        assert prepared_count("t1", build, first_id=users[2].id, name="cora") == 0
    assert len(built) == 2  # once for the rows, once for the count; the stand-ins, never real values
    assert all(first_id < 0 and "stand-in" in name for first_id, name in built)


def test_datetimes_and_models_with_joins(app, make_user):
    make_user("anna")
    late = make_user("late")
    with database.connection_context():
        User.update(created_at=datetime.datetime(2030, 1, 1)).where(User.id == late.id).execute()

        def build(since):
            return User.select().where(User.created_at > since)
        assert [u.login_id for u in prepared("t2", build, since=datetime.datetime(2029, 1, 1))] == ["late"]
        assert prepared_count("t2", build, since=datetime.datetime(2000, 1, 1)) == 2


def test_a_value_the_query_does_not_use_is_an_error(app):
    with database.connection_context(), pytest.raises(ValueError, match="does not use"):
        prepared_count("t3", lambda user_id, extra: User.select().where(User.id == user_id), user_id=1, extra=2)
    with pytest.raises(TypeError):
        prepared_count("t4", lambda flag: User.select(), flag=True)  # a flag belongs in the key


def test_computed_parameters_and_other_shapes_are_refused(app, make_user):
    anna = make_user("anna")
    with database.connection_context():
        with pytest.raises(ValueError, match="computes parameters"):
            prepared_count("t5", lambda uid: User.select().where((User.id == uid) | (User.id == uid + 1)), uid=anna.id)
        build = lambda uid: User.select().where(User.id == uid)  # noqa: E731
        assert prepared_count("t6", build, uid=anna.id) == 1
        with pytest.raises(TypeError, match="was built for"):
            prepared_count("t6", build, uid=None)  # "no id" is another query: its own key
        with pytest.raises(TypeError, match="was built for"):
            prepared_count("t6", build, uid=anna.id, extra=1)
        # Two call sites that chose the same name keep their own SQL.
        other = lambda uid: User.select().where(User.id != uid)  # noqa: E731
        assert prepared_count("t6", other, uid=anna.id) == 0


def test_pages_show_every_row_once(app, make_user):
    """Page fetches one row more than a page to know whether there is a next one; each page
    still starts right after the last row of the one before."""
    from flask import g

    from portal.web.device import detect
    from portal.web.pagination import Page

    for n in range(23):
        make_user(f"user{n:02d}")
    with app.test_request_context("/"), database.connection_context():
        g.device = detect("")
        query = User.select().order_by(User.login_id)
        seen, number = [], 1
        while True:
            page = Page(query, page=number, per_page=5)
            seen += [u.login_id for u in page.items]
            assert page.has_prev == (number > 1)
            if not page.has_next:
                break
            number += 1
        assert seen == [f"user{n:02d}" for n in range(23)] and number == 5
