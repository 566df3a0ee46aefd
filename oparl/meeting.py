"""Meeting: wire model, mapping, eager loads."""

from __future__ import annotations

from sqlalchemy.orm import selectinload

from models import Meeting
from oparl import agenda_item
from oparl.agenda_item import AgendaItemOut, agenda_item_out
from oparl.base import Calendar, DateTime, ObjectOut, Render, common
from oparl.file import FileOut, embedded_file, embedded_files, embedded_loads
from oparl.kind import Kind, ids_only, refs
from oparl.location import LocationOut, embedded_location


class MeetingOut(ObjectOut):
    name: str | None = None
    meeting_state: str | None = None
    cancelled: bool | None = None
    start: DateTime | None = None
    end: DateTime | None = None
    location: LocationOut | None = None
    organization: list[str] | None = None
    participant: list[str] | None = None
    invitation: FileOut | None = None
    results_protocol: FileOut | None = None
    verbatim_protocol: FileOut | None = None
    auxiliary_file: list[FileOut] | None = None
    agenda_item: list[AgendaItemOut] | None = None
    calendar: Calendar


def meeting_out(meeting: Meeting, render: Render) -> MeetingOut:
    urls = render.urls
    items = render.visible(meeting.agenda_item)
    return MeetingOut(
        **common(meeting, "Meeting", urls),
        name=meeting.name,
        meeting_state=meeting.meeting_state,
        cancelled=meeting.cancelled,
        start=meeting.start,
        end=meeting.end,
        location=embedded_location(meeting.location, render),
        organization=refs(render, "Organization", meeting.organization),
        participant=refs(render, "Person", meeting.participant),
        invitation=embedded_file(meeting.invitation, render),
        results_protocol=embedded_file(meeting.results_protocol, render),
        verbatim_protocol=embedded_file(meeting.verbatim_protocol, render),
        auxiliary_file=None if render.omit_internal else embedded_files(meeting.auxiliary_file, render),
        # `order` is the 0-based position among the live items (spec 8.8), whatever was stored.
        agenda_item=None
        if render.omit_internal
        else [agenda_item_out(item, render, embedded=True, order=i) for i, item in enumerate(items)],
        calendar=urls.calendar("Meeting", meeting.id),
    )


LOAD_OPTIONS = (
    selectinload(Meeting.location),
    ids_only(Meeting.organization),
    ids_only(Meeting.participant),
    *embedded_loads(selectinload(Meeting.invitation)),
    *embedded_loads(selectinload(Meeting.results_protocol)),
    *embedded_loads(selectinload(Meeting.verbatim_protocol)),
    *embedded_loads(selectinload(Meeting.auxiliary_file)),
    selectinload(Meeting.agenda_item),
    *agenda_item.load_options(selectinload(Meeting.agenda_item)),
)

KIND = Kind("Meeting", meeting_out, LOAD_OPTIONS)
