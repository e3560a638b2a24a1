"""Alembic environment: runs against the engine handed over by `hotline.db.upgrade`, or
the URL in the Alembic config (the `alembic` command line)."""

from alembic import context
from sqlalchemy import create_engine

import schemas

config = context.config
target_metadata = schemas.Base.metadata


def render_item(type_, obj, autogen_context):
    """Migrations spell our UTC timestamp type as what it stores, so they import nothing of
    ours and keep working when the model code changes."""
    from schemas.base import UtcDateTime

    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("migrations need an engine (attributes['engine']) or a sqlalchemy.url")
        engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite",
                          compare_type=True, render_item=render_item)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
