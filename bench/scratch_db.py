"""A PostgreSQL database of a benchmark's own: created fresh on the server of the given URL
and dropped afterwards, so that a run starts from nothing and leaves nothing behind."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url


def server_url(url: str) -> URL:
    """The URL with the psycopg 3 driver named (the service's driver)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_scratch(url: str, name: str) -> tuple[Engine, str]:
    """(a connection to the server for dropping it later, the new database's URL)."""
    server = server_url(url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return admin, server.set(database=name).render_as_string(hide_password=False)


def drop_scratch(admin: Engine, name: str, keep: bool = False) -> None:
    if not keep:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
