"""Engine and session factories, and the schema-version check run at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(*, url: str, echo: bool = False, pool_size: int = 5) -> Engine:
    """`pool_size`: connections kept open, at least one per thread that serves requests (opening
    one per request costs more than most requests)."""
    kwargs: dict[str, Any] = {"echo": echo}
    sqlite_file = make_url(url).database if url.startswith("sqlite") else None
    if not url.startswith("sqlite") or (sqlite_file and sqlite_file != ":memory:"):
        kwargs.update(pool_size=pool_size, max_overflow=10)
    if sqlite_file and sqlite_file != ":memory:":
        Path(sqlite_file).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        # Routes run in FastAPI's thread pool; each request still uses one connection at a time.
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(connection: Any) -> None:
    # Writers take the write lock at once (and wait for it up to the busy timeout): a deferred
    # transaction upgrading to a writer later would fail with "database is locked" instead.
    immediate = connection.get_execution_options().get("sqlite_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINTs; SQLAlchemy emits BEGIN itself instead
    # (the documented recipe), so nested transactions and rollbacks behave as on PostgreSQL.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class SchemaNotMigrated(RuntimeError):
    """The database is not at the latest migration: serving it would fail on the first query."""


def check_schema(engine: Engine) -> None:
    where = engine.url.render_as_string(hide_password=True)
    try:
        current, head = current_revision(engine), head_revision()
    except OperationalError as exc:
        raise SchemaNotMigrated(f"The database {where} cannot be opened: {exc.orig}") from exc
    if current != head:
        state = "has no OParl schema" if current is None else f"is at revision {current}, not {head}"
        raise SchemaNotMigrated(f"The database {where} {state}. Run `oparl-server migrate` first.")
