"""Bulk loads on PostgreSQL drop secondary indexes and constraints and rebuild exactly what was there."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from models import Body, Location, System
from models.bulk import without_secondary
from tests.conftest import Database

_SCHEMA = text("""
    SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i
    JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema()
    UNION ALL
    SELECT 'constraint ' || c.conrelid::regclass::text || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
    WHERE n.nspname = current_schema() AND c.contype IN ('p', 'u', 'f')
    ORDER BY 1
""")


def _schema(connection: Connection) -> list[str]:
    if connection.dialect.name == "sqlite":
        found = inspect(connection)
        return sorted(f"{t} {i}" for t in found.get_table_names() for i in found.get_indexes(t))
    return list(connection.scalars(_SCHEMA))


def _location(key: str, body: int = 1) -> dict[str, object]:
    return {"key": key, "body_id": body}


def _body(connection: Connection) -> None:
    connection.execute(insert(System).values(id=1))
    connection.execute(insert(Body).values(id=1, system_id=1, name="Body"))


def test_indexes_and_constraints_are_gone_inside_and_the_same_after(database: Database) -> None:
    with database.engine.connect() as connection, connection.begin() as transaction:
        if database.name == "postgresql":  # a definition with a `%` in it is rebuilt as it was
            connection.exec_driver_sql(
                "CREATE INDEX ix_location_a ON location (key) WHERE key LIKE 'a%'",
                execution_options={"no_parameters": True},
            )
        before = _schema(connection)
        _body(connection)
        with without_secondary(connection):
            inside = _schema(connection)
            connection.execute(insert(Location), [_location("a"), _location("b")])
        assert _schema(connection) == before
        assert connection.scalars(select(Location.key).order_by(Location.key)).all() == ["a", "b"]
        transaction.rollback()
    if database.name == "sqlite":  # nothing to gain there: left alone
        assert inside == before
    else:
        assert any("FOREIGN KEY" in line for line in before)
        assert any("UNIQUE (key)" in line for line in before)
        assert any("ix_location_a" in line and "'a%'" in line for line in before)
        primary = [line for line in before if "PRIMARY KEY" in line or " INDEX pk_" in line or "_pkc ON" in line]
        assert len(primary) == 2 * len([line for line in before if "PRIMARY KEY" in line])
        assert inside == primary


@pytest.mark.parametrize(("rows", "refused"), [
    ([_location("same"), _location("same")], "ALTER TABLE location ADD CONSTRAINT uq_location_key UNIQUE (key)"),
    ([_location("orphan", body=2)], "ALTER TABLE location ADD CONSTRAINT fk_location_body_id_body FOREIGN KEY"),
])  # fmt: skip
def test_rows_loaded_inside_are_checked_when_the_constraints_are_rebuilt(
    database: Database, rows: list[dict[str, object]], refused: str
) -> None:
    if database.name == "sqlite":
        pytest.skip("SQLite keeps its indexes and constraints during a bulk load")
    with database.engine.connect() as connection, connection.begin() as transaction:
        before = _schema(connection)
        _body(connection)
        with pytest.raises(IntegrityError) as error:
            with without_secondary(connection):
                connection.execute(insert(Location), rows)  # accepted here: nothing checks it yet
        assert str(error.value.statement).startswith(refused)
        # Rolled back to before the block, in the caller's transaction still open: schema and rows.
        assert _schema(connection) == before
        assert connection.scalar(select(func.count()).select_from(Location)) == 0
        transaction.rollback()
