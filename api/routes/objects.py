"""One object at its own URL: the System, and every object of every type (spec 2)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import IdDep, ObjectRenderDep, SessionDep
from api.responses import OParlJSONResponse, oparl_response
from models import System
from oparl.errors import NotFound
from oparl.registry import BY_SEGMENT, KINDS
from oparl.urls import API_PATH

router = APIRouter(prefix=API_PATH, tags=["objects"])
ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "OParl Error object: no such object"}}

Segment = StrEnum("Segment", {seg: seg for seg in BY_SEGMENT if seg != "system"})  # type: ignore[misc]


@router.get("/system", responses=ERRORS)
def get_system(session: SessionDep, render: ObjectRenderDep) -> OParlJSONResponse:
    """The System object: the entry point of the API."""
    system = session.scalars(select(System).order_by(System.id).limit(1)).first()
    if system is None:
        raise NotFound("Dieser Server hat noch kein System-Objekt: bitte Daten laden.")
    return oparl_response(KINDS["System"].to_json(system, render), render)


@router.get("/{segment}/{object_id}", responses=ERRORS)
def get_object(segment: Segment, object_id: IdDep, session: SessionDep, render: ObjectRenderDep) -> OParlJSONResponse:
    """One object of any type; a deleted one answers 200 as a tombstone (spec 6)."""
    kind = BY_SEGMENT[segment.value]
    row = session.scalar(select(kind.model).where(kind.model.id == object_id).options(*kind.load_options))
    # An object never published does not exist for anonymous clients; a depublished one is a tombstone.
    if row is None or not (render.nonpublic or row.ever_public):
        raise NotFound(f"Kein Objekt vom Typ {kind.type_name} mit der Kennung {object_id}.")
    return oparl_response(kind.to_json(row, render), render)
