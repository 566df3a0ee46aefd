"""What a page names other objects by (a paper's reference, a meeting's date), read in one statement.

A page is built from the object's stored anonymous rendering (oparl/snapshot.py) plus the labels
of the objects it links to: every part is a SELECT of the same columns, and `read` runs them all
as one UNION ALL, so a page costs a fixed, small number of statements, never one per link. Every
part selects only rows an anonymous client is shown (oparl/visibility.py), joined rows too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Date,
    Select,
    Text,
    and_,
    cast,
    func,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from models import AgendaItem, Body, Consultation, Meeting, Membership, OParlObject, Organization, Paper, Person
from models.base import UTCDateTime
from oparl.visibility import shown_where

Where = Sequence[ColumnElement[bool]]


@dataclass(frozen=True)
class Label:
    """`tag` names the part (a type name, or a join such as "Membership"); `link` an object the
    row leads to (a consultation's paper, a membership's person); the rest is what is shown."""

    tag: str
    id: int
    link: int | None
    title: str | None
    detail: str | None
    extra: str | None
    at: dt.datetime | None
    day: dt.date | None
    until: dt.date | None


_TYPES: dict[str, Any] = {"link": BigInteger(), "title": Text(), "detail": Text(), "extra": Text(),
                          "at": UTCDateTime(), "day": Date(), "until": Date()}  # fmt: skip


def shown(model: type[OParlObject]) -> list[ColumnElement[bool]]:
    return shown_where(model, entitled=False)


def part(tag: str, model: type[OParlObject], where: Where = (), **columns: Any) -> Select[Any]:
    """A SELECT of the label columns over the shown rows of `model`; columns not given are NULL."""
    # Given columns are only typed (SQLite's CAST to DATETIME would make a number of a date);
    # NULLs are cast, so that PostgreSQL finds one type per column across the union.
    values = [
        (cast(null(), kind) if name not in columns else type_coerce(columns[name], kind)).label(name)
        for name, kind in _TYPES.items()
    ]
    query: Select[Any] = select(literal_column(f"'{tag}'", Text).label("tag"), model.id.label("id"), *values)
    return query.where(*shown(model), *where)


# The label of each type with pages, and of the types pages name (an agenda item's result).
def papers(where: Where = ()) -> Select[Any]:
    return part("Paper", Paper, where, title=Paper.reference, detail=Paper.name, extra=Paper.paper_type, day=Paper.date)


def meetings(where: Where = ()) -> Select[Any]:
    return part("Meeting", Meeting, where, title=Meeting.name, extra=Meeting.meeting_state, at=Meeting.start)


def organizations(where: Where = ()) -> Select[Any]:
    o = Organization
    return part("Organization", o, where, title=o.name, detail=o.short_name, extra=o.classification,
                day=o.start_date, until=o.end_date)  # fmt: skip


def persons(where: Where = ()) -> Select[Any]:
    return part("Person", Person, where, title=Person.name)


def bodies(where: Where = ()) -> Select[Any]:
    return part("Body", Body, where, title=Body.name, detail=Body.short_name)


def agenda_items(where: Where = ()) -> Select[Any]:
    return part("AgendaItem", AgendaItem, where, link=AgendaItem.meeting_id, title=AgendaItem.name,
                detail=AgendaItem.number, extra=AgendaItem.result)  # fmt: skip


def consulted_papers(where: Where) -> Select[Any]:
    """The paper of each consultation in `where`, where both are shown (a meeting's agenda)."""
    joined = and_(Paper.id == Consultation.paper_id, *shown(Paper))
    return part("Consultation", Consultation, where, link=Paper.id, title=Paper.reference,
                detail=Paper.name).join(Paper, joined)  # fmt: skip


def members(organization_id: Any) -> Select[Any]:
    """The organization's memberships with their persons, where both are shown."""
    joined = and_(Person.id == Membership.person_id, *shown(Person))
    return part("Membership", Membership, [Membership.organization_id == organization_id], link=Person.id,
                title=Person.name, detail=Membership.role, day=Membership.start_date,
                until=Membership.end_date).join(Person, joined)  # fmt: skip


def ordered(query: Select[Any], *order: Any, limit: Any) -> Select[Any]:
    """The first `limit` rows of a part in `order`, numbered so that the union keeps that order."""
    return query.add_columns(func.row_number().over(order_by=order).label("row_no")).order_by(*order).limit(limit)


def union(*parts: Select[Any]) -> CompoundSelect[Any]:
    """The parts as one statement. Built once per page type with bound parameters (building it
    costs more than running it), so that each page is one execution of a prepared construct."""
    # Each part in a subquery of its own keeps its ORDER BY and LIMIT inside the union (SQLite
    # refuses them on a compound's members); `part_no` and `row_no` restore the order given.
    return union_all(*(_numbered(p, i) for i, p in enumerate(parts)))


def read(session: Session, statement: CompoundSelect[Any], **params: Any) -> list[Label]:
    """Every part's rows, parts in the order given, each in its own order."""
    rows = sorted(session.execute(statement, params).all(), key=lambda r: (r.part_no, r.row_no, r.id))
    return [Label(r.tag, r.id, r.link, r.title, r.detail, r.extra, r.at, r.day, r.until) for r in rows]


def _numbered(query: Select[Any], number: int) -> Select[Any]:
    if "row_no" not in query.selected_columns:
        query = query.add_columns(literal_column("0", BigInteger).label("row_no"))
    inner = query.subquery()
    return select(*inner.c, literal_column(str(number), BigInteger).label("part_no"))
