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
