"""The generator's rows: ids, the fields every object shares, and bulk inserts by a writer thread."""

from __future__ import annotations

import datetime as dt
import functools
import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from sqlalchemy import JSON, Boolean, Table, insert
from sqlalchemy.orm import Session

from api.synthetic.shape import LAST_CHANGE
from models.base import Base, UTCDateTime

# Parents before children: the schema's foreign-key order (the type catalogue's, once there is one).
INSERT_ORDER = [table.name for table in Base.metadata.sorted_tables]


@dataclass
class Counts:
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


class Rows:
    """One Body's rows, buffered and written in batches by a thread of their own, so the database
    works while the generator makes the next batch. Only that thread touches the session's
    connection until the block ends; `finish` writes what is left and waits for it."""

    FLUSH_ROWS = 20_000

    def __init__(self, session: Session, *, seed: int, body_id: int) -> None:
        self.session, self.seed, self.body_id = session, seed, body_id
        self.counts = Counts()
        self.ids: dict[str, int] = {}  # the last one given, per table
        self.buffers: dict[Table, list[dict[str, Any]]] = {}
        self.buffered = 0
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="synthetic-writer")
        self.pending: Future[None] | None = None

    def __enter__(self) -> Rows:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.writer.shutdown(wait=True)

    def add(
        self, table: str, created: dt.datetime, modified: dt.datetime | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Adds an OParl object: the fields every object has, its Body where its type has one, then
        `fields` (which may override the former); returns the row. The rows of a table are inserted
        together, so each names the same fields."""
        object_id = self.ids[table] = self.next_id(table)
        created = min(created, LAST_CHANGE)
        modified = min(max(modified or created, created), LAST_CHANGE)
        row = {
            "id": object_id,
            "key": f"synthetic-{self.seed}/{table}/{object_id}",
            "created": created,
            "modified": modified,
            "deleted": False,
            "restricted": False,
            "nonpublic": False,
            "ever_public": True,
        }
        if "body_id" in Base.metadata.tables[table].c:
            row["body_id"] = self.body_id
        row.update(fields)
        self._buffer(table, row)
        return row

    def next_id(self, table: str) -> int:
        """The id the next row added to `table` gets."""
        return self.ids.get(table, 0) + 1

    def link(self, table: str, owner: int, target: int, position: int = 0) -> None:
        self._buffer(table, {"owner_id": owner, "target_id": target, "position": position})

    def finish(self) -> Counts:
        self._flush()
        if self.pending is not None:
            self.pending.result()
        return self.counts

    def _buffer(self, name: str, row: dict[str, Any]) -> None:
        self.buffers.setdefault(Base.metadata.tables[name], []).append(row)
        self.buffered += 1
        if self.buffered >= self.FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        """Hands the buffered rows to the writer thread."""
        if self.pending is not None:
            self.pending.result()  # one batch in flight at most: memory stays flat
        batch = sorted(self.buffers.items(), key=lambda item: INSERT_ORDER.index(item[0].name))
        self.buffers, self.buffered = {}, 0
        self.pending = self.writer.submit(self._write, batch)

    def _write(self, batch: list[tuple[Table, list[dict[str, Any]]]]) -> None:
        for table, rows in batch:
            if rows:
                _insert_many(self.session, table, rows)
                self.counts.rows[table.name] = self.counts.rows.get(table.name, 0) + len(rows)


def _insert_many(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Driver-level bulk insert (COPY on PostgreSQL): SQLAlchemy's per-row parameter handling would
    cost more than the database does. Values still pass through each column type's bind processor."""
    connection = session.connection()
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    order = list(compiled.positiontup or []) if compiled.positional else list(compiled.binds)
    # Columns with a Python-side default (such as `revision`) that the rows leave out.
    defaults = {k: table.c[k].default.arg for k in order if k not in rows[0]}  # type: ignore[union-attr]
    processors = [(n, p) for n, k in enumerate(order) if (p := _bind_processor(table.c[k].type, dialect)) is not None]
    params: list[list[Any]] = []
    for row in rows:
        values = [row[k] if k in row else defaults[k] for k in order]
        for n, process in processors:
            values[n] = process(values[n])
        params.append(values)
    if dialect.name == "postgresql":
        columns = ", ".join(dialect.identifier_preparer.quote(k) for k in order)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {dialect.identifier_preparer.format_table(table)} ({columns}) FROM STDIN") as copy:
            for values in params:
                copy.write_row(values)
        return
    if compiled.positional:
        connection.exec_driver_sql(str(compiled), [tuple(values) for values in params])
    else:
        connection.exec_driver_sql(str(compiled), [dict(zip(order, values, strict=True)) for values in params])


@functools.lru_cache(maxsize=8192)  # a meeting's items and consultations share their stamps
def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _bind_processor(kind: Any, dialect: Any) -> Any:
    if isinstance(kind, Boolean):  # both drivers take Python bools as they are
        return None
    if isinstance(kind, UTCDateTime):  # the generator's datetimes are UTC in whole seconds already
        if dialect.name == "sqlite":  # SQLAlchemy's own SQLite format, which string comparisons rely on
            return _sqlite_datetime
        return None
    process = kind.dialect_impl(dialect).bind_processor(dialect)
    if process is None and isinstance(kind, JSON):  # psycopg adapts JSON only inside SQLAlchemy's own path
        return lambda value: None if value is None else json.dumps(value, ensure_ascii=False)
    return process
