"""The end of retention: entries older than the retention period are deleted, oldest first.

What is deleted is always a prefix of the positions, up to `FeedState.pruned_through`; a cursor
before it is expired (410), one at or after it still has every entry that follows. Pruning takes
the feed's lock first (the counter's row, as a write appending entries does), so it never deletes
an entry a write commits meanwhile. An entry's `modified` is never earlier than its commit
(oparl.write), so an entry is kept at least the retention period after it could first be read.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from models import FeedEntry, FeedState


def prune(session: Session, *, now: dt.datetime, retention: dt.timedelta) -> int:
    """Deletes the entries older than `retention` and commits; returns how many went."""
    locked = session.execute(
        update(FeedState)
        .where(FeedState.id == 1)
        .values(pruned_at=now)
        .returning(FeedState.position, FeedState.pruned_through),
        execution_options={"synchronize_session": False},
    ).one()
    # The first entry to keep, in position order: the ones before it are older (give or take
    # the stamps' second of margin, which only keeps an entry a little longer).
    kept = session.scalar(
        select(FeedEntry.position).where(FeedEntry.modified >= now - retention).order_by(FeedEntry.position).limit(1)
    )
    through = locked.position if kept is None else kept - 1
    gone = 0
    if through > locked.pruned_through:
        result = session.execute(delete(FeedEntry).where(FeedEntry.position <= through))
        assert isinstance(result, CursorResult)
        gone = result.rowcount
        session.execute(update(FeedState).where(FeedState.id == 1).values(pruned_through=through))
    session.commit()
    return gone
