"""What calendars, feeds and catalogues show, read as an anonymous OParl client sees it.

Objects come as their stored anonymous renderings (oparl/snapshot.py), selected with the list
rules of oparl/visibility.py: nothing non-public or deleted is ever read, and everything shown
is exactly what the object's URL serves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from models import AgendaItem, Consultation, Meeting, Membership, OParlObject, Organization, Paper
from models.links import consultation_organization, meeting_organization
from oparl.catalogue import listing
from oparl.registry import KINDS
from oparl.snapshot import Snapshots
from oparl.visibility import shown_where

Where = list[ColumnElement[bool]]


def anonymous(model: type[OParlObject]) -> Where:
    return shown_where(model, entitled=False)


def rendered(
    session: Session, snapshots: Snapshots, model: type[OParlObject], where: Sequence[ColumnElement[bool]],
    order: Sequence[Any], limit: int | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The anonymous JSON of the shown objects of `model` matching `where`, in `order`."""
    query = select(model.id, model.rendered, model.rendered_key).where(*anonymous(model), *where).order_by(*order)
    rows = session.execute(query if limit is None else query.limit(limit)).all()
    parts = snapshots.stored(session, KINDS[model.__name__], rows)
    return [orjson.loads(parts[row.id]) for row in rows]


def meetings_of_organization(organization_id: int) -> ColumnElement[bool]:
    link = meeting_organization.c
    return Meeting.id.in_(select(link.owner_id).where(link.target_id == organization_id))


def meetings_of_person(person_id: int) -> ColumnElement[bool]:
    """Meetings of every organization the person is (or was) a shown member of."""
    organizations = select(Membership.organization_id).where(Membership.person_id == person_id, *anonymous(Membership))
    linked = select(meeting_organization.c.owner_id).where(meeting_organization.c.target_id.in_(organizations))
    return Meeting.id.in_(linked)


def papers_of_organization(organization_id: int) -> ColumnElement[bool]:
    """Papers consulted in the organization (through its shown consultations)."""
    link = listing("Consultation", "Organization").link
    assert link is not None
    consulted = select(Consultation.paper_id).where(
        Consultation.id.in_(select(link.c.owner_id).where(link.c.target_id == organization_id)),
        *anonymous(Consultation),
    )
    return Paper.id.in_(consulted)


def in_window(start: dt.datetime, end: dt.datetime) -> Where:
    return [Meeting.start >= start, Meeting.start < end]


def organization_names(session: Session, body_id: int) -> dict[int, str]:
    query = select(Organization.id, Organization.name, Organization.short_name).where(
        Organization.body_id == body_id, *anonymous(Organization)
    )
    return {row.id: row.name or row.short_name or "" for row in session.execute(query)}


@dataclass(frozen=True)
class Deliberation:
    """One step of a paper's Beratungsfolge, as far as it is shown."""

    role: str | None
    authoritative: bool | None
    organizations: tuple[int, ...]
    meeting_start: dt.datetime | None
    meeting_name: str | None
    result: str | None


def deliberations(session: Session, paper_ids: Sequence[int]) -> dict[int, list[Deliberation]]:
    """The shown consultations of each paper, with the shown meeting and agenda item they name."""
    query = (
        select(
            Consultation.id,
            Consultation.paper_id,
            Consultation.role,
            Consultation.authoritative,
            Meeting.start,
            Meeting.name,
            AgendaItem.result,
        )  # fmt: skip
        .outerjoin(Meeting, and_(Meeting.id == Consultation.meeting_id, *anonymous(Meeting)))
        .outerjoin(AgendaItem, and_(AgendaItem.id == Consultation.agenda_item_id, *anonymous(AgendaItem)))
        .where(Consultation.paper_id.in_(paper_ids), *anonymous(Consultation))
        .order_by(Consultation.paper_id, Meeting.start.asc().nulls_last(), Consultation.position)
    )
    rows = session.execute(query).all()
    links = select(consultation_organization.c.owner_id, consultation_organization.c.target_id).where(
        consultation_organization.c.owner_id.in_([row.id for row in rows])
    )
    organizations: dict[int, list[int]] = {}
    for owner, target in session.execute(links.order_by(consultation_organization.c.position)):
        organizations.setdefault(owner, []).append(target)
    found: dict[int, list[Deliberation]] = {}
    for row in rows:
        named = tuple(organizations.get(row.id, ()))
        step = Deliberation(row.role, row.authoritative, named, row.start, row.name, row.result)
        found.setdefault(row.paper_id, []).append(step)
    return found
