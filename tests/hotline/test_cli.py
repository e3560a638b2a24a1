"""The core's operator commands, run as an operator runs them."""

import os
import subprocess
import sys

import pytest

from schemas.enums import Satisfaction
from tests.support.appeals import add_unit, make_repository, new_appeal, utc

HOTLINE = os.path.join(os.path.dirname(sys.executable), "hotline")


def hotline(db_url, *args, env=None):
    environment = dict(os.environ, HOTLINE_DATABASE_URL=db_url, HOTLINE_CONFIG="", **(env or {}))
    return subprocess.run([HOTLINE, *args], env=environment, capture_output=True, text=True,
                          timeout=60)


def test_alerts_list_and_acknowledge(database, db_url):
    repo = make_repository()
    now = utc(2026, 11, 27, 2, 0)

    def dissatisfied(session):
        unit = add_unit(session)
        appeal = repo.create(session, new_appeal(), actor="a", now=now)
        repo.assign(session, appeal.id, unit, actor="a", now=now)
        repo.start(session, appeal.id, actor="a", now=now)
        repo.resolve(session, appeal.id, "已处理", actor="a", now=now)
        repo.rate(session, appeal.id, Satisfaction.DISSATISFIED, actor="callback:1", now=now,
                  note="没解决")
        return appeal.case_number
    case_number = database.write_now(dissatisfied)
    listed = hotline(db_url, "alerts", "list")
    assert listed.returncode == 0, listed.stderr
    assert case_number in listed.stdout and "dissatisfied" in listed.stdout
    assert "1 open alert(s)" in listed.stdout
    alert_id = listed.stdout.split()[0]
    assert hotline(db_url, "alerts", "ack", alert_id).returncode == 0
    assert "0 open alert(s)" in hotline(db_url, "alerts", "list").stdout
    assert hotline(db_url, "alerts", "ack", alert_id).returncode == 1


def test_bad_configuration_value_is_reported_by_name(db_url):
    result = hotline(db_url, "db", "current", env={"HOTLINE_WEB_PORT": "eighty"})
    assert result.returncode == 2
    assert "HOTLINE_WEB_PORT must be an integer, got 'eighty'" in result.stderr


def test_agents_reset_password_deactivate_and_activate(database, db_url):
    from agents.accounts import attempt_login
    from agents.config import AuthConfig

    added = hotline(db_url, "agents", "add", "zhao", "--role", "admin",
                    env={"HOTLINE_NEW_AGENT_PASSWORD": "first-password-1"})
    assert added.returncode == 0, added.stderr
    reset = hotline(db_url, "agents", "reset-password", "zhao")
    assert reset.returncode == 0, reset.stderr
    new_password = reset.stdout.split("(shown once): ")[1].strip()
    now = utc(2026, 11, 28, 2, 0)

    def login(password):
        return database.write_now(attempt_login, "zhao", password, now=now, client="t",
                                  policy=AuthConfig()).ok
    assert not login("first-password-1")
    assert login(new_password)
    # The last active admin is never deactivated, from here either.
    refused = hotline(db_url, "agents", "deactivate", "zhao")
    assert refused.returncode == 2 and "admin" in refused.stderr
    hotline(db_url, "agents", "add", "qian", env={"HOTLINE_NEW_AGENT_PASSWORD": "x" * 12})
    assert hotline(db_url, "agents", "deactivate", "qian").returncode == 0
    assert "inactive" in [line for line in hotline(db_url, "agents", "list").stdout.splitlines()
                          if "qian" in line][0]
    assert hotline(db_url, "agents", "activate", "qian").returncode == 0
    missing = hotline(db_url, "agents", "reset-password", "nobody")
    assert missing.returncode == 1 and "not found: nobody" in missing.stderr


@pytest.mark.parametrize("command", [("alerts", "list"), ("sms", "status", "1"),
                                     ("sms", "send", "13812345678", "测试")])
def test_a_command_on_a_database_not_migrated_says_so_in_one_line(tmp_path, command):
    """The core's commands and a package's alike: not `no such table: sms_messages`."""
    url = f"sqlite:///{tmp_path}/fresh.sqlite3"
    result = hotline(url, *command)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"hotline: the database {url} is not migrated (it has no "
                                     f"tables): run `hotline db upgrade`")
    assert hotline(url, "db", "upgrade").returncode == 0
    assert "not migrated" not in hotline(url, *command).stderr


def test_a_database_behind_the_code_names_its_revision_and_the_upgrade(tmp_path):
    from hotline import db

    url = f"sqlite:///{tmp_path}/old.sqlite3"
    assert hotline(url, "db", "upgrade", "base").returncode == 0
    first = hotline(url, "db", "upgrade", _first_revision()).stdout
    assert first
    result = hotline(url, "sms", "status", "1")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"hotline: the database {url} is at schema revision {_first_revision()}, this version "
        f"needs {db.head_revision()}: run `hotline db upgrade`")


def _first_revision():
    from alembic.script import ScriptDirectory

    from hotline.db import alembic_config

    return list(ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions())[-1].revision


def test_the_command_and_the_service_find_one_database_from_any_directory(tmp_path):
    """A relative SQLite path in HOTLINE_CONFIG is under the project directory, so a command
    run elsewhere opens the service's file instead of creating an empty one of its own."""
    from hotline.config import PROJECT_DIR, load_config

    name = f"var/test-cli-{tmp_path.name}.sqlite3"
    config_file = tmp_path / "hotline.toml"
    config_file.write_text(f'[database]\nurl = "sqlite:///{name}"\n', "utf-8")
    environment = {k: v for k, v in os.environ.items() if k != "HOTLINE_DATABASE_URL"}
    environment["HOTLINE_CONFIG"] = str(config_file)
    try:
        for cwd in (tmp_path, PROJECT_DIR):
            result = subprocess.run([HOTLINE, "db", "upgrade"], env=environment, cwd=cwd,
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            assert f"sqlite:///{PROJECT_DIR / name}" in result.stdout
        assert not (tmp_path / "var").exists()
        assert load_config(config_file, environ={}).database.url == \
            f"sqlite:///{PROJECT_DIR / name}"
    finally:
        for suffix in ("", "-wal", "-shm"):
            (PROJECT_DIR / f"{name}{suffix}").unlink(missing_ok=True)
