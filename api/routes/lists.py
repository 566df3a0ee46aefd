"""External lists: the System's bodies, each Body's ten lists, an Organization's meetings, consultations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from api.caching import Validity, count_key, etag_for, generations
from api.deps import IdDep, ListParamsDep, ListRenderDep, Served, ServedDep, SessionDep
from api.openapi import OPTIONAL_TOKEN, list_answers
from api.responses import oparl_response
from models import Body, OParlObject, Organization
from oparl.base import Render
from oparl.cascade import table_of
from oparl.catalogue import TYPES, listing
from oparl.errors import NotFound
from oparl.filters import ListParams
from oparl.kind import Kind
from oparl.pagination import count, list_where, paginate, rendered_page
from oparl.registry import KINDS
from oparl.urls import API_PATH, with_query
from oparl.visibility import public

router = APIRouter(prefix=API_PATH, tags=["lists"])


def _page(
    request: Request,
    served: Served,
    session: Session,
    kind: Kind,
    scope: list[ColumnElement[bool]],
    params: ListParams,
    render: Render,
    list_url: str,
    parent: type[OParlObject] | None,
) -> Response:
    if render.nonpublic or render.omit_internal:  # rendered per request; never in a shared cache
        page: dict[str, Any] = paginate(
            session,
            kind.model,
            scope,
            params,
            options=kind.load_options,
            render=render,
            list_url=list_url,
            to_json=kind.to_json,
        )
        return oparl_response(page, render)
    cache, snapshots = served.cache, served.snapshots
    tables = (table_of(kind.model).name, *((table_of(parent).name,) if parent is not None else ()))
    gens, last_modified = generations(session, tables)
    page_url = with_query(list_url, {**params.canonical, "after": str(params.after or "")})
    etag = etag_for(snapshots.key, gens, page_url)

    def body() -> bytes:
        where = list_where(kind.model, scope, params, nonpublic=False)
        counted = count_key(gens, list_url, params.canonical)
        total = cache.counts.get(counted)
        if total is None:
            total = count(session, kind.model, where)
            cache.counts.put(counted, total)
        return rendered_page(session, kind, where, params, snapshots=snapshots, list_url=list_url, total=total)

    return cache.respond(request, etag, last_modified, body, Validity(tables, gens))


def _require(session: Session, model: type[OParlObject], object_id: int, render: Render) -> None:
    """The parent of a list must be there, and not hidden from this client (else its lists do not exist)."""
    parent = session.execute(select(model.nonpublic).where(model.id == object_id)).first()
    if parent is None or not public(parent, entitled=render.nonpublic):
        raise NotFound.by_id(model.__name__, object_id)


@router.get("/body", operation_id="listBodies", responses=list_answers("Body", None), openapi_extra=OPTIONAL_TOKEN)
def list_bodies(
    request: Request, session: SessionDep, params: ListParamsDep, render: ListRenderDep, served: ServedDep
) -> Response:
    """The System's Bodies."""
    return _page(request, served, session, KINDS["Body"], [], params, render, render.urls.bodies(), None)


def _body_list(kind: Kind) -> Callable[..., Response]:
    def list_body_objects(
        request: Request,
        object_id: IdDep,
        session: SessionDep,
        params: ListParamsDep,
        render: ListRenderDep,
        served: ServedDep,
    ) -> Response:
        _require(session, Body, object_id, render)
        scope = [kind.model.body_id == object_id]  # type: ignore[attr-defined]
        url = render.urls.body_list(object_id, kind.type_name)
        return _page(request, served, session, kind, scope, params, render, url, Body)

    return list_body_objects


def _register_body_lists() -> None:
    """One operation per list of a Body (`listBodyPapers`), in the spec's order of types."""
    for t in TYPES.values():
        if t.body_list is not None:
            router.add_api_route(
                f"/body/{{object_id}}/{t.segment}",
                _body_list(KINDS[t.name]),
                methods=["GET"],
                operation_id=f"listBody{t.name}s",
                summary=f"The {t.name} objects of a Body",
                description=f"Body.{t.body_list}, paged by a cursor in links.next.",
                responses=list_answers(t.name, "Body"),
                openapi_extra=OPTIONAL_TOKEN,
            )


_register_body_lists()


@router.get(
    "/organization/{object_id}/meeting",
    operation_id="listOrganizationMeetings",
    responses=list_answers("Meeting", "Organization"),
    openapi_extra=OPTIONAL_TOKEN,
)
def list_organization_meetings(
    request: Request, object_id: IdDep, session: SessionDep, params: ListParamsDep, render: ListRenderDep,
    served: ServedDep,
) -> Response:  # fmt: skip
    """The meetings of an Organization (inverse of Meeting.organization)."""
    return _organization_list(request, served, session, object_id, "Meeting", params, render)


@router.get(
    "/organization/{object_id}/consultation",
    operation_id="listOrganizationConsultations",
    responses=list_answers("Consultation", "Organization"),
    openapi_extra=OPTIONAL_TOKEN,
)
def list_organization_consultations(
    request: Request, object_id: IdDep, session: SessionDep, params: ListParamsDep, render: ListRenderDep,
    served: ServedDep,
) -> Response:  # fmt: skip
    """The consultations of an Organization (inverse of Consultation.organization, OParl 1.1)."""
    return _organization_list(request, served, session, object_id, "Consultation", params, render)


def _organization_list(
    request: Request, served: Served, session: Session, object_id: int, type_name: str, params: ListParams,
    render: Render,
) -> Response:  # fmt: skip
    """Objects that name the Organization in their ordered `organization` link table."""
    _require(session, Organization, object_id, render)
    kind, link = KINDS[type_name], listing(type_name, "Organization").link
    assert link is not None
    linked = select(link.c.owner_id).where(link.c.target_id == object_id)
    url = render.urls.organization_list(object_id, type_name)
    return _page(request, served, session, kind, [kind.model.id.in_(linked)], params, render, url, Organization)
