"""Concurrent writers against a real server process: every answer is a success or a 409, never a 500."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import _postgres_database
from tests.servers import free_port, running

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'c.sqlite3'}"])
    else:
        urls = _postgres_database()
    url = next(urls)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPARL_")}
    env |= {"OPARL_DATABASE_URL": url, "OPARL_DATA_DIR": str(tmp_path / "data"), "OPARL_PORT": str(port)}
    cli = [sys.executable, "-m", "api.cli"]
    subprocess.run([*cli, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    created = subprocess.run([*cli, "token", "create", "t", "--scope", "write"], cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True)  # fmt: skip
    token = created.stdout.strip().splitlines()[-1]
    try:
        with running(["serve"], env, port):
            yield f"http://127.0.0.1:{port}", token
    finally:
        next(urls, None)


def test_concurrent_writes_never_fail_with_500(server: tuple[str, str]) -> None:
    base, token = server
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        client.put("/write/v1/system/s", json={}).raise_for_status()
        client.put("/write/v1/body/b", json={"system": "s", "name": "Stadt"}).raise_for_status()

        def put(i: int) -> int:
            record = {"body": "b", "name": f"Vorlage {i % 3}", "consultation": [{"key": f"c{i % 5}", "role": "x"}]}
            return client.put(f"/write/v1/paper/p{i % 5}", json=record).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = Counter(pool.map(put, range(120)))
        assert set(statuses) <= {200, 201, 409}, statuses
        assert statuses[201] == 5
        papers = client.get("/oparl/v1.1/body/1/paper").json()["data"]
        assert len(papers) == 5
