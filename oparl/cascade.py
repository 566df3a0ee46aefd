"""Which objects' output changes when another one changes: the rules that keep `modified` honest.

A harvester syncs by `modified` alone (spec 5.5), so every object whose JSON changes must get a new
`modified`: the object itself, every object it is embedded in (a Consultation in its Paper, a File
in every Paper, Meeting and AgendaItem that carry it), every object that shows it in a
back-reference (Organization.membership, File.paper, Location.papers, …), and, when it appears or
disappears for the public, every object that references it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Select, Table, case, select, update
from sqlalchemy.orm import Session

from models import ListGeneration, OParlObject
from oparl.catalogue import BY_TABLE, TYPES, Embedding, OParlType, link_ends, link_tables, of

Ids = set[int]
T = TypeVar("T")


def pairs(session: Session, child: OParlType, embedding: Embedding, ids: Ids) -> set[tuple[int, int]]:
    """(child id, parent id) for the given children, where `embedding` says they are embedded."""
    parent = TYPES[embedding.parent].model
    if embedding.column is not None:
        column = getattr(parent, embedding.column)
        query = select(column, parent.id).where(column.in_(ids))
    elif embedding.link is not None:
        query = select(embedding.link.c.target_id, embedding.link.c.owner_id).where(embedding.link.c.target_id.in_(ids))
    else:
        query = select(child.model.id, getattr(child.model, str(embedding.child_column))).where(child.model.id.in_(ids))
    return {(c, p) for c, p in session.execute(query) if p is not None}


def embedding_parents(
    session: Session, child: type[OParlObject], ids: Ids
) -> dict[int, set[tuple[type[OParlObject], int]]]:
    """For each child id, the objects embedding it."""
    found: dict[int, set[tuple[type[OParlObject], int]]] = defaultdict(set)
    child_type = of(child)
    for chunk in chunks(sorted(ids)):
        for embedding in child_type.embedded_in:
            for child_id, parent_id in pairs(session, child_type, embedding, set(chunk)):
                found[child_id].add((TYPES[embedding.parent].model, parent_id))
    return found


SCOPE_COLUMNS = frozenset({"body_id", "system_id"})


def table_of(model: type[OParlObject]) -> Table:
    return of(model).table


class Changes:
    """The objects a write changed; `stamp` gives them, and all whose output follows, one `modified`."""

    def __init__(self) -> None:
        self.ids: dict[type[OParlObject], Ids] = defaultdict(set)
        self.visibility: dict[type[OParlObject], Ids] = defaultdict(set)
        self.closure: dict[type[OParlObject], Ids] = {}

    def add(self, model: type[OParlObject], *ids: int | None) -> None:
        self.ids[model].update(i for i in ids if i is not None)

    def add_visibility(self, model: type[OParlObject], object_id: int) -> None:
        """The object appeared or disappeared (deleted, made non-public or public again)."""
        self.visibility[model].add(object_id)
        self.add(model, object_id)

    def stamped(self, obj: OParlObject) -> bool:
        """Whether the last `stamp` gave `obj` a new `modified`."""
        return obj.id in self.closure.get(type(obj), set())

    def stamp(self, session: Session, moment: dt.datetime, done: Mapping[type[OParlObject], Ids] | None = None) -> int:
        """Stamps the changed objects and all whose output follows; `done` are stamped with `moment` already."""
        for model, ids in list(self.visibility.items()):
            for neighbour, found in neighbours(session, model, ids).items():
                self.add(neighbour, *found)
        self.closure = embedding_closure(session, self.ids)
        return self.restamp(session, moment, done)

    def restamp(
        self, session: Session, moment: dt.datetime, done: Mapping[type[OParlObject], Ids] | None = None
    ) -> int:
        """Stamps the closure of the last `stamp` again, with a later moment (except `done`). Loaded
        objects keep their old `modified` and `revision` until the caller expires them (`oparl.write.commit`)."""
        closure = self.closure
        for model, ids in closure.items():
            for chunk in chunks(sorted(ids - (done or {}).get(model, set()))):
                # Never backwards: a newer stamp (a write committed a moment ago) stays.
                newer = case((model.modified > moment, model.modified), else_=moment)
                session.execute(
                    update(model)
                    .where(model.id.in_(chunk))
                    .values(modified=newer, revision=model.revision + 1, rendered_key=None),
                    execution_options={"synchronize_session": False},
                )
        bump_generations(session, [table_of(model).name for model in closure], moment)
        return sum(len(ids) for ids in closure.values())


def bump_generations(session: Session, tables: Iterable[str], moment: dt.datetime) -> None:
    """Moves the list generation of each table written to (in one statement, one lock order)."""
    names = sorted(set(tables))
    if names:
        gen = ListGeneration
        latest = case((gen.modified > moment, gen.modified), else_=moment)
        session.execute(
            update(gen).where(gen.table_name.in_(names)).values(value=gen.value + 1, modified=latest),
            execution_options={"synchronize_session": False},
        )


def embedding_closure(session: Session, start: dict[type[OParlObject], Ids]) -> dict[type[OParlObject], Ids]:
    """`start` plus, transitively, every object the given ones are embedded in."""
    result: dict[type[OParlObject], Ids] = defaultdict(set)
    todo = {model: set(ids) for model, ids in start.items() if ids}
    while todo:
        model, ids = todo.popitem()
        new = ids - result[model]
        if not new:
            continue
        result[model] |= new
        for parents in embedding_parents(session, model, new).values():
            for parent, parent_id in parents:
                if parent_id not in result[parent]:
                    todo.setdefault(parent, set()).add(parent_id)
    return result


def embedded_children(session: Session, parents: list[OParlObject]) -> dict[type[OParlObject], Ids]:
    """The Files and Locations that `parents` embed (by a column or a link table)."""
    found: dict[type[OParlObject], Ids] = defaultdict(set)
    by_model: dict[type[OParlObject], Ids] = defaultdict(set)
    for parent in parents:
        by_model[type(parent)].add(parent.id)
    for model, ids in by_model.items():
        for column in table_of(model).columns:
            for fk in column.foreign_keys:
                child = BY_TABLE.get(fk.column.table.name)
                if child is not None and child.shared:
                    found[child.model] |= _scalars(session, select(column).where(model.id.in_(ids)))
        for link in link_tables():
            owner, target = link_ends(link)
            if owner.model is model and target.shared:
                found[target.model] |= _scalars(session, select(link.c.target_id).where(link.c.owner_id.in_(ids)))
    return found


def neighbours(session: Session, model: type[OParlObject], ids: Ids) -> dict[type[OParlObject], Ids]:
    """Objects joined to `ids` by a reference in either direction (scope columns aside).

    Used when objects appear or disappear: references to them are shown or dropped.
    """
    table = table_of(model)
    found: dict[type[OParlObject], Ids] = defaultdict(set)
    for other_type in BY_TABLE.values():
        other, other_table = other_type.model, other_type.table
        for column in other_table.columns:
            if column.name in SCOPE_COLUMNS:
                continue
            for fk in column.foreign_keys:
                if fk.column.table is table:
                    found[other] |= _scalars(session, select(other.id).where(column.in_(ids)))
                if other is model and fk.column.table.name in BY_TABLE:
                    target = BY_TABLE[fk.column.table.name].model
                    found[target] |= _scalars(session, select(column).where(other.id.in_(ids)))
    for link in link_tables():
        owner, to = link_ends(link)
        if to.model is model:
            found[owner.model] |= _scalars(session, select(link.c.owner_id).where(link.c.target_id.in_(ids)))
        if owner.model is model:
            found[to.model] |= _scalars(session, select(link.c.target_id).where(link.c.owner_id.in_(ids)))
    return found


def _scalars(session: Session, query: Select[Any]) -> Ids:
    return {i for i in session.scalars(query) if i is not None}


def chunks(items: list[T], size: int = 500) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
