"""With no HOTLINE_AUTH_SECRET_KEY, the session signing key is generated into a file under
var/ on first start (mode 0600) and reused after, so that a restart logs nobody out; the log
says where it is kept. Through the real settings and a real login over HTTP."""

from __future__ import annotations

import stat

import pytest
from twisted.logger import capturedLogs

from agents.app import WebApp
from agents.config import auth_config
from hotline.config import ConfigError, load_config
from schemas.enums import AgentRole
from tests.agents.support import Browser, create_agent


def settings(environ, project_dir):
    return auth_config(load_config(None, environ=environ).auth, project_dir=project_dir)


def test_the_key_is_generated_into_var_on_first_start_and_reused_after(tmp_path):
    with capturedLogs() as first_start:
        first = settings({}, tmp_path)
    kept = tmp_path / "var" / "secret_key"
    assert kept.read_text("ascii").strip() == first.secret_key
    assert len(first.secret_key) >= 32
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert any(str(kept) in event["log_format"].format(**event) and
               event["log_format"].startswith("{how}") for event in first_start)
    with capturedLogs() as restart:
        again = settings({}, tmp_path)
    assert again.signing_key == first.signing_key
    assert any(event.get("how") == "Using" and event.get("path") == str(kept)
               for event in restart)
    assert [p.name for p in kept.parent.iterdir()] == ["secret_key"]  # no draft left


def test_the_key_file_path_is_configurable(tmp_path):
    elsewhere = tmp_path / "keys" / "web.key"
    config = settings({"HOTLINE_AUTH_SECRET_KEY_FILE": str(elsewhere)}, tmp_path / "checkout")
    assert elsewhere.read_text("ascii").strip() == config.secret_key
    assert not (tmp_path / "checkout").exists()


def test_a_configured_key_wins_and_no_file_is_written(tmp_path):
    config = settings({"HOTLINE_AUTH_SECRET_KEY": "k" * 40}, tmp_path)
    assert config.signing_key == "k" * 40
    assert not (tmp_path / "var").exists()


def test_a_short_key_in_the_file_is_refused_with_the_file_named(tmp_path):
    kept = tmp_path / "var" / "secret_key"
    kept.parent.mkdir()
    kept.write_text("short\n", "ascii")
    with pytest.raises(ConfigError, match="secret_key: the signing key kept there is shorter"):
        settings({}, tmp_path)


def test_a_session_outlives_a_restart_of_the_web_app(core, database, pumped_reactor,
                                                     tmp_path):
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    before = Browser(WebApp(core, settings({}, tmp_path)), pumped_reactor)
    before.login("li")
    restarted = Browser(WebApp(core, settings({}, tmp_path)), pumped_reactor)
    restarted.cookies = dict(before.cookies)
    response = restarted.get("/appeals")
    assert response.status == 200, response.body
