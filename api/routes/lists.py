"""External lists: the System's bodies, each Body's ten lists, an Organization's meetings, consultations."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import APIRouter
from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.orm import Session

from api.deps import IdDep, ListParamsDep, ListRenderDep, SessionDep
from api.responses import OParlJSONResponse, oparl_response
from models import Body, OParlObject, Organization
from models.links import consultation_organization, meeting_organization
from oparl.base import Render
from oparl.errors import NotFound
from oparl.filters import ListParams
from oparl.kind import Kind
from oparl.pagination import paginate
from oparl.registry import BODY_LISTED, KINDS
from oparl.urls import API_PATH

router = APIRouter(prefix=API_PATH, tags=["lists"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "OParl Error object: a bad parameter"},
    404: {"description": "no such parent"},
}

BodyList = StrEnum("BodyList", {seg: seg for seg in BODY_LISTED})  # type: ignore[misc]


def _page(
    session: Session,
    kind: Kind,
    scope: list[ColumnElement[bool]],
    params: ListParams,
    render: Render,
    list_url: str,
) -> OParlJSONResponse:
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


def _require(session: Session, model: type[OParlObject], object_id: int, render: Render) -> None:
    """The parent of a list must be there, and visible to this client (else its lists do not exist)."""
    parent = session.execute(select(model.id, model.nonpublic).where(model.id == object_id)).first()
    if parent is None or (parent.nonpublic and not render.nonpublic):
        raise NotFound(f"Kein Objekt vom Typ {model.__name__} mit der Kennung {object_id}.")


@router.get("/body", responses=ERRORS)
def list_bodies(session: SessionDep, params: ListParamsDep, render: ListRenderDep) -> OParlJSONResponse:
    """The System's Bodies."""
    return _page(session, KINDS["Body"], [], params, render, render.urls.bodies())


@router.get("/body/{object_id}/{list_name}", responses=ERRORS)
def list_body_objects(
    list_name: BodyList, object_id: IdDep, session: SessionDep, params: ListParamsDep, render: ListRenderDep
) -> OParlJSONResponse:
    """One of a Body's ten lists, paged by a cursor in links.next."""
    _require(session, Body, object_id, render)
    kind = BODY_LISTED[list_name.value]
    scope = [kind.model.body_id == object_id]  # type: ignore[attr-defined]
    return _page(session, kind, scope, params, render, render.urls.body_list(object_id, kind.type_name))


@router.get("/organization/{object_id}/meeting", responses=ERRORS)
def list_organization_meetings(
    object_id: IdDep, session: SessionDep, params: ListParamsDep, render: ListRenderDep
) -> OParlJSONResponse:
    """The meetings of an Organization (inverse of Meeting.organization)."""
    return _organization_list(session, object_id, "Meeting", meeting_organization, params, render)


@router.get("/organization/{object_id}/consultation", responses=ERRORS)
def list_organization_consultations(
    object_id: IdDep, session: SessionDep, params: ListParamsDep, render: ListRenderDep
) -> OParlJSONResponse:
    """The consultations of an Organization (inverse of Consultation.organization, OParl 1.1)."""
    return _organization_list(session, object_id, "Consultation", consultation_organization, params, render)


def _organization_list(
    session: Session, object_id: int, type_name: str, link: Table, params: ListParams, render: Render
) -> OParlJSONResponse:
    """Objects that name the Organization in their ordered `organization` link table."""
    _require(session, Organization, object_id, render)
    kind = KINDS[type_name]
    linked = select(link.c.owner_id).where(link.c.target_id == object_id)
    url = render.urls.organization_list(object_id, type_name)
    return _page(session, kind, [kind.model.id.in_(linked)], params, render, url)
