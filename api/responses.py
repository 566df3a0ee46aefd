"""The JSON response every OParl answer uses: UTF-8, no BOM, declared charset."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

from oparl.base import Render

CORS_HEADERS = {"Access-Control-Allow-Origin": "*"}


class OParlJSONResponse(Response):
    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def oparl_response(content: Any, render: Render) -> OParlJSONResponse:
    """An OParl answer; one that may hold non-public data must never sit in a shared cache."""
    headers = {"Cache-Control": "private"} if render.nonpublic else None
    return OParlJSONResponse(content, headers=headers)
