"""Bulk loads into PostgreSQL without per-row index and foreign-key upkeep.

A row COPYed into a table with foreign keys fires one lookup per key, and every secondary index
takes one random B-tree insert per row; at a million papers those indexes outgrow the buffer cache
and the load slows to the disk's pace. Building an index once over the loaded table (a sort) and
checking a foreign key once (a join) costs a fraction of that. `without_secondary` drops every
secondary index, unique and foreign-key constraint of the schema's tables for the duration of a
block and recreates them from their own catalog definitions, in the caller's transaction: if the
load fails, the rollback restores the schema as it was. Other sessions wait on the tables'
locks meanwhile, so this is for loads into a database nobody is serving yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

# Constraints (unique first: foreign keys may need their indexes), then plain indexes, per table.
_CONSTRAINTS = text("""
    SELECT c.conrelid::regclass::text, quote_ident(c.conname), pg_get_constraintdef(c.oid)
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
    WHERE n.nspname = current_schema() AND c.contype IN ('u', 'f')
    ORDER BY c.contype DESC, c.conname
""")
_INDEXES = text("""
    SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema() AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
    ORDER BY 1
""")
# Sorting a whole table's keys in memory rather than in runs on disk; never less than the server has.
_SORT_MEMORY = text("""
    SELECT set_config('maintenance_work_mem', '256MB', true)
    WHERE pg_size_bytes(current_setting('maintenance_work_mem')) < pg_size_bytes('256MB')
""")


@contextmanager
def without_secondary(connection: Connection) -> Iterator[None]:
    """On PostgreSQL, secondary indexes and constraints are dropped inside the block and rebuilt after it.

    All of it runs in a savepoint: whatever the caller does after an error, the schema is restored."""
    if connection.dialect.name != "postgresql":
        yield
        return
    with connection.begin_nested():
        constraints = [tuple(row) for row in connection.execute(_CONSTRAINTS)]
        indexes = [tuple(row) for row in connection.execute(_INDEXES)]
        for table, name, _ in reversed(constraints):  # foreign keys before the unique keys they may rely on
            _ddl(connection, f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, _ in indexes:
            _ddl(connection, f"DROP INDEX {name}")
        yield
        connection.execute(_SORT_MEMORY)
        for _, definition in indexes:
            _ddl(connection, definition)
        for table, name, definition in constraints:
            _ddl(connection, f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")


def _ddl(connection: Connection, statement: str) -> None:
    # Catalog text as it is: a `%` in a definition (LIKE 'a%', a modulo) is no parameter marker.
    connection.exec_driver_sql(statement, execution_options={"no_parameters": True})
