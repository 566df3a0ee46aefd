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


def embedded_location(loc: Location | None, render: Render) -> LocationOut | None:
    return location_out(loc, render, embedded=True) if loc is not None and render.shows(loc) else None


LOAD_OPTIONS = (
    selectinload(Location.bodies).load_only(Body.id, Body.deleted, Body.nonpublic),
    selectinload(Location.organizations).load_only(Organization.id, Organization.deleted, Organization.nonpublic),
    selectinload(Location.persons).load_only(Person.id, Person.deleted, Person.nonpublic),
    selectinload(Location.meetings).load_only(Meeting.id, Meeting.deleted, Meeting.nonpublic),
    selectinload(Location.papers).load_only(Paper.id, Paper.deleted, Paper.nonpublic),
)

KIND = Kind("Location", Location, location_out, LOAD_OPTIONS)
