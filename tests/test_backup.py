"""`portal backup PATH` and `portal restore PATH`: a round trip gives back every row of every
table and every media file; a backup taken while members write is consistent; bad input
is refused with a clear message and changes nothing."""
import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

from helpers import PG_URL, run_cli
from dbsnapshot import tables
from portal import create_app, media
from portal.db import database
from portal.models import DiaryEntry, DiaryPhoto, Photo, User, media_ids


def files(media_dir):
    root = Path(media_dir)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file() and p.name != ".lock"}


def test_round_trip_gives_back_every_row_and_file(app_config, tmp_path):
    assert run_cli(app_config, "demo", "--users", "4").exit_code == 0
    assert run_cli(app_config, "thumbs", "rebuild").exit_code == 0
    app = create_app(app_config)
    media_dir = app.config["MEDIA_DIR"]
    before_rows, before_files = tables(), files(media_dir)
    assert before_files and sum(len(v) for v in before_rows.values()) > 100

    result = run_cli(app_config, "backup", str(tmp_path / "bk"))
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert len(manifest["media_files"]) == len(before_files) and manifest["missing_media"] == []

    # Life goes on: rows added, changed and deleted, a picture removed with its files.
    with database.connection_context():
        User.create(login_id="latecomer", nickname="Late", password_hash="x")
        DiaryEntry.update(title="changed").execute()
        photo = Photo.select().first()
        photo.delete_instance()
    media.delete(media_dir, photo.media_id)
    assert tables() != before_rows and files(media_dir) != before_files

    refused = run_cli(app_config, "restore", str(tmp_path / "bk"))
    assert refused.exit_code != 0 and "--force" in refused.output
    assert files(media_dir) != before_files  # nothing was touched

    result = run_cli(app_config, "restore", "--force", str(tmp_path / "bk"))
    assert result.exit_code == 0, result.output
    create_app(app_config)
    after_rows, after_files = tables(), files(media_dir)
    assert after_rows == before_rows
    assert after_files == before_files
    print(f"backup round trip: {sum(len(v) for v in after_rows.values())} rows in {len(after_rows)} tables, "
          f"{len(after_files)} files, 0 differences")


def test_backup_taken_while_members_write_is_consistent(app_config, tmp_path):
    """Entries with pictures are written (file first, then row) during the backup; the
    restored site has every picture its rows point to."""
    assert run_cli(app_config, "demo", "--users", "2").exit_code == 0
    app = create_app(app_config)
    media_dir = app.config["MEDIA_DIR"]
    stop, written = threading.Event(), []

    def writer():
        with database.connection_context():
            owner = User.get(User.login_id == "demo1")
            for n in range(400):  # bounded; stops earlier when the backup is done
                if stop.is_set():
                    break
                media_id = media.new_media_id()
                media.commit_file(media.save_original(Image.new("RGB", (32, 32), (n % 255, 0, 0)), media_dir,
                                                      media_id))
                with database.atomic():
                    entry = DiaryEntry.create(owner=owner, title=f"during backup {n}", body="x")
                    DiaryPhoto.create(entry=entry, media_id=media_id, width=32, height=32)
                written.append(media_id)

    thread = threading.Thread(target=writer)
    thread.start()
    env = {**os.environ, "PORTAL_DATA_DIR": app_config["DATA_DIR"], "DATABASE_URL": app_config["DATABASE_URL"],
           "PORTAL_SECRET_KEY": "cli-test"}
    try:
        for round_ in range(3):  # in another process, as an admin would run it beside the server
            result = subprocess.run([sys.executable, "-m", "portal.cli", "backup", str(tmp_path / f"bk{round_}")],
                                    env=env, capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, result.stderr
    finally:
        stop.set()
        thread.join(timeout=60)
    assert written, "the writer did not run"
    result = run_cli(app_config, "restore", "--force", str(tmp_path / "bk2"))
    assert result.exit_code == 0, result.output
    create_app(app_config)
    with database.connection_context():
        referenced = media_ids()
        if database.obj.__class__.__name__.startswith("Sqlite"):
            assert database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
    missing = [m for m in referenced if not media.media_path(media_dir, m).exists()]
    assert not missing
    print(f"backup under writes: {len(written)} pictures written during 3 backups, "
          f"{len(referenced)} referenced after restore, 0 missing")


def test_restore_refuses_what_is_not_a_backup(app_config, tmp_path):
    assert run_cli(app_config, "demo", "--users", "2").exit_code == 0
    create_app(app_config)
    before = tables()
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("hello")
    result = run_cli(app_config, "restore", "--force", str(tmp_path / "junk"))
    assert result.exit_code != 0 and "is not a portal backup" in result.output
    assert tables() == before


def test_restore_refuses_a_damaged_backup(app_config, tmp_path):
    assert run_cli(app_config, "demo", "--users", "2").exit_code == 0
    assert run_cli(app_config, "backup", str(tmp_path / "bk")).exit_code == 0
    create_app(app_config)
    before = tables()
    victim = next((tmp_path / "bk" / "media").rglob("original.jpg"))
    victim.write_bytes(b"")
    result = run_cli(app_config, "restore", "--force", str(tmp_path / "bk"))
    assert result.exit_code != 0 and "damaged" in result.output
    assert tables() == before


def test_backup_refuses_a_folder_that_is_in_use(app_config, tmp_path):
    create_app(app_config)
    target = tmp_path / "used"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    result = run_cli(app_config, "backup", str(target))
    assert result.exit_code != 0 and "not an empty folder" in result.output
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_restore_refuses_a_backup_without_its_database_and_changes_nothing(app_config, tmp_path):
    assert run_cli(app_config, "demo", "--users", "2").exit_code == 0
    assert run_cli(app_config, "backup", str(tmp_path / "bk")).exit_code == 0
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    db_file = tmp_path / "bk" / manifest["database_file"]["name"]
    create_app(app_config)
    before = tables()
    for damage in ("truncate", "remove"):
        if damage == "truncate":
            db_file.write_bytes(db_file.read_bytes()[: db_file.stat().st_size // 3])
        else:
            db_file.unlink()
        result = run_cli(app_config, "restore", "--force", str(tmp_path / "bk"))
        assert result.exit_code != 0 and "damaged" in result.output, result.output
        assert tables() == before
    assert sorted(p.name for p in (tmp_path / "bk").iterdir()) == ["manifest.json", "media"]


def test_sqlite_backup_folder_holds_only_its_files(app_config, tmp_path):
    assert run_cli(app_config, "demo", "--users", "2").exit_code == 0
    assert run_cli(app_config, "backup", str(tmp_path / "bk")).exit_code == 0
    names = sorted(p.name for p in (tmp_path / "bk").iterdir())
    assert names in (["database.sqlite3", "manifest.json", "media"], ["database.pgdump", "manifest.json", "media"])


def test_postgres_restore_refuses_another_schema(app_config, tmp_path):
    if not PG_URL:
        pytest.skip("PostgreSQL only (PORTAL_TEST_DATABASE_URL)")
    assert run_cli(app_config, "demo", "--users", "2").exit_code == 0
    assert run_cli(app_config, "backup", str(tmp_path / "bk")).exit_code == 0
    manifest_file = tmp_path / "bk" / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["pg_schema"] = "some_other_site"
    manifest_file.write_text(json.dumps(manifest))
    create_app(app_config)
    before = tables()
    result = run_cli(app_config, "restore", "--force", str(tmp_path / "bk"))
    assert result.exit_code != 0 and "some_other_site" in result.output
    assert tables() == before
