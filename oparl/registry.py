"""Every OParl type the server serves, by type name and by URL segment."""

from __future__ import annotations

from oparl import (
    agenda_item,
    body,
    consultation,
    file,
    legislative_term,
    location,
    meeting,
    membership,
    organization,
    paper,
    person,
    system,
)
from oparl.catalogue import TYPES
from oparl.kind import Kind

KINDS: dict[str, Kind] = {
    kind.type_name: kind
    for kind in (
        system.KIND,
        body.KIND,
        legislative_term.KIND,
        organization.KIND,
        person.KIND,
        membership.KIND,
        meeting.KIND,
        agenda_item.KIND,
        paper.KIND,
        consultation.KIND,
        file.KIND,
        location.KIND,
    )
}
BY_SEGMENT: dict[str, Kind] = {TYPES[name].segment: kind for name, kind in KINDS.items()}
# The types a Body lists (spec 8.2), by URL segment.
BODY_LISTED: dict[str, Kind] = {seg: kind for seg, kind in BY_SEGMENT.items() if TYPES[kind.type_name].body_list}
