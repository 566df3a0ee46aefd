"""Dependencies shared by the routes, as Annotated aliases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from api.settings import Settings
from oparl.base import Render
from oparl.errors import NotFound
from oparl.filters import ListParams
from oparl.urls import UrlBuilder


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


def get_urls(settings: SettingsDep) -> UrlBuilder:
    return UrlBuilder(settings.public_base_url)


UrlsDep = Annotated[UrlBuilder, Depends(get_urls)]


CANONICAL_ID = re.compile(r"[1-9][0-9]{0,17}")


def object_id(object_id: Annotated[str, Path(description="Numeric id of the object")]) -> int:
    """Ids are canonical decimal numbers; anything else names no object (404, never a redirect)."""
    if not CANONICAL_ID.fullmatch(object_id):
        raise NotFound(f"Kein Objekt mit der Kennung {object_id!r}.")
    return int(object_id)


IdDep = Annotated[int, Depends(object_id)]


def list_params(
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


def render_for_object(settings: SettingsDep, urls: UrlsDep) -> Render:
    return Render(urls=urls, tz=settings.zone)


def render_for_list(settings: SettingsDep, urls: UrlsDep, params: ListParamsDep) -> Render:
    return Render(urls=urls, tz=settings.zone, omit_internal=params.omit_internal)


ObjectRenderDep = Annotated[Render, Depends(render_for_object)]
ListRenderDep = Annotated[Render, Depends(render_for_list)]
