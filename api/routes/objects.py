"""One object at its own URL: the System, and every object of every type (spec 2)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.caching import Validity, etag_for, generations
from api.deps import IdDep, ObjectRenderDep, Served, ServedDep, SessionDep
from api.openapi import OPTIONAL_TOKEN, object_answers
from api.responses import oparl_response
from models import System
from oparl.base import Render
from oparl.cascade import table_of
from oparl.catalogue import TYPES
from oparl.errors import NotFound
from oparl.kind import Kind
from oparl.registry import KINDS
from oparl.urls import API_PATH
from oparl.visibility import Seen, seen

router = APIRouter(prefix=API_PATH, tags=["objects"])


@router.get("/system", operation_id="getSystem", responses=object_answers("System"), openapi_extra=OPTIONAL_TOKEN)
def get_system(request: Request, session: SessionDep, render: ObjectRenderDep, served: ServedDep) -> Response:
    """The System object: the entry point of the API."""
    system_id = session.scalar(select(System.id).order_by(System.id).limit(1))
    if system_id is None:
        raise NotFound("Dieser Server hat noch kein System-Objekt: bitte Daten laden.")
    return _object(request, served, session, KINDS["System"], system_id, render)


def _getter(kind: Kind) -> Callable[..., Response]:
    def get_object(
        request: Request, object_id: IdDep, session: SessionDep, render: ObjectRenderDep, served: ServedDep
    ) -> Response:
        return _object(request, served, session, kind, object_id, render)

    return get_object


def _register() -> None:
    """One operation per type (`getPaper`), so that a generated client has a typed call per type."""
    for t in TYPES.values():
        if t.name != "System":
            router.add_api_route(
                f"/{t.segment}/{{object_id}}",
                _getter(KINDS[t.name]),
                methods=["GET"],
                operation_id=f"get{t.name}",
                summary=f"One {t.name}",
                description="A deleted one answers 200 as a tombstone (spec 6).",
                responses=object_answers(t.name),
                openapi_extra=OPTIONAL_TOKEN,
            )


_register()


def _object(request: Request, served: Served, session: Session, kind: Kind, object_id: int, render: Render) -> Response:
    model = kind.model
    if render.nonpublic:  # rendered per request; never in a shared cache
        row = session.scalar(select(model).where(model.id == object_id).options(*kind.load_options))
        if row is None or seen(row, entitled=True) is Seen.ABSENT:
            raise NotFound.by_id(kind.type_name, object_id)
        return oparl_response(kind.to_json(row, render), render)
    table = (table_of(model).name,)
    gens, _ = generations(session, table)
    flags = (model.deleted, model.nonpublic, model.ever_public)
    stored = session.execute(
        select(model.revision, model.modified, *flags, model.rendered, model.rendered_key).where(model.id == object_id)
    ).first()
    # The stored rendering is the anonymous one: the object when shown, else its tombstone.
    if stored is None or seen(stored, entitled=False) is Seen.ABSENT:
        raise NotFound.by_id(kind.type_name, object_id)
    snapshots, cache = served.snapshots, served.cache

    def body() -> bytes:
        if stored.rendered_key == snapshots.key:
            return bytes(stored.rendered)
        row = session.scalar(select(model).where(model.id == object_id).options(*kind.load_options))
        return snapshots.dumps(kind, row)

    etag = etag_for(snapshots.key, kind.type_name, object_id, stored.revision)
    return cache.respond(request, etag, stored.modified, body, Validity(table, gens))
