"""Liveness and readiness, outside the OParl paths, never cached, never rate-limited.

`/healthz` says the process answers (nothing else is asked: a load balancer should not take a
worker out because the database is slow). `/readyz` says whether it can serve: the database
answers and is at the migration head the code expects; 503 with the reason otherwise.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from api.errors import error_response
from api.responses import OParlJSONResponse
from models.db import current_revision

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz")
async def healthz() -> OParlJSONResponse:
    return OParlJSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz")
async def readyz(request: Request) -> OParlJSONResponse:
    engine: Engine = request.app.state.sessionmaker.kw["bind"]
    current, reason = await run_in_threadpool(_readiness, engine, request.app.state.migration_head)
    if reason is not None:
        refused = error_response(503, "Der Server ist nicht bereit.", reason)
        refused.headers.update({**NO_STORE, "Retry-After": "5"})
        return refused
    return OParlJSONResponse({"status": "ok", "migration": current}, headers=NO_STORE)


def _readiness(engine: Engine, head: str) -> tuple[str | None, str | None]:
    """The database's migration, and why it cannot be served (None: it can)."""
    try:
        current = current_revision(engine)
    except Exception as exc:  # any failure to ask is "not ready", never a 500
        return None, f"database unreachable ({type(exc).__name__})"
    if current != head:
        return current, f"database at migration {current or 'none'}, the code expects {head}"
    return current, None
