"""Keeping the index in step: the write path re-indexes what it changed, in its own transaction.

`oparl.write.commit` calls `refresh` with `changes.closure` after `ChangeLog.finish`: every object
whose output the write changed (created, edited, deleted, hidden or shown, erased) and every
object embedding or showing it. Each such object's row is replaced by its current one, or removed
when it is deleted; the engines' own index follows by trigger (SQLite FTS5) or generated column
(PostgreSQL) in the same statement. `rebuild` makes it all anew (`oparl-server search-index`,
and after the generator's bulk insert, which bypasses the write path).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from models import OParlObject, SearchEntry
from oparl.cascade import chunks
from oparl.search.documents import SEARCHED, SOURCES


def refresh(session: Session, objects: Mapping[type[OParlObject], Iterable[int]]) -> int:
    """Replaces the rows of `objects` (of the searched types) with their current ones; returns how many."""
    done = 0
    for model, ids in objects.items():
        source = SEARCHED.get(model)
        if source is None:
            continue
        for chunk in chunks(sorted(ids)):
            rows = source.rows(session, chunk)
            where = (SearchEntry.type_name == source.type_name, SearchEntry.object_id.in_(chunk))
            session.execute(delete(SearchEntry).where(*where), execution_options={"synchronize_session": False})
            if rows:
                session.execute(insert(SearchEntry), rows)
            done += len(rows)
    return done


def rebuild(session: Session, *, batch: int = 2000, progress: Callable[[str, int], None] | None = None) -> int:
    """Drops the index and indexes every object again, committing per batch; returns the rows made.

    In the order the objects were created, a month of every type at a time, as a live server's
    writes would have made them: a tier walks the index newest first, and rows of one type in one
    long run (all files after all papers) would make a word common in files but rare in titles
    walk past every file to find a title (PostgreSQL's plan reads rows backwards by id)."""
    session.execute(delete(SearchEntry))
    session.commit()
    done = 0
    for since, until in _months(session):
        for source in SOURCES.values():
            model = source.model
            ids = list(session.scalars(select(model.id).where(model.created >= since, model.created < until)))
            for chunk in chunks(sorted(ids), batch):
                rows = source.rows(session, chunk)
                if rows:
                    session.execute(insert(SearchEntry), rows)
                done += len(rows)
            session.commit()
            if progress is not None:
                progress(source.type_name, done)
    return done


def _months(session: Session) -> list[tuple[dt.datetime, dt.datetime]]:
    """Month windows from the first object's creation to past the last one's."""
    bounds = [
        session.execute(select(func.min(s.model.created), func.max(s.model.created))).one() for s in SOURCES.values()
    ]
    firsts = [first for first, _last in bounds if first is not None]
    lasts = [last for _first, last in bounds if last is not None]
    if not firsts:
        return []
    month = min(firsts).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    windows = []
    while month <= max(lasts):
        following = (month + dt.timedelta(days=32)).replace(day=1)
        windows.append((month, following))
        month = following
    return windows
