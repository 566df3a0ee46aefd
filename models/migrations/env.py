"""Alembic environment: migrates the database named in the Alembic config (set by models.db)."""

from alembic import context
from sqlalchemy import Connection

from models import Base
from models.db import make_engine

config = context.config

# The search index's engine-specific parts are made by raw SQL in their migration
# (2026-12-06_search_index.py): SQLite's FTS5 tables and their shadow tables, PostgreSQL's tsvector
# columns and GIN indexes on search_entry. No model describes them, so autogenerate leaves them be.
ENGINE_OWNED_TABLES = ("search_",)  # search_fts, search_title_fts and their shadows
ENGINE_OWNED_IN = "search_entry"


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    if not reflected or compare_to is not None:
        return True
    if type_ == "table":
        return not (name or "").startswith(ENGINE_OWNED_TABLES)
    table = getattr(getattr(obj, "table", None), "name", None)
    return table != ENGINE_OWNED_IN


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        include_object=include_object,
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
