"""Databases for the tests: every database test runs on SQLite and, when
HOTLINE_TEST_PG_URL is set, on PostgreSQL too. CI sets it; an unreachable PostgreSQL is then
an error, never a silent skip."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import argon2.profiles
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hotline import passwords
from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine, upgrade
from tests.support.threads import PumpedReactor

PG_URL = os.environ.get("HOTLINE_TEST_PG_URL")
BACKENDS = ["sqlite", "postgresql"]


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres_only: runs on PostgreSQL alone")
    # Argon2 at its cheapest in this process: the suite hashes thousands of passwords and
    # spent about a minute doing it. Service processes the tests start hash as deployed.
    passwords.use_parameters(argon2.profiles.CHEAPEST)


def _pg_server_url():
    url = make_url(PG_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


@pytest.fixture(scope="session")
def pg_database_url():
    """A fresh PostgreSQL database for this test run, migrated to head, dropped at the end."""
    if not PG_URL:
        pytest.skip("HOTLINE_TEST_PG_URL is not set (CI sets it)")
    server = _pg_server_url()
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"hotline_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        pytest.exit(f"HOTLINE_TEST_PG_URL={PG_URL} is set but PostgreSQL is unreachable: {error}",
                    returncode=3)
    url = server.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(DatabaseConfig(url=url))
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "hotline.sqlite3"
    engine = make_engine(DatabaseConfig(url=f"sqlite:///{path}"))
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _truncate_all(url: str) -> None:
    import schemas

    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in schemas.Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path, sqlite_template) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "hotline.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_database_url")
    _truncate_all(url)
    yield url


@pytest.fixture
def pumped_reactor() -> PumpedReactor:
    return PumpedReactor()


@pytest.fixture
def database(db_url, pumped_reactor):
    db = Database(make_engine(DatabaseConfig(url=db_url)), pumped_reactor, threads=4)
    db.startService()
    yield db
    db.stopService()
