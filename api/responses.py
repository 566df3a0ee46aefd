"""The JSON response every OParl answer uses: UTF-8, no BOM, declared charset."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

from oparl.base import Render

CORS_HEADERS = {"Access-Control-Allow-Origin": "*"}
# On every answer (api.headers.SecurityHeaders adds them where an answer has not set its own).
# A JSON API is never a document: nothing sniffed, framed, loaded by it, or told where it was.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
# Errors carry both themselves: the last-resort 500 is answered outside every middleware.
ERROR_HEADERS = {**CORS_HEADERS, **SECURITY_HEADERS}


class OParlJSONResponse(Response):
    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def oparl_response(content: Any, render: Render) -> OParlJSONResponse:
    """An OParl answer; one that may hold non-public data must never sit in a shared cache."""
    headers = {"Cache-Control": "private"} if render.nonpublic else None
    return OParlJSONResponse(content, headers=headers)
