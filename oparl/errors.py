"""OParl Error objects (spec chapter "Fehlerbehandlung") raised anywhere below the HTTP layer."""

from __future__ import annotations

from typing import Any

ERROR_TYPE = "https://schema.oparl.org/1.1/Error"


class OParlError(Exception):
    status_code = 500

    def __init__(self, message: str, debug: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.debug = debug

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": ERROR_TYPE, "message": self.message}
        if self.debug:
            body["debug"] = self.debug
        return body


class BadRequest(OParlError):
    status_code = 400


class Forbidden(OParlError):
    status_code = 403


class NotFound(OParlError):
    status_code = 404


class Unprocessable(OParlError):
    status_code = 422
