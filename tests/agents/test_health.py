import json

import pytest
from alembic import command
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
