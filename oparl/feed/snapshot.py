"""A Body's snapshot (kommParl 0.1 "Snapshot"): NDJSON lines of every object it shows, in one read.

The caller runs `lines` in one read transaction (REPEATABLE READ on PostgreSQL; on SQLite any
transaction reads one snapshot of the WAL), so the objects are one consistent state. The header's
cursor is read first, in that same snapshot: every write it does not show commits a later position,
so the feed from that cursor covers everything the snapshot missed, and nothing it shows is missed.

The objects are the stored renderings (oparl.snapshot), concatenated: the anonymous JSON exactly as
served at each id. Rows are streamed from a server-side cursor a batch at a time; a row without a
current rendering is rendered in its batch. For a client entitled to non-public objects every
object is rendered live (no stored rendering shows them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from oparl.base import Render
from oparl.catalogue import IN_BODY, OParlType, body_column
from oparl.feed import DRAFT, cursor, read
from oparl.registry import KINDS
from oparl.snapshot import Snapshots
from oparl.visibility import shown_where

HEADER = DRAFT + "SnapshotHeader"
END = DRAFT + "SnapshotEnd"
BATCH = 1000


def lines(
    session: Session,
    snapshots: Snapshots,
    body_id: int,
    *,
    now: dt.datetime,
    entitled: bool = False,
    batch: int = BATCH,
) -> Iterator[bytes]:
    """The snapshot in chunks of whole lines: header, the Body and its objects, the end line."""
    current = read.state(session)  # first: the cursor is taken before any object is read
    header = {
        "type": HEADER,
        "body": snapshots.urls.object("Body", body_id),
        "cursor": cursor.encode(current.epoch, body_id, current.position),
        "generated": read.date_time(now, snapshots.tz),
    }
    yield orjson.dumps(header) + b"\n"
    count = 0
    for oparl_type in IN_BODY:
        for chunk in _objects(session, snapshots, oparl_type, body_id, entitled=entitled, batch=batch):
            count += len(chunk)
            chunk.append(b"")  # a trailing newline from the one join: no second copy of the chunk
            yield b"\n".join(chunk)
    yield orjson.dumps({"type": END, "count": count}) + b"\n"


def _objects(
    session: Session, snapshots: Snapshots, oparl_type: OParlType, body_id: int, *, entitled: bool, batch: int
) -> Iterator[list[bytes]]:
    """The shown objects of one type in the Body, a batch at a time, each as served at its id.
    (Core rows read by position: per object this is the hot loop of a snapshot of millions.)"""
    model = oparl_type.model
    body = body_column(model)
    assert body is not None
    table = oparl_type.table
    where = [body == body_id, *shown_where(model, entitled=entitled)]
    columns = (table.c.id,) if entitled else (table.c.id, table.c.rendered, table.c.rendered_key)
    # Per statement: Connection.execution_options would change the session's connection for good.
    query = select(*columns).where(*where).order_by(table.c.id).execution_options(yield_per=batch)
    result = session.connection().execute(query)
    key = snapshots.key
    for rows in result.partitions():
        stale = [row[0] for row in rows] if entitled else [row[0] for row in rows if row[2] != key]
        if not stale:
            yield [row[1] for row in rows]
            continue
        fresh = _render(session, snapshots, oparl_type, stale, entitled=entitled)
        yield (
            [row[1] if row[0] not in fresh else fresh[row[0]] for row in rows]
            if not entitled
            else [fresh[row[0]] for row in rows]
        )


def _render(
    session: Session, snapshots: Snapshots, oparl_type: OParlType, ids: list[int], *, entitled: bool
) -> dict[int, bytes]:
    """Objects without a current stored rendering (or all, for an entitled client), rendered now."""
    model, kind = oparl_type.model, KINDS[oparl_type.name]
    render = Render(urls=snapshots.urls, tz=snapshots.tz, nonpublic=entitled)
    live = session.scalars(select(model).where(model.id.in_(ids)).options(*kind.load_options))
    found = {row.id: orjson.dumps(kind.to_json(row, render)) for row in live}
    session.expunge_all()  # flat memory: nothing loaded is kept past its batch
    return found


def transaction_options(dialect: str) -> dict[str, Any]:
    """Execution options of the snapshot's connection: one consistent read on PostgreSQL (on
    SQLite a transaction is one already)."""
    return {"isolation_level": "REPEATABLE READ"} if dialect == "postgresql" else {}
