"""A source's bookkeeping across runs (HarvestSource, HarvestSeen, HarvestPending): a run begun or
resumed, the cursors of its lists, the records waiting for the fix-up, and the end of the run,
which deletes what a complete full run did not see and judges whether `modified` can be trusted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from models import HarvestPending, HarvestSeen, HarvestSource
from oparl.ingest.store import BatchStore
from oparl.ingest.summary import Options, Summary
from oparl.write import Clock

PLACEHOLDER_YEARS = ("1970", "2000")
# Properties holding URLs that name no object to fetch.
NOT_REFERENCES = frozenset({"key", "accessUrl", "downloadUrl", "externalServiceUrl", "web", "website", "license"})


class Source:
    def __init__(self, sessions: sessionmaker[Session], summary: Summary) -> None:
        self.sessions, self.summary = sessions, summary
        self.id = 0

    def begin(self, system_url: str, options: Options, clock: Clock) -> dt.datetime | None:
        """A new run, or the one an interruption left, to resume; returns its `modified_since`."""
        with self.sessions() as session:
            source = session.scalar(select(HarvestSource).where(HarvestSource.system_url == system_url))
            if source is None:
                source = HarvestSource(system_url=system_url, cursors={})
                session.add(source)
            if source.run_started is None:
                incremental = source.trusted and source.last_complete is not None and not options.full
                source.run_started, source.cursors = clock(), {}
                start = source.last_complete
                source.run_since = start - options.overlap if incremental and start is not None else None
                session.execute(delete(HarvestSeen).where(HarvestSeen.source_id == source.id))
            # A resumed run goes on in the mode it started in.
            since = source.run_since
            self.summary.mode = "incremental (modified_since)" if since else "full (content comparison)"
            session.commit()
            self.id = source.id
            return since

    def cursors(self) -> dict[str, str]:
        with self.sessions() as session:
            return dict(session.get_one(HarvestSource, self.id).cursors)

    def feeds(self) -> dict[str, str]:
        """Body URL -> the kommParl feed cursor a run before this one stored up to."""
        with self.sessions() as session:
            return dict(session.get_one(HarvestSource, self.id).feeds)

    def pending(self) -> tuple[list[dict[str, Any]], list[tuple[str, Any]]]:
        """The records stored with references to objects not there then, and the references to
        objects this run has not stored (again), each with the Body of a record naming it."""
        with self.sessions() as session:
            stored = select(HarvestPending).where(HarvestPending.source_id == self.id)
            records = [p.record for p in session.scalars(stored)]
            wanted = references(records, set())
            query = select(HarvestSeen.key).where(HarvestSeen.source_id == self.id, HarvestSeen.key.in_(wanted))
            seen = set(session.scalars(query))
        bodies = {url: r.get("body") for r in records for url in references(r, set())}
        return records, [(url, bodies.get(url)) for url in sorted(wanted - seen)]

    def clear_pending(self) -> None:
        with self.sessions() as session:
            session.execute(delete(HarvestPending).where(HarvestPending.source_id == self.id))
            session.commit()

    def end(self, batches: BatchStore, *, complete: bool) -> None:
        """Ends the run. One that is not `complete` saw less than the source has, not because the
        source dropped it: it deletes nothing, and the next run asks again from the same point."""
        full = self.summary.mode.startswith("full")
        with self.sessions() as session:
            source = session.get_one(HarvestSource, self.id)
            if not complete:
                source.run_started, source.cursors = None, {}
                session.commit()
                return
            if full:
                self._delete_unseen(session, source, batches)
                stamps = batches.stamps
                placeholders = sum(1 for s in stamps if s[:4] in PLACEHOLDER_YEARS)
                # `modified` that is mostly a placeholder cannot drive incremental runs.
                source.trusted = bool(stamps) and placeholders * 2 < len(stamps)
            source.last_complete, source.run_started, source.cursors = source.run_started, None, {}
            session.commit()
        if full and not batches.stamps:
            self.summary.quirks["no_modified_dates"] += 1

    def _delete_unseen(self, session: Session, source: HarvestSource, batches: BatchStore) -> None:
        """A full run saw every object the source still has: the rest were deleted there."""
        prefix = source.system_url.rsplit("/", 1)[0] + "/"
        seen = set(session.scalars(select(HarvestSeen.key).where(HarvestSeen.source_id == source.id)))
        batches.delete_unseen(session, prefix, seen)


def references(value: Any, found: set[str]) -> set[str]:
    """The URLs of objects `value` (a record, or a list of them) refers to, added to `found`."""
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        found.add(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in NOT_REFERENCES:
                references(v, found)
    elif isinstance(value, list):
        for v in value:
            references(v, found)
    return found
