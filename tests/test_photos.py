"""Albums, uploads, photo pages and the access-checked media URLs."""
import io
import re
import threading

import pytest
from PIL import Image

from helpers import DOCOMO_UA, PC_UA, SOFTBANK_UA, login, post, text_of
from people_world import ITEM_SEES, RELATIONS, build_world
from portal.db import database
from portal.models import Album, Photo, PhotoComment, User
from portal.models.visibility import LEVELS

SEES = ITEM_SEES


def jpeg(width=640, height=480, color=(200, 80, 40), exif=None):
    buffer = io.BytesIO()
    image = Image.new("RGB", (width, height), color)
    image.save(buffer, "JPEG", exif=exif) if exif is not None else image.save(buffer, "JPEG")
    return buffer.getvalue()


def upload(client, album_id, files, caption=""):
    data = {"caption": caption, "files": [(io.BytesIO(content), name, mime) for name, content, mime in files]}
    return post(client, f"/albums/{album_id}/upload", data, token_from=f"/albums/{album_id}/upload",
                content_type="multipart/form-data")


@pytest.fixture
def world(make_user):
    return build_world(make_user)


@pytest.fixture
def albums(app, world, make_client):
    """One album of the owner at each level with one photo, uploaded through the form."""
    client = make_client(PC_UA)
    login(client, "olive")
    made = {}
    for level in LEVELS:
        form = {"title": f"album-{level}", "description": "", "visibility": level,
                "group": str(world.group.id) if level == "group" else "0"}
        response = post(client, "/albums/new", form, token_from="/albums/new")
        assert response.status_code == 302, text_of(response)
        with database.connection_context():
            album = Album.get(Album.title == f"album-{level}")
        assert upload(client, album.id, [("a.jpg", jpeg(), "image/jpeg")]).status_code == 302
        with database.connection_context():
            made[level] = (album, Photo.get(Photo.album == album.id))
    return made


def client_as(make_client, world, relation, ua=PC_UA):
    client = make_client(ua)
    if relation != "anonymous":
        login(client, world.users[relation].login_id)
    return client


@pytest.mark.parametrize("relation", RELATIONS)
def test_access_matrix_for_albums_photos_and_every_variant(make_client, world, albums, relation):
    from portal import media

    client = client_as(make_client, world, relation)
    for level, (album, photo) in albums.items():
        allowed = level in SEES[relation]
        expected = 200 if allowed else 404
        assert client.get(f"/albums/{album.id}").status_code == expected, (relation, level)
        assert client.get(f"/photos/{photo.id}").status_code == expected, (relation, level)
        for name in media.VARIANTS:
            with client.get(f"/media/{photo.media_id}/{name}.jpg") as response:
                assert response.status_code == expected, (relation, level, name)
                if allowed:
                    assert response.headers["X-Content-Type-Options"] == "nosniff"
                    assert response.headers["ETag"]
                    cache = response.headers["Cache-Control"]
                    assert ("public" in cache) == (level == "public"), cache
                    assert ("private" in cache) == (level != "public"), cache


def test_served_bytes_have_no_metadata(make_client, world, albums):
    client = client_as(make_client, world, "self")
    photo = albums["public"][1]
    for name in ("m120", "m240", "p480", "p1024"):
        with client.get(f"/media/{photo.media_id}/{name}.jpg") as response:
            image = Image.open(io.BytesIO(response.data))
            assert not image.getexif() and "icc_profile" not in image.info and "exif" not in image.info


def test_mobile_variants_fit_8kb_and_webp_for_pc(make_client, world, albums):
    client = client_as(make_client, world, "self")
    photo = albums["public"][1]
    for name in ("m120", "m240", "a48"):
        with client.get(f"/media/{photo.media_id}/{name}.jpg") as response:
            assert len(response.data) <= 8 * 1024
    webp = make_client(PC_UA, Accept="image/webp,*/*")
    login(webp, "olive")
    with webp.get(f"/media/{photo.media_id}/p480.jpg") as response:
        assert response.mimetype == "image/webp"


@pytest.mark.parametrize("name,content,mime,message", [
    ("notes.txt", b"hello, not a picture", "text/plain", "not accepted"),
    ("fake.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 200, "image/jpeg", "damaged"),
    ("pic.png", None, "image/jpeg", "not what its name or type says"),
])
def test_bad_files_are_refused_and_nothing_is_stored(app, make_client, world, albums, name, content, mime, message):
    if content is None:
        buffer = io.BytesIO()
        Image.new("RGB", (50, 50)).save(buffer, "PNG")
        content = buffer.getvalue()
    client = make_client(PC_UA, Accept_Language="en")
    login(client, "olive")
    album = albums["public"][0]
    with database.connection_context():
        before = Photo.select().count()
    response = upload(client, album.id, [("good.jpg", jpeg(), "image/jpeg"), (name, content, mime)])
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    with database.connection_context():
        assert Photo.select().count() == before  # all or nothing


def test_several_files_at_once_and_order(make_client, world, albums):
    client = make_client(PC_UA)
    login(client, "olive")
    album = albums["friends"][0]
    files = [(f"{n}.jpg", jpeg(color=(n * 40, 20, 20)), "image/jpeg") for n in range(3)]
    assert upload(client, album.id, files, caption="3枚").status_code == 302
    with database.connection_context():
        photos = list(Photo.in_album(album.id))
        assert len(photos) == 4 and Album.get_by_id(album.id).photo_count == 4
    last = photos[-1]
    assert post(client, f"/photos/{last.id}/earlier").status_code == 302
    with database.connection_context():
        assert [p.id for p in Photo.in_album(album.id)][-2] == last.id
    assert post(client, f"/photos/{last.id}/delete").status_code == 302
    with database.connection_context():
        assert Album.get_by_id(album.id).photo_count == 3
    with client.get(f"/media/{last.media_id}/m120.jpg") as response:
        assert response.status_code == 404


def test_mobile_album_and_photo_pages(make_client, world, albums):
    for ua in (SOFTBANK_UA, DOCOMO_UA):
        client = client_as(make_client, world, "friend", ua)
        album, photo = albums["friends"]
        for path in (f"/albums/{album.id}", f"/photos/{photo.id}", "/u/olive/albums"):
            response = client.get(path)
            assert response.status_code == 200 and len(response.data) <= 5120
            assert b"m120" in response.data or b"m240" in response.data or b"album-" in response.data


def test_photo_page_keys_move_between_photos_not_comment_pages(make_client, world, albums):
    """On a phone * and # are the previous and next photo; the comments' pager has no keys."""
    album, photo = albums["friends"]
    owner = make_client(PC_UA)
    login(owner, "olive")
    assert upload(owner, album.id, [("b.jpg", jpeg(), "image/jpeg")]).status_code == 302
    with database.connection_context():
        for n in range(12):
            PhotoComment.create(photo=photo.id, author=world.owner.id, body=f"comment {n}")
    client = client_as(make_client, world, "friend", DOCOMO_UA)
    html = client.get(f"/photos/{photo.id}").data.decode("cp932")
    assert html.count('accesskey="#"') == 1 and "page=2" in html
    assert re.search(r'accesskey="#">\[#\][^<]*</a>', html)
    assert re.search(r'href="[^"]*page=2[^"]*" >', html)  # the comments' next page, without a key


def test_avatar_upload_and_access(make_client, world):
    client = make_client(PC_UA)
    login(client, "olive")
    data = {"files": [(io.BytesIO(jpeg(300, 200)), "me.jpg", "image/jpeg")]}
    assert post(client, "/settings/avatar", data, token_from="/settings/avatar",
                content_type="multipart/form-data").status_code == 302
    with database.connection_context():
        media_id = User.get(User.login_id == "olive").avatar_media
    assert media_id
    anonymous = make_client(PC_UA)
    with anonymous.get(f"/media/{media_id}/a96.jpg") as response:
        assert response.status_code == 200 and Image.open(io.BytesIO(response.data)).size == (96, 96)
    blocked = client_as(make_client, world, "blocked")
    with blocked.get(f"/media/{media_id}/a48.jpg") as response:
        assert response.status_code == 404
    assert f"/media/{media_id}/a96.jpg" in client.get("/u/olive").get_data(as_text=True)


def test_unknown_media_is_404(client):
    with client.get("/media/doesnotexist/m120.jpg") as response:
        assert response.status_code == 404
    with client.get("/media/x/nonsense.jpg") as response:
        assert response.status_code == 404


def test_concurrent_first_requests_for_one_variant(app, world, albums):
    from portal import media

    photo = albums["public"][1]
    results, errors = [], []

    def fetch():
        try:
            results.append(media.variant(app.config["MEDIA_DIR"], photo.media_id, "p480").read_bytes())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(set(results)) == 1


def test_diary_entry_with_pictures(make_client, world):
    client = make_client(PC_UA, Accept_Language="en")
    login(client, "olive")
    form = {"title": "写真つき", "body": "見て", "visibility": "friends", "group": "0", "allow_comments": "y",
            "photos": [(io.BytesIO(jpeg(color=(n * 60, 90, 90))), f"{n}.jpg", "image/jpeg") for n in range(2)]}
    response = post(client, "/diary/new", form, token_from="/diary/new", content_type="multipart/form-data")
    assert response.status_code == 302
    from portal.models import DiaryEntry, DiaryPhoto

    with database.connection_context():
        entry = DiaryEntry.get()
        photos = DiaryPhoto.of(entry.id)
    assert len(photos) == 2
    html = client.get(f"/diary/{entry.id}").get_data(as_text=True)
    assert all(f"/media/{p.media_id}/p200.jpg" in html for p in photos)
    # The pictures share the entry's visibility.
    for relation, expected in (("friend", 200), ("member", 404), ("anonymous", 404)):
        viewer = client_as(make_client, world, relation)
        with viewer.get(f"/media/{photos[0].media_id}/m240.jpg") as media_response:
            assert media_response.status_code == expected, relation
    # Too many pictures; a bad one: refused, nothing stored.
    more = {**form, "photos": [(io.BytesIO(jpeg()), f"{n}.jpg", "image/jpeg") for n in range(2)]}
    response = post(client, f"/diary/{entry.id}/edit", more, token_from=f"/diary/{entry.id}/edit",
                    content_type="multipart/form-data")
    assert response.status_code == 400 and "At most 3 pictures" in response.get_data(as_text=True)
    bad = {**form, "photos": [(io.BytesIO(b"not a picture"), "x.jpg", "image/jpeg")]}
    assert post(client, "/diary/new", bad, token_from="/diary/new",
                content_type="multipart/form-data").status_code == 400
    with database.connection_context():
        assert DiaryEntry.select().count() == 1 and DiaryPhoto.select().count() == 2
    # Remove one while editing; deleting the entry removes the rest.
    edit = {**form, "photos": [], "remove_photos": [str(photos[0].id)]}
    assert post(client, f"/diary/{entry.id}/edit", edit, token_from=f"/diary/{entry.id}/edit",
                content_type="multipart/form-data").status_code == 302
    with database.connection_context():
        assert [p.id for p in DiaryPhoto.of(entry.id)] == [photos[1].id]
    assert post(client, f"/diary/{entry.id}/delete").status_code == 302
    with client.get(f"/media/{photos[1].media_id}/m120.jpg") as media_response:
        assert media_response.status_code == 404


def test_avatars_next_to_names_on_pc_lists_not_on_mobile_lists(make_client, world):
    client = make_client(PC_UA)
    login(client, "olive")
    data = {"files": [(io.BytesIO(jpeg(300, 300)), "me.jpg", "image/jpeg")]}
    post(client, "/settings/avatar", data, token_from="/settings/avatar", content_type="multipart/form-data")
    with database.connection_context():
        media_id = User.get(User.login_id == "olive").avatar_media
    fred_pc = client_as(make_client, world, "friend")
    assert f"/media/{media_id}/a48.jpg" in fred_pc.get("/u/fred/friends").get_data(as_text=True)
    fred_phone = client_as(make_client, world, "friend", SOFTBANK_UA)
    assert f"/media/{media_id}/" not in text_of(fred_phone.get("/u/fred/friends"))
    assert f"/media/{media_id}/a48.jpg" in text_of(fred_phone.get("/u/olive"))  # but on the profile


def test_long_album_description_is_read_in_parts_on_a_phone(make_client, world):
    """Nothing is cut off: a description longer than a phone's share of the page comes in parts."""
    import re

    words = [f"語{n:04d}" for n in range(600)]
    with database.connection_context():
        album = Album.create(owner=world.users["self"].id, title="long", description=" ".join(words),
                             visibility="public")
    client = make_client(DOCOMO_UA)
    login(client, world.users["self"].login_id)
    seen, path = "", f"/albums/{album.id}"
    for _ in range(30):  # bounded
        html = text_of(client.get(path))
        assert len(html.encode("cp932")) <= 5120
        seen += html
        following = re.search(r'<a href="([^"]*part=\d+[^"]*)" accesskey="#">', html)
        if not following:
            break
        path = following.group(1).replace("&amp;", "&")
    assert all(word in seen for word in words)
