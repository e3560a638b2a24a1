import json

import pytest
from alembic import command
from twisted.internet.task import Clock
from twisted.web.test.requesthelper import DummyRequest

from agents.health import HealthResource
from hotline import db as database_module
from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine, upgrade


def get(resource, pumped_reactor):
    request = DummyRequest([b""])
    done = request.notifyFinish()
    resource.render_GET(request)
    pumped_reactor.wait(done)
    return request.responseCode or 200, json.loads(b"".join(request.written))


def test_healthz_reports_database_up_and_migrated(database, pumped_reactor):
    code, body = get(HealthResource(database), pumped_reactor)
    assert code == 200
    assert body["status"] == "ok"
    assert body["database"] == {"up": True, "head": database_module.head_revision(),
                                "revision": database_module.head_revision(), "migrated": True}
    assert body["version"]
    assert body["links"] == {}  # no clock, no links: nothing more to say


def test_healthz_reports_each_link_up_or_down_with_since_when(database, pumped_reactor):
    clock = Clock()
    clock.advance(1_764_300_000)  # 2025-11-28T03:20:00Z
    links = {"ami": lambda: (False, 1_764_299_000.0),
             "smsc:cmcc": lambda: (True, 1_764_290_000.0)}
    health = HealthResource(database, links=links, clock=clock)
    code, body = get(health, pumped_reactor)
    assert code == 200  # a down AMI link is reported, but calls are still answered
    assert body["status"] == "ok"
    assert body["links"] == {
        "database": {"up": True, "since": "2025-11-28T03:20:00+00:00"},
        "ami": {"up": False, "since": "2025-11-28T03:03:20+00:00"},
        "smsc:cmcc": {"up": True, "since": "2025-11-28T00:33:20+00:00"},
    }
    clock.advance(60)
    code, body = get(health, pumped_reactor)
    assert body["links"]["database"]["since"] == "2025-11-28T03:20:00+00:00"  # still up


def test_healthz_links_registered_after_it_was_built_are_reported(database, pumped_reactor):
    links = {}
    health = HealthResource(database, links=links, clock=Clock())
    links["smsc:simulator"] = lambda: (False, 0.0)
    code, body = get(health, pumped_reactor)
    assert body["links"]["smsc:simulator"] == {"up": False, "since": "1970-01-01T00:00:00+00:00"}


def test_healthz_is_503_when_migrations_are_behind(database, pumped_reactor):
    command.downgrade(database_module.alembic_config(database.engine), "base")
    try:
        code, body = get(HealthResource(database), pumped_reactor)
    finally:
        upgrade(database.engine)
    assert code == 503
    assert body["database"]["up"] is True and body["database"]["migrated"] is False


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_healthz_is_503_when_the_database_is_unreachable(pumped_reactor, db_url):
    db = Database(make_engine(DatabaseConfig(url="postgresql+psycopg://nobody@127.0.0.1:9/none")),
                  pumped_reactor, threads=1)
    db.startService()
    try:
        code, body = get(HealthResource(db), pumped_reactor)
    finally:
        db.stopService()
    assert code == 503
    assert body["database"]["up"] is False
    assert body["database"]["error"] == "OperationalError"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_healthz_database_link_is_down_since_the_check_that_saw_it_fail(pumped_reactor, db_url):
    db = Database(make_engine(DatabaseConfig(url="postgresql+psycopg://nobody@127.0.0.1:9/none")),
                  pumped_reactor, threads=1)
    db.startService()
    clock = Clock()
    clock.advance(3600)
    try:
        code, body = get(HealthResource(db, links={"ami": lambda: (True, 0.0)}, clock=clock),
                         pumped_reactor)
    finally:
        db.stopService()
    assert code == 503  # the database alone decides
    assert body["links"]["database"] == {"up": False, "since": "1970-01-01T01:00:00+00:00"}
    assert body["links"]["ami"]["up"] is True


def test_healthz_warns_of_a_deadline_year_without_data_until_its_list_is_loaded(
        database, db_url, pumped_reactor, tmp_path, monkeypatch, capsys):
    import datetime as dt

    from twisted.logger import capturedLogs

    from hotline.calendar_store import REFRESH_INTERVAL_S, CalendarRefresher
    from hotline.workdays import WorkCalendar
    from tests.agents.support import SettableClock
    from tests.support.appeals import SHANGHAI
    from tests.support.holidays import run_hotline, write_list

    calendar, timers = WorkCalendar(), Clock()
    # Sun 20 Dec 2026: fifteen working days from today end in January 2027.
    wall = SettableClock(dt.datetime(2026, 12, 20, 2, 0, tzinfo=dt.timezone.utc))
    refresher = CalendarRefresher(calendar, database, timers=timers, wall=wall, zone=SHANGHAI,
                                  horizon_days=15)
    health = HealthResource(database, calendar=calendar)
    with capturedLogs() as events:
        refresher.startService()
        pumped_reactor.pump(lambda: calendar.unknown_years() == (2027,))
    try:
        assert any(e.get("year") == 2027 and "no data for" in e["log_format"] for e in events)
        code, body = get(health, pumped_reactor)
        assert code == 200 and body["status"] == "ok"  # a warning, not an outage
        assert body["calendar"] == {"loaded_years": [], "unknown_years": [2027]}
        [warning] = body["warnings"]
        assert "2027" in warning and "hotline calendar load" in warning

        code, _, err = run_hotline(monkeypatch, capsys, db_url, "calendar", "load",
                                   str(write_list(tmp_path)))
        assert code == 0, err
        timers.advance(REFRESH_INTERVAL_S)
        pumped_reactor.pump(lambda: calendar.loaded_years == (2027,))
        code, body = get(health, pumped_reactor)
        assert code == 200
        assert body["calendar"] == {"loaded_years": [2027], "unknown_years": []}
        assert body["warnings"] == []
    finally:
        stopping = refresher.stopService()
        if stopping is not None:
            pumped_reactor.wait(stopping)
