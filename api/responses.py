"""The JSON response every OParl answer uses: UTF-8, no BOM, declared charset."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

CORS_HEADERS = {"Access-Control-Allow-Origin": "*"}


class OParlJSONResponse(Response):
    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
