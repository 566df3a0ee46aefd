"""Alembic environment: migrates the database named in the Alembic config (set by models.db)."""

from typing import Any

from alembic import context
from sqlalchemy import Connection

from models import Base
from models.db import make_engine
from models.search import ENGINE_OBJECTS, ENGINE_TABLES

config = context.config


def _modelled(_object: Any, name: str | None, kind: str, _reflected: bool, _compared: Any) -> bool:
    """What autogenerate compares: not the search index's engine-specific parts, which the migration
    alone makes (FTS5 tables and their shadow tables; tsvector columns and their GIN indexes)."""
    if kind == "table" and name is not None and name.startswith(ENGINE_TABLES):
        return False
    table = getattr(getattr(_object, "table", None), "name", None)
    return not (kind in ("column", "index") and table == "search_entry" and name in ENGINE_OBJECTS)


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        include_object=_modelled,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = make_engine(url=config.get_main_option("sqlalchemy.url") or "", create=True)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
