"""Plain database reads for the event loop: a statement compiled once, run on a connection of its own.

The cache-missing anonymous reads (api/stored_reads.py) need one statement each and no ORM: an
ORM Session, the pool's ping and the thread hop cost more than the statement. On PostgreSQL they
run on psycopg's async connections (the event loop serves other requests meanwhile); on SQLite on
one plain connection, blocking the loop for the statement (a thread hop costs more than a read).
Every connection is in autocommit: each statement sees every commit before it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import psycopg
from anyio import to_thread
from psycopg.pq import TransactionStatus
from sqlalchemy import Dialect, Engine, Select
from sqlalchemy.orm import Session

Row = tuple[Any, ...]

# libpq reads at most its input buffer's free space per call (16 KB at first), and grows the buffer
# only when a message leaves it too little room, never shrinking it; psycopg's async wait makes
# each further read a trip through the event loop. A page of 100 (350 KB in 101 rows) took about
# 22 such trips: one long answer at connect grows the buffer for the connection's life (reading a
# page: 1.4-2.0 ms of the worker's CPU before, 0.6-0.8 after, one client; bench/RESULTS.md, issue 18).
GROW_INPUT_BUFFER = "SELECT repeat(' ', 131072)"


@dataclass(frozen=True)
class Compiled:
    """A SELECT in the driver's own SQL, with what turns named values into its parameters and its
    first row's values into Python ones (the columns' types: SQLite's datetimes are text)."""

    sql: str
    names: tuple[str, ...] | None  # positional drivers: the order of the parameters
    binds: Mapping[str, Callable[[Any], Any] | None]
    fixed: dict[str, Any]  # the values written into the statement (literals)
    results: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def of(cls, statement: Select[Any], dialect: Dialect) -> Compiled:
        compiled = statement.compile(dialect=dialect)
        binds = {name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in compiled.binds.items()}
        fixed = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in statement.selected_columns
        )
        names = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        return cls(compiled.string, names, binds, fixed, results)

    def parameters(self, values: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        converted = {}
        for name, value in {**self.fixed, **values}.items():
            process = self.binds.get(name)
            converted[name] = value if process is None else process(value)
        return converted if self.names is None else tuple(converted[name] for name in self.names)

    def head(self, row: Row) -> Row:
        """A row with every column converted (the others are used as the driver gives them)."""
        return tuple(
            v if process is None or v is None else process(v) for v, process in zip(row, self.results, strict=True)
        )


class Reader(Protocol):
    dialect: Dialect

    async def rows(self, statement: Compiled, values: dict[str, Any], *, heavy: bool = False) -> list[Row]:
        """The statement's rows; `heavy`: it may take long (a scan), so not on the event loop
        where the driver would block it."""
        ...

    def chunks(
        self, statement: Compiled, values: dict[str, Any], size: int, *, heavy: bool = False
    ) -> AsyncGenerator[list[Row], None]:
        """The statement's rows in lists of up to `size` (none when there are none), read as they
        are taken where the driver can: a harvester's page of 1000 meetings is 10 MB of rows.
        Close it (`contextlib.aclosing`) when stopping early, and read nothing else meanwhile."""
        ...

    def close(self) -> None: ...


async def in_chunks(rows: Awaitable[list[Row]], size: int) -> AsyncGenerator[list[Row], None]:
    """Rows read whole, in the lists `chunks` gives (none when there are none)."""
    read = await rows
    for start in range(0, len(read), size):
        yield read[start : start + size]


class SqliteReader:
    """One plain connection, taken from the engine (its pragmas applied) and kept outside the pool;
    streams (`chunks`) take others, kept outside it too."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.dialect = engine, engine.dialect
        self.connection: Any = None
        self.streaming: list[Any] = []  # idle connections for streams

    async def rows(self, statement: Compiled, values: dict[str, Any], *, heavy: bool = False) -> list[Row]:
        if heavy:  # not on the event loop: in a thread, on a pooled connection
            return await to_thread.run_sync(self._pooled, statement, values)
        for attempt in (1, 2):  # a connection lost since the last read: once more on a new one
            try:
                if self.connection is None:
                    self.connection = self._detached()
                cursor = self.connection.execute(statement.sql, statement.parameters(values))
                return list(cursor.fetchall())
            except Exception:
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def chunks(
        self, statement: Compiled, values: dict[str, Any], size: int, *, heavy: bool = False
    ) -> AsyncGenerator[list[Row], None]:
        if heavy:  # a scan: whole, in a thread (a thread per chunk would cost more than the rows)
            async for chunk in in_chunks(self.rows(statement, values, heavy=True), size):
                yield chunk
            return
        # Not the shared connection: a statement left open holds its read snapshot, which that
        # connection's other reads would share, should its reader ever wait between chunks.
        connection = self.streaming.pop() if self.streaming else self._detached()
        try:
            cursor = connection.execute(statement.sql, statement.parameters(values))
            try:
                while taken := cursor.fetchmany(size):
                    yield list(taken)
            finally:
                cursor.close()  # ends the statement, and its snapshot, now
        except GeneratorExit:  # closed early: the connection is as good as before
            self.streaming.append(connection)
            raise
        except BaseException:
            with contextlib.suppress(Exception):
                connection.close()
            raise
        self.streaming.append(connection)

    def _detached(self) -> Any:
        """A new connection with the engine's pragmas, outside its pool (no checkout per read)."""
        pooled = self.engine.raw_connection()
        connection = pooled.driver_connection
        pooled.detach()
        return connection

    def _pooled(self, statement: Compiled, values: dict[str, Any]) -> list[Row]:
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(statement.sql, statement.parameters(values))
            return list(cursor.fetchall())
        finally:
            connection.close()

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.close()
            self.connection = None
        streaming, self.streaming = self.streaming, []
        for connection in streaming:
            with contextlib.suppress(Exception):
                connection.close()


class PostgresReader:
    """Up to `size` async psycopg connections, opened on demand with the engine's connect
    arguments and hooks (its connect timeout), reused last-in first-out."""

    def __init__(self, engine: Engine, size: int) -> None:
        self.engine, self.dialect, self.size = engine, engine.dialect, size
        self.idle: list[psycopg.AsyncConnection[Any]] = []
        self.opened = 0
        self.freed: asyncio.Condition | None = None
        self.epoch = 0  # moved by close(): connections of an earlier epoch are not reused

    async def rows(self, statement: Compiled, values: dict[str, Any], *, heavy: bool = False) -> list[Row]:
        parameters = statement.parameters(values)
        for attempt in (1, 2):  # a dropped connection is found here, not by a ping before each use
            reused = False
            try:
                async with self._lent() as (connection, reused):
                    cursor = await connection.execute(statement.sql, parameters, binary=True)
                    return await cursor.fetchall()
            except psycopg.OperationalError:
                if attempt == 2 or not reused:  # a new connection failing: the database is away
                    raise
        raise AssertionError("unreachable")

    async def chunks(
        self, statement: Compiled, values: dict[str, Any], size: int, *, heavy: bool = False
    ) -> AsyncGenerator[list[Row], None]:
        if not psycopg.capabilities.has_stream_chunked():  # libpq before 17: read whole
            async for whole in in_chunks(self.rows(statement, values), size):
                yield whole
            return
        parameters = statement.parameters(values)
        for attempt in (1, 2):  # as `rows`, before the first chunk
            given = reused = False
            try:
                async with self._lent() as (connection, reused):
                    # libpq's chunked mode: `size` rows per result, each converted and freed in turn.
                    stream = cast(
                        AsyncGenerator[Row, None],
                        connection.cursor(binary=True).stream(statement.sql, parameters, size=size),
                    )
                    async with contextlib.aclosing(stream):
                        chunk: list[Row] = []
                        async for row in stream:
                            chunk.append(row)
                            if len(chunk) == size:
                                given = True
                                yield chunk
                                chunk = []
                        if chunk:
                            given = True
                            yield chunk
                return
            except psycopg.OperationalError:
                if attempt == 2 or given or not reused:
                    raise

    @contextlib.asynccontextmanager
    async def _lent(self) -> AsyncIterator[tuple[psycopg.AsyncConnection[Any], bool]]:
        """A connection and whether it was idle before (else new), given back after use, or dropped
        when its use failed."""
        (connection, reused), epoch = await self._take(), self.epoch
        try:
            yield connection, reused
        except GeneratorExit:
            # A stream closed early (a 304, a kept answer): psycopg sent a cancel request (a
            # connection of its own to the server) and read away what had come.
            if connection.info.transaction_status == TransactionStatus.IDLE:
                await self._give(connection, epoch)
            else:
                await self._drop(connection)
            raise
        except BaseException:
            await self._drop(connection)
            raise
        await self._give(connection, epoch)

    async def _take(self) -> tuple[psycopg.AsyncConnection[Any], bool]:
        """An idle connection (True), else a new one (False) once there is room for it."""
        if self.freed is None:
            self.freed = asyncio.Condition()
        async with self.freed:
            while not self.idle and self.opened >= self.size:
                await self.freed.wait()
            if self.idle:
                return self.idle.pop(), True
            self.opened += 1
        try:
            return await self._connect(), False
        except BaseException:
            await self._release_slot()
            raise

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        args, params = self.dialect.create_connect_args(self.engine.url)
        for hook in self.dialect.dispatch.do_connect:  # the engine's own (the connect timeout)
            hook(self.dialect, None, args, params)
        connection = await psycopg.AsyncConnection.connect(*args, autocommit=True, **params)
        try:
            await connection.execute(GROW_INPUT_BUFFER)
        except BaseException:
            await connection.close()
            raise
        return connection

    async def _give(self, connection: psycopg.AsyncConnection[Any], epoch: int) -> None:
        if epoch != self.epoch or connection.closed:
            await self._drop(connection)
            return
        assert self.freed is not None
        async with self.freed:
            self.idle.append(connection)
            self.freed.notify()

    async def _drop(self, connection: psycopg.AsyncConnection[Any]) -> None:
        with contextlib.suppress(Exception):
            await connection.close()
        await self._release_slot()

    async def _release_slot(self) -> None:
        assert self.freed is not None
        async with self.freed:
            self.opened -= 1
            self.freed.notify()

    def close(self) -> None:
        """Closes the idle connections (those in use are closed when given back); callable from
        any thread, as the engine's dispose is."""
        self.epoch += 1
        idle, self.idle = self.idle, []
        self.opened -= len(idle)
        for connection in idle:
            with contextlib.suppress(Exception):
                connection.pgconn.finish()


class SessionReader:
    """Reads through an ORM Session's connection (tests: their data is in the test's transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        bind = session.get_bind()
        self.dialect = bind.dialect

    async def rows(self, statement: Compiled, values: dict[str, Any], *, heavy: bool = False) -> list[Row]:
        result = self.session.connection().exec_driver_sql(statement.sql, statement.parameters(values))
        return [tuple(row) for row in result]

    async def chunks(
        self, statement: Compiled, values: dict[str, Any], size: int, *, heavy: bool = False
    ) -> AsyncGenerator[list[Row], None]:
        async for chunk in in_chunks(self.rows(statement, values), size):
            yield chunk

    def close(self) -> None:
        pass


def make_reader(engine: Engine, pool_size: int) -> Reader:
    if engine.dialect.name == "postgresql":
        return PostgresReader(engine, pool_size)
    return SqliteReader(engine)
