"""The stored reads' own connections (api/readers.py), on both engines: every read sees every
commit before it, and a connection the database dropped costs a retry, not an error."""

from __future__ import annotations

import asyncio
import contextlib
from typing import cast

import psycopg
import pytest
from sqlalchemy import select, update

from api.readers import GROW_INPUT_BUFFER, Compiled, PostgresReader, Reader, Row, SqliteReader, make_reader
from models import ListGeneration
from tests.conftest import Database

GENERATION = select(ListGeneration.value).where(ListGeneration.table_name == "paper")


def _bump(database: Database, by: int) -> None:
    with database.engine.begin() as connection:
        gen = ListGeneration
        connection.execute(update(gen).where(gen.table_name == "paper").values(value=gen.value + by))


def _drop_connections(database: Database, reader: object) -> None:
    """The database closes the reader's connections behind its back (a restart, an idle timeout)."""
    if database.name == "sqlite":
        reader.connection.close()  # type: ignore[attr-defined]
        return
    with database.engine.connect() as connection:
        connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = ''"
        )


def test_reads_see_every_commit_and_survive_a_dropped_connection(database: Database) -> None:
    reader = make_reader(database.engine, 2)
    statement = Compiled.of(GENERATION, database.engine.dialect)

    async def read() -> int:
        return int((await reader.rows(statement, {}))[0][0])

    def connection() -> object:
        return reader.connection if database.name == "sqlite" else reader.idle[-1]  # type: ignore[attr-defined]

    async def scenario() -> tuple[list[int], bool]:
        seen = [await read()]
        _bump(database, 1)
        seen.append(await read())
        dropped = connection()
        _drop_connections(database, reader)
        _bump(database, 1)
        seen.append(await read())
        return seen, connection() is not dropped

    try:
        (first, second, third), replaced = asyncio.run(scenario())
        assert (second, third) == (first + 1, first + 2)
        assert replaced
    finally:
        reader.close()
        _bump(database, -2)


def test_a_postgresql_connection_grows_libpq_input_buffer_first(database: Database) -> None:
    """Its first statement is the long answer that grows libpq's input buffer (api/readers.py)."""
    if database.name != "postgresql":
        pytest.skip("libpq: PostgreSQL only")
    reader = PostgresReader(database.engine, 1)

    async def first_statement() -> tuple[str, int]:
        connection, _ = await reader._take()
        with database.engine.connect() as other:
            query = "SELECT query FROM pg_stat_activity WHERE pid = %(pid)s"
            seen = str(other.exec_driver_sql(query, {"pid": connection.info.backend_pid}).scalar_one())
        answer = len((await (await connection.execute(GROW_INPUT_BUFFER)).fetchall())[0][0])
        await reader._give(connection, reader.epoch)
        return seen, answer

    try:
        seen, answer = asyncio.run(first_statement())
        assert seen == GROW_INPUT_BUFFER
        assert answer >= 64 * 1024  # longer than the 16 KB libpq starts with, several times over
    finally:
        reader.close()


def _idle(reader: Reader) -> list[object]:
    """The idle connections `chunks` reads on."""
    return list(reader.idle) if isinstance(reader, PostgresReader) else list(cast(SqliteReader, reader).streaming)


def test_chunks_are_the_rows_in_order_and_a_stream_closed_early_frees_its_connection(database: Database) -> None:
    """One connection only: a stream that kept it after being closed early would block the next read."""
    reader = make_reader(database.engine, 1)
    statement = Compiled.of(
        select(ListGeneration.table_name).order_by(ListGeneration.table_name), database.engine.dialect
    )

    async def scenario() -> tuple[list[list[Row]], list[Row], list[Row]]:
        whole = await reader.rows(statement, {})
        chunks = [chunk async for chunk in reader.chunks(statement, {}, 5)]
        kept = _idle(reader)
        async with contextlib.aclosing(reader.chunks(statement, {}, 5)) as stream:
            first = await anext(stream)
        again = await asyncio.wait_for(reader.rows(statement, {}), 10)
        # Given back, not dropped (and opened anew): the same connection is idle again.
        assert _idle(reader) == kept
        assert first == whole[:5]
        return chunks, whole, again

    try:
        chunks, whole, again = asyncio.run(scenario())
        assert len(whole) >= 11  # the list generations of every table: three chunks at least
        assert [len(chunk) for chunk in chunks] == [5] * (len(whole) // 5) + (
            [len(whole) % 5] if len(whole) % 5 else []
        )
        assert [row for chunk in chunks for row in chunk] == whole == again
        if isinstance(reader, PostgresReader):
            assert reader.opened == 1
    finally:
        reader.close()


def test_a_postgresql_connection_that_cannot_be_opened_fails_at_once(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a connection that was idle is tried again (the database may have dropped it); a new
    one that fails means the database is away, and a second try would double the wait."""
    if database.name != "postgresql":
        pytest.skip("PostgreSQL's reader only")
    reader = PostgresReader(database.engine, 1)
    tried: list[int] = []

    async def refused(self: PostgresReader) -> None:
        tried.append(1)
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(PostgresReader, "_connect", refused)
    statement = Compiled.of(GENERATION, database.engine.dialect)

    async def first_chunk() -> list[Row]:
        return await anext(reader.chunks(statement, {}, 5))

    for read in (reader.rows(statement, {}), first_chunk()):
        tried.clear()
        with pytest.raises(psycopg.OperationalError):
            asyncio.run(read)
        assert (tried, reader.opened) == ([1], 0)
