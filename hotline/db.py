"""Database access: the engine, the thread pool that runs blocking sessions, migrations.

The reactor thread never touches the database. Every unit of work is a plain function
`work(session, *args)` that `Database.write` / `Database.read` run in a dedicated thread pool;
the caller gets a Deferred with the function's result, which must be plain data (frozen
dataclasses), never ORM objects.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from twisted.application import service
from twisted.internet import defer
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from hotline.config import DatabaseConfig

T = TypeVar("T")
P = ParamSpec("P")

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "schemas" / "migrations"


def make_engine(config: DatabaseConfig) -> Engine:
    """An engine for the configured URL; SQLite gets WAL, a busy timeout and foreign keys."""
    url = make_url(config.url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=config.echo,
                               connect_args={"check_same_thread": False},
                               pool_size=config.pool_threads, max_overflow=4)
        _tune_sqlite(engine, config.sqlite_busy_timeout_ms)
        return engine
    return create_engine(url, echo=config.echo, pool_size=config.pool_threads,
                         max_overflow=4, pool_pre_ping=True)


def _tune_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL lets readers run beside the one writer; writers begin IMMEDIATE so that a reader
    that later writes cannot fail with SQLITE_BUSY instead of waiting its turn."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database(service.Service):
    """Owns the engine's thread pool; runs units of work there and returns Deferreds."""

    log = Logger()

    def __init__(self, engine: Engine, reactor: IReactorFromThreads | None,
                 threads: int = 8) -> None:
        """`reactor` None: a command-line tool's database, used through `write_now` and
        `read_now` only."""
        self.engine = engine
        self._reactor = reactor
        self._pool = ThreadPool(minthreads=1, maxthreads=threads, name="hotline-db")
        writer = engine.execution_options(sqlite_begin="IMMEDIATE") \
            if engine.dialect.name == "sqlite" else engine
        self._write_sessions = sessionmaker(writer, expire_on_commit=False)
        self._read_sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def startService(self) -> None:
        super().startService()
        self._pool.start()

    def stopService(self) -> defer.Deferred | None:
        super().stopService()
        self._pool.stop()
        self.engine.dispose()
        return None

    def write(self, work: Callable[Concatenate[Session, P], T], *args: P.args,
              **kwargs: P.kwargs) -> defer.Deferred[T]:
        """Run `work(session, ...)` in one transaction that commits when it returns."""
        def in_pool() -> T:
            return self.write_now(work, *args, **kwargs)

        return deferToThreadPool(self._pool_reactor(), self._pool, in_pool)

    def read(self, work: Callable[Concatenate[Session, P], T], *args: P.args,
             **kwargs: P.kwargs) -> defer.Deferred[T]:
        """Run `work(session, ...)` in a transaction that is rolled back: reads only."""
        def in_pool() -> T:
            return self.read_now(work, *args, **kwargs)

        return deferToThreadPool(self._pool_reactor(), self._pool, in_pool)

    def _pool_reactor(self) -> IReactorFromThreads:
        if self._reactor is None:
            raise RuntimeError("this Database has no reactor: use write_now/read_now")
        return self._reactor

    def write_now(self, work: Callable[Concatenate[Session, P], T], *args: P.args,
                  **kwargs: P.kwargs) -> T:
        """The blocking form of `write`, for command-line tools and the pool's threads."""
        with self._write_sessions.begin() as session:
            return work(session, *args, **kwargs)

    def read_now(self, work: Callable[Concatenate[Session, P], T], *args: P.args,
                 **kwargs: P.kwargs) -> T:
        with self._read_sessions() as session:
            try:
                return work(session, *args, **kwargs)
            finally:
                session.rollback()


# Migrations --------------------------------------------------------------------------------

def alembic_config(engine_or_url: Engine | str):
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if isinstance(engine_or_url, str):
        config.set_main_option("sqlalchemy.url", engine_or_url.replace("%", "%%"))
    else:
        config.attributes["engine"] = engine_or_url
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(session: Session) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(session.connection()).get_current_revision()


def ping(session: Session) -> None:
    session.execute(text("SELECT 1"))
