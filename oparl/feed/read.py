"""Reading a Body's change feed: pages of entries after a cursor (kommParl 0.1 "Change feed").

The two feeds share their positions and cursors: the full one (a token with read-nonpublic) has an
entry for every change of every object of the Body, the anonymous one the same rows filtered to
what anonymous clients may know (models.FeedEntry.public, oparl.visibility.feed_note), so it never
names an object that was never public. A cursor read in one is valid in the other.

A page reads the counter first, then entries up to it: every position up to the counter belongs
to a committed write (oparl/feed/record.py), so a page never passes an entry that commits later.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Body, FeedEntry, FeedState
from oparl.catalogue import SCHEMA_BASE
from oparl.errors import BadRequest, Gone, NotFound
from oparl.feed import cursor
from oparl.urls import UrlBuilder, with_query
from oparl.visibility import FeedNote, public

MAX_LIMIT = 1000
_LIMIT = re.compile(r"[1-9][0-9]{0,8}")


@dataclass(frozen=True)
class FeedPage:
    entries: list[dict[str, Any]]  # JSON-ready, exactly as served
    cursor: str
    more: bool


class State(NamedTuple):
    position: int  # the last position given out (and committed)
    pruned_through: int  # entries up to it are gone: an older cursor is expired
    epoch: str


class CursorExpired(Gone):
    """410: the entries after the cursor are pruned; the client starts over from the snapshot."""

    def __init__(self, snapshot: str) -> None:
        super().__init__(
            "Dieser Cursor ist abgelaufen: die Einträge nach ihm sind nicht mehr vorhanden. "
            "Bitte mit dem Snapshot neu beginnen.",
            "the entries after this cursor are past the retention period",
        )
        self.snapshot = snapshot

    def body(self) -> dict[str, Any]:
        return {**super().body(), "kommparl:snapshot": self.snapshot}


def state(session: Session) -> State:
    row = session.execute(
        select(FeedState.position, FeedState.pruned_through, FeedState.epoch).where(FeedState.id == 1)
    ).one()
    return State(row.position, row.pruned_through, row.epoch)


def parse_limit(text: str | None, default: int, maximum: int) -> int:
    """`limit` as sent: a positive whole number (400 otherwise), at most `maximum`."""
    if text is None:
        return min(default, maximum)
    if not _LIMIT.fullmatch(text):
        raise BadRequest("Ungültiger Parameter limit.", f"a whole number from 1 to {maximum}, got {text[:40]!r}")
    return min(int(text), maximum)


def require_body(session: Session, body_id: int, *, nonpublic: bool) -> None:
    """The Body must exist and be shown to this client (its feed is like its lists: 404 otherwise)."""
    body = session.execute(select(Body.nonpublic).where(Body.id == body_id)).first()
    if body is None or not public(body, entitled=nonpublic):
        raise NotFound.by_id("Body", body_id)


def start(current: State, urls: UrlBuilder, body_id: int, after: str | None) -> int:
    """The position a page starts after: the cursor's (400 if it is none of this feed, 410 if it
    expired), or without one the oldest retained entry."""
    if after is None:
        return current.pruned_through
    position = cursor.decode(current.epoch, body_id, after)
    if position > current.position:
        raise BadRequest("Ungültiger Cursor (after).", "a position this feed has not reached")
    if position < current.pruned_through:
        raise CursorExpired(urls.snapshot(body_id))
    return position


def page(
    session: Session,
    urls: UrlBuilder,
    body_id: int,
    after: str | None,
    limit: int,
    *,
    nonpublic: bool,
    tz: dt.tzinfo = dt.UTC,
    max_limit: int = MAX_LIMIT,
) -> FeedPage:
    """At most `limit` entries after `after` (None: from the oldest retained), for an entitled
    client (`nonpublic`) or an anonymous one. Raises BadRequest, CursorExpired (Gone), NotFound."""
    if limit < 1:
        raise BadRequest("Ungültiger Parameter limit.", f"a whole number from 1 to {max_limit}")
    limit = min(limit, max_limit)
    require_body(session, body_id, nonpublic=nonpublic)
    current = state(session)
    begin = start(current, urls, body_id, after)
    note = FeedEntry.entitled if nonpublic else FeedEntry.public
    query = (
        select(FeedEntry.position, FeedEntry.type_name, FeedEntry.object_id, FeedEntry.modified, note.label("note"))
        .where(FeedEntry.body_id == body_id, FeedEntry.position > begin, FeedEntry.position <= current.position)
        .where(note.is_not(None))
        .order_by(FeedEntry.position)
        .limit(limit + 1)
    )
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    entries = [_entry(row, current.epoch, body_id, urls, tz) for row in rows]
    last = rows[-1].position if more else current.position
    return FeedPage(entries, cursor.encode(current.epoch, body_id, last), more)


# What a client does with an entry; every other note is the reason of a delete.
OPERATION = {FeedNote.UPSERT: "upsert", FeedNote.PRIVACY: "redact"}


def _entry(row: Any, epoch: str, body_id: int, urls: UrlBuilder, tz: dt.tzinfo) -> dict[str, Any]:
    entry = {
        "cursor": cursor.encode(epoch, body_id, row.position),
        "operation": OPERATION.get(row.note, "delete"),
        "type": SCHEMA_BASE + row.type_name,
        "id": urls.object(row.type_name, row.object_id),
        "modified": date_time(row.modified, tz),
    }
    if row.note != FeedNote.UPSERT:
        entry["reason"] = row.note
    return entry


def date_time(value: dt.datetime, tz: dt.tzinfo) -> str:
    """kommParl's date-time: whole seconds and a `±hh:mm` offset, never `Z`."""
    return value.astimezone(tz).replace(microsecond=0).isoformat()


def page_json(found: FeedPage, urls: UrlBuilder, body_id: int, after: str | None, limit: int) -> dict[str, Any]:
    """The page as served: data, cursor and links (`next` only while entries follow)."""
    feed = urls.feed(body_id)
    here = {"limit": str(limit), **({"after": after} if after is not None else {})}
    links = {"self": with_query(feed, here)}
    if found.more:
        links["next"] = with_query(feed, {"after": found.cursor, "limit": str(limit)})
    return {"data": found.entries, "cursor": found.cursor, "links": links}
