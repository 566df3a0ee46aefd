"""Eager-load helpers: a reference loads just the id and whether to show it."""

from __future__ import annotations

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, selectinload

from models import Location, Meeting
from oparl.kind import ids_only
from tests.factories import make_body, make_location, make_meeting


def test_ids_only_loads_a_references_id_and_visibility_alone(session: Session) -> None:
    body = make_body(session)
    room = make_location(session, body)
    make_meeting(session, body, location_id=room.id)
    session.expire_all()
    location = session.scalars(select(Location).options(ids_only(Location.meetings))).one()
    meeting = location.meetings[0]
    assert {"name", "start"} <= inspect(meeting).unloaded
    assert {"id", "deleted", "nonpublic"}.isdisjoint(inspect(meeting).unloaded)


def test_ids_only_below_a_path_nests_under_it(session: Session) -> None:
    body = make_body(session)
    room = make_location(session, body)
    make_meeting(session, body, location_id=room.id)
    session.expire_all()
    path = selectinload(Meeting.location)
    meeting = session.scalars(select(Meeting).options(path, ids_only(Location.meetings, path))).one()
    assert meeting.location is not None
    assert meeting.location.meetings == [meeting]
