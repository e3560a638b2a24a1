"""Migrations from empty to head on each backend, and the models match them."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import schemas
from hotline import db as database
from hotline.config import DatabaseConfig
from hotline.db import make_engine, upgrade


def test_database_is_at_head_and_models_match_the_migrations(db_url):
    engine = create_engine(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert context.get_current_revision() == database.head_revision()
        assert compare_metadata(context, schemas.Base.metadata) == []
    engine.dispose()


def test_upgrade_from_empty_creates_every_table(tmp_path):
    engine = make_engine(DatabaseConfig(url=f"sqlite:///{tmp_path}/fresh.sqlite3"))
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(schemas.Base.metadata.tables) <= tables
    upgrade(engine)  # a second run is a no-op
    engine.dispose()


def test_downgrade_to_base_and_back(db_url):
    from alembic import command

    engine = make_engine(DatabaseConfig(url=db_url))
    command.downgrade(database.alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM appeals")).scalar() == 0
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = make_engine(DatabaseConfig(url=f"sqlite:///{tmp_path}/wal.sqlite3",
                                        sqlite_busy_timeout_ms=1234))
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
