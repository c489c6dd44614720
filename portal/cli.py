"""The ``portal`` command: init, serve, demo, user."""
import getpass
import sys

import click

from . import create_app, db
from .ops import demo
from .models import Login, User, media_ids


def _app():
    """The app from the environment; a bad setting is a one-line error, not a traceback."""
    try:
        return create_app()
    except ValueError as exc:  # ConfigError, a DATABASE_URL we cannot use
        raise click.ClickException(str(exc)) from exc


@click.group()
def main():
    """Run and manage the portal. Configuration comes from PORTAL_* and DATABASE_URL."""


@main.command()
def init():
    """Create the database, or upgrade an existing one to the current schema."""
    _app()
    applied = db.upgrade()
    click.echo(f"schema up to date ({db.schema_version()}); applied: {', '.join(applied) or 'nothing'}")


def _fewer_malloc_arenas(count=2):
    """glibc gives each thread a malloc arena of its own (up to 8 per core), which fragments
    memory under waitress's threads: use two, like MALLOC_ARENA_MAX=2, set before threads start."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c")).mallopt(-8, count)  # M_ARENA_MAX
    except (OSError, AttributeError, TypeError):
        pass  # not glibc


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--demo", "with_demo", is_flag=True, help="Seed demo content when the database is empty.")
def serve(host, port, threads, with_demo):
    """Upgrade the schema and serve the portal with waitress."""
    import waitress

    _fewer_malloc_arenas()
    app = _app()
    db.upgrade()
    if with_demo:
        with app.app_context(), db.database.connection_context():
            if demo.is_empty():
                demo.seed()
                click.echo(f"demo content created: log in as demo1 ... demo10, password {demo.DEMO_PASSWORD}")
    click.echo(f"serving on http://{host}:{port}/")
    waitress.serve(app, host=host, port=port, threads=threads, ident="portal")


@main.command("demo")
@click.option("--users", "count", default=10, show_default=True, type=click.IntRange(1, 100000))
def demo_command(count):
    """Create demo users demo1..demoN (password demo-password) with content of every area."""
    app = _app()
    db.upgrade()
    with app.app_context(), db.database.connection_context():
        users = demo.seed(count)
    click.echo(f"{len(users)} demo users ready; password: {demo.DEMO_PASSWORD}")


@main.group()
def user():
    """Manage accounts."""


def _password_option(value):
    if value:
        return value
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise click.ClickException("the passwords do not match")
    return first


def _validate_password(password):
    if len(password) < 8:
        raise click.ClickException("the password must be at least 8 characters")


@user.command("create")
@click.argument("login_id")
@click.option("--password", help="The password (otherwise asked, or read from standard input).")
@click.option("--nickname", help="Defaults to the login ID.")
@click.option("--admin", is_flag=True, help="Make the user an admin.")
def user_create(login_id, password, nickname, admin):
    """Create an account."""
    import re

    from .models.users import LOGIN_ID_PATTERN

    _app()
    db.upgrade()
    login_id = login_id.lower()
    if not re.match(LOGIN_ID_PATTERN, login_id):
        raise click.ClickException("the login ID must be 3-20 characters of a-z, 0-9 and _")
    password = _password_option(password)
    _validate_password(password)
    with db.database.connection_context():
        if User.by_login_id(login_id):
            raise click.ClickException(f"{login_id} exists already")
        account = User(login_id=login_id, nickname=(nickname or login_id)[:30], is_admin=admin)
        account.set_password(password)
        account.save()
    click.echo(f"created {login_id}{' (admin)' if admin else ''}")


def _get_user(login_id):
    account = User.by_login_id(login_id)
    if account is None:
        raise click.ClickException(f"no user {login_id}")
    return account


@user.command("set-password")
@click.argument("login_id")
@click.option("--password", help="The new password (otherwise asked, or read from standard input).")
def user_set_password(login_id, password):
    """Set a user's password (their sessions end)."""
    _app()
    with db.database.connection_context():
        account = _get_user(login_id)
        password = _password_option(password)
        _validate_password(password)
        account.set_password(password)
        with db.database.atomic():
            account.save()
            Login.end(account.id)
    click.echo(f"password of {account.login_id} changed; their logins have ended")


@user.command("suspend")
@click.argument("login_id")
@click.option("--undo", is_flag=True, help="Reinstate the user.")
def user_suspend(login_id, undo):
    """Suspend a user: they cannot log in and their content is hidden."""
    _app()
    with db.database.connection_context():
        account = _get_user(login_id)
        account.is_suspended = not undo
        with db.database.atomic():
            account.save()
            if not undo:
                Login.end(account.id)
    click.echo(f"{account.login_id} {'reinstated' if undo else 'suspended'}")


@main.group()
def thumbs():
    """Picture variants (thumbnails)."""


@thumbs.command("rebuild")
def thumbs_rebuild():
    """Regenerate every variant of every stored picture, with a progress bar."""
    from . import media

    app = _app()
    with db.database.connection_context():
        ids = media_ids()
    with click.progressbar(length=len(ids), label="rebuilding thumbnails") as bar:
        done = [0]

        def progress(count, total):
            bar.update(count - done[0])
            done[0] = count

        count = media.rebuild(app.config["MEDIA_DIR"], ids, progress=progress)
    click.echo(f"{count} pictures rebuilt")


@main.command("clean-media")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("--min-age", default=3600, show_default=True, type=int,
              help="Leave files younger than this many seconds (an upload may be under way).")
def clean_media(dry_run, min_age):
    """Remove media files that no row points to (left by a crash between file and row)."""
    import shutil

    from . import media

    app = _app()
    with db.database.connection_context():
        known = set(media_ids())
    found = media.orphans(app.config["MEDIA_DIR"], known, min_age=min_age)
    for path in found:
        click.echo(f"{'would remove' if dry_run else 'removing'} {path}")
        if not dry_run:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    click.echo(f"{len(found)} orphans")


@main.command("maintenance")
def maintenance_command():
    """Delete what has outlived its use: old footprints, idle sessions, old login failures."""
    from .ops import maintenance

    app = _app()
    with app.app_context(), db.database.connection_context():
        done = maintenance.run()
    for task, count in done.items():
        click.echo(f"{task}: {count} removed")


@main.command("backup")
@click.argument("path", type=click.Path(file_okay=False))
def backup_command(path):
    """Copy the database and the media folder into the new folder PATH (safe while serving)."""
    from .ops import backup

    app = _app()
    try:
        manifest = backup.backup(app, path)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup written to {path}: {manifest['database']} database (schema {manifest['schema']}), "
               f"{len(manifest['media_files'])} media files")
    for media_id in manifest["missing_media"]:
        click.echo(f"warning: picture {media_id} was deleted while the backup ran; its row points nowhere", err=True)


@main.command("restore")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that already has accounts.")
def restore_command(path, force):
    """Replace the database and media folder with the backup in PATH (stop the server first)."""
    from .ops import backup

    app = _app()
    try:
        applied = backup.restore(app, path, force=force)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored from {path}" + (f"; migrations applied: {', '.join(applied)}" if applied else ""))


if __name__ == "__main__":  # pragma: no cover
    main()
