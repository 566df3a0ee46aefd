"""Alembic environment: migrates the database named in the Alembic config (set by models.db)."""

from alembic import context
from sqlalchemy import Connection

from models import Base
from models.db import make_engine

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
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
