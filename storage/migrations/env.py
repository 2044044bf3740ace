"""Alembic environment: migrates the connection Warta hands over, or the URL in the config."""

from alembic import context
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.db import make_engine
from storage.search import is_search_table

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as fresh:
        _migrate(fresh)
    engine.dispose()


def _migrate(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # The search index is no model: autogenerate must not propose to drop it.
        include_name=lambda name, kind, _parent: not (kind == "table" and is_search_table(name)),
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
