"""The schema exists only through Alembic: migrations match the models and run both ways."""

from __future__ import annotations

import sqlite3
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from api.app import create_app
from api.migrating import migrate_to
from api.settings import Settings
from models import utcnow
from models.db import SchemaNotMigrated, alembic_config, check_schema, head_revision, make_engine
from oparl.catalogue import BY_TABLE
from oparl.content import ContentStore
from oparl.load.loader import Loader
from oparl.records import read_directory
from oparl.snapshot import Snapshots
from oparl.urls import UrlBuilder
from oparl.write import commit
from tests.conftest import BASE_URL, LUEBECK, _postgres_database

HAS_LZ4 = "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        sqlite3.connect(tmp_path / "empty.sqlite3").close()  # there, but empty (a missing file is refused sooner)
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        yield from _postgres_database()


def test_upgrade_downgrade_upgrade_and_no_pending_changes(empty_url: str) -> None:
    config = alembic_config(empty_url)
    # Alembic's Config prints to the sys.stdout of when alembic.config was imported: in a test
    # with capsys (tests/test_cli.py runs migrate), a stream closed since.
    config.stdout = sys.stdout
    command.upgrade(config, "head")
    command.check(config)  # raises if the models differ from what the migrations build
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    engine = make_engine(url=empty_url)
    check_schema(engine)
    engine.dispose()


def test_an_unmigrated_database_is_named_not_queried(empty_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=empty_url, data_dir=tmp_path)
    with pytest.raises(SchemaNotMigrated, match=r"has no OParl schema\. Run `oparl-server migrate` first\."):
        with TestClient(create_app(settings)):
            pass


def test_every_object_id_and_every_reference_to_one_is_64_bit(empty_url: str) -> None:
    """Harvested ids are 52-bit: BIGINT on PostgreSQL; SQLite's INTEGER is 64-bit, and the only
    spelling that keeps a primary key the rowid."""
    command.upgrade(alembic_config(empty_url), "head")
    engine = make_engine(url=empty_url)
    objects = set(BY_TABLE)
    inspector = inspect(engine)
    holding_ids: dict[str, str] = {}
    for table in inspector.get_table_names():
        types = {c["name"]: str(c["type"]) for c in inspector.get_columns(table)}
        if table in objects:
            holding_ids[f"{table}.id"] = types["id"]
        for key in inspector.get_foreign_keys(table):
            if key["referred_table"] in objects:
                holding_ids.update((f"{table}.{c}", types[c]) for c in key["constrained_columns"])
    engine.dispose()
    expected = "BIGINT" if empty_url.startswith("postgresql") else "INTEGER"
    assert len(holding_ids) == 12 + 29 + 2 * 12  # ids, references in object tables, link table columns
    assert dict.fromkeys(holding_ids, expected) == holding_ids


def test_postgresql_renderings_are_written_anew_with_lz4_and_keep_their_bytes() -> None:
    """Issue 18: LZ4 cost a page of papers' renderings 60 % of pglz's backend CPU. The migration
    sets it on every object table and writes each pglz rendering anew, changing nothing else of
    the row; renderings written later take LZ4 from the column."""
    url = next(postgres := _postgres_database())
    engine = make_engine(url=url)
    try:
        command.upgrade(alembic_config(url), "a1b2c3d40012")
        with engine.connect() as connection:
            if connection.exec_driver_sql(HAS_LZ4).first() is None:
                pytest.skip("this PostgreSQL has no LZ4 (built without it, or before 14): the migration keeps pglz")
        with Session(engine) as session:
            loader = Loader(session, urls=UrlBuilder(BASE_URL), store=ContentStore(), base_dir=LUEBECK)
            loader.load(read_directory(LUEBECK))
            commit(session, loader, utcnow, Snapshots(UrlBuilder(BASE_URL), ZoneInfo("Europe/Berlin")))
        with engine.begin() as connection:  # Lübeck's renderings are too small to be compressed: some made bigger
            for table in ("paper", "meeting"):
                connection.exec_driver_sql(f"UPDATE {table} SET rendered = rendered || rendered || rendered")
        rows = (
            "SELECT id, rendered, rendered_key, modified, revision, pg_column_compression(rendered) FROM {} ORDER BY id"
        )
        with engine.connect() as connection:
            before = {table: connection.exec_driver_sql(rows.format(table)).all() for table in BY_TABLE}
        methods = Counter(row[-1] for table in before.values() for row in table)
        assert methods["pglz"] >= 10, methods  # what the earlier schema wrote
        assert "lz4" not in methods

        assert migrate_to(url) == head_revision()
        compression = "SELECT attrelid::regclass::text, attcompression FROM pg_attribute WHERE attname = 'rendered'"
        with engine.connect() as connection:
            after = {table: connection.exec_driver_sql(rows.format(table)).all() for table in BY_TABLE}
            columns = connection.exec_driver_sql(compression).all()
        assert dict(columns) == dict.fromkeys(BY_TABLE, "l")
        for table, was in before.items():
            assert [row[:-1] for row in after[table]] == [row[:-1] for row in was], table
            assert [row[-1] for row in after[table]] == [{"pglz": "lz4"}.get(row[-1], row[-1]) for row in was]

        assert migrate_to(url, "a1b2c3d40012") == "a1b2c3d40012"  # back, for an earlier version
        with engine.connect() as connection:
            assert dict(connection.exec_driver_sql(compression).all()) == dict.fromkeys(BY_TABLE, "")
    finally:
        engine.dispose()
        next(postgres, None)  # drops the database
