"""Location: wire model, mapping, eager loads."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import selectinload

from models import Body, Location, Meeting, Organization, Paper, Person
from oparl.base import ObjectOut, Render, common
from oparl.kind import Kind, refs


class LocationOut(ObjectOut):
    description: str | None = None
    geojson: dict[str, Any] | None = None
    street_address: str | None = None
    room: str | None = None
    postal_code: str | None = None
    sub_locality: str | None = None
    locality: str | None = None
    bodies: list[str] | None = None
    organizations: list[str] | None = None
    persons: list[str] | None = None
    meetings: list[str] | None = None
    papers: list[str] | None = None


def location_out(loc: Location, render: Render, *, embedded: bool = False) -> LocationOut:
    back: dict[str, Any] = {}
    if not embedded:
        # Back-references are output only when the location is not embedded (spec 8.12).
        back = {
            "bodies": refs(render, "Body", loc.bodies),
            "organizations": refs(render, "Organization", loc.organizations),
            "persons": refs(render, "Person", loc.persons),
            "meetings": refs(render, "Meeting", loc.meetings),
            "papers": refs(render, "Paper", loc.papers),
        }
    return LocationOut(
        **common(loc, "Location", render.urls.object("Location", loc.id)),
        description=loc.description,
        geojson=loc.geojson,
        street_address=loc.street_address,
        room=loc.room,
        postal_code=loc.postal_code,
        sub_locality=loc.sub_locality,
        locality=loc.locality,
        **back,
    )


LOAD_OPTIONS = (
    selectinload(Location.bodies).load_only(Body.id, Body.deleted),
    selectinload(Location.organizations).load_only(Organization.id, Organization.deleted),
    selectinload(Location.persons).load_only(Person.id, Person.deleted),
    selectinload(Location.meetings).load_only(Meeting.id, Meeting.deleted),
    selectinload(Location.papers).load_only(Paper.id, Paper.deleted),
)

KIND = Kind("Location", Location, location_out, LOAD_OPTIONS)
