"""Typed factories: each adds one row (with sensible defaults), flushes and returns it."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from models import (
    AgendaItem,
    Body,
    Consultation,
    File,
    LegislativeTerm,
    Location,
    Meeting,
    Membership,
    OParlObject,
    Organization,
    Paper,
    Person,
    System,
)

T = TypeVar("T", bound=OParlObject)
STAMP = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


def _add(session: Session, obj: T, overrides: dict[str, Any]) -> T:
    for name, value in overrides.items():
        setattr(obj, name, value)
    if obj.created is None:
        obj.created = STAMP
    if obj.modified is None:
        obj.modified = obj.created
    if obj.deleted is None:
        obj.deleted = False
    session.add(obj)
    session.flush()
    return obj


def link(session: Session, table: Table, owner: OParlObject, *targets: OParlObject) -> None:
    rows = [{"owner_id": owner.id, "target_id": t.id, "position": i} for i, t in enumerate(targets)]
    session.execute(insert(table), rows)
    session.flush()


def make_system(session: Session, **overrides: Any) -> System:
    return _add(session, System(name="Testsystem"), overrides)


def make_body(session: Session, system: System | None = None, **overrides: Any) -> Body:
    system = system or make_system(session)
    return _add(session, Body(system_id=system.id, name="Stadt Beispielstadt"), overrides)


def make_legislative_term(session: Session, body: Body, **overrides: Any) -> LegislativeTerm:
    term = LegislativeTerm(
        body_id=body.id,
        name="Wahlperiode 2023-2028",
        start_date=dt.date(2023, 6, 1),
        end_date=dt.date(2028, 5, 31),
    )
    return _add(session, term, overrides)


def make_location(session: Session, body: Body, **overrides: Any) -> Location:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [10.6866, 53.8655]},
        "properties": {},
    }
    location = Location(body_id=body.id, description="Rathaus, Breite Straße 62", geojson=feature, locality="Lübeck")
    return _add(session, location, overrides)


def make_organization(session: Session, body: Body, **overrides: Any) -> Organization:
    return _add(session, Organization(body_id=body.id, name="Hauptausschuss", organization_type="Gremium"), overrides)


def make_person(session: Session, body: Body, **overrides: Any) -> Person:
    return _add(session, Person(body_id=body.id, name="Erika Mustermann"), overrides)


def make_membership(session: Session, person: Person, organization: Organization, **overrides: Any) -> Membership:
    membership = Membership(
        body_id=person.body_id, person_id=person.id, organization_id=organization.id, role="Mitglied"
    )
    return _add(session, membership, overrides)


def make_meeting(session: Session, body: Body, **overrides: Any) -> Meeting:
    return _add(session, Meeting(body_id=body.id, name="Sitzung", start=STAMP), overrides)


def make_agenda_item(session: Session, meeting: Meeting, **overrides: Any) -> AgendaItem:
    item = AgendaItem(body_id=meeting.body_id, meeting_id=meeting.id, order=0, name="Tagesordnungspunkt", public=True)
    return _add(session, item, overrides)


def make_paper(session: Session, body: Body, **overrides: Any) -> Paper:
    return _add(session, Paper(body_id=body.id, name="Vorlage", reference="VO/2024/1"), overrides)


def make_consultation(session: Session, paper: Paper, **overrides: Any) -> Consultation:
    return _add(session, Consultation(body_id=paper.body_id, paper_id=paper.id, role="Vorberatung"), overrides)


def make_file(session: Session, body: Body, **overrides: Any) -> File:
    file = File(body_id=body.id, name="Anlage", access_url="https://files.example.org/anlage.pdf")
    return _add(session, file, overrides)
