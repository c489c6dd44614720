"""Migrations (upgrading an older database keeps its data) and the ``portal`` command."""
import os
from pathlib import Path
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from playhouse.schema_diff import diff_models

from helpers import PG_URL, run_cli
from portal import create_app, db
from portal.db import database
from portal.models import ALL_MODELS, InviteCode, User


def test_migrations_produce_the_models_schema(app):
    with database.connection_context():
        diff = diff_models(database.obj, ALL_MODELS)
    assert not diff, f"models and migrations disagree:\n{diff}"


def test_sqlite_pragmas(app):
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        return
    with database.connection_context():
        pragma = lambda name: database.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("synchronous") == 1  # NORMAL
        assert pragma("busy_timeout") >= 5000


def test_upgrade_keeps_data_of_an_older_schema(app_config):
    create_app(app_config)
    assert db.upgrade(target="0001_initial") == ["0001_initial"]
    assert db.schema_version() == "0001_initial"
    with database.connection_context(), db.untracked():  # no page_generation table yet
        database.execute_sql(
            'INSERT INTO "user" (login_id, nickname, password_hash, is_admin, is_suspended, language,'
            ' session_token, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)'.replace(
                "%s", database.obj.param),
            ("oldtimer", "古株", "x", False, False, "", "tok", "2020-01-01 00:00:00"))
        assert "invite_code" not in database.get_tables()
    applied = db.upgrade()
    assert applied and applied[0] == "0002_invite_codes"
    with database.connection_context():
        assert User.get(User.login_id == "oldtimer").nickname == "古株"
        InviteCode.create(note="works")
        assert not diff_models(database.obj, ALL_MODELS)
    assert db.upgrade() == []  # idempotent


def test_cli_init_upgrades_an_old_database(app_config):
    create_app(app_config)
    db.upgrade(target="0001_initial")
    result = run_cli(app_config, "init")
    assert result.exit_code == 0, result.output
    assert "0002_invite_codes" in result.output


def test_cli_users(app_config):
    assert run_cli(app_config, "user", "create", "boss", "--password", "boss-password-1", "--admin").exit_code == 0
    assert run_cli(app_config, "user", "create", "boss", "--password", "boss-password-1").exit_code == 1
    assert run_cli(app_config, "user", "create", "Bad Name!", "--password", "boss-password-1").exit_code == 1
    assert run_cli(app_config, "user", "create", "weak", "--password", "short").exit_code == 1
    with database.connection_context():
        boss = User.get(User.login_id == "boss")
        assert boss.is_admin and boss.check_password("boss-password-1")
        assert not User.select().where(User.login_id == "weak").exists()
    assert run_cli(app_config, "user", "set-password", "boss", input="another-pass-2\n").exit_code == 0
    assert run_cli(app_config, "user", "suspend", "boss").exit_code == 0
    with database.connection_context():
        boss = User.get(User.login_id == "boss")
        assert boss.check_password("another-pass-2") and boss.is_suspended
    assert run_cli(app_config, "user", "suspend", "boss", "--undo").exit_code == 0
    assert run_cli(app_config, "user", "suspend", "nobody").exit_code == 1


def test_cli_demo(app_config):
    result = run_cli(app_config, "demo", "--users", "3")
    assert result.exit_code == 0, result.output
    with database.connection_context():
        assert [u.login_id for u in User.select().order_by(User.id)] == ["demo1", "demo2", "demo3"]
        assert User.get(User.login_id == "demo2").check_password("demo-password")
        assert User.get(User.login_id == "demo1").is_admin
    assert run_cli(app_config, "demo", "--users", "3").exit_code == 0  # idempotent
    with database.connection_context():
        assert User.select().count() == 3


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_portal_serve_demo_answers(app_config, tmp_path):
    """`portal serve --demo` in a real process: healthz, then a demo user exists."""
    port = free_port()
    env = {**os.environ, "PORTAL_DATA_DIR": app_config["DATA_DIR"],
           "DATABASE_URL": app_config["DATABASE_URL"]}
    proc = subprocess.Popen([sys.executable, "-m", "portal.cli", "serve", "--port", str(port), "--demo",
                             "--threads", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    body = response.read()
                    break
            except OSError:
                time.sleep(0.1)
        assert body == b"ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as response:
            assert response.status == 200
        create_app(app_config)  # bind the models to this test's database
        with database.connection_context():
            assert User.select().where(User.login_id == "demo1").exists()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def _wait_for(url, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read()
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def test_wsgi_module_serves_under_waitress_serve(app_config):
    """``waitress-serve wsgi:app`` from the repository's top level: the app that any WSGI server
    serves, configured from the environment, on a database made by ``portal init``."""
    root = Path(__file__).resolve().parent.parent
    port = free_port()
    env = {**os.environ, "PORTAL_DATA_DIR": app_config["DATA_DIR"], "DATABASE_URL": app_config["DATABASE_URL"],
           "PORTAL_SECRET_KEY": "wsgi-test"}
    subprocess.run([sys.executable, "-m", "portal.cli", "init"], env=env, check=True, capture_output=True,
                   timeout=60)
    waitress_serve = Path(sys.executable).with_name("waitress-serve")
    proc = subprocess.Popen([str(waitress_serve), "--listen", f"127.0.0.1:{port}", "wsgi:app"], cwd=root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/healthz") == (200, b"ok")
        status, body = _wait_for(f"http://127.0.0.1:{port}/login")
        assert status == 200 and b'name="login_id"' in body
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_cli_thumbs_rebuild_and_clean_media(app_config):
    from portal import media

    assert run_cli(app_config, "demo", "--users", "3").exit_code == 0
    result = run_cli(app_config, "thumbs", "rebuild")
    assert result.exit_code == 0 and "pictures rebuilt" in result.output
    create_app(app_config)
    with database.connection_context():
        from portal.models import Photo

        photo = Photo.select().first()
    media_dir = app_config["DATA_DIR"] + "/media"
    assert media.variant(media_dir, photo.media_id, "m120").exists()
    orphan = media.new_media_id()
    from PIL import Image

    media.commit_file(media.save_original(Image.new("RGB", (10, 10)), media_dir, orphan))
    # Every kind of picture row keeps its file: a diary picture and an avatar too.
    from portal.models import DiaryEntry, DiaryPhoto

    kept = {}
    for kind in ("diary", "avatar"):
        kept[kind] = media.new_media_id()
        media.commit_file(media.save_original(Image.new("RGB", (10, 10)), media_dir, kept[kind]))
    with database.connection_context():
        entry = DiaryEntry.select().first()
        DiaryPhoto.create(entry=entry, media_id=kept["diary"], width=10, height=10)
        User.create(login_id="pictured", nickname="P", password_hash="x", avatar_media=kept["avatar"])
    result = run_cli(app_config, "clean-media", "--min-age", "0")
    assert result.exit_code == 0 and "1 orphans" in result.output
    assert not media.media_path(media_dir, orphan).exists()
    assert media.media_path(media_dir, photo.media_id).exists()
    assert all(media.media_path(media_dir, media_id).exists() for media_id in kept.values())


def test_cli_maintenance_removes_only_what_has_expired(app_config):
    import datetime

    from portal.db import utcnow
    from portal.models import Footprint, LoginAttempt, PasswordReset, UrlSession

    create_app(app_config)
    db.upgrade()
    now = utcnow()
    old, recent = now - datetime.timedelta(days=40), now - datetime.timedelta(minutes=1)
    with database.connection_context():
        owner = User.create(login_id="owner", nickname="O", password_hash="x")
        visitors = [User.create(login_id=f"v{n}", nickname="V", password_hash="x") for n in range(2)]
        Footprint.create(owner=owner, visitor=visitors[0], kind="profile", object_id=owner.id, visited_at=old, visits=3)
        Footprint.create(owner=owner, visitor=visitors[1], kind="profile", object_id=owner.id, visited_at=recent)
        for token, when in (("old-session", old), ("new-session", recent)):
            UrlSession.create(token=token, ua_hash="x", data="{}", updated_at=when)
        LoginAttempt.create(login_id="owner", address="127.0.0.1", created_at=old)
        LoginAttempt.create(login_id="owner", address="127.0.0.1", created_at=recent)
        PasswordReset.create(user=owner, token_hash="old", expires_at=old)
        PasswordReset.create(user=owner, token_hash="new", expires_at=now + datetime.timedelta(hours=1))
    result = run_cli(app_config, "maintenance")
    assert result.exit_code == 0, result.output
    assert "footprints older than the retention: 1 removed" in result.output
    with database.connection_context():
        assert [f.visitor_id for f in Footprint.select()] == [visitors[1].id]
        assert Footprint.total_visits(User.get_by_id(owner.id)) == 4  # purged visits still count
        assert [s.token for s in UrlSession.select()] == ["new-session"]
        assert LoginAttempt.select().count() == 1
        assert [r.token_hash for r in PasswordReset.select()] == ["new"]


def test_postgres_connections_run_without_jit(app):
    """JIT compiles the big visibility queries on every call on a large site (1.2 s vs 3 ms)."""
    if not PG_URL:
        pytest.skip("PostgreSQL only (PORTAL_TEST_DATABASE_URL)")
    with database.connection_context():
        assert database.execute_sql("SHOW jit").fetchone()[0] == "off"
        assert database.execute_sql("SELECT current_schema()").fetchone()[0] != "public"  # URL options kept


def test_cli_reports_a_bad_setting_in_one_line(app_config):
    from click.testing import CliRunner

    from portal import cli

    env = {"PORTAL_DATA_DIR": app_config["DATA_DIR"], "DATABASE_URL": "mysql://nope", "PORTAL_SECRET_KEY": "x"}
    result = CliRunner().invoke(cli.main, ["init"], env=env)
    assert result.exit_code == 1 and "DATABASE_URL must start with" in result.output
    assert "Traceback" not in result.output
