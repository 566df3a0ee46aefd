"""Harvesting a source that offers the kommParl 0.1 profiles (System `kommparl:conformsTo` with the
changes and snapshot profiles, Bodies with `kommparl:changes` and `kommparl:snapshot`).

A Body without a saved feed cursor is read from its snapshot (NDJSON, kept in a temporary file and
checked whole: header first, end line last with the right count, else discarded and the lists
walked instead), then from its feed from the snapshot's cursor. A Body with a saved cursor is read
from its feed only; an expired cursor (410) starts over from the snapshot. Upserts fetch the object
at its id, deletes and redacts delete; each feed page is stored a type at a time, then the cursor
after it, so an interrupted run reads at most that page again (storing is idempotent).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import orjson

from oparl.catalogue import BODY_LISTS, SCHEMA_BASE
from oparl.feed import PROFILE_CHANGES, PROFILE_SNAPSHOT
from oparl.feed.snapshot import END, HEADER
from oparl.ingest.client import Refused, SourceClient, SourceError
from oparl.ingest.lists import ListReader, with_query
from oparl.ingest.store import Batch, BatchStore
from oparl.ingest.summary import Options, Summary
from oparl.visibility import FeedNote


class Harvesting(Protocol):
    """What a feed sync uses of the harvester running it (oparl/ingest/harvest.py `Harvester`)."""

    options: Options
    summary: Summary
    client: SourceClient
    batches: BatchStore
    lists: ListReader


FEED_LIMIT = "1000"
MAX_FEED_PAGES = 1_000_000


def offers(system: dict[str, Any]) -> bool:
    conforms = system.get("kommparl:conformsTo")
    return isinstance(conforms, list) and {PROFILE_CHANGES, PROFILE_SNAPSHOT} <= set(conforms)


class FeedSync:
    def __init__(self, harvester: Harvesting) -> None:
        self.h = harvester
        self.feed_only = False  # a Body read from its feed alone: the run saw only what changed

    def body(self, body: dict[str, Any], saved: str | None) -> bool:
        """Reads the Body by its profiles; False when it has none (or its snapshot is unusable):
        then its lists are walked as from any source."""
        changes, snapshot = body.get("kommparl:changes"), body.get("kommparl:snapshot")
        if not isinstance(changes, str) or not isinstance(snapshot, str):
            return False
        if saved is not None and not self.h.options.full:
            outcome = self._feed(body["id"], changes, saved)
            if outcome != "gone":
                self.feed_only = True
                return True
            self.h.summary.quirks["feed_cursor_expired"] += 1
        cursor = self._snapshot(body["id"], snapshot)
        if cursor is None:
            return False
        self._feed(body["id"], changes, cursor)
        return True

    def _snapshot(self, body_id: str, url: str) -> str | None:
        """Stores the snapshot's objects; returns its cursor, None when it was discarded."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "snapshot.ndjson"
            try:
                self.h.client.download(url, path)
            except SourceError as exc:
                self.h.summary.quirks["snapshot_unreadable"] += 1
                if isinstance(exc, Refused):
                    self.h.summary.refused.append(str(exc))
                return None
            cursor = checked(path, body_id)
            if cursor is None:
                self.h.summary.quirks["snapshot_discarded"] += 1
                return None
            for listed in BODY_LISTS.values():  # in the lists' order, as a walk stores them
                batch = Batch()
                for item in objects(path, listed.name):
                    self.h.batches.collect(batch, listed.name, [self.h.lists.normalise.obj(item, listed.name)], body_id)
                    if batch.due(self.h.options):
                        self.h.batches.store_batch(batch, None)
                        batch = Batch()
                self.h.batches.store_batch(batch, None)
        return cursor

    def _feed(self, body_id: str, url: str, after: str) -> str:
        """Reads the feed after `after` to its end: "done", "gone" (410) or "failed"."""
        page_url: str | None = with_query(url, {"after": after, "limit": FEED_LIMIT})
        for _ in range(MAX_FEED_PAGES):
            if page_url is None:
                return "done"
            try:
                page = self.h.client.json(page_url, hosts=self.h.lists.hosts)
            except SourceError as exc:
                if exc.status == 410:
                    return "gone"
                self.h.summary.failures.append(str(exc))
                return "failed"
            if not isinstance(page, dict) or not isinstance(page.get("cursor"), str):
                self.h.summary.failures.append(f"{page_url}: not a kommParl feed page")
                return "failed"
            self._store_page(body_id, page)
            next_url = (page.get("links") or {}).get("next")
            page_url = next_url if isinstance(next_url, str) else None
        return "done"

    def _store_page(self, body_id: str, page: dict[str, Any]) -> None:
        """The page's changes, the last entry of an object deciding, with the cursor after them."""
        latest: dict[str, dict[str, Any]] = {}
        for entry in page.get("data") or []:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str) and isinstance(entry.get("type"), str):
                latest.pop(entry["id"], None)
                latest[entry["id"]] = entry
        # One batch per type, in the lists' order as a walk stores them: a Meeting and its
        # AgendaItems in one write would be the same key twice.
        by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for object_id, entry in latest.items():
            by_type.setdefault(entry["type"].removeprefix(SCHEMA_BASE), []).append((object_id, entry))
        order = ["Body", *(listed.name for listed in BODY_LISTS.values())]
        types = sorted(by_type, key=lambda name: order.index(name) if name in order else len(order))
        for type_name in types:
            batch = Batch()
            for object_id, entry in by_type[type_name]:
                item = self._fetch(object_id) if entry.get("operation") == "upsert" else None
                if item is None:
                    item = {"id": object_id, "type": entry["type"], "deleted": True}
                self.h.batches.collect(batch, type_name, [self.h.lists.normalise.obj(item, type_name)],
                                       None if type_name == "Body" else body_id, reason(entry))  # fmt: skip
            self.h.batches.store_batch(batch, None)
        self.h.batches.store_batch(Batch(), None, feed=(body_id, page["cursor"]))

    def _fetch(self, object_id: str) -> dict[str, Any] | None:
        """The object at its id; None when it is gone there (a delete entry follows)."""
        try:
            answer = self.h.client.json(object_id, hosts=self.h.lists.hosts)
        except SourceError as exc:
            if exc.status not in (404, 410):
                self.h.summary.failures.append(str(exc))
            return None
        return answer if isinstance(answer, dict) and not answer.get("deleted") else None


def reason(entry: dict[str, Any]) -> FeedNote:
    """Why the source deleted what an entry names, passed on to this server's own feed: a redact
    erases the copy (and says redact again), a delete keeps the draft's reason; an unknown one, or a
    `nonPublic` (hidden there, so gone for a mirror that sees what anonymous clients see), is a deletion."""
    if entry.get("operation") == "redact":
        return FeedNote.PRIVACY
    return FeedNote.WITHDRAWN if entry.get("reason") == FeedNote.WITHDRAWN else FeedNote.DELETED


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as lines:
        yield from (line for line in lines if line.strip())


def checked(path: Path, body_id: str) -> str | None:
    """The header's cursor if the snapshot is whole: the header for this Body first, the end line
    last, its count the number of object lines between; None otherwise."""
    header: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    count = 0
    try:
        for line in _lines(path):
            value = orjson.loads(line)
            if end is not None or not isinstance(value, dict):
                return None  # anything after the end line, or a line that is no object
            if header is None:
                header = value
                if value.get("type") != HEADER or value.get("body") != body_id:
                    return None
            elif value.get("type") == END:
                end = value
            else:
                count += 1
    except orjson.JSONDecodeError:
        return None
    if header is None or end is None or end.get("count") != count or not isinstance(header.get("cursor"), str):
        return None
    return str(header["cursor"])


def objects(path: Path, type_name: str) -> Iterator[dict[str, Any]]:
    """The snapshot's objects of one type (the file is checked already)."""
    wanted = SCHEMA_BASE + type_name
    for line in _lines(path):
        if wanted.encode() in line:  # most lines are another type's: parsed only when they may match
            value = orjson.loads(line)
            if value.get("type") == wanted and isinstance(value.get("id"), str):
                yield value
