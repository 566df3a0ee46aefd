"""What one write did: the rows it created, changed (and their state before), relinked and deleted.

The loader records every change here (`set`, `created_row`, `relinked_row`) and nothing else keeps
that state. `finish` turns it into the objects whose output changed, stamps them and every object
that embeds or shows them (`cascade.Changes`), and reports the counts. This is the one place to read
"what did this transaction change, and which objects show it" (`changed`, `changes.closure`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from models import OParlObject
from oparl.cascade import Changes, Ids, chunks
from oparl.catalogue import BACKREF_COLUMNS, target
from oparl.visibility import FeedNote


@dataclass
class LoadReport:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    stamped: int = 0


class ChangeLog:
    def __init__(self) -> None:
        self.created: set[OParlObject] = set()  # rows this write inserts
        self.seen: dict[OParlObject, None] = {}  # rows this write names, in order
        self.before: dict[OParlObject, dict[str, Any]] = {}  # changed attributes' values before the write
        self.relinked: set[OParlObject] = set()  # rows whose ordered links this write replaced
        self.deleted = 0
        self.reasons: dict[OParlObject, FeedNote] = {}  # why this write deleted (or erased) a row
        self.changed: set[OParlObject] = set()  # known after `finish`: rows whose stored state differs
        self.changes = Changes()

    def created_row(self, obj: OParlObject) -> None:
        self.created.add(obj)

    def saw(self, obj: OParlObject) -> bool:
        """Notes that the write names `obj`; whether it had named it before."""
        known = obj in self.seen
        self.seen.setdefault(obj)
        return known

    def set(self, obj: OParlObject, attr: str, value: Any) -> None:
        """Sets an attribute, keeping its first value before this write (a new row has none)."""
        if obj in self.created:
            setattr(obj, attr, value)
        elif getattr(obj, attr) != value:
            self.before.setdefault(obj, {}).setdefault(attr, getattr(obj, attr))
            setattr(obj, attr, value)

    def delete(self, obj: OParlObject, reason: FeedNote = FeedNote.DELETED) -> None:
        """Deletes `obj`; an erasure (privacy) is news for a row deleted before as well."""
        self.saw(obj)
        if not obj.deleted:
            self.set(obj, "deleted", True)
            self.deleted += 1
            self.reasons[obj] = reason
        elif reason is FeedNote.PRIVACY:
            self.reasons[obj] = reason

    def touched(self) -> list[OParlObject]:
        return [*self.created, *self.before]

    def finish(self, session: Session, moment: dt.datetime) -> LoadReport:
        """Stamps what changed with `moment`, and all whose output follows (see oparl.write for the moment)."""
        created = self.created
        changed = {o for o, before in self.before.items() if o not in created and _differs(o, before)}
        self.changed = changed = changed | (self.relinked - created)
        for obj in changed:
            obj.ever_public = obj.ever_public or not obj.nonpublic
        session.flush()
        fresh = self._stamp_created(session, moment)
        for obj in created | changed:
            self._note(obj)
        session.flush()
        stamped = self.changes.stamp(session, moment, done=fresh)
        return LoadReport(
            created=len(created),
            changed=len(changed),
            unchanged=len(set(self.seen) - changed - created),
            deleted=self.deleted,
            stamped=stamped,
        )

    def _note(self, obj: OParlObject) -> None:
        """`obj` changed: it, and the old and new targets of its references that show it back."""
        model, before = type(obj), self.before.get(obj, {})
        self.changes.add(model, obj.id)
        if obj not in self.created and ("deleted" in before or "nonpublic" in before):
            self.changes.add_visibility(model, obj.id)
        for type_name, column in BACKREF_COLUMNS:
            if type_name == model.__name__ and (obj in self.created or column in before):
                self.changes.add(target(model, column).model, getattr(obj, column), before.get(column))

    def _stamp_created(self, session: Session, moment: dt.datetime) -> dict[type[OParlObject], Ids]:
        """New rows get `moment` (they were inserted with placeholders), a few statements per type
        instead of an UPDATE per row, and all the stamp gives; returns their ids, for `Changes.stamp`
        to leave out. `oparl.write.commit` expires the loaded objects before it renders them."""
        ids: dict[type[OParlObject], Ids] = defaultdict(set)
        for obj in self.created:
            ids[type(obj)].add(obj.id)
        for model, found in ids.items():
            for chunk in chunks(sorted(found)):
                session.execute(
                    update(model)
                    .where(model.id.in_(chunk))
                    .values(created=moment, modified=moment, ever_public=~model.nonpublic,
                            revision=model.revision + 1, rendered_key=None),
                    execution_options={"synchronize_session": False},
                )  # fmt: skip
        return ids


def _differs(obj: OParlObject, before: dict[str, Any]) -> bool:
    return any(getattr(obj, attr) != value for attr, value in before.items())
