"""Two hosts, each with a data folder of its own, serving one PostgreSQL database: every file
stored through either of them (fixtures loaded on one, an upload through the other) is served,
byte for byte, by both."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LUEBECK, _postgres_database
from tests.servers import free_port, running

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "api.cli"]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from _postgres_database()


def host_env(url: str, data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPARL_")}
    return env | {"OPARL_DATABASE_URL": url, "OPARL_DATA_DIR": str(data_dir), "OPARL_PORT": str(port),
                  "OPARL_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "OPARL_ACCESS_LOG": "false"}  # fmt: skip


def files_of(base: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{base}/oparl/v1.1/body").json()["data"][0]
    found: list[dict[str, Any]] = []
    url: str | None = body["file"]
    while url:
        page = httpx.get(url).json()
        found += page["data"]
        url = page["links"].get("next")
    return found


def every_file_from_both(bases: list[str], count: int) -> list[dict[str, Any]]:
    files = files_of(bases[0])
    assert len(files) == count
    for file in files:
        path = file["accessUrl"].removeprefix(bases[0])
        served = [httpx.get(f"{base}{path}", timeout=30) for base in bases]
        assert [s.status_code for s in served] == [200, 200], path
        assert served[0].content == served[1].content, path
        assert hashlib.sha512(served[0].content).hexdigest() == file["sha512Checksum"]
        assert len(served[0].content) == file["size"]
    return files


def test_every_file_is_served_by_both_hosts(postgres_url: str, tmp_path: Path) -> None:
    ports = free_port(), free_port()
    one, other = (host_env(postgres_url, tmp_path / name, port) for name, port in zip("ab", ports, strict=True))
    subprocess.run([*CLI, "migrate"], cwd=ROOT, env=one, check=True, capture_output=True)
    subprocess.run([*CLI, "load-fixtures", str(LUEBECK)], cwd=ROOT, env=one, check=True, capture_output=True)
    created = subprocess.run([*CLI, "token", "create", "t", "--scope", "write"], cwd=ROOT, env=one, check=True,
                             capture_output=True, text=True)  # fmt: skip
    token = created.stdout.strip().splitlines()[-1]
    big = random.Random(12).randbytes(1_300_000)  # three chunks
    with ExitStack() as hosts:
        for env, port in zip((one, other), ports, strict=True):
            hosts.enter_context(running(["serve"], env, port))
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        every_file_from_both(bases, 6)  # the fixtures, loaded through host a
        uploaded = httpx.put(f"{bases[1]}/write/v1/file/two-hosts/content", params={"body": "luebeck"}, content=big,
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
        assert uploaded.status_code == 201, uploaded.text
        assert len(big) in [f["size"] for f in every_file_from_both(bases, 7)]  # and the upload through host b
    # No host wrote a content folder: the bytes are where both hosts see them.
    assert list(tmp_path.glob("*/files")) == []
