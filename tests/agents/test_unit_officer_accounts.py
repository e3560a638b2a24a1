"""Unit officers as accounts: bound to one active unit when added or changed (on the admin
pages and with `hotline agents`), logged in and kept in session only while that unit is
active, their scope the unit."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from agents.accounts import attempt_login, load_principal
from agents.config import AuthConfig
from hotline.agents_admin import AgentAdminError, add_agent, update_agent
from schemas.enums import AgentRole
from schemas.models import Unit
from tests.agents.support import PASSWORD, Browser, create_agent, make_app
from tests.hotline.test_cli import hotline
from tests.support.appeals import add_unit

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)


def add(database, unit_code, role=AgentRole.UNIT_OFFICER, username="ls1"):
    return database.write_now(add_agent, username=username, display_name="兰山民警", role=role,
                              password=PASSWORD, unit_code=unit_code, interface=None,
                              actor="admin", now=NOW)


def deactivate_unit(database, code="PS-LS"):
    database.write_now(lambda s: s.execute(update(Unit).where(Unit.code == code)
                                           .values(active=False)))


def test_a_unit_officer_needs_an_active_unit(database):
    database.write_now(add_unit)
    with pytest.raises(AgentAdminError) as refused:
        add(database, None)
    assert (refused.value.field, refused.value.reason) == ("unit", "unit_required")
    database.write_now(add_unit, "PS-OLD", "旧所")
    deactivate_unit(database, "PS-OLD")
    with pytest.raises(AgentAdminError) as refused:
        add(database, "PS-OLD")
    assert refused.value.reason == "unit_inactive"
    record = add(database, "PS-LS")
    assert (record.role, record.unit_code) == (AgentRole.UNIT_OFFICER, "PS-LS")
    with pytest.raises(AgentAdminError) as refused:
        database.write_now(update_agent, record.id, display_name="", role=AgentRole.UNIT_OFFICER,
                           unit_code=None, interface=None, actor="admin", now=NOW)
    assert refused.value.reason == "unit_required"


def test_a_hall_agent_becomes_a_unit_officer_only_with_a_unit(database):
    database.write_now(add_unit)
    agent = add(database, None, role=AgentRole.AGENT, username="li")
    with pytest.raises(AgentAdminError):
        database.write_now(update_agent, agent.id, display_name="", role=AgentRole.UNIT_OFFICER,
                           unit_code="", interface=None, actor="admin", now=NOW)
    changed = database.write_now(update_agent, agent.id, display_name="",
                                 role=AgentRole.UNIT_OFFICER, unit_code="PS-LS",
                                 interface=None, actor="admin", now=NOW)
    assert changed.role is AgentRole.UNIT_OFFICER


def test_the_scope_is_the_unit_and_ends_with_the_unit(database):
    unit = database.write_now(add_unit)
    officer = add(database, "PS-LS")
    outcome = database.write_now(attempt_login, "ls1", PASSWORD, now=NOW, client="t",
                                 policy=AuthConfig())
    assert outcome.ok and outcome.principal.unit_scope == unit
    assert database.read_now(load_principal, officer.id, NOW.timestamp(), "n1") is not None
    deactivate_unit(database)
    assert database.read_now(load_principal, officer.id, NOW.timestamp(), "n1") is None
    assert not database.write_now(attempt_login, "ls1", PASSWORD, now=NOW, client="t",
                                  policy=AuthConfig()).ok


def test_a_hall_agent_with_a_unit_label_has_no_unit_scope(database):
    database.write_now(add_unit)
    add(database, "PS-LS", role=AgentRole.AGENT, username="li")
    outcome = database.write_now(attempt_login, "li", PASSWORD, now=NOW, client="t",
                                 policy=AuthConfig())
    assert outcome.ok and outcome.principal.unit_scope is None


def test_the_admin_page_adds_a_unit_officer_and_says_in_chinese_when_the_unit_is_missing(
        core, database, pumped_reactor):
    database.write_now(add_unit)
    create_agent(database, "root", AgentRole.ADMIN)
    browser = Browser(make_app(core), pumped_reactor)
    assert browser.login("root").status == 303
    form = browser.get("/admin/agents/new")
    assert "承办单位民警" in form.body
    refused = browser.post("/admin/agents", {"username": "ls1", "display_name": "兰山民警",
                                             "role": "unit_officer", "unit": "",
                                             "interface": "", "password": "a long password"})
    assert refused.status == 422 and "承办单位民警须指定所属单位" in refused.body
    added = browser.post("/admin/agents", {"username": "ls1", "display_name": "兰山民警",
                                           "role": "unit_officer", "unit": "PS-LS",
                                           "interface": "", "password": "a long password"})
    assert added.status == 303
    assert "承办单位民警" in browser.get("/admin/agents").body


def test_the_command_line_adds_a_unit_officer_for_a_unit(database, db_url):
    database.write_now(add_unit)
    env = {"HOTLINE_NEW_AGENT_PASSWORD": "x" * 12}
    refused = hotline(db_url, "agents", "add", "ls1", "--role", "unit_officer", env=env)
    assert refused.returncode != 0 and "unit officer needs a unit" in refused.stderr
    added = hotline(db_url, "agents", "add", "ls1", "--role", "unit_officer", "--unit", "PS-LS",
                    env=env)
    assert added.returncode == 0, added.stderr
    line, = [row for row in hotline(db_url, "agents", "list").stdout.splitlines()
             if "ls1" in row]
    assert "unit_officer" in line and "PS-LS" in line
