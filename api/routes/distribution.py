"""Catalogues, calendars and feeds: the council's data for portals, calendar apps and feed readers.

Each answer is built once per list generation (oparl/distribution/build.py) and then served from
the answer cache like a list page, with ETag, Last-Modified, 304 and compression; a write moves
the generations and so reaches every worker at once. They show what an anonymous client sees,
whoever asks (a read-nonpublic token does not widen them: calendars get shared and subscribed).
A calendar's window is counted from the day it was built: a cached one may keep yesterday's
edge until the next write.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from api.caching import Validity, etag_for, generations
from api.deps import IdDep, Served, ServedDep, SessionDep, SettingsDep
from api.openapi import COMMON, NOT_MODIFIED, OPTIONAL_TOKEN, VALIDATORS, Answers, error
from api.settings import Settings
from models import Body, Meeting, OParlObject, Organization, Person
from oparl.distribution import build
from oparl.distribution.formats import SERIALISATIONS
from oparl.errors import BadRequest, NotFound
from oparl.urls import API_PATH

router = APIRouter(prefix=API_PATH, tags=["distribution"])
_BUILDING: dict[str, threading.Lock] = {}  # etag -> lock of the request building that document
ICS, ATOM = "text/calendar; charset=utf-8", "application/atom+xml; charset=utf-8"
CALENDAR_TABLES = ("meeting", "organization", "agenda_item", "location", "membership", "body", "system")
FEED_TABLES = ("paper", "consultation", "organization", "meeting", "agenda_item", "file", "body", "system")
CATALOGUE_TABLES = ("system", "body", "paper", "meeting", "organization")


def _media(kind: str, *, bad_parameter: bool = False) -> Answers:
    """A document's answers: the document (its schema a string of `kind`), 304, 404 and the common ones."""
    ok = {"description": "the document", "content": {kind.split(";")[0]: {"schema": {"type": "string"}}},
          "headers": VALIDATORS}  # fmt: skip
    bad: Answers = {400: error("a bad parameter")} if bad_parameter else {}
    return {200: ok, **NOT_MODIFIED, **bad, 404: error("no such object, or not shown"), **COMMON}


def _cached(
    request: Request, served: Served, session: Session, tables: tuple[str, ...], key: str, media_type: str,
    make: Callable[[], bytes],
) -> Response:  # fmt: skip
    gens, last_modified = generations(session, tables)
    etag = etag_for(served.snapshots.key, gens, request.url.path, request.url.query, key)
    documents = served.cache.documents

    def once() -> bytes:
        """Built by one request at a time per document; the others wait and take its bytes."""
        with _BUILDING.setdefault(etag, threading.Lock()):
            content = documents.get(etag)
            if content is None:
                content = make()
                documents.put(etag, content)
        _BUILDING.pop(etag, None)
        return content

    validity = Validity(tables, gens)
    response: Response = served.cache.respond(request, etag, last_modified, once, validity, media_type, True)
    return response


def _shown(session: Session, served: Served, model: type[OParlObject], object_id: int) -> dict[str, Any]:
    found = build.one(session, served.snapshots, model, object_id)
    if found is None:
        raise NotFound.by_id(model.__name__, object_id)
    return found


def _window(settings: Settings) -> build.Window:
    today = dt.datetime.now(settings.zone).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = (
        today - dt.timedelta(days=settings.calendar_past_days),
        today + dt.timedelta(days=settings.calendar_future_days),
    )
    return build.Window(start, end)


def _calendar(request: Request, served: Served, session: Session, settings: Settings, model: type[OParlObject],
              object_id: int) -> Response:  # fmt: skip
    shown = _shown(session, served, model, object_id)
    title = f"Sitzungen: {shown.get('name') or shown['id']}"
    window = _window(settings)

    def make() -> bytes:
        return build.calendar(session, served.snapshots, model.__name__, object_id, window, title)

    return _cached(request, served, session, CALENDAR_TABLES, window.start.date().isoformat(), ICS, make)


@router.get(
    "/body/{object_id}/calendar.ics",
    operation_id="getBodyCalendar",
    openapi_extra=OPTIONAL_TOKEN,
    responses=_media(ICS),
    response_class=Response,
)
def body_calendar(request: Request, object_id: IdDep, session: SessionDep, served: ServedDep,
                  settings: SettingsDep) -> Response:  # fmt: skip
    """All meetings of a Body in the calendar window (iCalendar, RFC 5545)."""
    return _calendar(request, served, session, settings, Body, object_id)


@router.get(
    "/organization/{object_id}/calendar.ics",
    operation_id="getOrganizationCalendar",
    openapi_extra=OPTIONAL_TOKEN,
    responses=_media(ICS),
    response_class=Response,
)
def organization_calendar(request: Request, object_id: IdDep, session: SessionDep, served: ServedDep,
                          settings: SettingsDep) -> Response:  # fmt: skip
    """The meetings of one Organization (iCalendar)."""
    return _calendar(request, served, session, settings, Organization, object_id)


@router.get(
    "/person/{object_id}/calendar.ics",
    operation_id="getPersonCalendar",
    openapi_extra=OPTIONAL_TOKEN,
    responses=_media(ICS),
    response_class=Response,
)
def person_calendar(request: Request, object_id: IdDep, session: SessionDep, served: ServedDep,
                    settings: SettingsDep) -> Response:  # fmt: skip
    """The meetings of the organizations a Person is a member of (iCalendar)."""
    return _calendar(request, served, session, settings, Person, object_id)


@router.get(
    "/meeting/{object_id}/calendar.ics",
    operation_id="getMeetingCalendar",
    openapi_extra=OPTIONAL_TOKEN,
    responses=_media(ICS),
    response_class=Response,
)
def meeting_calendar(request: Request, object_id: IdDep, session: SessionDep, served: ServedDep,
                     settings: SettingsDep) -> Response:  # fmt: skip
    """One Meeting as a calendar event (iCalendar)."""
    return _calendar(request, served, session, settings, Meeting, object_id)


@router.get(
    "/body/{object_id}/papers.atom",
    operation_id="getBodyPapersFeed",
    openapi_extra=OPTIONAL_TOKEN,
    responses=_media(ATOM, bad_parameter=True),
    response_class=Response,
)
def body_papers_feed(
    request: Request, object_id: IdDep, session: SessionDep, served: ServedDep, settings: SettingsDep,
    paper_type: str | None = Query(None, alias="paperType", max_length=200,
                                   description="only papers of this paperType, e.g. Vorlage"),
) -> Response:  # fmt: skip
    """New and changed papers of a Body, the latest first (Atom, RFC 4287)."""
    body = _shown(session, served, Body, object_id)
    title = f"Drucksachen: {body['name']}" + (f" ({paper_type})" if paper_type else "")
    return _papers(request, served, session, settings, "Body", object_id, paper_type, title)


@router.get(
    "/organization/{object_id}/papers.atom",
    operation_id="getOrganizationPapersFeed",
    openapi_extra=OPTIONAL_TOKEN,
    responses=_media(ATOM),
    response_class=Response,
)
def organization_papers_feed(request: Request, object_id: IdDep, session: SessionDep, served: ServedDep,
                             settings: SettingsDep) -> Response:  # fmt: skip
    """New and changed papers consulted in an Organization (Atom)."""
    organization = _shown(session, served, Organization, object_id)
    title = f"Drucksachen: {organization.get('name') or organization['id']}"
    return _papers(request, served, session, settings, "Organization", object_id, None, title)


def _papers(request: Request, served: Served, session: Session, settings: Settings, type_name: str, object_id: int,
            paper_type: str | None, title: str) -> Response:  # fmt: skip
    if paper_type is not None and not paper_type.strip():
        raise BadRequest("paperType darf nicht leer sein.")
    feed_url = _self(served, request)

    def make() -> bytes:
        return build.papers_feed(session, served.snapshots, type_name, object_id, paper_type,
                                 settings.feed_entries, title, feed_url)  # fmt: skip

    return _cached(request, served, session, FEED_TABLES, "", ATOM, make)


@router.get(
    "/organization/{object_id}/agenda.atom",
    operation_id="getOrganizationAgendaFeed",
    openapi_extra=OPTIONAL_TOKEN,
    responses=_media(ATOM),
    response_class=Response,
)
def organization_agenda_feed(request: Request, object_id: IdDep, session: SessionDep, served: ServedDep,
                             settings: SettingsDep) -> Response:  # fmt: skip
    """The public agenda items of an Organization's upcoming meetings (Atom)."""
    _shown(session, served, Organization, object_id)
    today = dt.datetime.now(settings.zone).replace(hour=0, minute=0, second=0, microsecond=0)

    def make() -> bytes:
        return build.agenda_feed(session, served.snapshots, object_id, today, settings.feed_entries,
                                 _self(served, request))  # fmt: skip

    return _cached(request, served, session, FEED_TABLES, today.date().isoformat(), ATOM, make)


def _self(served: Served, request: Request) -> str:
    """This answer's own URL, built from the public base URL (never from the request's Host)."""
    path = request.url.path.removeprefix(API_PATH)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{served.snapshots.urls.api}{path}{query}"


def _catalogue(request: Request, served: Served, session: Session, settings: Settings, body_id: int | None,
               extension: str) -> Response:  # fmt: skip
    if extension not in SERIALISATIONS:
        raise NotFound(f"Kein Katalog im Format {extension!r}: ttl, rdf oder jsonld.")
    if body_id is not None:
        _shown(session, served, Body, body_id)
    url = served.snapshots.urls.catalogue(body_id, extension).rsplit(".", 1)[0]
    media_type = SERIALISATIONS[extension][1] + "; charset=utf-8"

    def make() -> bytes:
        modified = {table: generations(session, (table,))[1] for table in ("paper", "meeting", "organization")}
        bodies = build.shown_bodies(session) if body_id is None else [body_id]
        return build.catalogue(session, served.snapshots, settings.publisher, bodies, url, modified, extension)

    return _cached(request, served, session, CATALOGUE_TABLES, "", media_type, make)


def _negotiate(request: Request) -> Response:
    """The catalogue's IRI (no extension) answers 303 with the serialisation the client accepts."""
    accept = request.headers.get("accept", "")
    extension = next((ext for ext, (_, media) in SERIALISATIONS.items() if media in accept), "ttl")
    target = _self_path(request) + "." + extension
    return Response(status_code=303, headers={"Location": target, "Vary": "Accept", "Cache-Control": "no-cache"})


def _self_path(request: Request) -> str:
    return request.url.path


CATALOGUE_MEDIA: Answers = {
    200: {"content": {media: {"schema": {"type": "string"}} for _, media in SERIALISATIONS.values()},
          "description": "the DCAT-AP.de catalogue", "headers": VALIDATORS},
    **NOT_MODIFIED,
    404: error("no such Body, or no such serialisation (ttl, rdf, jsonld)"),
    **COMMON,
}  # fmt: skip
LOCATION = {"Location": {"schema": {"type": "string"}, "description": "the URL with .ttl, .rdf or .jsonld"}}
SEE_OTHER: Answers = {
    303: {"description": "See Other: Location names the serialisation Accept asks for", "headers": LOCATION},
    **COMMON,
}
SEE_OTHER_BODY: Answers = {**SEE_OTHER, 404: error("no such Body, or not shown")}


@router.get(
    "/catalog",
    status_code=303,
    operation_id="findCatalog",
    openapi_extra=OPTIONAL_TOKEN,
    responses=SEE_OTHER,
    response_class=Response,
)
def system_catalogue_iri(request: Request) -> Response:
    """The System's DCAT-AP.de catalogue: redirects to .ttl, .rdf or .jsonld by Accept."""
    return _negotiate(request)


@router.get(
    "/catalog.{extension}",
    operation_id="getCatalog",
    openapi_extra=OPTIONAL_TOKEN,
    responses=CATALOGUE_MEDIA,
    response_class=Response,
)
def system_catalogue(request: Request, extension: str, session: SessionDep, served: ServedDep,
                     settings: SettingsDep) -> Response:  # fmt: skip
    """The DCAT-AP.de 3.0 catalogue of every Body: Turtle (.ttl), RDF/XML (.rdf) or JSON-LD (.jsonld)."""
    return _catalogue(request, served, session, settings, None, extension)


@router.get(
    "/body/{object_id}/catalog",
    status_code=303,
    operation_id="findBodyCatalog",
    openapi_extra=OPTIONAL_TOKEN,
    responses=SEE_OTHER_BODY,
    response_class=Response,
)
def body_catalogue_iri(request: Request, object_id: IdDep, session: SessionDep, served: ServedDep) -> Response:
    """A Body's DCAT-AP.de catalogue: redirects to .ttl, .rdf or .jsonld by Accept."""
    _shown(session, served, Body, object_id)
    return _negotiate(request)


@router.get(
    "/body/{object_id}/catalog.{extension}",
    operation_id="getBodyCatalog",
    openapi_extra=OPTIONAL_TOKEN,
    responses=CATALOGUE_MEDIA,
    response_class=Response,
)
def body_catalogue(request: Request, object_id: IdDep, extension: str, session: SessionDep, served: ServedDep,
                   settings: SettingsDep) -> Response:  # fmt: skip
    """The DCAT-AP.de 3.0 catalogue of one Body."""
    return _catalogue(request, served, session, settings, object_id, extension)
