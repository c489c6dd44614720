"""Rate limits (portal/limits.py): each limited action refuses the request over its limit
with a 429 page of the client's template set and language, writes nothing for it, counts
per member (not per address) and only POSTs; with REDIS_URL the counts are shared."""
import io
import secrets

import pytest
import redis

from helpers import DOCOMO_UA, PC_UA, csrf_token, login, post, text_of, unavailable
from people_world import befriend
from portal import create_app, db
from portal.web import limits
from portal.config import ConfigError, load_config
from portal.db import database
from portal.models import (Album, DiaryComment, DiaryEntry, FriendRequest, LoginAttempt, Message, Photo,
                           PhotoComment, User, Voice)

REDIS_URL = "redis://127.0.0.1:6379/15"


def jpeg():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def world(app, make_user):
    """alice and bob are friends; bob has an entry, a voice and a photo; alice an album."""
    alice, bob = make_user("alice"), make_user("bob")
    others = [make_user(f"carol{n}") for n in range(4)]
    with database.connection_context():
        befriend(alice, bob)
        entry = DiaryEntry.create(owner=bob.id, title="bob's day", body="text", visibility="friends")
        voice = Voice.create(owner=bob.id, body="hello", visibility="friends")
        album = Album.create(owner=alice.id, title="mine", visibility="friends")
        bob_album = Album.create(owner=bob.id, title="bob's", visibility="friends")
        photo = Photo.create(owner=bob.id, album=bob_album, media_id="x" * 32, width=10, height=10)
    return {"alice": alice, "bob": bob, "others": others, "entry": entry, "voice": voice,
            "album": album, "photo": photo}


def _form_post(path, data, token_from=None, **kwargs):
    return lambda client, w, n: post(client, path.format(**w), {k: v.format(n=n) for k, v in data.items()},
                                     token_from=(token_from or path).format(**w), **kwargs)


def _upload(client, w, n):
    path = f"/albums/{w['album'].id}/upload"
    data = {"caption": f"pic {n}", "files": [(io.BytesIO(jpeg()), f"{n}.jpg", "image/jpeg")],
            "csrf_token": csrf_token(client, path)}
    return client.post(path, data=data, content_type="multipart/form-data")


def _befriend(client, w, n):
    login_id = w["others"][n].login_id
    return post(client, f"/u/{login_id}/befriend", {"message": f"hi {n}"}, token_from=f"/u/{login_id}/befriend")


def _register(client, w, n):
    """Sign up (which logs in), then log out so the next one comes from the address again."""
    response = post(client, "/register", {"login_id": f"newbie{n}", "nickname": f"New {n}",
                                          "password": "long-password", "confirm": "long-password", "email": ""},
                    token_from="/register")
    if response.status_code == 302:
        post(client, "/logout", token_from="/")
    return response


def _login(client, w, n):
    return login(client, "alice", "wrong-password")


# name -> (limit scope, logged in as alice?, action(client, world, n), rows that must not grow on a 429)
CASES = {
    "login": ("LOGIN", False, _login, lambda: LoginAttempt.select().count()),
    "registration": ("REGISTRATION", False, _register, lambda: User.select().count()),
    "message": ("MESSAGES", True, _form_post("/messages/new", {"to": "bob", "subject": "s{n}", "body": "b{n}"}),
                lambda: Message.select().count()),
    "diary comment": ("COMMENTS", True, _form_post("/diary/{entry.id}/comments", {"body": "c{n}"},
                                                    token_from="/diary/{entry.id}"),
                      lambda: DiaryComment.select().count()),
    "photo comment": ("COMMENTS", True, _form_post("/photos/{photo.id}", {"body": "c{n}"}),
                      lambda: PhotoComment.select().count()),
    "voice reply": ("COMMENTS", True, _form_post("/voice/{voice.id}", {"body": "r{n}"}),
                    lambda: Voice.select().count()),
    "diary entry": ("POSTS", True, _form_post("/diary/new", {"title": "t{n}", "body": "b{n}", "visibility": "friends",
                                                             "group": "0", "allow_comments": "y"}),
                    lambda: DiaryEntry.select().count()),
    "voice": ("POSTS", True, _form_post("/voice/", {"body": "v{n}", "visibility": "friends"}),
              lambda: Voice.select().count()),
    "friend request": ("FRIEND_REQUESTS", True, _befriend, lambda: FriendRequest.select().count()),
    "upload": ("UPLOADS", True, _upload, lambda: Photo.select().count()),
}


@pytest.mark.parametrize("ua", [PC_UA, DOCOMO_UA], ids=["pc", "docomo"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_over_the_limit_is_429_and_writes_nothing(app, world, make_client, name, ua):
    scope, logged_in, action, rows = CASES[name]
    app.config[f"LIMIT_{scope}"] = "2 per minute"
    client = make_client(ua)
    if logged_in:
        assert login(client, "alice").status_code == 302
    for n in range(2):
        response = action(client, world, n)
        assert response.status_code != 429, (name, n)
    with database.connection_context():
        before = rows()
    response = action(client, world, 2)
    assert response.status_code == 429
    with database.connection_context():
        assert rows() == before, "a refused request wrote something"
    html = text_of(response)
    assert ("しばらく" in html or "分" in html) and "1" in html  # Japanese by default, with the wait
    assert int(response.headers["Retry-After"]) > 0
    if ua == DOCOMO_UA:
        assert response.mimetype == "application/xhtml+xml" and response.mimetype_params["charset"] == "Shift_JIS"
    else:
        assert "<!DOCTYPE html>" in html


def test_the_429_page_speaks_english_too(app, world, make_client):
    app.config["LIMIT_COMMENTS"] = "1 per minute"
    client = make_client(PC_UA, Accept_Language="en")
    login(client, "alice")
    path = f"/diary/{world['entry'].id}/comments"
    assert post(client, path, {"body": "one"}, token_from=f"/diary/{world['entry'].id}").status_code == 302
    response = post(client, path, {"body": "two"}, token_from=f"/diary/{world['entry'].id}")
    assert response.status_code == 429
    assert "You are doing this too often. Please wait 1 minute and try again." in text_of(response), text_of(response)


def test_reading_is_never_limited_and_members_count_apart(app, world, make_client):
    """GETs do not count; two members behind one address (a carrier gateway) have a budget each."""
    app.config["LIMIT_COMMENTS"] = "1 per minute"
    entry = world["entry"]
    alice, bob = make_client(PC_UA), make_client(PC_UA)
    login(alice, "alice")
    login(bob, "bob")
    for _ in range(5):
        assert alice.get(f"/diary/{entry.id}").status_code == 200
    assert post(alice, f"/diary/{entry.id}/comments", {"body": "a"}, token_from=f"/diary/{entry.id}").status_code == 302
    assert post(bob, f"/diary/{entry.id}/comments", {"body": "b"}, token_from=f"/diary/{entry.id}").status_code == 302
    assert post(alice, f"/diary/{entry.id}/comments", {"body": "c"},
                token_from=f"/diary/{entry.id}").status_code == 429


def test_limits_can_be_switched_off(app_config, make_user):
    app_config.update(RATE_LIMITS=False, LIMIT_LOGIN="1 per hour")
    app = create_app(app_config)
    db.upgrade()
    make_user("alice")
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = PC_UA
    for _ in range(3):
        assert login(client, "alice", "wrong-password").status_code == 400


@pytest.mark.parametrize("value", ["lots", "10 per fortnight", ""])
def test_a_bad_limit_setting_is_a_config_error(value):
    with pytest.raises(ConfigError, match="LIMIT_UPLOADS"):
        load_config({"LIMIT_UPLOADS": value, "SECRET_KEY": "x", "DATA_DIR": "/tmp"}, environ={})


def test_limits_from_the_environment():
    config = load_config({"SECRET_KEY": "x", "DATA_DIR": "/tmp"},
                         environ={"PORTAL_LIMIT_MESSAGES": "3 per hour", "PORTAL_RATELIMIT_ENABLED": "0"})
    assert config["LIMIT_MESSAGES"] == "3 per hour" and config["RATE_LIMITS"] is False


def test_every_limit_guards_routes(app):
    """Each named limit guards the routes of its kind (a new route of a kind is added here)."""
    assert limits.GUARDED == {
        "LOGIN": {"auth.login"}, "REGISTRATION": {"auth.register", "auth.forgot"},
        "MESSAGES": {"messages.compose", "messages.reply"},
        "COMMENTS": {"diary.comments", "photos.photo", "voice.show"},
        "POSTS": {"diary.new", "voice.timeline"}, "FRIEND_REQUESTS": {"friends.befriend"},
        "UPLOADS": {"photos.upload", "photos.avatar"},
    }
    assert all(endpoint in app.view_functions for names in limits.GUARDED.values() for endpoint in names)


def test_counts_are_shared_through_redis(app_config, make_user, tmp_path):
    """With REDIS_URL, two server processes (two apps here) count against one budget."""
    server = redis.Redis.from_url(REDIS_URL)
    try:
        server.ping()
    except redis.ConnectionError:
        unavailable("no Redis on 127.0.0.1:6379")  # a skip outside CI, a failure in it
    prefix = "portal-test-" + secrets.token_hex(4)
    config = dict(app_config, REDIS_URL=REDIS_URL, RATE_LIMIT_NAMESPACE=prefix, LIMIT_LOGIN="2 per minute")
    apps = [create_app(config) for _ in range(2)]
    db.upgrade()
    make_user("alice")
    try:
        clients = []
        for application in apps:
            client = application.test_client()
            client.environ_base["HTTP_USER_AGENT"] = PC_UA
            clients.append(client)
        assert login(clients[0], "alice", "wrong-password").status_code == 400
        assert login(clients[1], "alice", "wrong-password").status_code == 400
        assert login(clients[0], "alice", "wrong-password").status_code == 429
        assert server.keys(f"*{prefix}*"), "no counts in Redis"
        # The counts live in Redis and nowhere else: without them, the limit starts over.
        for key in server.scan_iter(f"*{prefix}*"):
            server.delete(key)
        assert login(clients[1], "alice", "wrong-password").status_code == 400
    finally:
        for key in server.scan_iter(f"*{prefix}*"):
            server.delete(key)
