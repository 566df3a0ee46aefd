"""What each HTML page shows, as data: the object's stored anonymous rendering and its links' labels.

An object's page is read in two statements after the list generations: its stored rendering (the
JSON its URL serves anonymously, oparl/snapshot.py) and one UNION ALL of the labels it names
(oparl/pages/labels.py; built once per page type, oparl/pages/statements.py). So a page shows
exactly what an anonymous JSON client is shown, and costs about what the JSON does. `TABLES`
names the tables each page reads: its cached bytes hold while their list generations do
(api/caching.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import System
from oparl.pages import labels as lb
from oparl.pages import statements
from oparl.pages.labels import Label
from oparl.registry import KINDS
from oparl.snapshot import Snapshots
from oparl.visibility import Seen, seen

TABLES: dict[str, tuple[str, ...]] = {
    "start": ("body", "system"),
    "Body": ("body", "paper", "meeting", "organization", "legislative_term", "location", "system"),
    "Paper": ("paper", "consultation", "meeting", "agenda_item", "organization", "person", "file", "location", "body"),
    "Meeting": ("meeting", "agenda_item", "consultation", "paper", "organization", "person", "file", "location",
                "body"),
    "Organization": ("organization", "membership", "person", "meeting", "consultation", "paper", "location", "body"),
    "Person": ("person", "membership", "organization", "location", "body"),
    "list": ("body", "paper", "meeting", "organization", "person"),
    "Organization.meeting": ("organization", "meeting"),
}  # fmt: skip


@dataclass
class View:
    """A page's data: `obj` the object's JSON, `labels` by the API URL of what it names, and the
    lists the page shows besides (a Body's newest papers)."""

    obj: dict[str, Any]
    labels: dict[str, Label] = field(default_factory=dict)
    lists: dict[str, list[Label]] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)  # a paper's consultations, in time
    files: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (role, File JSON)


def stored(session: Session, snapshots: Snapshots, type_name: str, object_id: int) -> tuple[Seen, dict[str, Any]]:
    """The object as an anonymous client sees it at its URL: (SHOWN, its JSON), or TOMBSTONE or ABSENT."""
    model = KINDS[type_name].model
    flags = (model.deleted, model.nonpublic, model.ever_public)
    row = session.execute(select(model.id, *flags, model.rendered, model.rendered_key).where(model.id == object_id))
    found = row.first()
    if found is None:
        return Seen.ABSENT, {}
    visible = seen(found, entitled=False)
    if visible is not Seen.SHOWN:
        return visible, {}
    return visible, orjson.loads(snapshots.stored(session, KINDS[type_name], [found])[object_id])


def id_of(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


def _keyed(snapshots: Snapshots, found: list[Label]) -> dict[str, Label]:
    """Labels by the API URL of the object they name (a joined row by its own type's URL)."""
    return {snapshots.urls.object(label.tag, label.id): label for label in found}


def _by_tag(found: list[Label], *tags: str) -> dict[str, list[Label]]:
    return {tag: [x for x in found if x.tag == tag] for tag in tags}


def paper(session: Session, snapshots: Snapshots, obj: dict[str, Any]) -> View:
    view = View(obj, _keyed(snapshots, lb.read(session, statements.paper(), object_id=id_of(obj["id"]))))
    steps = obj.get("consultation", [])
    view.steps = sorted(steps, key=lambda step: _when(view.labels.get(step.get("meeting", ""))))
    main = [("Vorlage", obj["mainFile"])] if "mainFile" in obj else []
    view.files = main + [("Anlage", f) for f in obj.get("auxiliaryFile", [])]
    return view


def _when(meeting: Label | None) -> tuple[bool, dt.datetime]:
    """Consultations in the order of their meetings; those without a date last, as given."""
    at = meeting.at if meeting is not None else None
    return (at is None, at or dt.datetime.min.replace(tzinfo=dt.UTC))


def meeting(session: Session, snapshots: Snapshots, obj: dict[str, Any]) -> View:
    view = View(obj, _keyed(snapshots, lb.read(session, statements.meeting(), object_id=id_of(obj["id"]))))
    named = (
        ("invitation", "Einladung"),
        ("resultsProtocol", "Ergebnisprotokoll"),
        ("verbatimProtocol", "Wortprotokoll"),
    )
    view.files = [(role, obj[key]) for key, role in named if key in obj]
    view.files += [("Anlage", f) for f in obj.get("auxiliaryFile", [])]
    return view


def organization(session: Session, snapshots: Snapshots, obj: dict[str, Any]) -> View:
    found = lb.read(session, statements.organization(), object_id=id_of(obj["id"]))
    view = View(obj, _keyed(snapshots, [x for x in found if x.tag in ("Organization", "Body")]))
    view.lists = _by_tag(found, "Membership", "Meeting", "Paper")
    return view


def person(session: Session, snapshots: Snapshots, obj: dict[str, Any]) -> View:
    return View(obj, _keyed(snapshots, lb.read(session, statements.person(), object_id=id_of(obj["id"]))))


def body(session: Session, snapshots: Snapshots, obj: dict[str, Any], now: dt.datetime) -> View:
    found = lb.read(session, statements.body(), object_id=id_of(obj["id"]), now=now)
    view = View(obj)
    view.lists = _by_tag(found, "Paper", "Organization")
    view.lists["upcoming"] = [x for x in found if x.tag == "Meeting" and x.at is not None and x.at >= now]
    view.lists["past"] = [x for x in found if x.tag == "Meeting" and x.at is not None and x.at < now]
    return view


def start(session: Session) -> View:
    system = session.execute(select(System.name).order_by(System.id).limit(1)).first()
    found = lb.read(session, statements.start())
    return View({"name": system.name if system else None}, lists={"Body": found})


def page_of(
    session: Session, statement: Any, parent_id: int, after: int | None, limit: int
) -> tuple[list[Label], bool]:
    """One page of a list statement's rows after the cursor (statements.listed, a Body's objects;
    statements.organization_meetings); and whether more follow."""
    found = lb.read(session, statement, object_id=parent_id, after=after or 0, limit=limit + 1)
    return found[:limit], len(found) > limit
