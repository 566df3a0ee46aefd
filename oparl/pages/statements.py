"""The one label statement of each page type, built once and run with the page's parameters.

Building a union of subqueries in SQLAlchemy costs far more than running it (about 10 ms against
well under 1 ms on a busy machine), and a statement built once keeps its cache key: so each is
made on first use with bound parameters (`object_id`, and `now`, `after`, `limit` where a page has
them) and reused. Every part names the objects the page's rendering links to, through the same
columns and link tables the rendering reads; `labels.part` keeps to what an anonymous client sees.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, CompoundSelect, Table, bindparam, select, union_all

from models import AgendaItem, Body, Consultation, Meeting, Membership, OParlObject, Organization, Paper, Person
from models import links as link
from oparl.pages import labels as lb

RECENT, COMMITTEES, MEMBERS, BODIES = 10, 100, 500, 1000
OBJECT: Any = bindparam("object_id", type_=BigInteger())


def _linked(table: Table, *, reverse: bool = False) -> Any:
    """The targets a link table gives the page's object (its owners, `reverse`)."""
    mine, other = (table.c.target_id, table.c.owner_id) if reverse else (table.c.owner_id, table.c.target_id)
    return select(other).where(mine == OBJECT)


def _of(model: type[OParlObject], column: str) -> Any:
    """The object a column of the page's own row names (its Body)."""
    return select(getattr(model, column)).where(model.id == OBJECT).scalar_subquery()


def _in(model: type[OParlObject], *sources: Any) -> list[ColumnElement[bool]]:
    """The rows any of `sources` names: one IN over their union (PostgreSQL plans `IN … OR IN …`
    as a scan of the whole table)."""
    return [model.id.in_(union_all(*sources) if len(sources) > 1 else sources[0])]


@cache
def paper() -> CompoundSelect[Any]:
    consultations = select(Consultation.id).where(Consultation.paper_id == OBJECT, *lb.shown(Consultation))
    steps = Consultation.paper_id == OBJECT, *lb.shown(Consultation)
    organizations = select(link.consultation_organization.c.target_id).where(
        link.consultation_organization.c.owner_id.in_(consultations)
    )
    return lb.union(
        lb.meetings([Meeting.id.in_(select(Consultation.meeting_id).where(*steps))]),
        lb.agenda_items([AgendaItem.id.in_(select(Consultation.agenda_item_id).where(*steps))]),
        lb.organizations(
            _in(
                Organization,
                organizations,
                _linked(link.paper_under_direction_of),
                _linked(link.paper_originator_organization),
            )
        ),  # fmt: skip
        lb.persons(_in(Person, _linked(link.paper_originator_person))),
        lb.papers(
            _in(
                Paper,
                _linked(link.paper_related_paper),
                _linked(link.paper_related_paper, reverse=True),
                _linked(link.paper_subordinated_paper),
                _linked(link.paper_subordinated_paper, reverse=True),
            )
        ),  # fmt: skip
        lb.bodies([Body.id == _of(Paper, "body_id")]),
    )


@cache
def meeting() -> CompoundSelect[Any]:
    items = select(AgendaItem.id).where(AgendaItem.meeting_id == OBJECT)
    return lb.union(
        lb.consulted_papers([Consultation.agenda_item_id.in_(items)]),
        lb.organizations(_in(Organization, _linked(link.meeting_organization))),
        lb.persons(_in(Person, _linked(link.meeting_participant))),
        lb.bodies([Body.id == _of(Meeting, "body_id")]),
    )


@cache
def organization() -> CompoundSelect[Any]:
    meetings = _linked(link.meeting_organization, reverse=True)
    consulted = select(Consultation.paper_id).where(
        Consultation.id.in_(_linked(link.consultation_organization, reverse=True)), *lb.shown(Consultation)
    )
    return lb.union(
        lb.ordered(lb.members(OBJECT), Membership.start_date.asc().nulls_first(), Membership.id, limit=MEMBERS),
        lb.ordered(
            lb.meetings([Meeting.id.in_(meetings)]), Meeting.start.desc().nulls_last(), Meeting.id.desc(), limit=RECENT
        ),  # fmt: skip
        lb.ordered(
            lb.papers([Paper.id.in_(consulted)]), Paper.date.desc().nulls_last(), Paper.id.desc(), limit=RECENT
        ),  # fmt: skip
        lb.organizations([Organization.id == _of(Organization, "sub_organization_of_id")]),
        lb.bodies([Body.id == _of(Organization, "body_id")]),
    )


@cache
def person() -> CompoundSelect[Any]:
    mine = Membership.person_id == OBJECT, *lb.shown(Membership)
    organizations = select(Membership.organization_id).where(*mine)
    on_behalf_of = select(Membership.on_behalf_of_id).where(*mine)
    return lb.union(
        lb.organizations(_in(Organization, organizations, on_behalf_of)),
        lb.bodies([Body.id == _of(Person, "body_id")]),
    )


@cache
def body() -> CompoundSelect[Any]:
    """A Body's newest papers (those with a date), next and last meetings from `now`, committees."""
    now = bindparam("now", type_=Meeting.start.type)
    mine = Meeting.body_id == OBJECT
    return lb.union(
        lb.ordered(
            lb.papers([Paper.body_id == OBJECT, Paper.date.is_not(None)]),
            Paper.date.desc(),
            Paper.id.desc(),
            limit=RECENT,
        ),  # fmt: skip
        lb.ordered(lb.meetings([mine, Meeting.start >= now]), Meeting.start, Meeting.id, limit=RECENT),
        lb.ordered(
            lb.meetings([mine, Meeting.start < now]), Meeting.start.desc(), Meeting.id.desc(), limit=RECENT // 2
        ),  # fmt: skip
        lb.ordered(
            lb.organizations([Organization.body_id == OBJECT]), Organization.name, Organization.id, limit=COMMITTEES
        ),  # fmt: skip
    )


@cache
def start() -> CompoundSelect[Any]:
    return lb.union(lb.ordered(lb.bodies(), Body.name, Body.id, limit=BODIES))


# The paged lists: a Body's objects of a type with pages, by id like the API's lists.
LISTED: dict[str, Any] = {"Paper": lb.papers, "Meeting": lb.meetings, "Organization": lb.organizations,
                          "Person": lb.persons}  # fmt: skip


@cache
def listed(type_name: str) -> CompoundSelect[Any]:
    """Parameters: the Body (`object_id`), the cursor (`after`, 0 for the first page), `limit`."""
    model: Any = {"Paper": Paper, "Meeting": Meeting, "Organization": Organization, "Person": Person}[type_name]
    where = [model.body_id == OBJECT, model.id > bindparam("after")]
    return lb.union(lb.ordered(LISTED[type_name](where), model.id, limit=bindparam("limit")))


@cache
def organization_meetings() -> CompoundSelect[Any]:
    """An Organization's meetings, by id; parameters as for `listed`."""
    where = [Meeting.id.in_(_linked(link.meeting_organization, reverse=True)), Meeting.id > bindparam("after")]
    return lb.union(lb.ordered(lb.meetings(where), Meeting.id, limit=bindparam("limit")))
