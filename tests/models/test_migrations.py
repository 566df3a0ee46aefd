"""The schema exists only through Alembic: migrations match the models and run both ways."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from models.db import SchemaNotMigrated, alembic_config, check_schema, make_engine
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
