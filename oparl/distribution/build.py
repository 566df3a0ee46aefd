"""The bytes of each calendar, feed and catalogue, from the database as an anonymous client sees it.

Callers (api/routes/distribution.py) check that the object named exists and is shown, and keep
the bytes in the answer cache by list generation: nothing here runs for an unchanged Body.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from models import Body, Meeting, OParlObject, Organization, Paper, System
from oparl.base import SCHEMA_BASE
from oparl.distribution import atom, sources
from oparl.registry import KINDS
from oparl.snapshot import Snapshots

if TYPE_CHECKING:
    from oparl.distribution import dcat

# rdflib (dcat) and icalendar (ical) are imported where a catalogue or a calendar is made, not at
# start-up: a worker that never makes one starts 7 MB smaller (120 -> 113 MB after create_app).


@dataclass(frozen=True)
class Window:
    """Which meetings a calendar holds: from `start` (inclusive) to `end` (exclusive)."""

    start: dt.datetime
    end: dt.datetime


def one(session: Session, snapshots: Snapshots, model: type[OParlObject], object_id: int) -> dict[str, Any] | None:
    """The object as served anonymously, or None if it is not shown."""
    found = sources.rendered(session, snapshots, model, [model.id == object_id], [model.id])
    return found[0] if found else None


def body_of(session: Session, model: type[OParlObject], object_id: int) -> int:
    body_id: int = session.execute(select(model.body_id).where(model.id == object_id)).scalar_one()  # type: ignore[attr-defined]
    return body_id


def _names(session: Session, snapshots: Snapshots, body_id: int) -> dict[str, str]:
    urls = snapshots.urls
    return {urls.object("Organization", k): v for k, v in sources.organization_names(session, body_id).items()}


def calendar(
    session: Session, snapshots: Snapshots, type_name: str, object_id: int, window: Window, title: str
) -> bytes:
    """The meetings of a Body, an Organization, a Person (their organizations') or one Meeting."""
    scope: list[ColumnElement[bool]] = {
        "Body": lambda: [Meeting.body_id == object_id],
        "Organization": lambda: [sources.meetings_of_organization(object_id)],
        "Person": lambda: [sources.meetings_of_person(object_id)],
        "Meeting": lambda: [Meeting.id == object_id],
    }[type_name]()
    if type_name != "Meeting":
        scope += sources.in_window(window.start, window.end)
    meetings = sources.rendered(session, snapshots, Meeting, scope, [Meeting.start, Meeting.id])
    body_id = object_id if type_name == "Body" else body_of(session, KINDS[type_name].model, object_id)
    from oparl.distribution import ical

    return ical.calendar(title, meetings, _names(session, snapshots, body_id), snapshots.tz)


def papers_feed(
    session: Session, snapshots: Snapshots, type_name: str, object_id: int, paper_type: str | None,
    limit: int, title: str, feed_url: str,
) -> bytes:  # fmt: skip
    """The newest and latest changed papers of a Body or consulted in an Organization."""
    scope = [Paper.body_id == object_id] if type_name == "Body" else [sources.papers_of_organization(object_id)]
    if paper_type is not None:
        scope.append(Paper.paper_type == paper_type)
    papers = sources.rendered(session, snapshots, Paper, scope, [Paper.modified.desc(), Paper.id.desc()], limit)
    ids = [int(p["id"].rsplit("/", 1)[-1]) for p in papers]
    body_id = object_id if type_name == "Body" else body_of(session, Organization, object_id)
    names = sources.organization_names(session, body_id)
    steps = sources.deliberations(session, ids)
    scheme = snapshots.urls.api
    zone = snapshots.tz
    entries = [atom.paper_entry(p, steps.get(i, []), names, scheme, zone) for p, i in zip(papers, ids, strict=True)]
    author = names.get(object_id) if type_name == "Organization" else None
    body = one(session, snapshots, Body, body_id)
    return atom.feed(feed_url, title, author or (body or {}).get("name", ""), entries, None)


def agenda_feed(
    session: Session, snapshots: Snapshots, organization_id: int, now: dt.datetime, limit: int, feed_url: str
) -> bytes:
    """The public agenda items of an Organization's upcoming meetings, the soonest first."""
    scope = [sources.meetings_of_organization(organization_id), Meeting.start >= now]
    meetings = sources.rendered(session, snapshots, Meeting, scope, [Meeting.start, Meeting.id], limit)
    names = sources.organization_names(session, body_of(session, Organization, organization_id))
    committee = names.get(organization_id, "")
    entries = [entry for meeting in meetings for entry in atom.agenda_entries(meeting, committee)][:limit]
    return atom.feed(feed_url, f"Tagesordnungen: {committee}", committee, entries, None)


def _period(session: Session, column: Any, model: type[OParlObject], body_id: int) -> tuple[dt.date, dt.date] | None:
    low, high = session.execute(
        select(func.min(column), func.max(column)).where(model.body_id == body_id, *sources.anonymous(model))  # type: ignore[attr-defined]
    ).one()
    if low is None:
        return None
    return _as_date(low), _as_date(high)


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _datasets(
    session: Session, snapshots: Snapshots, body: dict[str, Any], body_id: int, modified: dict[str, dt.datetime | None]
) -> tuple[dcat.Dataset, ...]:
    from oparl.distribution import dcat

    urls = snapshots.urls
    json, oparl = "application/json", SCHEMA_BASE
    streams = []  # the kommParl profiles, where the Body names them
    for key, title, media in (("kommparl:snapshot", "Gesamtabzug (NDJSON, kommParl 0.1)", "application/x-ndjson"),
                              ("kommparl:changes", "Änderungsfeed (kommParl 0.1)", json)):  # fmt: skip
        if body.get(key):
            streams.append(dcat.Access(key.split(":")[1], title, body[key], media, "https://schema.kommparl.de/0.1/"))
    papers = (
        dcat.Access("oparl", "OParl-Liste der Drucksachen", body["paper"], json, oparl, via_api=True),
        dcat.Access("atom", "Atom-Feed neuer und geänderter Drucksachen", urls.papers_feed("Body", body_id),
                    "application/atom+xml"),
        *streams,
    )  # fmt: skip
    meetings = (
        dcat.Access("oparl", "OParl-Liste der Sitzungen", body["meeting"], json, oparl, via_api=True),
        dcat.Access("ics", "Sitzungskalender (iCalendar)", urls.calendar("Body", body_id), "text/calendar"),
        *streams,
    )
    organizations = (
        dcat.Access("oparl", "OParl-Liste der Gremien", body["organization"], json, oparl, via_api=True),
        *streams,
    )
    return (
        dcat.Dataset("papers", "Drucksachen", "Vorlagen, Anträge und Anfragen mit Beratungsfolge und Anlagen.",
                     ("Ratsinformation", "Drucksachen", "Vorlagen", "OParl"), papers, modified["paper"],
                     _period(session, Paper.date, Paper, body_id)),
        dcat.Dataset("meetings", "Sitzungen", "Sitzungen der Gremien mit Tagesordnung, Ort und Protokollen.",
                     ("Ratsinformation", "Sitzungen", "Tagesordnung", "OParl"), meetings, modified["meeting"],
                     _period(session, Meeting.start, Meeting, body_id)),
        dcat.Dataset("organizations", "Gremien", "Gremien und Verwaltungsbereiche mit Mitgliedschaften.",
                     ("Ratsinformation", "Gremien", "Ausschüsse", "OParl"), organizations, modified["organization"],
                     None),
    )  # fmt: skip


def catalogue(
    session: Session, snapshots: Snapshots, publisher: Any, body_ids: Sequence[int], url: str,
    modified: dict[str, dt.datetime | None], extension: str,
) -> bytes:  # fmt: skip
    """The catalogue at `url` (without extension) of the given Bodies, serialised by `extension`."""
    from oparl.distribution import dcat

    system_id = session.scalar(select(System.id).order_by(System.id).limit(1))
    system = one(session, snapshots, System, system_id) if system_id is not None else None
    system = system or {"id": snapshots.urls.system()}
    bodies = []
    for body_id in body_ids:
        body = one(session, snapshots, Body, body_id)
        if body is not None:
            page = url if len(body_ids) == 1 else snapshots.urls.catalogue(body_id).rsplit(".", 1)[0]
            bodies.append(dcat.BodyData(body, page, _datasets(session, snapshots, body, body_id, modified)))
    graph = dcat.CatalogueGraph(url, system, publisher)
    graph.catalogue(bodies)
    return dcat.serialise(graph.graph, extension)


def shown_bodies(session: Session) -> list[int]:
    return list(session.scalars(select(Body.id).where(*sources.anonymous(Body)).order_by(Body.id)))
