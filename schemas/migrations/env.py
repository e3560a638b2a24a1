"""Alembic environment: runs against the engine handed over by `hotline.db.upgrade`, or
the URL in the Alembic config (the `alembic` command line)."""

from alembic import context
from sqlalchemy import create_engine

import schemas

config = context.config
target_metadata = schemas.Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite",
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
