"""Anonymous GETs of an object or a list page that the answer cache missed, answered from the
stored renderings with one statement, before routing, dependencies and the thread pool.

One statement reads the rows' stored bytes together with the list generations (and a list's
parent and count), so validators and bytes come from one snapshot of the database. Whatever this
path does not answer exactly as the routes would, it leaves to them: an absent object or parent
(404), an empty page, a bad parameter (400), `omit_internal`, a rendering made by other code or
settings (rendered live there), a database that fails (503 there). tests/api/test_stored_reads.py
holds its answers byte for byte against the routes'.
"""

from __future__ import annotations

import asyncio
import contextlib
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, or_, select
from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from api.caching import PublicCache, Validity, count_key, etag_for
from api.deps import CANONICAL_ID
from api.outage import Outage, is_outage
from api.readers import Compiled, Reader, Row, in_chunks
from api.settings import Settings
from models import ListGeneration, OParlObject
from oparl.cascade import table_of
from oparl.catalogue import BY_SEGMENT, TYPES, listing
from oparl.errors import OParlError
from oparl.filters import DATE_FILTERS, ListParams
from oparl.kind import Kind
from oparl.pagination import envelope, page_bytes
from oparl.registry import KINDS
from oparl.snapshot import Snapshots
from oparl.urls import API_PATH, UrlBuilder, with_query
from oparl.visibility import Seen, listed_where, public, seen

PREFIX = API_PATH + "/"
# The bounds oparl.pagination.filter_clauses sets, as parameters of a statement made once.
BOUNDS: dict[str, tuple[str, Callable[[Any, Any], ColumnElement[bool]]]] = {
    "created_since": ("created", operator.ge),
    "created_until": ("created", operator.le),
    "modified_since": ("modified", operator.ge),
    "modified_until": ("modified", operator.le),
}
assert tuple(BOUNDS) == DATE_FILTERS
# A page of up to this many objects is read whole (one prepared statement); a bigger one in chunks
# of this many rows, compressed as they come (api/caching.py's Packer): a harvester's page of 1000
# meetings, 10 MB of JSON, is not whole in a worker's memory (unless its client takes no compression).
CHUNK_ROWS = 100
# A page's bytes before its objects and between two of them, as oparl.pagination.page_bytes writes
# them: taken from it, so a page built in parts here is its page byte for byte.
PAGE_OPEN, SEPARATOR, _ = page_bytes([b"\0", b"\0"], b"{}").split(b"\0")


class Flags(NamedTuple):
    deleted: bool
    nonpublic: bool
    ever_public: bool


@dataclass(frozen=True)
class ListRequest:
    kind: Kind
    parent: type[OParlObject] | None  # None: the System's bodies
    parent_id: int | None
    url: str  # the list's URL without parameters
    template: str  # its route's path


def _generation(table: str) -> Any:
    value = select(ListGeneration.value).where(ListGeneration.table_name == table).scalar_subquery()
    return func.coalesce(value, -1)


def _stamp(tables: tuple[str, ...]) -> Any:
    """The latest stamp of the tables (api.caching.generations' second value)."""
    named = or_(*(ListGeneration.table_name == table for table in tables))
    return select(func.max(ListGeneration.modified)).where(named).scalar_subquery()


def object_statement(kind: Kind) -> Select[Any]:
    model = kind.model
    flags = (model.deleted, model.nonpublic, model.ever_public)
    columns = (model.revision, model.modified, *flags, model.rendered, model.rendered_key)
    return select(_generation(table_of(model).name), *columns).where(model.id == bindparam("id"))


def page_statement(request: ListRequest, filters: tuple[str, ...], *, after: bool, tombstones: bool) -> Select[Any]:
    """Rows id, rendered, rendered_key, then the generations, the latest stamp and the parent's
    nonpublic flag (where there is a parent) in every row."""
    model = request.kind.model
    where = _where(request, filters, tombstones=tombstones)
    tables = _tables(request)
    extra: list[Any] = [*(_generation(t) for t in tables), _stamp(tables)]
    if request.parent is not None:
        parent = request.parent
        extra.append(select(parent.nonpublic).where(parent.id == bindparam("parent")).scalar_subquery())
    seek = [model.id > bindparam("after")] if after else []
    statement = select(model.id, model.rendered, model.rendered_key, *extra).where(*where, *seek)
    return statement.order_by(model.id).limit(bindparam("limit", type_=Integer))


def count_statement(request: ListRequest, filters: tuple[str, ...], *, tombstones: bool) -> Select[Any]:
    return select(_count(request, filters, tombstones=tombstones))


def _count(request: ListRequest, filters: tuple[str, ...], *, tombstones: bool) -> Any:
    where = _where(request, filters, tombstones=tombstones)
    return select(func.count()).select_from(request.kind.model).where(*where).scalar_subquery()


def _where(request: ListRequest, filters: tuple[str, ...], *, tombstones: bool) -> list[ColumnElement[bool]]:
    model = request.kind.model
    where = [*_scope(request), *listed_where(model, entitled=False, tombstones=tombstones)]
    for name in filters:
        column, compare = BOUNDS[name]
        where.append(compare(getattr(model, column), bindparam(name, type_=getattr(model, column).type)))
    return where


def _only(values: dict[str, Any], statement: Compiled) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name in statement.binds}


def _scope(request: ListRequest) -> list[ColumnElement[bool]]:
    model = request.kind.model
    if request.parent is None:
        return []
    if request.parent.__name__ == "Body":
        return [model.body_id == bindparam("parent")]  # type: ignore[attr-defined]
    link = listing(request.kind.type_name, request.parent.__name__).link
    assert link is not None
    return [model.id.in_(select(link.c.owner_id).where(link.c.target_id == bindparam("parent")))]


def _tables(request: ListRequest) -> tuple[str, ...]:
    parent = () if request.parent is None else (table_of(request.parent).name,)
    return (table_of(request.kind.model).name, *parent)


class StoredReads:
    """ASGI middleware (inside CachedAnswers): see the module's docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.compiled: dict[object, Compiled] = {}
        self.routes: dict[str, APIRoute] = {}
        self.counting: dict[tuple[object, ...], asyncio.Future[list[Row]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(PREFIX):
            state = scope["app"].state
            outage: Outage = state.outage
            reader: Reader | None = getattr(state, "stored_reader", None)  # None: no lifespan ran
            anonymous = not any(name == b"authorization" for name, _ in scope["headers"])
            if reader is not None and not outage.down and anonymous:
                try:
                    answer = await self.answer(scope, reader)
                except OParlError:  # a bad parameter: the route says which
                    answer = None
                except Exception as exc:
                    if not is_outage(exc):
                        raise
                    answer = None  # the route meets the failure too, and answers 503
                if answer is not None:
                    outage.succeeded()
                    await answer(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def answer(self, scope: Scope, reader: Reader) -> Response | None:
        parts = scope["path"][len(PREFIX) :].split("/")
        settings: Settings = scope["app"].state.settings
        urls = UrlBuilder(settings.public_base_url)
        if len(parts) == 2 and parts[0] in BY_SEGMENT and parts[0] != "system" and CANONICAL_ID.fullmatch(parts[1]):
            return await self.one(scope, reader, KINDS[BY_SEGMENT[parts[0]].name], int(parts[1]))
        request = _list_request(parts, urls)
        if request is None:
            return None
        return await self.page(scope, reader, request, settings)

    async def one(self, scope: Scope, reader: Reader, kind: Kind, object_id: int) -> Response | None:
        statement = self._compiled(("object", kind.type_name), reader, lambda: object_statement(kind))
        rows = await reader.rows(statement, {"id": object_id})
        if not rows:
            return None
        generation, revision, modified, deleted, nonpublic, ever_public, rendered, key = statement.head(rows[0])
        snapshots: Snapshots = scope["app"].state.snapshots
        if key != snapshots.key or seen(Flags(deleted, nonpublic, ever_public), entitled=False) is Seen.ABSENT:
            return None
        self._route(scope, f"{API_PATH}/{TYPES[kind.type_name].segment}/{{object_id}}")
        validity = Validity((table_of(kind.model).name,), (generation,))
        etag = etag_for(snapshots.key, kind.type_name, object_id, revision)
        cache: PublicCache = scope["app"].state.cache
        return cache.respond(Request(scope), etag, modified, lambda: bytes(rendered), validity)

    async def page(self, scope: Scope, reader: Reader, request: ListRequest, settings: Settings) -> Response | None:
        query = QueryParams(scope["query_string"])
        params = ListParams.parse(
            query, tz=settings.zone, default_limit=settings.default_page_size, max_limit=settings.max_page_size
        )
        if params.omit_internal:
            return None
        cache: PublicCache = scope["app"].state.cache
        snapshots: Snapshots = scope["app"].state.snapshots
        tables = _tables(request)
        filters = tuple(name for name in DATE_FILTERS if getattr(params, name) is not None)
        tombstones, after = params.modified_since is not None, params.after is not None
        shape = (request.kind.type_name, request.parent, filters, tombstones)
        statement = self._compiled(
            ("page", *shape, after),
            reader,
            lambda: page_statement(request, filters, after=after, tombstones=tombstones),
        )
        values: dict[str, Any] = {name: getattr(params, name) for name in filters}
        values.update(limit=params.limit + 1, after=params.after, parent=request.parent_id)
        values = _only(values, statement)
        # A filter may make the page a scan (rows that match it are sparse along the ids).
        heavy = bool(filters)
        if params.limit <= CHUNK_ROWS:
            chunks = in_chunks(reader.rows(statement, values, heavy=heavy), params.limit + 1)
        else:
            chunks = reader.chunks(statement, values, CHUNK_ROWS, heavy=heavy)
        async with contextlib.aclosing(chunks):
            first = await anext(chunks, None)
            if first is None or _stale(first, snapshots.key):
                return None
            head = list(statement.head(first[0])[3:])
            generations, last_modified = tuple(head[: len(tables)]), head[len(tables)]
            if request.parent is not None:
                parent_nonpublic = head[len(tables) + 1]
                if parent_nonpublic is None or not public(Flags(False, parent_nonpublic, True), entitled=False):
                    return None
            self._route(scope, request.template)
            page_url = with_query(request.url, {**params.canonical, "after": str(params.after or "")})
            etag = etag_for(snapshots.key, generations, page_url)
            http = Request(scope)
            # Noted for CachedAnswers already: should a later chunk be stale, the routes answer
            # with this same ETag.
            ready = cache.ready(http, etag, last_modified, Validity(tables, generations))
            if ready is not None:  # a 304, or the answer kept: the rest of the rows is not used
                return ready
            packer = cache.packer(http)
            packer.add(PAGE_OPEN)
            shown, last_id, more = 0, 0, False
            chunk: list[Row] | None = first
            del first  # each chunk is let go once packed
            while chunk is not None:
                room = params.limit - shown
                taken, more = chunk[:room], len(chunk) > room  # the row after the page: more follow
                parts = [part for row in taken for part in (SEPARATOR, row[1])]
                packer.add(*(parts if shown else parts[1:]))
                if taken:
                    shown, last_id = shown + len(taken), taken[-1][0]
                chunk = await anext(chunks, None)
                if chunk is not None and _stale(chunk, snapshots.key):
                    return None
        counter = self._compiled(
            ("count", *shape), reader, lambda: count_statement(request, filters, tombstones=tombstones)
        )
        total = await self._count(cache, reader, count_key(generations, request.url, params.canonical), counter,
                                  _only(values, counter))  # fmt: skip
        tail = orjson.dumps(envelope(request.url, params, total, last_id if more else None))
        packer.add(page_bytes([], tail)[len(PAGE_OPEN) :])  # what follows the objects
        return cache.send_packed(etag, last_modified, packer)

    async def _count(
        self, cache: PublicCache, reader: Reader, key: tuple[object, ...], counter: Compiled, values: dict[str, Any]
    ) -> int:
        """The list's count, kept per generation; requests that need the same one wait for one
        statement (a count may take a scan: on SQLite it runs off the event loop)."""
        total = cache.counts.get(key)
        if total is not None:
            return total
        running = self.counting.get(key)
        if running is None:
            running = self.counting[key] = asyncio.ensure_future(reader.rows(counter, values, heavy=True))
            running.add_done_callback(lambda _: self.counting.pop(key, None))
        total = int((await asyncio.shield(running))[0][0])
        cache.counts.put(key, total)
        return total

    def _compiled(self, shape: object, reader: Reader, make: Callable[[], Select[Any]]) -> Compiled:
        key = (shape, reader.dialect.name)
        found = self.compiled.get(key)
        if found is None:
            found = self.compiled[key] = Compiled.of(make(), reader.dialect)
        return found

    def _route(self, scope: Scope, template: str) -> None:
        """The route the routes would have matched, for the metrics' labels."""
        if not self.routes:
            self.routes = {r.path: r for r in scope["app"].routes if isinstance(r, APIRoute)}
        route = self.routes.get(template)
        if route is not None:
            scope["route"] = route


def _stale(rows: list[Row], key: str) -> bool:
    """Whether a row's rendering was made by other code or settings (the routes render it live)."""
    return any(row[2] != key for row in rows)


def _list_request(parts: list[str], urls: UrlBuilder) -> ListRequest | None:
    if parts == ["body"]:
        return ListRequest(KINDS["Body"], None, None, urls.bodies(), f"{API_PATH}/body")
    if len(parts) != 3 or not CANONICAL_ID.fullmatch(parts[1]):
        return None
    parent_segment, parent_id, segment = parts
    listed = BY_SEGMENT.get(segment)
    if listed is None:
        return None
    template = f"{API_PATH}/{parent_segment}/{{object_id}}/{segment}"
    if parent_segment == "body" and listed.body_list is not None:
        kind, parent = KINDS[listed.name], TYPES["Body"].model
        return ListRequest(kind, parent, int(parent_id), urls.body_list(int(parent_id), listed.name), template)
    if parent_segment == "organization" and listed.name in ("Meeting", "Consultation"):
        kind, parent = KINDS[listed.name], TYPES["Organization"].model
        url = urls.organization_list(int(parent_id), listed.name)
        return ListRequest(kind, parent, int(parent_id), url, template)
    return None
