"""Backups: ``portal backup PATH`` and ``portal restore PATH``.

A backup is a folder::

    PATH/manifest.json     what is inside (written last: no manifest, no backup)
    PATH/database.sqlite3  SQLite: a copy made with SQLite's online backup API
    PATH/database.pgdump   PostgreSQL: ``pg_dump --format=custom``
    PATH/media/...         the media folder (originals and their variants)

It is consistent while the server runs. The database copy is one snapshot (SQLite's
backup API, or pg_dump's transaction). Media files are copied before the snapshot and
then, for every id the snapshot points to that was not copied yet, after it: a picture is
written to disk before its row (media.py), so every row in the snapshot has its file. The
only file that can be missing is one uploaded after the first pass and deleted again
before the second; such ids are listed in the manifest and reported.

Restore puts the database and the media folder back as they were (files not in the backup
are removed from the media folder), then applies newer migrations. The server must be
stopped while restoring.
"""
import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from peewee import PostgresqlDatabase

from .. import db
from ..db import database

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
_SKIP_SUFFIXES = (".tmp", ".lock")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


def _is_postgres():
    return isinstance(database.obj, PostgresqlDatabase)


def _media_files(media_dir):
    """Relative paths of the files in the media folder (no locks, no half-written files)."""
    media_dir = Path(media_dir)
    if not media_dir.is_dir():
        return []
    return sorted(str(path.relative_to(media_dir)) for path in media_dir.rglob("*")
                  if path.is_file() and not path.name.endswith(_SKIP_SUFFIXES) and path.name != ".lock")


def _copy(source_dir, target_dir, relative):
    target = Path(target_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copy2(Path(source_dir) / relative, target)
    except FileNotFoundError:  # deleted since it was listed
        return False
    return True


def _referenced_ids(query):
    """Media ids the rows of a database copy point to; ``query(sql)`` returns rows of one column
    (the copy is not the app's database, so the SQL is written out here)."""
    from ..models import media_columns

    ids = set()
    for field in media_columns():
        table, column = field.model._meta.table_name, field.column_name
        ids.update(value for (value,) in query(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'))
    return ids


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def backup(app, path):
    """Write a backup of the app's database and media folder to the new folder ``path``."""
    from ..models import media_ids

    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"{path} already exists and is not an empty folder")
    media_dir = Path(app.config["MEDIA_DIR"])
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".backup-", dir=path.parent))
    try:
        copied = {name for name in _media_files(media_dir) if _copy(media_dir, work / "media", name)}
        if _is_postgres():
            kind = "postgresql"
            _pg_dump(app.config["DATABASE_URL"], work / PG_FILE)
            with database.connection_context():
                referenced = set(media_ids())
        else:
            kind = "sqlite"
            _sqlite_snapshot(database.obj.database, work / SQLITE_FILE)
            snapshot = sqlite3.connect(work / SQLITE_FILE)
            try:
                referenced = _referenced_ids(lambda sql: snapshot.execute(sql).fetchall())
            finally:
                snapshot.close()  # before the folder moves, so SQLite removes its -wal/-shm there
        missing = []
        have = {Path(name).parts[1] for name in copied if len(Path(name).parts) > 2}
        for media_id in sorted(referenced - have):
            folder = media_dir / media_id[:2] / media_id
            names = [str(p.relative_to(media_dir)) for p in folder.glob("*") if p.is_file()] if folder.is_dir() else []
            copied.update(name for name in names if not name.endswith(_SKIP_SUFFIXES) and _copy(media_dir, work / "media", name))
            if not (work / "media" / media_id[:2] / media_id).is_dir():
                missing.append(media_id)
        files = {name: {"size": (work / "media" / name).stat().st_size, "sha256": _sha256(work / "media" / name)}
                 for name in sorted(copied)}
        with database.connection_context():
            schema = db.schema_version()
        db_file = work / (PG_FILE if kind == "postgresql" else SQLITE_FILE)
        manifest = {"format": FORMAT, "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                    "database": kind, "schema": schema, "media_files": files, "missing_media": missing,
                    "database_file": {"name": db_file.name, "size": db_file.stat().st_size,
                                      "sha256": _sha256(db_file)}}
        if kind == "postgresql":
            manifest["pg_schema"] = _pg_schema()
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
        if path.exists():
            path.rmdir()
        os.replace(work, path)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def _sqlite_snapshot(source_file, target_file):
    source = sqlite3.connect(source_file, timeout=30)
    target = sqlite3.connect(target_file)
    try:
        with target:
            source.backup(target)
        if target.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("the database copy failed its integrity check")
    finally:
        target.close()
        source.close()


def _pg_tool(name):
    tool = shutil.which(name)
    if not tool:
        raise BackupError(f"{name} is not installed (Debian: apt install postgresql-client)")
    return tool


def _pg_schema():
    with database.connection_context():
        return database.execute_sql("SELECT current_schema()").fetchone()[0]


def _pg_dump(url, target):
    command = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
               f"--schema={_pg_schema()}", f"--file={target}", f"--dbname={url}"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")


def read_manifest(path):
    """The manifest of the backup in ``path``; BackupError if it is not a complete backup."""
    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} is not a portal backup (no readable {MANIFEST})") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def has_content():
    """Whether the configured database already holds accounts."""
    from ..models import User

    with database.connection_context():
        try:
            return User.table_exists() and User.select().exists()
        except Exception:  # noqa: BLE001 - a database without our tables has no content
            return False


def restore(app, path, force=False):
    """Put the backup in ``path`` in place of the app's database and media folder."""
    path = Path(path)
    manifest = read_manifest(path)
    kind = "postgresql" if _is_postgres() else "sqlite"
    if manifest.get("database") != kind:
        raise BackupError(f"this backup holds a {manifest.get('database')} database; the site uses {kind}")
    # Everything is checked before anything is touched.
    db_info = manifest.get("database_file") or {}
    db_file = path / (PG_FILE if kind == "postgresql" else SQLITE_FILE)
    _check_file(db_file, db_info, db_file.name)
    for name, info in manifest.get("media_files", {}).items():
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise BackupError(f"the backup is damaged: unsafe media path {name!r}")
        _check_file(path / "media" / name, info, f"media/{name}")
    if kind == "postgresql" and manifest.get("pg_schema") != _pg_schema():
        raise BackupError(f"this backup is of the PostgreSQL schema {manifest.get('pg_schema')!r}; "
                          f"the site uses {_pg_schema()!r}")
    if has_content() and not force:
        raise BackupError("the database is not empty; use --force to replace it with the backup")
    if kind == "postgresql":
        _pg_restore(app.config["DATABASE_URL"], db_file, _pg_schema())
    else:
        _sqlite_restore(db_file, database.obj.database)
    _restore_media(path / "media", Path(app.config["MEDIA_DIR"]), manifest["media_files"])
    return db.upgrade()


def _check_file(file, info, label):
    if not file.is_file() or file.stat().st_size != info.get("size") or _sha256(file) != info.get("sha256"):
        raise BackupError(f"the backup is damaged: {label} is missing or differs from the manifest")


def _sqlite_restore(backup_file, target_file):
    if not database.is_closed():
        database.close()
    try:
        source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {backup_file.name}: {exc}") from exc
    try:
        if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(f"the backup is damaged: {backup_file.name} fails its integrity check")
        target = sqlite3.connect(target_file, timeout=30)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
    except sqlite3.Error as exc:
        raise BackupError(f"the restore failed: {exc}") from exc
    finally:
        source.close()


def _pg_restore(url, dump, schema):
    """Empty the site's schema and load the dump in ONE transaction: if anything fails, the
    database is as it was."""
    tool, psql = _pg_tool("pg_restore"), _pg_tool("psql")
    listing = subprocess.run([tool, "--list", str(dump)], capture_output=True, text=True, check=False)
    if listing.returncode:
        raise BackupError(f"pg_restore cannot read the dump: {listing.stderr.strip()}")
    # Everything but the schema itself, which the transaction recreates empty (the public
    # schema is not in every dump, a named one is).
    entries = "\n".join(line for line in listing.stdout.splitlines() if " SCHEMA - " not in line)
    with tempfile.TemporaryDirectory(prefix="portal-restore-") as folder:
        use_list, script = Path(folder) / "entries.list", Path(folder) / "restore.sql"
        use_list.write_text(entries + "\n", encoding="utf-8")
        made = subprocess.run([tool, "--no-owner", "--no-privileges", f"--use-list={use_list}", f"--file={script}",
                               str(dump)], capture_output=True, text=True, check=False)
        if made.returncode:
            raise BackupError(f"pg_restore failed: {made.stderr.strip()}")
        if not database.is_closed():
            database.close()
        result = subprocess.run([psql, "--quiet", "--no-psqlrc", "--single-transaction", "-v", "ON_ERROR_STOP=1",
                                 f"--dbname={url}", "-c", f'DROP SCHEMA IF EXISTS "{schema}" CASCADE',
                                 "-c", f'CREATE SCHEMA "{schema}"', "-f", str(script)],
                                capture_output=True, text=True, check=False)
    if result.returncode:
        raise BackupError(f"the restore failed and changed nothing: {result.stderr.strip()}")


def _restore_media(source, media_dir, files):
    """Make ``media_dir`` hold exactly the backup's files."""
    media_dir.mkdir(parents=True, exist_ok=True)
    wanted = set(files)
    for name in _media_files(media_dir):
        if name not in wanted:
            (media_dir / name).unlink(missing_ok=True)
    for name in sorted(wanted):
        _copy(source, media_dir, name)
    for folder in sorted((p for p in media_dir.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()
