"""OpenAPI docs at /docs render from assets the app serves itself (no CDN)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_docs_use_only_local_assets(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    assert [s for s in sources if not s.startswith("/")] == []
    for source in sources:
        assert client.get(source).status_code == 200, source
    schema = client.get("/openapi.json").json()
    assert "/oparl/v1.1/body/{object_id}/paper" in schema["paths"]
