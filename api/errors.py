"""One error shape for every failure: an OParl Error object, with CORS, never HTML."""

from __future__ import annotations

import logging
import sqlite3

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc as sa
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope

from api.outage import Outage, is_outage
from api.responses import ERROR_HEADERS, OParlJSONResponse
from oparl.errors import OParlError, error_body

log = logging.getLogger(__name__)

_MESSAGES = {
    404: "Diese Adresse gibt es nicht.",
    405: "Diese Methode ist hier nicht erlaubt.",
}


def error_response(status: int, message: str, debug: str | None = None) -> OParlJSONResponse:
    return OParlJSONResponse(error_body(message, debug), status_code=status, headers=ERROR_HEADERS)


async def _oparl_error(_request: Request, exc: Exception) -> OParlJSONResponse:
    assert isinstance(exc, OParlError)
    response = OParlJSONResponse(exc.body(), status_code=exc.status_code, headers=ERROR_HEADERS)
    if exc.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="oparl"'
    return response


async def _validation_error(_request: Request, exc: Exception) -> OParlJSONResponse:
    assert isinstance(exc, RequestValidationError)
    if all(e["loc"][:1] == ("path",) for e in exc.errors()):
        # A path that names no list or type is an address that does not exist, not a bad request.
        return error_response(404, _MESSAGES[404])
    fields = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return error_response(400, "Die Anfrage enthält ungültige Parameter.", fields)


async def _http_error(request: Request, exc: Exception) -> OParlJSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    response = error_response(exc.status_code, _MESSAGES.get(exc.status_code, str(exc.detail)))
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:  # RFC 9110 15.5.6; Starlette's names only the first route of the path
        response.headers["Allow"] = ", ".join(allowed_methods(request.scope))
    return response


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(scope: Scope) -> list[str]:
    """The methods some route answers at this path, and OPTIONS (the CORS middleware answers it)."""
    routes = scope["app"].router.routes
    # Asked from inside a mount, the path is taken from where the app is mounted, not the mount.
    scope = {**scope, "root_path": scope.get("app_root_path", scope.get("root_path", ""))}

    def answers(route: BaseRoute, method: str) -> bool:
        if isinstance(route, Mount) and method not in ("GET", "HEAD"):  # the static docs assets
            return False
        return route.matches({**scope, "method": method})[0] == Match.FULL

    methods = {m for m in _METHOD_ORDER if any(answers(r, m) for r in routes)}
    if "GET" in methods:  # api.middleware.HeadAsGet answers HEAD wherever GET is
        methods.add("HEAD")
    return [*(m for m in _METHOD_ORDER if m in methods), "OPTIONS"]


async def _database_error(request: Request, exc: Exception) -> OParlJSONResponse:
    """An outage is a 503 with Retry-After; any other database error is a bug, answered here rather
    than re-raised (which would log a second traceback and drop the client's connection)."""
    if is_outage(exc):
        outage: Outage = request.app.state.outage
        return outage.response(exc)
    return await _unexpected(request, exc)


async def _unexpected(_request: Request, exc: Exception) -> OParlJSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "Interner Fehler des Servers.")


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OParlError, _oparl_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for database_error in (sa.DBAPIError, sa.TimeoutError, psycopg.Error, sqlite3.Error):
        app.add_exception_handler(database_error, _database_error)
    app.add_exception_handler(Exception, _unexpected)
