"""The headers as the real server sends them (uvicorn adds its own unless told not to)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.servers import ROOT, free_port, running


def test_the_served_answers_name_no_server_and_carry_the_edge_headers(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPARL_")}
    env |= {"OPARL_DATA_DIR": str(tmp_path / "data"), "OPARL_PORT": str(port), "OPARL_ACCESS_LOG": "false"}
    subprocess.run([sys.executable, "-m", "api.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    preflight = {"Origin": "https://ratsinfo.example.net", "Access-Control-Request-Method": "PUT",
                 "Access-Control-Request-Headers": "Authorization"}  # fmt: skip
    with running(["serve"], env, port), httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        answers = [
            client.get("/oparl/v1.1/system"),
            client.post("/oparl/v1.1/system"),
            client.options("/write/v1/paper/p", headers=preflight),
            client.get("/docs"),
        ]
    for response in answers:
        assert "server" not in response.headers
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert [r.status_code for r in answers] == [404, 405, 204, 200]
    assert answers[1].headers["allow"] == "GET, HEAD, OPTIONS"
    assert answers[2].headers["access-control-allow-headers"] == "Authorization"
