"""Configuration: one module reads the environment; secrets stay private."""
import os
import re
import stat
from pathlib import Path

import pytest

from portal.config import ConfigError, load_config

PACKAGE = Path(__file__).parent.parent / "portal"


def test_only_config_reads_the_environment():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "config.py":
            continue
        if re.search(r"os\.environ|os\.getenv|getenv\(", path.read_text(encoding="utf-8")):
            offenders.append(str(path))
    assert not offenders


def test_secret_key_is_generated_once_with_mode_0600(tmp_path):
    first = load_config({"DATA_DIR": str(tmp_path)}, environ={})
    second = load_config({"DATA_DIR": str(tmp_path)}, environ={})
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) >= 32
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_environment_values(tmp_path):
    config = load_config(environ={
        "PORTAL_DATA_DIR": str(tmp_path), "PORTAL_SECRET_KEY": "k", "PORTAL_REGISTRATION": "invite",
        "PORTAL_DEFAULT_LANGUAGE": "en", "PORTAL_SITE_NAME": "Club", "PORTAL_SECURE_COOKIES": "1",
        "DATABASE_URL": "postgresql://u@127.0.0.1/db"})
    assert config["SECRET_KEY"] == "k" and config["REGISTRATION"] == "invite"
    assert config["DEFAULT_LANGUAGE"] == "en" and config["SITE_NAME"] == "Club"
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["DATABASE_URL"].startswith("postgresql://")
    assert load_config(environ={"PORTAL_DATA_DIR": str(tmp_path), "PORTAL_DB_POOL_SIZE": "12"})["DB_POOL_SIZE"] == 12
    default = load_config(environ={"PORTAL_DATA_DIR": str(tmp_path)})
    assert default["DATABASE_URL"] == "sqlite:///" + str(tmp_path / "portal.db")
    assert not default["SESSION_COOKIE_SECURE"]


@pytest.mark.parametrize("var,value", [("PORTAL_REGISTRATION", "everyone"),
                                       ("PORTAL_DEFAULT_LANGUAGE", "fr"),
                                       ("PORTAL_PROXY_COUNT", "many"),
                                       ("PORTAL_DB_POOL_SIZE", "0"), ("PORTAL_DB_POOL_SIZE", "lots")])
def test_bad_values_are_refused(tmp_path, var, value):
    with pytest.raises(ConfigError):
        load_config(environ={"PORTAL_DATA_DIR": str(tmp_path), var: value})


def test_session_cookie_flags(client, alice):
    from helpers import login

    response = login(client)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pool_size_reaches_the_database(app_config):
    from portal import create_app, db

    create_app({**app_config, "DB_POOL_SIZE": 3})
    assert db.database.obj._max_connections == 3
