"""Appending a write's change feed entries, in the write's transaction, in commit order.

Which entries: `ChangeLog.finish` leaves in `changes.closure` every object whose `modified` the
write moved, the changed ones and every object embedding or showing them (oparl.cascade); each gets
one entry row, telling both feeds what they say of it (oparl.visibility.feed_note).

The order. A client reads the feed up to some position, keeps the cursor and later asks for what
follows. An entry committed later at a lower position would never be read. So positions are given
out under a lock held until the write commits: the UPDATE of the one `feed_state` row (its row
lock on PostgreSQL, for any number of processes and hosts; on SQLite the write lock every writer
holds anyway). A writer takes it only after `ChangeLog.finish`, when it holds every row lock it
will need, so waiting for it never deadlocks; and before the last check of the clock in
`oparl.write.commit`, so a wait for it is paid by a later stamp, not by a `modified` older than
its commit. Hence position order is commit order, and a reader that sees position n+1 committed
sees every position up to n (`read.page` reads the counter first, then entries up to it).
Positions of a rolled-back write are given out again (the counter's update is rolled back too).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import case, insert, select, update
from sqlalchemy.orm import Session

from models import FeedEntry, FeedState, OParlObject
from oparl.cascade import chunks
from oparl.catalogue import TYPES, body_column
from oparl.load.changelog import ChangeLog
from oparl.visibility import FeedNote, feed_note


class FeedRecorder:
    def __init__(self, session: Session, log: ChangeLog) -> None:
        self.session, self.log = session, log
        self.span: tuple[int, int] | None = None  # first and last position of this write's entries
        # Read now: `oparl.write.commit` expires the loaded objects before it renders them.
        self.created: dict[type[OParlObject], set[int]] = defaultdict(set)
        for obj in log.created:
            self.created[type(obj)].add(obj.id)
        # Why the write deleted (or erased) a row: each is news for the feeds that knew it.
        self.reasons: dict[type[OParlObject], dict[int, FeedNote]] = defaultdict(dict)
        for obj, reason in log.reasons.items():
            self.reasons[type(obj)][obj.id] = reason

    def record(self, moment: dt.datetime) -> None:
        """Appends the entries (taking the feed's lock) the first time; later, after a restamp
        with a later `moment`, moves their `modified` along."""
        if self.span is None:
            self.span = self._append(moment)
            return
        first, last = self.span
        if last >= first:
            newer = case((FeedEntry.modified > moment, FeedEntry.modified), else_=moment)
            self.session.execute(
                update(FeedEntry).where(FeedEntry.position.between(first, last)).values(modified=newer),
                execution_options={"synchronize_session": False},
            )

    def _append(self, moment: dt.datetime) -> tuple[int, int]:
        rows = self._entries(moment)
        if not rows:
            return (1, 0)
        last = self.session.execute(
            update(FeedState)
            .where(FeedState.id == 1)
            .values(position=FeedState.position + len(rows))
            .returning(FeedState.position),
            execution_options={"synchronize_session": False},
        ).scalar_one()
        first = last - len(rows) + 1
        for offset, row in enumerate(rows):
            row["position"] = first + offset
        self.session.execute(insert(FeedEntry), rows)
        return (first, last)

    def _entries(self, moment: dt.datetime) -> list[dict[str, Any]]:
        """One row per stamped object of a Body (the System is in no Body's feed), in type order."""
        created = self.created
        closure = self.log.changes.closure
        rows: list[dict[str, Any]] = []
        for oparl_type in TYPES.values():
            model, body = oparl_type.model, body_column(oparl_type.model)
            ids = closure.get(model)
            if not ids or body is None:
                continue
            reasons = self.reasons.get(model, {})
            turned = self.log.changes.visibility.get(model, set()) | created.get(model, set()) | set(reasons)
            flags = (model.deleted, model.nonpublic, model.ever_public)
            for chunk in chunks(sorted(ids)):
                query = select(model.id, body.label("body_id"), model.modified, *flags).where(model.id.in_(chunk))
                for row in self.session.execute(query.order_by(model.id)):
                    reason = reasons.get(row.id, FeedNote.DELETED)
                    entry = _entry(oparl_type.name, row, row.id in turned, reason, moment)
                    if entry is not None:
                        rows.append(entry)
        return rows


def _entry(type_name: str, row: Any, transition: bool, reason: FeedNote, moment: dt.datetime) -> dict[str, Any] | None:
    entitled = feed_note(row, entitled=True, transition=transition, reason=reason)
    public = feed_note(row, entitled=False, transition=transition, reason=reason)
    if entitled is None and public is None:
        return None
    return {
        "body_id": row.body_id,
        "type_name": type_name,
        "object_id": row.id,
        "modified": max(row.modified, moment),
        "entitled": entitled,
        "public": public,
    }
