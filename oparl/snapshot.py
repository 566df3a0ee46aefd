"""Stored renderings: each object's anonymous JSON, written when the object is stamped.

Rendering an object (loading what it embeds and references, building the wire model) costs far
more than sending it; list pages of stored bytes cost little more than the bytes. The write path
clears an object's `rendered_key` whenever it stamps the object (`oparl.cascade`), and `refresh`
renders the stamped objects again in the same transaction, so readers see new bytes exactly when
they see the change. A rendering counts only if its key matches this process's `Snapshots.key`
(the rendering code, base URL, time zone and publisher settings); any other row is rendered live on read, so a stale
rendering is never served, after an upgrade or a configuration change either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import ColumnElement, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from models import OParlObject
from oparl.base import Render
from oparl.cascade import chunks
from oparl.kind import Kind
from oparl.publisher import NO_PUBLISHER, Publisher
from oparl.registry import KINDS
from oparl.urls import UrlBuilder

Ids = Iterable[int]
_PACKAGE = Path(__file__).parent
# The renderings read the mapping too (which rows a relationship loads, in which order).
_MODELS = _PACKAGE.parent / "models"


def _code_hash() -> str:
    """Digest of the wire-format code and the mapping: any change to them makes every stored rendering stale."""
    digest = hashlib.sha256()
    for path in [*sorted(_PACKAGE.glob("*.py")), *sorted(_MODELS.glob("*.py"))]:
        digest.update(path.parent.name.encode() + b"/" + path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


CODE_HASH = _code_hash()
KIND_OF: dict[type[OParlObject], Kind] = {kind.model: kind for kind in KINDS.values()}


@dataclass(frozen=True)
class Snapshots:
    urls: UrlBuilder
    tz: ZoneInfo
    publisher: Publisher = NO_PUBLISHER
    key: str = field(init=False)

    def __post_init__(self) -> None:
        seed = f"{CODE_HASH}\0{self.urls.api}\0{self.tz.key}\0{self.publisher.key}".encode()
        object.__setattr__(self, "key", hashlib.sha256(seed).hexdigest()[:32])

    @property
    def render(self) -> Render:
        """As an anonymous client sees it (oparl.visibility): the object if shown, else its tombstone;
        routes answer 404 for an absent one before reading its rendering."""
        return Render(urls=self.urls, tz=self.tz, nonpublic=False, publisher=self.publisher)

    def dumps(self, kind: Kind, row: Any) -> bytes:
        return orjson.dumps(kind.to_json(row, self.render))

    def stored(self, session: Session, kind: Kind, rows: Sequence[Any]) -> dict[int, bytes]:
        """The anonymous rendering of each row (`id`, `rendered`, `rendered_key`): the stored bytes
        where current, else rendered live (not refreshed yet, or rendered by other code or settings)."""
        parts: dict[int, bytes] = {row.id: row.rendered for row in rows if row.rendered_key == self.key}
        stale = [row.id for row in rows if row.id not in parts]
        if stale:
            live = session.scalars(select(kind.model).where(kind.model.id.in_(stale)).options(*kind.load_options))
            parts.update((row.id, self.dumps(kind, row)) for row in live)
        return parts

    def refresh(self, session: Session, objects: dict[type[OParlObject], set[int]]) -> int:
        """Renders `objects` again (in the caller's transaction); returns how many."""
        done = 0
        for model, ids in objects.items():
            for chunk in chunks(sorted(ids)):
                done += self._render_rows(session, model, chunk, guard=False)
        return done

    def refresh_stale(
        self,
        session: Session,
        *,
        batch: int = 500,
        part: tuple[int, int] = (0, 1),
        progress: Callable[[str, int], None] | None = None,
    ) -> int:
        """Renders every object whose stored rendering is missing or stale, committing per batch.

        Runs beside live traffic: a row stamped by a writer meanwhile is left to that writer.
        `part=(k, n)` takes only the ids that are k modulo n, so n processes can share the work.
        """
        done = 0
        share, parts = part
        for kind in KINDS.values():
            model = kind.model
            after = 0
            while True:
                stale = self._stale(model)
                mine = model.id % parts == share
                query = select(model.id).where(stale, mine, model.id > after).order_by(model.id).limit(batch)
                ids = list(session.scalars(query))
                if not ids:
                    break
                values = self._dump_rows(session, model, ids)
                session.expunge_all()  # cheaper than expiring thousands of objects one by one
                session.commit()  # ends the read: SQLite lets a writer in only on a current snapshot
                self._store(session, model, values, guard=True)
                session.commit()
                done += len(values)
                after = ids[-1]
                if progress is not None:
                    progress(kind.type_name, done)
        return done

    def count_stale(self, session: Session) -> int:
        """How many objects `refresh_stale` would render now (for its progress display)."""
        return sum(
            session.scalar(select(func.count()).select_from(kind.model).where(self._stale(kind.model))) or 0
            for kind in KINDS.values()
        )

    def _stale(self, model: type[OParlObject]) -> ColumnElement[bool]:
        return or_(model.rendered_key.is_(None), model.rendered_key != self.key)

    def _render_rows(self, session: Session, model: type[OParlObject], ids: list[int], *, guard: bool) -> int:
        values = self._dump_rows(session, model, ids)
        self._store(session, model, values, guard=guard)
        session.expire_all()
        return len(values)

    def _dump_rows(self, session: Session, model: type[OParlObject], ids: list[int]) -> list[dict[str, Any]]:
        kind = KIND_OF[model]
        rows = session.scalars(select(model).where(model.id.in_(ids)).options(*kind.load_options)).all()
        return [{"_id": row.id, "_rev": row.revision, "_bytes": self.dumps(kind, row)} for row in rows]

    def _store(self, session: Session, model: type[OParlObject], values: list[dict[str, Any]], *, guard: bool) -> None:
        if values:
            statement = update(model).where(model.id == bindparam("_id"))
            if guard:  # written only if no writer stamped the row since it was read
                statement = statement.where(model.revision == bindparam("_rev"))
            session.connection().execute(statement.values(rendered=bindparam("_bytes"), rendered_key=self.key), values)
