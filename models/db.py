"""Engine and session factories, and the schema-version check run at start-up."""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, NullPool, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where a migration is run or its head asked, not with this module: it is 10 MB
# of every server worker, which is handed the head by `serve` (api/served.py) and reads the
# database's revision itself.
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class SchemaNotMigrated(RuntimeError):
    """The database is not at the latest migration: serving it would fail on the first query."""


class DatabaseMissing(SchemaNotMigrated):
    """A SQLite file that does not exist: opening it would create an empty one at a mistyped path."""


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    name = make_url(url).database if url.startswith("sqlite") else None
    return Path(name) if name and name != ":memory:" else None


def make_engine(*, url: str, echo: bool = False, pool_size: int = 5, create: bool = False) -> Engine:
    """`pool_size`: connections kept open, at least one per thread that serves requests (opening
    one per request costs more than most requests). `create`: a SQLite file (and its folder) may
    be made; only migrations do that, everything else refuses a file that is not there."""
    kwargs: dict[str, Any] = {"echo": echo}
    sqlite_file = sqlite_path(url)
    if not url.startswith("sqlite") or sqlite_file:
        kwargs.update(pool_size=pool_size, max_overflow=10)
    if sqlite_file and create:
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    elif sqlite_file and not sqlite_file.exists():
        raise DatabaseMissing(
            f"The database {url} does not exist (is the path right?). `oparl-server migrate` creates it."
        )
    if url.startswith("sqlite"):
        # Routes run in FastAPI's thread pool; each request still uses one connection at a time.
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    # No ping per checkout (a round trip for every request): a connection the database dropped
    # fails its first statement, the request answers 503 (api/outage.py) and SQLAlchemy replaces
    # every connection of the pool; the anonymous reads (api/readers.py) retry once instead.
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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Migrates the database to the latest revision, one migrator at a time: replicas starting
    together (or a host and a container) wait for each other instead of racing on the DDL."""
    from alembic import command

    with migration_lock(url):
        command.upgrade(alembic_config(url), "head")


# pg_advisory_lock key of migrations: any constant this database's other users do not take.
MIGRATION_LOCK_KEY = 0x6F7061726C  # "oparl"


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """PostgreSQL: a session advisory lock (released by the server should this process die);
    SQLite: an exclusive lock on a file beside the database (released by the kernel likewise)."""
    sqlite_file = sqlite_path(url)
    if sqlite_file is not None:
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        with open(sqlite_file.with_name(sqlite_file.name + ".migrate-lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        return
    if not url.startswith("postgresql"):
        yield
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
    finally:
        engine.dispose()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def handed_head() -> str:
    """The head and the migration scripts it was read from, for a process that trusts it (`trusted_head`)."""
    return f"{head_revision()} {_scripts_digest()}"


def trusted_head(handed: str | None) -> str | None:
    """The head in `handed`, if the migration scripts are still those it was read from (else code
    upgraded under a running `serve` would be checked against the old head): else Alembic's."""
    head, _, digest = (handed or "").partition(" ")
    return head if head and digest == _scripts_digest() else head_revision()


def _scripts_digest() -> str:
    scripts = sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    return hashlib.blake2b(b"".join(path.read_bytes() for path in scripts), digest_size=12).hexdigest()


def current_revision(engine: Engine) -> str | None:
    """The database's revision, from Alembic's table (None: not migrated); several (branches Alembic
    would refuse) as one string that is no head."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        values = sorted(str(v) for v in connection.scalars(text("SELECT version_num FROM alembic_version")))
        return ",".join(values) or None


def db_error_reason(exc: DBAPIError) -> str:
    """The driver's message in one line, with a hint where the operator's next step is known."""
    reason = "; ".join(line.strip() for line in str(exc.orig).splitlines() if line.strip())
    if "does not exist" in reason and "database" in reason:
        reason += " (create it first: `createdb -O OWNER NAME`, see the README's PostgreSQL section)"
    return reason


def check_schema(engine: Engine, head: str | None = None) -> None:
    """Refuses a database not at `head` (by default the migrations' head, asked of Alembic)."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        current, head = current_revision(engine), head or head_revision()
    except OperationalError as exc:
        raise SchemaNotMigrated(f"The database {where} cannot be opened: {db_error_reason(exc)}") from exc
    if current != head:
        state = "has no OParl schema" if current is None else f"is at revision {current}, not {head}"
        raise SchemaNotMigrated(f"The database {where} {state}. Run `oparl-server migrate` first.")
