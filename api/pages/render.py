"""The pages' HTML: FastAPI's Jinja2 templates and the formats they show values in (German)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from oparl.catalogue import BY_SEGMENT
from oparl.urls import UrlBuilder

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")  # autoescaped (Starlette's default)
TEMPLATES.env.trim_blocks = TEMPLATES.env.lstrip_blocks = True
STYLESHEET = (HERE / "static" / "pages.css").read_bytes()
HTML = "text/html; charset=utf-8"
TYPE_LABELS = {"Paper": "Vorlage", "Meeting": "Sitzung", "AgendaItem": "Tagesordnungspunkt", "Person": "Person",
               "Organization": "Gremium", "File": "Dokument", "Consultation": "Beratung",
               "Location": "Ort", "Membership": "Mitgliedschaft", "LegislativeTerm": "Wahlperiode",
               "Body": "Körperschaft"}  # fmt: skip
WEEKDAYS = ("Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So.")


def _pages_hash() -> str:
    """Digest of what makes a page's bytes: templates, stylesheet, this package and the page reads.
    Part of every page's ETag, so an upgrade never has a client keep an old page as current."""
    digest = hashlib.sha256()
    for folder in (HERE, HERE / "templates", HERE / "static", HERE.parent.parent / "oparl" / "pages"):
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


PAGES_KEY = _pages_hash()
STYLESHEET_PATH = f"/assets/pages.{hashlib.sha256(STYLESHEET).hexdigest()[:10]}.css"


@dataclass(frozen=True)
class Formats:
    """Dates, times, sizes and links as the pages show them, in the server's time zone."""

    urls: UrlBuilder
    tz: ZoneInfo

    # Values come from the JSON as given, or as Jinja's Undefined where a property is absent:
    # anything not of the expected type shows as nothing.
    def _local(self, value: dt.datetime | str | None) -> dt.datetime | None:
        if not isinstance(value, (str, dt.datetime)) or value == "":
            return None
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(self.tz)

    def when(self, value: dt.datetime | str | None) -> str:
        """ "Mo., 16.01.2023, 17:00 Uhr" (the time left out at midnight, where sources give only a day)."""
        moment = self._local(value)
        if moment is None:
            return ""
        text = f"{WEEKDAYS[moment.weekday()]}, {moment:%d.%m.%Y}"
        return text if (moment.hour, moment.minute) == (0, 0) else f"{text}, {moment:%H:%M} Uhr"

    def iso(self, value: dt.datetime | dt.date | str | None) -> str:
        """The machine-readable form for `<time datetime>` and JSON-LD."""
        if isinstance(value, dt.datetime):
            return value.astimezone(self.tz).isoformat()
        return value if isinstance(value, str) else value.isoformat() if isinstance(value, dt.date) else ""

    def day(self, value: dt.date | str | None) -> str:
        if not isinstance(value, (str, dt.date)) or value == "":
            return ""
        day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
        return f"{day:%d.%m.%Y}"

    def size(self, value: int | None) -> str:
        if not isinstance(value, int):
            return ""
        if value < 1024:
            return f"{value} Byte"
        number, unit = (value / 1024, "kB") if value < 1024 * 1024 else (value / 1024 / 1024, "MB")
        return f"{number:.1f} {unit}".replace(".", ",")

    def page(self, url: str | None) -> str | None:
        """The page of an object named by its API URL; None for a type without pages."""
        if not isinstance(url, str) or not url.startswith(self.urls.api + "/"):
            return None
        segment, _, object_id = url.removeprefix(self.urls.api + "/").partition("/")
        t = BY_SEGMENT.get(segment)
        return self.urls.page(t.name, int(object_id)) if t is not None and object_id.isdigit() else None

    @staticmethod
    def link(url: str | None) -> str | None:
        """A URL from the records as a link target only if it is http(s): a harvested or written
        `javascript:` or `data:` URL is shown nowhere as a link (the CSP would block it too)."""
        return url if isinstance(url, str) and url.lower().startswith(("https://", "http://")) else None

    def of(self, tag: str, object_id: int) -> str | None:
        return self.urls.page(tag, object_id)

    def list_of(self, parent_url: str, type_name: str) -> str:
        """The paged list of a Body's objects of `type_name` (or an Organization's meetings), the
        parent named by its API URL."""
        segment, _, object_id = parent_url.removeprefix(self.urls.api + "/").partition("/")
        return self.urls.page_list(BY_SEGMENT[segment].name, int(object_id), type_name)

    def search_of(self, body_url: str) -> str:
        """The search page of a Body named by its API URL."""
        return self.urls.page_search(int(body_url.rsplit("/", 1)[1]))

    def type_label(self, obj: dict[str, Any]) -> str:
        """ "Vorlage", "Sitzung", … for an object's `type` URL."""
        return TYPE_LABELS.get(str(obj.get("type", "")).rsplit("/", 1)[-1], "")


def jsonld(meeting: dict[str, Any], formats: Formats) -> dict[str, Any]:
    """A meeting as a schema.org Event, for search engines and calendar tools."""
    name, url = meeting.get("name") or "Sitzung", meeting.get("web") or meeting["id"]
    event: dict[str, Any] = {"@context": "https://schema.org", "@type": "Event", "name": name, "url": url}
    for key, prop in (("start", "startDate"), ("end", "endDate")):
        if meeting.get(key):
            event[prop] = meeting[key]
    event["eventStatus"] = "https://schema.org/Event" + ("Cancelled" if meeting.get("cancelled") else "Scheduled")
    event["eventAttendanceMode"] = "https://schema.org/OfflineEventAttendanceMode"
    location = meeting.get("location")
    if location:
        address = {"@type": "PostalAddress", "streetAddress": location.get("streetAddress"),
                   "postalCode": location.get("postalCode"), "addressLocality": location.get("locality")}  # fmt: skip
        place = {"@type": "Place", "name": location.get("description") or location.get("room"),
                 "address": {k: v for k, v in address.items() if v}}  # fmt: skip
        event["location"] = {k: v for k, v in place.items() if v}
    return event


TEMPLATES.env.globals["jsonld"] = jsonld


def html(template: str, formats: Formats, **context: Any) -> bytes:
    page = TEMPLATES.get_template(template)
    return page.render(fmt=formats, urls=formats.urls, stylesheet=STYLESHEET_PATH, **context).encode()
