"""One error shape for every failure: an OParl Error object, with CORS, never HTML."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.responses import CORS_HEADERS, OParlJSONResponse
from oparl.errors import ERROR_TYPE, OParlError

log = logging.getLogger(__name__)

_MESSAGES = {
    404: "Diese Adresse gibt es nicht.",
    405: "Diese Methode ist hier nicht erlaubt.",
}


def error_response(status: int, message: str, debug: str | None = None) -> OParlJSONResponse:
    body = {"type": ERROR_TYPE, "message": message}
    if debug:
        body["debug"] = debug
    return OParlJSONResponse(body, status_code=status, headers=CORS_HEADERS)


async def _oparl_error(_request: Request, exc: Exception) -> OParlJSONResponse:
    assert isinstance(exc, OParlError)
    response = OParlJSONResponse(exc.body(), status_code=exc.status_code, headers=CORS_HEADERS)
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


async def _http_error(_request: Request, exc: Exception) -> OParlJSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, _MESSAGES.get(exc.status_code, str(exc.detail)))


async def _unexpected(_request: Request, exc: Exception) -> OParlJSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "Interner Fehler des Servers.")


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OParlError, _oparl_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
