"""Keeping the index in step: the write path re-indexes what it changed, in its own transaction.

`oparl.write.commit` calls `refresh` with `changes.closure` after `ChangeLog.finish`: every object
whose output the write changed (created, edited, deleted, hidden or shown, erased) and every
object embedding or showing it. Each such object's row is replaced by its current one, or removed
when it is deleted; the engines' own index follows by trigger (SQLite FTS5) or generated column
(PostgreSQL) in the same statement. `rebuild` makes it all anew (`oparl-server search-index`,
and after the generator's bulk insert, which bypasses the write path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import delete, insert, select
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
    """Drops the index and indexes every object again, committing per batch; returns the rows made."""
    session.execute(delete(SearchEntry))
    session.commit()
    done = 0
    for source in SOURCES.values():
        model, after = source.model, -1
        while True:
            ids = list(session.scalars(select(model.id).where(model.id > after).order_by(model.id).limit(batch)))
            if not ids:
                break
            rows = source.rows(session, ids)
            if rows:
                session.execute(insert(SearchEntry), rows)
            session.commit()
            done += len(rows)
            after = ids[-1]
            if progress is not None:
                progress(source.type_name, done)
    return done
