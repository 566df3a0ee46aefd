"""Location: wire model, mapping, eager loads."""

from __future__ import annotations

from typing import Any

from models import Location
from oparl.base import ObjectOut, Render, common
from oparl.kind import Kind, ids_only, refs


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
        **common(loc, "Location", render.urls),
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
    ids_only(Location.bodies),
    ids_only(Location.organizations),
    ids_only(Location.persons),
    ids_only(Location.meetings),
    ids_only(Location.papers),
)

KIND = Kind("Location", location_out, LOAD_OPTIONS)
