"""A logged-out session stays logged out: after a restart, and on every process that shares
the database."""

import datetime as dt

import pytest
from sqlalchemy import select

from agents import accounts
from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine
from schemas.enums import AgentRole
from schemas.models import RevokedSession
from tests.agents.support import Browser, create_agent, make_app, make_core

LIFETIME_S = 3600


@pytest.fixture
def app(core, database):
    create_agent(database, "li", AgentRole.AGENT, interface="PJSIP/1001")
    return make_app(core, session_lifetime_s=LIFETIME_S, session_idle_s=600)


@pytest.fixture
def browser(app, pumped_reactor):
    return Browser(app, pumped_reactor)


@pytest.fixture
def restarted(db_url, pumped_reactor, clock):
    """Another process on the same database: its own engine, pool, core and web app (the
    same signing key, as every process of a deployment has)."""
    db = Database(make_engine(DatabaseConfig(url=db_url)), pumped_reactor, threads=2)
    db.startService()
    yield make_app(make_core(db, pumped_reactor, clock), session_lifetime_s=LIFETIME_S,
                   session_idle_s=600)
    db.stopService()


def revoked_nonces(database) -> list[str]:
    return database.read_now(lambda s: sorted(s.scalars(select(RevokedSession.nonce))))


def test_a_logged_out_cookie_is_refused_after_a_restart(browser, restarted, pumped_reactor):
    browser.login("li")
    copied = dict(browser.cookies)
    assert Browser(restarted, pumped_reactor, cookies=dict(copied)).get("/appeals").status == 200
    assert browser.post("/logout").location == "/login"
    replay = Browser(restarted, pumped_reactor, cookies=dict(copied))
    result = replay.get("/appeals")
    assert result.status == 303 and result.location == "/login?next=/appeals"


def test_a_logout_on_one_process_ends_the_session_on_another(app, restarted, pumped_reactor):
    first = Browser(app, pumped_reactor)
    first.login("li")
    on_second = Browser(restarted, pumped_reactor, cookies=dict(first.cookies))
    assert on_second.get("/appeals").status == 200
    assert first.post("/logout").status == 303
    assert on_second.get("/appeals").status == 303
    assert on_second.post("/logout", {"_csrf": first.csrf}).status == 401


def test_a_logout_ends_only_its_own_session(app, restarted, pumped_reactor):
    desk = Browser(app, pumped_reactor)
    desk.login("li")
    laptop = Browser(restarted, pumped_reactor)
    laptop.login("li")
    assert laptop.post("/logout").status == 303
    assert desk.get("/appeals").status == 200
    assert Browser(restarted, pumped_reactor, cookies=dict(desk.cookies)).get(
        "/appeals").status == 200


def test_revoked_sessions_are_forgotten_once_they_would_have_ended(browser, database, clock):
    browser.login("li")
    browser.post("/logout")
    [first] = revoked_nonces(database)
    clock.advance(LIFETIME_S - 1)
    browser.login("li")
    browser.post("/logout")
    assert len(revoked_nonces(database)) == 2  # the first could still be replayed: kept
    clock.advance(2)
    browser.login("li")
    browser.post("/logout")
    nonces = revoked_nonces(database)
    assert len(nonces) == 2 and first not in nonces


def test_revoking_a_session_twice_keeps_one_row(database, clock):
    ends = clock.now() + dt.timedelta(seconds=LIFETIME_S)
    for _ in range(2):
        database.write_now(accounts.record_logout, "li", "nonce-1", expires_at=ends,
                           now=clock.now())
    assert revoked_nonces(database) == ["nonce-1"]
