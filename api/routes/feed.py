"""kommParl 0.1: a Body's change feed and snapshot (oparl/feed has the rules; this is HTTP)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.caching import JSON, etag_for, generations, not_modified
from api.deps import IdDep, NonPublicDep, ServedDep, SessionDep, SettingsDep, UrlsDep
from api.openapi import BAD_TOKEN, COMMON, NOT_MODIFIED, OPTIONAL_TOKEN, VALIDATORS, Answers, error
from api.responses import OParlJSONResponse
from api.snapshot_slots import Lease, Slots
from oparl.cascade import table_of
from oparl.catalogue import IN_BODY
from oparl.errors import OParlError
from oparl.feed import read, snapshot
from oparl.urls import API_PATH

router = APIRouter(prefix=API_PATH, tags=["kommparl"])
NDJSON = "application/x-ndjson"


class ChangeFeedEntry(BaseModel):
    cursor: str
    operation: Literal["upsert", "delete", "redact"]
    type: str
    id: str
    modified: str
    reason: Literal["deleted", "withdrawn", "nonPublic", "privacy"] | None = None


class ChangeFeedLinks(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    self_: str = Field(alias="self")
    next: str | None = None


class ChangeFeedPage(BaseModel):
    data: list[ChangeFeedEntry]
    cursor: str
    links: ChangeFeedLinks


FEED_RESPONSES: Answers = {
    200: {"model": ChangeFeedPage, "description": "entries after the cursor, oldest first", "headers": VALIDATORS},
    **NOT_MODIFIED,
    400: error("a bad cursor (after) or limit"),
    **BAD_TOKEN,
    404: error("no such Body"),
    410: error("the cursor expired; kommparl:snapshot names the snapshot to start over from"),
    **COMMON,
}
SNAPSHOT_RESPONSES: Answers = {
    200: {"content": {NDJSON: {"schema": {"type": "string"}}}, "description": "header, objects, end line",
          "headers": VALIDATORS},
    **NOT_MODIFIED,
    **BAD_TOKEN,
    404: error("no such Body"),
    **COMMON,
    429: {**COMMON[429], **error("too many snapshots are being built, or too many requests; see Retry-After")},
}  # fmt: skip


class TooManySnapshots(OParlError):
    status_code = 429


@router.get(
    "/body/{object_id}/changes", operation_id="getBodyChanges", openapi_extra=OPTIONAL_TOKEN,
    responses=FEED_RESPONSES, response_model=None,
)  # fmt: skip
def get_changes(
    request: Request, object_id: IdDep, session: SessionDep, settings: SettingsDep, urls: UrlsDep,
    nonpublic: NonPublicDep, served: ServedDep,
    after: Annotated[str | None, Query(description="cursor: entries after it (from `cursor` or links.next)")] = None,
    limit: Annotated[str | None, Query(description="entries per page, at most OPARL_MAX_PAGE_SIZE")] = None,
) -> Response:  # fmt: skip
    """A Body's change feed (kommParl 0.1): what changed, was deleted or stopped being public."""
    count = read.parse_limit(limit, settings.default_page_size, settings.max_page_size)
    read.require_body(session, object_id, nonpublic=nonpublic)
    current = read.state(session)
    # The page is fixed by the counter (every entry up to it is committed) and what was pruned.
    etag = etag_for("feed", served.snapshots.key, object_id, nonpublic, after, count, *current)

    def body() -> bytes:
        found = read.page(session, urls, object_id, after, count, nonpublic=nonpublic, tz=settings.zone,
                          max_limit=settings.max_page_size)  # fmt: skip
        return orjson.dumps(read.page_json(found, urls, object_id, after, count))

    if not nonpublic:
        return served.cache.respond(request, etag, None, body)
    headers = {"ETag": etag, "Cache-Control": "private", "Vary": "Accept-Encoding, Authorization"}
    if not_modified(request, etag, None):
        return Response(status_code=304, headers=headers)
    return Response(body(), media_type=JSON, headers=headers)


@router.get(
    "/body/{object_id}/snapshot", operation_id="getBodySnapshot", openapi_extra=OPTIONAL_TOKEN,
    responses=SNAPSHOT_RESPONSES, response_class=StreamingResponse,
)  # fmt: skip
def get_snapshot(
    request: Request, object_id: IdDep, session: SessionDep, settings: SettingsDep, nonpublic: NonPublicDep,
    served: ServedDep,
) -> Response:  # fmt: skip
    """A Body's snapshot (kommParl 0.1): NDJSON, every object it shows, in one consistent read."""
    read.require_body(session, object_id, nonpublic=nonpublic)
    gens, _ = generations(session, [table_of(t.model).name for t in IN_BODY])
    etag = etag_for("snapshot", served.snapshots.key, object_id, nonpublic, read.state(session), gens)
    headers = {"ETag": etag, "Cache-Control": "private" if nonpublic else "public, no-cache",
               "Vary": "Accept-Encoding, Authorization"}  # fmt: skip
    if not_modified(request, etag, None):
        return Response(status_code=304, headers=headers)
    slots: Slots = request.app.state.snapshot_slots
    lease = slots.take()
    if lease is None:
        refused = OParlJSONResponse(TooManySnapshots("Zu viele Snapshots werden gerade erstellt.").body(), 429)
        refused.headers["Retry-After"] = str(settings.snapshot_retry_after)
        return refused
    stream = _stream(request, session, lease, object_id, nonpublic)
    if _accepts_gzip(request.headers.get("accept-encoding", "")):
        headers["Content-Encoding"] = "gzip"
        stream = _gzip(stream)
    return StreamingResponse(stream, media_type=NDJSON, headers=headers)


def _stream(request: Request, session: Session, lease: Lease, body_id: int, nonpublic: bool) -> Iterator[bytes]:
    """The lines, in one transaction of the request's session (which lives until the answer is
    sent: FastAPI ends request-scoped dependencies after the response)."""
    state = request.app.state
    try:
        if isinstance(session.bind, Engine):  # not inside a test's outer transaction
            session.rollback()  # a new transaction, with the snapshot's isolation level
            session.connection(execution_options=snapshot.transaction_options(session.bind.dialect.name))
        for chunk in snapshot.lines(session, state.snapshots, body_id, now=state.clock(), entitled=nonpublic):
            lease.renew()
            yield chunk
    finally:
        lease.release()


def _gzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
    packer = zlib.compressobj(5, zlib.DEFLATED, 31)  # 31: the gzip container
    for chunk in chunks:
        packed = packer.compress(chunk)
        if packed:
            yield packed
    yield packer.flush()


def _accepts_gzip(header: str) -> bool:
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return params.strip() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False
