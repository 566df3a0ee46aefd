"""Dependencies shared by the routes, as Annotated aliases.

They are `async def` although they do no I/O (or hand it to the thread pool themselves):
FastAPI runs each plain `def` dependency in a thread of its own, and those hops would cost more
than the cached answers they lead to.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.auth import Forbidden, Unauthorized, check_token
from api.caching import PublicCache
from api.settings import Settings
from api.threads import in_write_thread
from models import ApiToken
from oparl.base import Render
from oparl.errors import NotFound
from oparl.filters import ListParams
from oparl.snapshot import Snapshots
from oparl.urls import UrlBuilder
from oparl.write import Clock


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Opening a session does no I/O (it connects on first use, in the route's thread); closing
    hands the connection back to the pool."""
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        _close(session)


async def get_write_session(request: Request) -> AsyncIterator[Session]:
    """A session for the write API: on SQLite its transaction takes the write lock at once."""
    session = request.app.state.write_sessionmaker()
    try:
        yield session
    finally:
        _close(session)


def _close(session: Session) -> None:
    """Closing runs after the answer went out: a connection the database dropped meanwhile (an
    outage beginning) must not fail it, which would reset the client's connection mid-answer.
    Nothing is left to undo then; the connection is discarded, not pooled."""
    try:
        session.close()
    except DBAPIError:
        with contextlib.suppress(DBAPIError):
            session.invalidate()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
WriteSessionDep = Annotated[Session, Depends(get_write_session)]


async def get_urls(settings: SettingsDep) -> UrlBuilder:
    return UrlBuilder(settings.public_base_url)


UrlsDep = Annotated[UrlBuilder, Depends(get_urls)]


CANONICAL_ID = re.compile(r"[1-9][0-9]{0,17}")


async def object_id(object_id: Annotated[str, Path(description="Numeric id of the object")]) -> int:
    """Ids are canonical decimal numbers; anything else names no object (404, never a redirect)."""
    if not CANONICAL_ID.fullmatch(object_id):
        raise NotFound.bad_id(object_id)
    return int(object_id)


IdDep = Annotated[int, Depends(object_id)]


async def list_params(
    request: Request,
    settings: SettingsDep,
    created_since: Annotated[str | None, Query(description="only objects created at or after (date-time)")] = None,
    created_until: Annotated[str | None, Query(description="only objects created at or before (date-time)")] = None,
    modified_since: Annotated[
        str | None, Query(description="only objects modified at or after; also lists deleted objects")
    ] = None,
    modified_until: Annotated[str | None, Query(description="only objects modified at or before (date-time)")] = None,
    omit_internal: Annotated[str | None, Query(description="true: leave out internal lists (OParl 1.1)")] = None,
    limit: Annotated[str | None, Query(description="objects per page, at most OPARL_MAX_PAGE_SIZE")] = None,
    after: Annotated[str | None, Query(description="cursor: continue after this id (from links.next)")] = None,
) -> ListParams:
    # The named parameters document the API; parsing reads the raw query for one lenient parser.
    return ListParams.parse(
        request.query_params,
        tz=settings.zone,
        default_limit=settings.default_page_size,
        max_limit=settings.max_page_size,
    )


ListParamsDep = Annotated[ListParams, Depends(list_params)]


async def get_token(request: Request, session: SessionDep) -> ApiToken | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    return await run_in_threadpool(check_token, session, header)


TokenDep = Annotated[ApiToken | None, Depends(get_token)]


async def may_read_nonpublic(token: TokenDep) -> bool:
    return token is not None and "read-nonpublic" in token.scopes


NonPublicDep = Annotated[bool, Depends(may_read_nonpublic)]


async def require_write(request: Request, session: WriteSessionDep) -> ApiToken:
    """Checked in the write API's threads and the write's own session (api/threads.py)."""
    return await in_write_thread(request, _writer, session, request.headers.get("authorization"))


def _writer(session: Session, header: str | None) -> ApiToken:
    token = check_token(session, header)
    if token is None:
        raise Unauthorized("Schreiben erfordert einen Zugangsschlüssel.", "send Authorization: Bearer oparl_…")
    if "write" not in token.scopes:
        raise Forbidden("Dieser Zugangsschlüssel darf nicht schreiben.", "the token lacks the scope write")
    # Ends the check's transaction: a write waiting for its thread holds no connection (and on
    # SQLite not the write lock, which would keep the one write thread waiting for it).
    session.commit()
    return token


WriterDep = Annotated[ApiToken, Depends(require_write)]


@dataclass(frozen=True)
class Served:
    """What the read routes answer from besides the database: the shared answer cache and the stored renderings."""

    cache: PublicCache
    snapshots: Snapshots


async def get_served(request: Request) -> Served:
    return Served(request.app.state.cache, request.app.state.snapshots)


ServedDep = Annotated[Served, Depends(get_served)]


@dataclass(frozen=True)
class WriteContext:
    """Everything a write needs, as one dependency: its request, its session (the write API's own,
    api/threads.py), the writer's token, the URLs, and the app's clock and renderings."""

    request: Request
    session: Session
    token: ApiToken
    urls: UrlBuilder
    settings: Settings

    @property
    def clock(self) -> Clock:
        clock: Clock = self.request.app.state.clock
        return clock

    @property
    def snapshots(self) -> Snapshots:
        snapshots: Snapshots = self.request.app.state.snapshots
        return snapshots


async def write_context(
    request: Request, session: WriteSessionDep, token: WriterDep, urls: UrlsDep, settings: SettingsDep
) -> WriteContext:
    return WriteContext(request, session, token, urls, settings)


WriteDep = Annotated[WriteContext, Depends(write_context)]


async def render_for_object(settings: SettingsDep, urls: UrlsDep, nonpublic: NonPublicDep) -> Render:
    return Render(urls=urls, tz=settings.zone, nonpublic=nonpublic, publisher=settings.publisher)


async def render_for_list(
    settings: SettingsDep, urls: UrlsDep, params: ListParamsDep, nonpublic: NonPublicDep
) -> Render:
    omit = params.omit_internal
    return Render(urls=urls, tz=settings.zone, omit_internal=omit, nonpublic=nonpublic, publisher=settings.publisher)


ObjectRenderDep = Annotated[Render, Depends(render_for_object)]
ListRenderDep = Annotated[Render, Depends(render_for_list)]
