"""The HTML pages: `/` (the Bodies), an object's page at its `web` URL, a Body's paged lists.

They show what an anonymous JSON client is shown, whoever asks (like the calendars: pages get
shared), and are cached like the API's answers: bytes kept per list generation of the tables the
page reads (oparl/pages/views.py TABLES), ETag and 304, compressed; a repeat is answered by
api.caching.CachedAnswers before routing. Not part of the OpenAPI document (they are no API).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.orm import Session

from api.caching import Validity, etag_for, generations
from api.deps import CANONICAL_ID, Served, ServedDep, SessionDep, SettingsDep
from api.pages.render import HTML, PAGES_KEY, STYLESHEET, STYLESHEET_PATH, Formats, html
from api.settings import Settings
from oparl.base import Render
from oparl.catalogue import TYPES
from oparl.errors import BadRequest
from oparl.filters import ListParams
from oparl.pages import statements, views
from oparl.search.page import search_page as search_body
from oparl.search.request import parse_search
from oparl.urls import with_query
from oparl.visibility import Seen

router = APIRouter(include_in_schema=False)
PageId = Annotated[str, Path()]
LIST_TITLES = {"Paper": "Vorlagen", "Meeting": "Sitzungen", "Organization": "Gremien", "Person": "Personen"}
BY_LIST_SEGMENT = {TYPES[name].segment: name for name in statements.LISTED}
NO_PAGE = "Diese Seite gibt es nicht."


def _formats(settings: Settings, served: Served) -> Formats:
    return Formats(served.snapshots.urls, settings.zone)


def _error(formats: Formats, status: int, message: str) -> Response:
    """A page that is not there (404) or no longer shown (410), as a page."""
    title = "Nicht gefunden" if status == 404 else "Nicht mehr verfügbar"
    content = html("error.html", formats, title=title, message=message)
    return Response(content, status_code=status, media_type=HTML, headers={"Cache-Control": "no-cache"})


def _shown(
    session: Session, served: Served, formats: Formats, type_name: str, object_id: str
) -> dict[str, Any] | Response:
    """The object's anonymous JSON, or the 404 or 410 page."""
    if not CANONICAL_ID.fullmatch(object_id):
        return _error(formats, 404, NO_PAGE)
    found, obj = views.stored(session, served.snapshots, type_name, int(object_id))
    if found is Seen.SHOWN:
        return obj
    if found is Seen.TOMBSTONE:
        return _error(formats, 410, "Dieser Eintrag wurde gelöscht oder ist nicht mehr öffentlich.")
    return _error(formats, 404, NO_PAGE)


class Page:
    """One page's answer. The list generations are read first, before anything the page shows:
    bytes built from rows read after them are never kept as current for a later write."""

    def __init__(self, request: Request, session: Session, served: Served, settings: Settings, kind: str) -> None:
        self.request, self.session, self.served = request, session, served
        self.formats = _formats(settings, served)
        self.tables = views.TABLES[kind]
        self.gens, self.last_modified = generations(session, self.tables)

    def shown(self, type_name: str, object_id: str) -> dict[str, Any] | Response:
        return _shown(self.session, self.served, self.formats, type_name, object_id)

    def respond(self, build: Callable[[], bytes], key: str = "") -> Response:
        request, snapshots = self.request, self.served.snapshots
        etag = etag_for(snapshots.key, PAGES_KEY, self.gens, request.url.path, request.url.query, key)
        validity = Validity(self.tables, self.gens)
        return self.served.cache.respond(request, etag, self.last_modified, build, validity, HTML)


@router.get("/")
def start_page(request: Request, session: SessionDep, served: ServedDep, settings: SettingsDep) -> Response:
    """The Bodies of this server."""
    page = Page(request, session, served, settings, "start")
    return page.respond(lambda: html("start.html", page.formats, view=views.start(session)))


def _object_page(type_name: str, template: str, make: Callable[..., views.View]) -> Callable[..., Response]:
    def object_page(
        request: Request, object_id: PageId, session: SessionDep, served: ServedDep, settings: SettingsDep
    ) -> Response:
        page = Page(request, session, served, settings, type_name)
        obj = page.shown(type_name, object_id)
        if isinstance(obj, Response):
            return obj
        return page.respond(lambda: html(template, page.formats, view=make(session, served.snapshots, obj)))

    return object_page


def _body_page(request: Request, object_id: PageId, session: SessionDep, served: ServedDep,
               settings: SettingsDep) -> Response:  # fmt: skip
    """The Body's start page: its newest papers, next and last meetings, committees."""
    page = Page(request, session, served, settings, "Body")
    obj = page.shown("Body", object_id)
    if isinstance(obj, Response):
        return obj
    # "Next meetings" count from today: a page built yesterday is not given today (but it may be,
    # by this worker's answer cache, until the next write; so may a calendar, api/routes/distribution.py).
    today = dt.datetime.now(settings.zone).replace(hour=0, minute=0, second=0, microsecond=0)

    def build() -> bytes:
        return html("body.html", page.formats, view=views.body(session, served.snapshots, obj, today))

    return page.respond(build, today.date().isoformat())


def _list_page(parent: str, type_name: str, statement: Any) -> Callable[..., Response]:
    """A paged list of a Body's objects of a type (or an Organization's meetings)."""
    kind = "list" if parent == "Body" else f"{parent}.{TYPES[type_name].segment}"

    def list_page(
        request: Request, object_id: PageId, session: SessionDep, served: ServedDep, settings: SettingsDep
    ) -> Response:
        page = Page(request, session, served, settings, kind)
        shown = page.shown(parent, object_id)
        if isinstance(shown, Response):
            return shown
        # The API's cursor paging (limit, after); a bad value is a 400 with an OParl Error.
        params = ListParams.parse(request.query_params, tz=settings.zone, default_limit=settings.default_page_size,
                                  max_limit=settings.max_page_size)  # fmt: skip

        def build() -> bytes:
            rows, more = views.page_of(session, statement, int(object_id), params.after, params.limit)
            return html("list.html", page.formats, parent=shown, type_name=type_name, title=LIST_TITLES[type_name],
                        list_property=TYPES[type_name].segment, rows=rows, more=more, after=params.after,
                        limit=params.limit)  # fmt: skip

        return page.respond(build)

    return list_page


@router.get("/body/{object_id}/search")
def search_page(
    request: Request, object_id: PageId, session: SessionDep, served: ServedDep, settings: SettingsDep
) -> Response:
    """The Body's search as a page: the hits an anonymous client of the search API gets
    (oparl/search), with their snippets; without `q` the form alone. Not cached: every query differs."""
    formats = _formats(settings, served)  # not cached, so no generations to read (Page)
    body = _shown(session, served, formats, "Body", object_id)
    if isinstance(body, Response):
        return body
    urls, query = served.snapshots.urls, request.query_params
    results, problem, api_url = None, None, None
    if query.get("q", "").strip():
        try:
            params = parse_search(query)
            render = Render(urls=urls, tz=settings.zone, publisher=settings.publisher)  # anonymous
            results = search_body(session, int(object_id), params, render=render, snapshots=served.snapshots,
                                  list_url=urls.page_search(int(object_id)))  # fmt: skip
            api_url = with_query(urls.search(int(object_id)), params.canonical)
        except BadRequest as exc:
            problem = exc.message
    content = html("results.html", formats, body=body, q=query.get("q", ""), results=results, problem=problem,
                   api_url=api_url, after=query.get("after"))  # fmt: skip
    headers = {"Cache-Control": "no-cache"}
    return Response(content, status_code=400 if problem else 200, media_type=HTML, headers=headers)


def _register() -> None:
    pages = {"Paper": views.paper, "Meeting": views.meeting, "Organization": views.organization,
             "Person": views.person}  # fmt: skip
    router.add_api_route("/body/{object_id}", _body_page, methods=["GET"])
    for type_name, make in pages.items():
        page = _object_page(type_name, f"{TYPES[type_name].segment}.html", make)
        router.add_api_route(f"/{TYPES[type_name].segment}/{{object_id}}", page, methods=["GET"])
    for segment, type_name in BY_LIST_SEGMENT.items():
        page = _list_page("Body", type_name, statements.listed(type_name))
        router.add_api_route(f"/body/{{object_id}}/{segment}", page, methods=["GET"])
    meetings = _list_page("Organization", "Meeting", statements.organization_meetings())
    router.add_api_route("/organization/{object_id}/meeting", meetings, methods=["GET"])


_register()


@router.get(STYLESHEET_PATH)
def stylesheet() -> Response:
    """The pages' stylesheet: its name carries its digest, so it may be kept for a year."""
    headers = {"Cache-Control": "public, max-age=31536000, immutable"}
    return Response(STYLESHEET, media_type="text/css; charset=utf-8", headers=headers)
