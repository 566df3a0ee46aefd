"""Committing a write so that no harvester misses it.

A harvester asks `modified_since=<when it started its last crawl>` (spec 5.5). It misses a change
exactly when the change was not yet visible during that crawl and carries a `modified` older than
the crawl's start. So `modified` must never be earlier than the moment the change becomes visible,
i.e. its commit. Every write is therefore stamped, just before it commits, with a moment a margin
ahead of the clock, rounded up to a whole second (OParl's precision); if committing could not
happen before that moment, the write is stamped again, later. Writers need no lock between them
for this: each change carries a stamp no earlier than its own commit, on SQLite (one writer at a
time) and on PostgreSQL (any number of processes and hosts) alike. Readers see a change as soon
as it commits; its `modified` may lie up to the margin in the future, so a harvester may see it
twice, never not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session

from oparl.feed.record import FeedRecorder
from oparl.load.changelog import LoadReport
from oparl.load.loader import Loader
from oparl.search import index as search_index
from oparl.snapshot import Snapshots

Clock = Callable[[], dt.datetime]
MARGIN = dt.timedelta(seconds=1)
# Time kept in hand between the last check of the clock and the commit itself.
GUARD = dt.timedelta(milliseconds=250)


def stamp_for(now: dt.datetime) -> dt.datetime:
    ahead = now + MARGIN
    rounded = ahead.replace(microsecond=0)
    return rounded if rounded == ahead else rounded + dt.timedelta(seconds=1)


def commit(
    session: Session,
    loader: Loader,
    clock: Clock,
    snapshots: Snapshots | None = None,
    finished: Callable[[], None] | None = None,
) -> LoadReport:
    """Stamps what the loader changed, renders it again, and commits; the stamp is never earlier
    than the commit. Without `snapshots` the changed objects are rendered on read until refreshed.
    `finished` runs once the loader knows what it created and changed, in the write's transaction
    (the write audit adds its rows there), before the stamping races the clock."""
    moment = stamp_for(clock())
    report = loader.finish(moment)
    # The search index follows every object whose output changed, in this transaction (oparl/search).
    search_index.refresh(session, loader.log.changes.closure)
    if finished is not None:
        finished()
    feed = FeedRecorder(session, loader.log)
    stamping = dt.timedelta(0)  # what the last restamp took
    while True:
        started = clock()
        if snapshots is not None:
            # The stamps went in by UPDATE; the loaded objects must show them. Without a rendering
            # nothing reads them before the commit, and expiring every object costs a few percent of a write.
            session.expire_all()
            snapshots.refresh(session, loader.log.changes.closure)
        # The feed's entries; the first time this waits for the feed's lock, held to the commit
        # (positions in commit order, oparl/feed/record.py), and a long wait is paid by a restamp.
        feed.record(moment)
        rendering = clock() - started
        if clock() + GUARD < moment:
            break
        # Stamping and rendering took the whole margin: stamp later, leaving room to stamp and render
        # again. Room for the rendering alone never sufficed once a stamp took longer than the margin
        # (a large closure on PostgreSQL, its tables bloating with each stamp): it stamped forever.
        started = clock()
        moment = stamp_for(started + stamping + rendering)
        loader.log.changes.restamp(session, moment)
        stamping = clock() - started
    session.commit()
    return report
