"""Test databases on SQLite and PostgreSQL, migrated by Alembic; every test rolls back to a savepoint.

PostgreSQL is taken from OPARL_TEST_POSTGRES_URL (default: the project's machines' server on
127.0.0.1:5432, database `test`); each run creates its own database there and drops it after.
Where no server answers, the PostgreSQL variants are skipped with the reason shown in the summary.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from api.app import create_app
from api.auth import create_token, revoke_token
from api.caching import generations
from api.deps import get_session, get_write_session
from api.readers import SessionReader
from api.settings import Settings
from models import utcnow
from models.db import alembic_config, make_engine
from oparl.content import ContentStore
from oparl.load.changelog import LoadReport
from oparl.load.loader import Loader
from oparl.records import read_directory
from oparl.urls import UrlBuilder
from oparl.write import Clock, commit

BASE_URL = "https://oparl.example.org"
PG_ADMIN_URL = os.environ.get("OPARL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
LUEBECK = Path(__file__).resolve().parent.parent / "fixtures" / "luebeck"


@dataclass
class Database:
    name: str
    url: str
    engine: Engine


def _postgres_database() -> Iterator[str]:
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {str(exc).strip()[:120]}")
    name = f"oparl_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield (PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}")
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(kind: str, folder: Path, name: str) -> Iterator[Engine]:
    """A migrated database of its own on `kind` ("sqlite" or "postgresql"), dropped after the block:
    for tests that need a second database beside `database` (a harvest's mirror)."""
    urls = iter([f"sqlite:///{folder / name}.sqlite3"]) if kind == "sqlite" else _postgres_database()
    url = next(urls)
    try:
        command.upgrade(alembic_config(url), "head")
        engine = make_engine(url=url)
        try:
            yield engine
        finally:
            engine.dispose()
    finally:
        next(urls, None)  # drops the PostgreSQL database


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"])
    else:
        urls = _postgres_database()
    url = next(urls)
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url=url)
    yield Database(request.param, url, engine)
    engine.dispose()
    next(urls, None)  # drops the PostgreSQL database


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    """A session whose every commit stays inside one outer transaction, rolled back after the test."""
    with database.engine.connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
            yield s
        transaction.rollback()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(database: Database, data_dir: Path) -> Settings:
    # No rate limits where a test is not about them (tests/ops sets its own).
    return Settings(database_url=database.url, public_base_url=BASE_URL, data_dir=data_dir, rate_limit="",
                    rate_limit_token="")  # fmt: skip


@pytest.fixture
def urls() -> UrlBuilder:
    return UrlBuilder(BASE_URL)


@pytest.fixture
def store() -> ContentStore:
    return ContentStore()


class FakeClock:
    """The server's clock in tests: it stands still until a test moves it."""

    def __init__(self) -> None:
        self.now = dt.datetime(2024, 6, 3, 8, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float = 60) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tokens(session: Session) -> dict[str, str]:
    """Authorization headers for a writer, a reader of non-public records, both, and a revoked token."""
    scopes = {"writer": ["write"], "insider": ["read-nonpublic"], "both": ["write", "read-nonpublic"],
              "revoked": ["write", "read-nonpublic"]}  # fmt: skip
    headers = {}
    for name, granted in scopes.items():
        row, secret = create_token(session, name, granted)
        headers[name] = f"Bearer {secret}"
        if name == "revoked":
            revoke_token(session, row.id)
    session.flush()
    return headers


@pytest.fixture
def client(settings: Settings, session: Session, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock)
    app.dependency_overrides[get_session] = lambda: session
    app.dependency_overrides[get_write_session] = lambda: session
    with TestClient(app, base_url="http://testserver") as test_client:
        app.state.read_generations = lambda tables: generations(session, tables)[0]
        app.state.stored_reader = SessionReader(session)
        yield test_client


def write(
    session: Session,
    records: list[Any],
    *,
    store: ContentStore,
    clock: Clock = utcnow,
    base_dir: Path = LUEBECK,
    replace: bool = True,
) -> LoadReport:
    """Records through the one write path, committed (to the test's savepoint)."""
    loader = Loader(session, urls=UrlBuilder(BASE_URL), store=store, base_dir=base_dir)
    loader.load(records, replace=replace)
    return commit(session, loader, clock)


@pytest.fixture
def luebeck(session: Session, store: ContentStore) -> None:
    write(session, read_directory(LUEBECK), store=store)


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: object) -> None:
        self.count += 1


@pytest.fixture
def count_queries(session: Session) -> Iterator[QueryCounter]:
    counter = QueryCounter()
    connection = session.connection()
    event.listen(connection, "before_cursor_execute", counter)
    yield counter
    event.remove(connection, "before_cursor_execute", counter)
