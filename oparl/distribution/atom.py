"""Atom feeds (RFC 4287) of papers and agenda items, built from the objects as served.

Entry ids are the OParl URLs (permanent, as RFC 4287 4.2.6 asks), `updated` is `modified`, so a
changed paper moves to the top; categories name the organizations and the paper type; the
summary gives the state of deliberation (the Beratungsfolge as far as it is shown) and the files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from oparl.distribution.sources import Deliberation

ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        child.text = text
    return child


@dataclass
class Entry:
    id: str
    title: str
    link: str
    updated: str
    published: str
    summary: str
    categories: list[tuple[str, str]] = field(default_factory=list)  # (scheme, term)
    author: str | None = None


def _day(value: dt.datetime | None, zone: ZoneInfo | None = None) -> str:
    """The local day (stored moments without an offset are UTC, models/base.py)."""
    if value is None:
        return "ohne Termin"
    if zone is not None:
        value = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(zone)
    return value.strftime("%d.%m.%Y")


def deliberation_lines(steps: Iterable[Deliberation], names: dict[int, str], zone: ZoneInfo) -> list[str]:
    lines = []
    for step in steps:
        where = ", ".join(names[o] for o in step.organizations if o in names) or "Gremium nicht genannt"
        role = step.role or "Beratung"
        lead = " (federführend)" if step.authoritative else ""
        result = f": {step.result}" if step.result else ""
        lines.append(f"{_day(step.meeting_start, zone)} {where} – {role}{lead}{result}")
    return lines


def paper_entry(
    paper: dict[str, Any], steps: list[Deliberation], names: dict[int, str], scheme: str, zone: ZoneInfo
) -> Entry:
    """`names`: Organization id -> name; `scheme`: the URL categories of organizations are relative to."""
    title = f"{paper['reference']}: {paper.get('name') or ''}" if paper.get("reference") else paper.get("name") or ""
    lines = ["Beratungsfolge:", *deliberation_lines(steps, names, zone)] if steps else ["Noch keine Beratung."]
    files = [f for f in (paper.get("mainFile"), *(paper.get("auxiliaryFile") or [])) if f and not f.get("deleted")]
    if files:
        named = (f"{f.get('name') or f.get('fileName') or f['id']}: {f['accessUrl']}" for f in files)
        lines += ["", "Dateien:", *named]
    categories = [(f"{scheme}/organization", names[o]) for step in steps for o in step.organizations if o in names]
    if paper.get("paperType"):
        categories.append((f"{scheme}/paperType", paper["paperType"]))
    return Entry(
        id=paper["id"], title=title.strip(), link=paper.get("web") or paper["id"], updated=paper["modified"],
        published=paper["created"], summary="\n".join(lines), categories=list(dict.fromkeys(categories)),
    )  # fmt: skip


def agenda_entries(meeting: dict[str, Any], committee: str) -> list[Entry]:
    """The public agenda items of one meeting, each an entry."""
    entries = []
    start = dt.datetime.fromisoformat(meeting["start"]) if meeting.get("start") else None
    for position, item in enumerate(meeting.get("agendaItem") or [], start=1):
        if item.get("public") is False or item.get("deleted"):
            continue
        number = item.get("number") or str(position)
        summary = f"{committee}, {meeting.get('name') or 'Sitzung'} am {_day(start)}, TOP Ö {number}"
        if item.get("result"):
            summary += f"\nErgebnis: {item['result']}"
        entries.append(Entry(
            id=item["id"], title=f"Ö {number} {item.get('name') or ''}".strip(),
            link=meeting.get("web") or meeting["id"],
            updated=item["modified"], published=item["created"], summary=summary, author=committee,
        ))  # fmt: skip
    return entries


def feed(feed_id: str, title: str, author: str, entries: list[Entry], updated: str | None) -> bytes:
    root = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "de"})
    _el(root, "id", feed_id)
    _el(root, "title", title)
    _el(root, "updated", updated or max((e.updated for e in entries), default="1970-01-01T00:00:00+00:00"))
    _el(_el(root, "author"), "name", author)
    _el(root, "link", rel="self", href=feed_id, type="application/atom+xml")
    _el(root, "generator", "oparl-server")
    for item in entries:
        entry = _el(root, "entry")
        _el(entry, "id", item.id)
        _el(entry, "title", item.title or item.id)
        _el(entry, "link", rel="alternate", href=item.link)
        _el(entry, "updated", item.updated)
        _el(entry, "published", item.published)
        if item.author:
            _el(_el(entry, "author"), "name", item.author)
        for scheme, term in item.categories:
            _el(entry, "category", term=term, scheme=scheme, label=term)
        _el(entry, "summary", item.summary, type="text")
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
