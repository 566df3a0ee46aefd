"""The schema exists only through Alembic: migrations match the models and run both ways."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from api.app import create_app
from api.settings import Settings
from models.db import SchemaNotMigrated, alembic_config, check_schema, make_engine
from oparl.catalogue import BY_TABLE
from tests.conftest import _postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        sqlite3.connect(tmp_path / "empty.sqlite3").close()  # there, but empty (a missing file is refused sooner)
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        yield from _postgres_database()


def test_upgrade_downgrade_upgrade_and_no_pending_changes(empty_url: str) -> None:
    config = alembic_config(empty_url)
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
