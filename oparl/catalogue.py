"""The OParl types and how they relate: the one place these facts are written (spec chapters 4, 7, 8).

For each type: its model, URL segment and JSON type; where it is embedded (by a column of the parent,
a link table, or its own column naming its parent, with the array it sits in and at which position);
the references whose target shows it back (so a change of them moves the target's `modified` too);
which list shows it (a Body's, the System's, an Organization's). Everything else is derived from these
entries and the ORM mapping: the insert order, the back-reference columns and links, the properties the
server derives instead of storing. The loader, the cascade, the routes, the harvester and the tests
read them from here; tests/oparl/test_catalogue.py holds them against the mapping and the OParl schemas.

Types are declared in the spec's order (chapter 8), which is the order of every enumeration derived
from them (URL segments in the OpenAPI document, the registry of renderings).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property

from sqlalchemy import Table
from sqlalchemy.orm import QueryableAttribute

import models
from models import OParlObject
from models import links as link

SCHEMA_BASE = "https://schema.oparl.org/1.1/"


@dataclass(frozen=True)
class Embedding:
    """Where a child is embedded: a column of the parent naming it, a link table (owner = parent), or
    the child's own column naming its parent (an embedded-only child, in the parent's array `array`)."""

    parent: str
    column: str | None = None
    link: Table | None = None
    child_column: str | None = None
    array: str | None = None
    shown_as: str | None = None  # the child's back-reference naming the parent (File.paper)


@dataclass(frozen=True)
class Backref:
    """A reference of this type whose target shows it back: `column` changes move the old and new target."""

    column: str
    shown_as: str  # the target's property


@dataclass(frozen=True)
class Listing:
    """An external list of this type's objects: `parent.<name>` (objects linked by `link` to the parent)."""

    parent: str
    name: str
    link: Table | None = None


@dataclass(frozen=True)
class OParlType:
    name: str
    model: type[OParlObject]
    segment: str
    embedded_in: tuple[Embedding, ...] = ()
    backrefs: tuple[Backref, ...] = ()
    listed_in: tuple[Listing, ...] = ()
    position: str | None = None  # the column keeping an embedded child's place in its parent's array
    aliases: Mapping[str, str] = field(default_factory=dict)  # input property -> attribute storing it
    mutual_links: tuple[Table, ...] = ()  # links whose both ends show each other (related papers)
    page: bool = False  # has an HTML page (api/pages), which is its `web`

    @property
    def json_type(self) -> str:
        return SCHEMA_BASE + self.name

    @property
    def table(self) -> Table:
        table: Table = self.model.__table__  # type: ignore[attr-defined]
        return table

    @cached_property
    def parent(self) -> Embedding | None:
        """The parent of an embedded-only child (a Consultation's Paper), else None."""
        return next((e for e in self.embedded_in if e.child_column is not None), None)

    @property
    def shared(self) -> bool:
        """Embedded in objects that do not own it (a File in papers and meetings, a meeting room)."""
        return bool(self.embedded_in) and self.parent is None

    @property
    def body_list(self) -> str | None:
        """The Body property naming this type's list, if a Body lists it."""
        return next((name for name, t in BODY_LISTS.items() if t is self), None)


def _file_in(parent: str, shown_as: str, *columns: str, links: Iterable[Table] = ()) -> list[Embedding]:
    return [Embedding(parent, column=c, shown_as=shown_as) for c in columns] + [
        Embedding(parent, link=t, shown_as=shown_as) for t in links
    ]


TYPES: dict[str, OParlType] = {
    t.name: t
    for t in (
        OParlType("System", models.System, "system"),
        OParlType("Body", models.Body, "body", listed_in=(Listing("System", "body"),), page=True),
        OParlType("LegislativeTerm", models.LegislativeTerm, "legislative-term",
                  embedded_in=(Embedding("Body", child_column="body_id", array="legislative_term"),)),
        OParlType("Organization", models.Organization, "organization", page=True),
        OParlType("Person", models.Person, "person", aliases={"location_object": "location"}, page=True),
        OParlType("Membership", models.Membership, "membership",
                  embedded_in=(Embedding("Person", child_column="person_id", array="membership"),),
                  backrefs=(Backref("organization_id", "membership"),)),
        OParlType("Meeting", models.Meeting, "meeting", page=True,
                  listed_in=(Listing("Organization", "meeting", link.meeting_organization),)),
        OParlType("AgendaItem", models.AgendaItem, "agenda-item", position="order",
                  embedded_in=(Embedding("Meeting", child_column="meeting_id", array="agenda_item"),)),
        OParlType("Paper", models.Paper, "paper", page=True,
                  mutual_links=(link.paper_related_paper, link.paper_subordinated_paper)),
        OParlType("Consultation", models.Consultation, "consultation", position="position",
                  embedded_in=(Embedding("Paper", child_column="paper_id", array="consultation"),),
                  backrefs=(Backref("agenda_item_id", "consultation"),),
                  listed_in=(Listing("Organization", "consultation", link.consultation_organization),)),
        OParlType("File", models.File, "file",
                  embedded_in=(
                      *_file_in("Paper", "paper", "main_file_id", links=[link.paper_auxiliary_file]),
                      *_file_in("Meeting", "meeting", "invitation_id", "results_protocol_id", "verbatim_protocol_id",
                                links=[link.meeting_auxiliary_file]),
                      *_file_in("AgendaItem", "agenda_item", "resolution_file_id",
                                links=[link.agenda_item_auxiliary_file]),
                  ),
                  backrefs=(Backref("master_file_id", "derivative_file"),)),
        OParlType("Location", models.Location, "location",
                  embedded_in=(
                      Embedding("Body", column="location_id", shown_as="bodies"),
                      Embedding("Organization", column="location_id", shown_as="organizations"),
                      Embedding("Person", column="location_id", shown_as="persons"),
                      Embedding("Meeting", column="location_id", shown_as="meetings"),
                      Embedding("Paper", link=link.paper_location, shown_as="papers"),
                  )),
    )
}  # fmt: skip
# A Body's lists (spec 8.2; the last six new in 1.1): property -> the type it holds, in the order a
# harvester walks them, the four lists of OParl 1.0 first, so that most references point backwards.
BODY_LISTS: dict[str, OParlType] = {
    name: TYPES[type_name]
    for name, type_name in (
        ("organization", "Organization"), ("person", "Person"), ("meeting", "Meeting"), ("paper", "Paper"),
        ("legislativeTermList", "LegislativeTerm"), ("locationList", "Location"), ("agendaItem", "AgendaItem"),
        ("consultation", "Consultation"), ("file", "File"), ("membership", "Membership"),
    )
}  # fmt: skip
# What one Body holds: itself and the types of its lists (its change feed and snapshot, kommParl 0.1).
IN_BODY: tuple[OParlType, ...] = (TYPES["Body"], *BODY_LISTS.values())
BY_SEGMENT: dict[str, OParlType] = {t.segment: t for t in TYPES.values()}
BY_MODEL: dict[type[OParlObject], OParlType] = {t.model: t for t in TYPES.values()}
BY_TABLE: dict[str, OParlType] = {t.table.name: t for t in TYPES.values()}
SHARED: tuple[type[OParlObject], ...] = tuple(t.model for t in TYPES.values() if t.shared)
# Properties of every type that the server sets itself, and internal columns that are no properties.
SERVER_SET = frozenset({"id", "type", "created", "modified", "deleted", "oparl_version", "stored", "ever_public"})


def listing(type_name: str, parent: str) -> Listing:
    """Where `parent` lists objects of `type_name` (an Organization's meetings)."""
    return next(entry for entry in TYPES[type_name].listed_in if entry.parent == parent)


def of(model: type[OParlObject]) -> OParlType:
    return BY_MODEL[model]


def body_column(model: type[OParlObject]) -> QueryableAttribute[int] | None:
    """The column naming the Body an object belongs to (a Body's own id); None for the System."""
    if model is models.Body:
        return models.Body.id
    column: QueryableAttribute[int] | None = getattr(model, "body_id", None)
    return column


_TARGETS: dict[tuple[type[OParlObject], str], OParlType] = {}  # asked for every reference written


def target(model: type[OParlObject], column: str) -> OParlType:
    """The type a foreign key column of `model` points at."""
    found = _TARGETS.get((model, column))
    if found is None:
        (fk,) = model.__table__.c[column].foreign_keys  # type: ignore[attr-defined]
        found = _TARGETS[(model, column)] = BY_TABLE[fk.column.table.name]
    return found


@cache
def link_ends(table: Table) -> tuple[OParlType, OParlType]:
    """The types a link table joins: (owner, target)."""
    (owner,) = table.c.owner_id.foreign_keys
    (to,) = table.c.target_id.foreign_keys
    return BY_TABLE[owner.column.table.name], BY_TABLE[to.column.table.name]


# The functions below answer from the entries above, which never change: each answer is kept.


@cache
def link_tables() -> tuple[Table, ...]:
    return tuple(t for t in vars(link).values() if isinstance(t, Table))


@cache
def embeddings() -> tuple[tuple[OParlType, Embedding], ...]:
    """(child type, embedding) for every place any type is embedded."""
    return tuple((t, e) for t in TYPES.values() for e in t.embedded_in)


@cache
def children_of(parent: str) -> tuple[tuple[OParlType, Embedding], ...]:
    """The embedded-only child types of `parent` (a Paper's Consultations)."""
    return tuple((t, e) for t, e in embeddings() if e.child_column is not None and e.parent == parent)


@cache
def child_in(parent: str, array: str) -> tuple[OParlType, Embedding]:
    """The child type of `parent`'s embedded array `array` (Paper.consultation: Consultation)."""
    (found,) = [(t, e) for t, e in children_of(parent) if e.array == array]
    return found


def _backref_columns() -> frozenset[tuple[str, str]]:
    """(type, column) of every reference whose target shows its source: embedding columns (the Paper's
    main file shows the Paper), children's parent columns (moved to another parent, a child leaves one
    and joins the other) and the declared back-references (Organization.membership)."""
    found = {(e.parent, e.column) for _, e in embeddings() if e.column is not None}
    found |= {(t.name, e.child_column) for t, e in embeddings() if e.child_column is not None}
    found |= {(t.name, b.column) for t in TYPES.values() for b in t.backrefs}
    return frozenset(found)


BACKREF_COLUMNS = _backref_columns()
# Link tables whose targets show their owners: embedding links (File.paper) and mutual ones (both ends).
BACKREF_LINKS = frozenset(
    {e.link.name for _, e in embeddings() if e.link is not None}
    | {table.name for t in TYPES.values() for table in t.mutual_links}
)


def derived(type_name: str) -> frozenset[str]:
    """Attributes of `type_name` the server derives (list URLs and back-references): read, never written."""
    names = {snake(entry.name) for t in TYPES.values() for entry in t.listed_in if entry.parent == type_name}
    if type_name == "Body":
        names |= {snake(name) for name in BODY_LISTS}
    names |= {str(e.shown_as) for t, e in embeddings() if t.name == type_name and e.shown_as}
    for t in TYPES.values():
        names |= {b.shown_as for b in t.backrefs if target(t.model, b.column).name == type_name}
    return frozenset(names | SERVER_SET)


def insert_order() -> tuple[str, ...]:
    """Types in an order where every foreign key of a new row points at a type inserted before, but
    for self-references and a nullable key closing a cycle (a Body's Location, which needs the Body):
    those are set after the inserts. Ties keep the declaration order."""
    needs = {name: _references(t) for name, t in TYPES.items()}
    order: list[str] = []
    while len(order) < len(TYPES):
        order.append(next(n for n in TYPES if n not in order and needs[n] <= set(order)))
    return tuple(order)


def _references(t: OParlType) -> set[str]:
    found = set()
    for column in t.table.columns:
        for fk in column.foreign_keys:
            other = BY_TABLE[fk.column.table.name]
            if other is t:
                continue
            closes_cycle = column.nullable and any(
                not c.nullable and fk2.column.table is t.table for c in other.table.columns for fk2 in c.foreign_keys
            )
            if not closes_cycle:
                found.add(other.name)
    return found


INSERT_ORDER = insert_order()


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def camel(attr: str) -> str:
    head, *rest = attr.split("_")
    return head + "".join(part.title() for part in rest)
