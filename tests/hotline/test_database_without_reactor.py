"""A command-line tool's `Database` has no reactor: it runs work blocking, and says so when
asked to run work in its pool instead of failing somewhere in a pool thread."""

import pytest
from sqlalchemy import text

from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine


def test_a_database_without_a_reactor_runs_blocking_work_and_refuses_pool_work(tmp_path):
    db = Database(make_engine(DatabaseConfig(url=f"sqlite:///{tmp_path / 'cli.sqlite3'}")),
                  reactor=None, threads=1)
    try:
        assert db.read_now(lambda session, n: session.scalar(text("SELECT :n"), {"n": n}), 7) == 7
        with pytest.raises(RuntimeError, match="no reactor: use write_now/read_now"):
            db.write(lambda session: None)
        with pytest.raises(RuntimeError, match="no reactor"):
            db.read(lambda session: None)
    finally:
        db.engine.dispose()
