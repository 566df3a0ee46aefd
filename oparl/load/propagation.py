"""What readers obey (`nonpublic`), from what writers said (`restricted`), and what a delete takes along.

An embedded-only child is hidden with its parent. A File or Location is hidden when every live
object embedding it is hidden (a file only in a non-public paper is as secret as the paper), and is
deleted with the last live object embedding it.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OParlObject
from oparl.cascade import chunks, embedded_children, embedding_parents
from oparl.catalogue import SHARED, TYPES, children_of, of
from oparl.load.changelog import ChangeLog

Ref = tuple[type[OParlObject], int]


class Propagation:
    def __init__(self, session: Session, log: ChangeLog) -> None:
        self.session, self.log = session, log

    def visibility(self) -> None:
        """Sets `nonpublic` on every row the write touched and on what inherits from them."""
        touched = self.log.touched()
        tops = [o for o in touched if of(type(o)).parent is None and not isinstance(o, SHARED)]
        for obj in tops:
            self.log.set(obj, "nonpublic", obj.restricted)
        children = {o for o in touched if of(type(o)).parent is not None} | self._children(tops)
        for child in children:
            parent = of(type(child)).parent
            assert parent is not None
            owner = self.session.get(TYPES[parent.parent].model, getattr(child, str(parent.child_column)))
            self.log.set(child, "nonpublic", child.restricted or bool(owner is not None and owner.nonpublic))
        self.session.flush()
        shared = embedded_children(self.session, [*tops, *children])
        for obj in touched:
            if isinstance(obj, SHARED):
                shared.setdefault(type(obj), set()).add(obj.id)
        for model, ids in shared.items():
            self._shared(model, ids)

    def _shared(self, model: type[OParlObject], ids: set[int]) -> None:
        parents = embedding_parents(self.session, model, ids)
        flags = _flags(self.session, {p for found in parents.values() for p in found})
        # Flags only (all is flushed): an object is loaded just where its visibility changes.
        rows = self.session.execute(select(model.id, model.restricted, model.nonpublic).where(model.id.in_(ids)))
        for row in rows:
            live = [flags[p] for p in parents.get(row.id, ()) if not flags[p][0]]
            hidden = bool(row.restricted) or (bool(live) and all(nonpublic for _, nonpublic in live))
            if hidden != bool(row.nonpublic):
                self.log.set(self.session.get_one(model, row.id), "nonpublic", hidden)

    def _children(self, parents: list[OParlObject]) -> set[OParlObject]:
        """The embedded-only children of `parents` in the database (a new parent has only written ones)."""
        parent_ids: dict[str, list[int]] = defaultdict(list)
        for parent in parents:
            if parent not in self.log.created:  # a new row's children were all written here
                parent_ids[type(parent).__name__].append(parent.id)
        children: set[OParlObject] = set()
        for type_name, ids in parent_ids.items():
            for child, embedding in children_of(type_name):
                column = getattr(child.model, str(embedding.child_column))
                for chunk in chunks(sorted(ids)):
                    children.update(self.session.scalars(select(child.model).where(column.in_(chunk))))
        return children

    def embedded_only_in(self, doomed: list[OParlObject]) -> list[OParlObject]:
        """Files and Locations embedded in the doomed objects and in no other live object."""
        doomed_keys = {(type(o), o.id) for o in doomed}
        orphans: list[OParlObject] = []
        for child_model, ids in embedded_children(self.session, doomed).items():
            parents = embedding_parents(self.session, child_model, ids)
            flags = _flags(self.session, {p for found in parents.values() for p in found})
            for child in self.session.scalars(select(child_model).where(child_model.id.in_(ids))):
                live = {p for p in parents.get(child.id, ()) if not flags[p][0]}
                if live <= doomed_keys:
                    orphans.append(child)
        return orphans


def _flags(session: Session, objects: set[Ref]) -> dict[Ref, tuple[bool, bool]]:
    """(deleted, nonpublic) of each object."""
    by_model: dict[type[OParlObject], set[int]] = {}
    for model, object_id in objects:
        by_model.setdefault(model, set()).add(object_id)
    flags = {}
    for model, ids in by_model.items():
        for row in session.execute(select(model.id, model.deleted, model.nonpublic).where(model.id.in_(ids))):
            flags[(model, row.id)] = (bool(row.deleted), bool(row.nonpublic))
    return flags
