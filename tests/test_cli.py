"""The `oparl-server` command as a person uses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from api.cli import main
from models import Paper
from tests.conftest import LUEBECK
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("OPARL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPARL_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def papers_in(data_dir: Path) -> int:
    engine = create_engine(f"sqlite:///{data_dir / 'oparl.sqlite3'}")
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(Paper))
    engine.dispose()
    return count or 0


def test_migrate_then_load_twice(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["load-fixtures", str(LUEBECK)]) == 0
    assert main(["load-fixtures", str(LUEBECK)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        f"loaded {LUEBECK}: 63 created, 0 changed, 0 unchanged, 0 deleted",
        f"loaded {LUEBECK}: 0 created, 0 changed, 63 unchanged, 0 deleted",
    ]
    assert papers_in(data_dir) == 4


def test_a_bad_record_writes_nothing(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    records = [
        {"type": "System", "key": "s", "name": "Ratsinformation"},
        {"type": "Body", "key": "b", "system": "s", "name": "Stadt"},
        {"type": "Paper", "key": "p", "body": "b", "date": "gestern"},
    ]
    (folder / "records.json").write_text(json.dumps(records))
    assert main(["migrate"]) == 0
    assert main(["load-fixtures", str(folder)]) == 2
    assert capsys.readouterr().err == "oparl-server: Paper 'p'.date: expected a date yyyy-mm-dd, got 'gestern'\n"
    assert papers_in(data_dir) == 0


def test_serve_refuses_an_unmigrated_database(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("oparl-server: The database sqlite:///")
    assert err.endswith("has no OParl schema. Run `oparl-server migrate` first.\n")


def test_demo_serves_the_luebeck_records(data_dir: Path) -> None:
    port = free_port()
    env = {**os.environ, "OPARL_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    system_url = f"http://127.0.0.1:{port}/oparl/v1.1/system"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                system = httpx.get(system_url, timeout=2).json()
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "demo did not start within 30 s"
                time.sleep(0.2)
        body = httpx.get(system["body"]).json()["data"][0]
        papers = httpx.get(body["paper"]).json()["data"]
        assert system["id"] == system_url
        assert [p["reference"] for p in papers] == [
            "VO/2023/11779",
            "VO/2023/11778-01",
            "VO/2023/11778",
            "404",
        ]
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"OParl System: {system_url}" in output


def test_tokens_with_an_expiry_are_listed_with_created_and_last_used(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert main(["token", "create", "Sitzungsdienst", "--expires", "2027-01-31"]) == 0
    assert main(["token", "create", "Abgelaufen", "--expires", "2020-01-01"]) == 0
    assert main(["token", "create", "Kurz", "--days", "7"]) == 0
    assert main(["token", "create", "Falsch", "--expires", "31.1.2027"]) == 2
    capsys.readouterr()
    assert main(["token", "list"]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == ["id", "name", "scopes", "state", "created", "last used", "expires"]
    assert [(row[1], row[3], row[5], row[6][:10]) for row in lines[1:]] == [
        ("Sitzungsdienst", "active", "-", "2027-02-01"),
        ("Abgelaufen", "expired", "-", "2020-01-02"),
        ("Kurz", "active", "-", lines[3][6][:10]),
    ]
