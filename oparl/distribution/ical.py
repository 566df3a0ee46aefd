"""Meeting calendars (RFC 5545), built with the icalendar library from the meetings as served.

Each event: the meeting's id as UID (stable for its life), SUMMARY of committee and meeting
name, local times in the Body's zone with its VTIMEZONE (a meeting stored at midnight with no
end, as the seeds give only a date, is an all-day event), LOCATION, the public agenda ("Ö 1 …")
as DESCRIPTION, URL, STATUS:CANCELLED, and SEQUENCE/LAST-MODIFIED from `modified` so that
subscribed clients update. Agenda items the meeting holds in its non-public part are left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

PRODID = "-//oparl-server//Ratsinformationen//DE"


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def agenda_lines(meeting: dict[str, Any]) -> list[str]:
    """The public agenda in order: "Ö <number> <name>" (numbers as the council gives them)."""
    lines = []
    for position, item in enumerate(meeting.get("agendaItem") or [], start=1):
        if item.get("public") is False or item.get("deleted"):
            continue
        number = item.get("number") or str(position)
        lines.append(f"Ö {number} {item.get('name') or ''}".rstrip())
    return lines


def location_text(location: dict[str, Any] | None) -> str | None:
    if not location:
        return None
    parts = [location.get(k) for k in ("description", "room", "streetAddress")]
    place = " ".join(p for p in (location.get("postalCode"), location.get("locality")) if p)
    text = ", ".join(p for p in (*parts, place) if p)
    return text or None


def event(meeting: dict[str, Any], committees: list[str], zone: ZoneInfo) -> Event | None:
    if not meeting.get("start"):
        return None  # nothing a calendar could place
    start, modified = parse(meeting["start"]).astimezone(zone), parse(meeting["modified"])
    entry = Event()
    entry.add("uid", meeting["id"])
    name = meeting.get("name") or "Sitzung"
    entry.add("summary", f"{', '.join(committees)}: {name}" if committees and committees[0] not in name else name)
    if start.time() == dt.time(0) and not meeting.get("end"):
        entry.add("dtstart", start.date())
    else:
        entry.add("dtstart", start)
        if meeting.get("end"):
            entry.add("dtend", parse(meeting["end"]).astimezone(zone))
    entry.add("dtstamp", modified.astimezone(dt.UTC))
    entry.add("last-modified", modified.astimezone(dt.UTC))
    entry.add("created", parse(meeting["created"]).astimezone(dt.UTC))
    # Grows with every change of the meeting (its output), never shrinks: seconds since it was created.
    entry.add("sequence", max(0, int((modified - parse(meeting["created"])).total_seconds())))
    where = location_text(meeting.get("location"))
    if where:
        entry.add("location", where)
    lines = agenda_lines(meeting)
    description = "Tagesordnung (öffentlicher Teil):\n" + "\n".join(lines) if lines else ""
    entry.add("description", f"{description}\n\n{meeting['id']}".strip())
    entry.add("url", meeting.get("web") or meeting["id"])
    entry.add("status", "CANCELLED" if meeting.get("cancelled") else "CONFIRMED")
    if committees:
        entry.add("categories", committees)
    return entry


def calendar(name: str, meetings: Iterable[dict[str, Any]], names: dict[str, str], zone: ZoneInfo) -> bytes:
    """A VCALENDAR of `meetings`; `names` maps an Organization id (URL) to its name."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", zone.key)
    for meeting in meetings:
        committees = [names[url] for url in meeting.get("organization") or [] if url in names]
        entry = event(meeting, committees, zone)
        if entry is not None:
            cal.add_component(entry)
    cal.add_missing_timezones()
    ical: bytes = cal.to_ical()
    return ical
