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
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, Table, case, select, update
from sqlalchemy.orm import Session

from models import (
    AgendaItem,
    Base,
    Body,
    Consultation,
    File,
    LegislativeTerm,
    ListGeneration,
    Location,
    Meeting,
    Membership,
    OParlObject,
    Organization,
    Paper,
    Person,
)
from models import links as link_tables

Ids = set[int]
T = TypeVar("T")


@dataclass(frozen=True)
class Embedding:
    """Where a child is embedded: a column of the parent naming it, a link table, or the child's own
    column naming its parent (embedded-only children)."""

    parent: type[OParlObject]
    column: str | None = None  # parent.<column> = child id
    link: Table | None = None  # link(owner = parent, target = child)
    child_column: str | None = None  # child.<child_column> = parent id

    def pairs(self, session: Session, child: type[OParlObject], ids: Ids) -> set[tuple[int, int]]:
        """(child id, parent id) for the given children."""
        if self.column is not None:
            column = getattr(self.parent, self.column)
            query = select(column, self.parent.id).where(column.in_(ids))
        elif self.link is not None:
            query = select(self.link.c.target_id, self.link.c.owner_id).where(self.link.c.target_id.in_(ids))
        else:
            query = select(child.id, getattr(child, str(self.child_column))).where(child.id.in_(ids))
        return {(c, p) for c, p in session.execute(query) if p is not None}


# Embedded type -> everywhere it can be embedded (spec chapter 4).
EMBEDDED_IN: dict[type[OParlObject], list[Embedding]] = {
    File: [
        Embedding(Paper, column="main_file_id"),
        Embedding(Paper, link=link_tables.paper_auxiliary_file),
        Embedding(Meeting, column="invitation_id"),
        Embedding(Meeting, column="results_protocol_id"),
        Embedding(Meeting, column="verbatim_protocol_id"),
        Embedding(Meeting, link=link_tables.meeting_auxiliary_file),
        Embedding(AgendaItem, column="resolution_file_id"),
        Embedding(AgendaItem, link=link_tables.agenda_item_auxiliary_file),
    ],
    Location: [
        Embedding(Body, column="location_id"),
        Embedding(Organization, column="location_id"),
        Embedding(Person, column="location_id"),
        Embedding(Meeting, column="location_id"),
        Embedding(Paper, link=link_tables.paper_location),
    ],
    Consultation: [Embedding(Paper, child_column="paper_id")],
    AgendaItem: [Embedding(Meeting, child_column="meeting_id")],
    Membership: [Embedding(Person, child_column="person_id")],
    LegislativeTerm: [Embedding(Body, child_column="body_id")],
}
# Shared embedded types: a File or Location can sit in many objects at once.
SHARED = (File, Location)


def embedding_parents(
    session: Session, child: type[OParlObject], ids: Ids
) -> dict[int, set[tuple[type[OParlObject], int]]]:
    """For each child id, the objects embedding it."""
    found: dict[int, set[tuple[type[OParlObject], int]]] = defaultdict(set)
    for chunk in chunks(sorted(ids)):
        for embedding in EMBEDDED_IN.get(child, ()):
            for child_id, parent_id in embedding.pairs(session, child, set(chunk)):
                found[child_id].add((embedding.parent, parent_id))
    return found


# A change of these foreign keys changes the output of the old and the new target too, because the
# target shows the source in a back-reference (Organization.membership, File.paper, …).
BACKREF_COLUMNS = frozenset(
    {
        ("Membership", "organization_id"),
        ("Consultation", "agenda_item_id"),
        ("File", "master_file_id"),
        ("Body", "location_id"),
        ("Organization", "location_id"),
        ("Person", "location_id"),
        ("Meeting", "location_id"),
        ("Paper", "main_file_id"),
        ("Meeting", "invitation_id"),
        ("Meeting", "results_protocol_id"),
        ("Meeting", "verbatim_protocol_id"),
        ("AgendaItem", "resolution_file_id"),
        # A child moved to another parent leaves the old one and joins the new one.
        ("Consultation", "paper_id"),
        ("AgendaItem", "meeting_id"),
        ("Membership", "person_id"),
        ("LegislativeTerm", "body_id"),
    }
)
# Link tables whose targets show their owners (File.paper, Location.papers, both ends of paper links).
BACKREF_LINKS = frozenset(
    {
        "paper_auxiliary_file",
        "meeting_auxiliary_file",
        "agenda_item_auxiliary_file",
        "paper_location",
        "paper_related_paper",
        "paper_subordinated_paper",
    }
)
SCOPE_COLUMNS = frozenset({"body_id", "system_id"})


def table_of(model: type[OParlObject]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


MODELS_BY_TABLE: dict[str, type[OParlObject]] = {
    table_of(m.class_).name: m.class_ for m in Base.registry.mappers if issubclass(m.class_, OParlObject)
}


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
                child = MODELS_BY_TABLE.get(fk.column.table.name)
                if child in EMBEDDED_IN and child not in (
                    Consultation,
                    AgendaItem,
                    Membership,
                    LegislativeTerm,
                ):
                    found[child] |= _scalars(session, select(column).where(model.id.in_(ids)))
        for link in _link_tables():
            owner, target = link_ends(link)
            if owner is model and target in (File, Location):
                found[target] |= _scalars(session, select(link.c.target_id).where(link.c.owner_id.in_(ids)))
    return found


def neighbours(session: Session, model: type[OParlObject], ids: Ids) -> dict[type[OParlObject], Ids]:
    """Objects joined to `ids` by a reference in either direction (scope columns aside).

    Used when objects appear or disappear: references to them are shown or dropped.
    """
    table = table_of(model)
    found: dict[type[OParlObject], Ids] = defaultdict(set)
    for other in MODELS_BY_TABLE.values():
        other_table = table_of(other)
        for column in other_table.columns:
            if column.name in SCOPE_COLUMNS:
                continue
            for fk in column.foreign_keys:
                if fk.column.table is table:
                    found[other] |= _scalars(session, select(other.id).where(column.in_(ids)))
                if other is model and fk.column.table.name in MODELS_BY_TABLE:
                    target = MODELS_BY_TABLE[fk.column.table.name]
                    found[target] |= _scalars(session, select(column).where(other.id.in_(ids)))
    for link in _link_tables():
        owner, target = link_ends(link)
        if target is model:
            found[owner] |= _scalars(session, select(link.c.owner_id).where(link.c.target_id.in_(ids)))
        if owner is model:
            found[target] |= _scalars(session, select(link.c.target_id).where(link.c.owner_id.in_(ids)))
    return found


def link_ends(link: Table) -> tuple[type[OParlObject], type[OParlObject]]:
    """The models a link table joins: (owner, target)."""
    (owner,) = link.c.owner_id.foreign_keys
    (target,) = link.c.target_id.foreign_keys
    return MODELS_BY_TABLE[owner.column.table.name], MODELS_BY_TABLE[target.column.table.name]


def _link_tables() -> Iterable[Table]:
    return (t for t in vars(link_tables).values() if isinstance(t, Table))


def _scalars(session: Session, query: Select[Any]) -> Ids:
    return {i for i in session.scalars(query) if i is not None}


def chunks(items: list[T], size: int = 500) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
