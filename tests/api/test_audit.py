"""The write audit: one row per written object, in the write's own transaction, and `oparl-server audit`."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from api.cli import main
from api.token_commands import _cell, audit_lines
from models import ApiToken, WriteAudit
from oparl.snapshot import Snapshots
from tests.conftest import FakeClock

COUNCIL = [
    {"op": "put", "type": "System", "key": "sys", "record": {"name": "Ratsinformation"}},
    {"op": "put", "type": "Body", "key": "stadt", "record": {"system": "sys", "name": "Stadt Beispiel"}},
    {"op": "put", "type": "Organization", "key": "rat", "record": {"body": "stadt", "name": "Rat"}},
]
T0 = "2024-06-03T08:00:00+00:00"  # FakeClock's start


def token_id(session: Session, name: str) -> int:
    found = session.scalar(select(ApiToken.id).where(ApiToken.name == name))
    assert found is not None
    return found


def rows(session: Session) -> list[tuple[Any, ...]]:
    audit = session.scalars(select(WriteAudit).order_by(WriteAudit.id))
    return [(r.token_id, r.at.isoformat(), r.op, r.type, r.key, r.object_id, r.result) for r in audit]


def object_id(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


@pytest.fixture
def council(client: TestClient, tokens: dict[str, str], clock: FakeClock) -> dict[str, int]:
    response = client.post("/write/v1/batch", json={"operations": COUNCIL}, headers={"Authorization": tokens["writer"]})
    assert response.status_code == 200, response.text
    clock.advance()
    return {r["key"]: object_id(r["id"]) for r in response.json()["results"]}


def test_a_batch_leaves_one_row_per_operation(session: Session, council: dict[str, int]) -> None:
    writer = token_id(session, "writer")
    assert rows(session) == [
        (writer, T0, "put", "System", "sys", council["sys"], "created"),
        (writer, T0, "put", "Body", "stadt", council["stadt"], "created"),
        (writer, T0, "put", "Organization", "rat", council["rat"], "created"),
    ]


def test_put_again_patch_delete_and_upload_are_each_recorded(
    client: TestClient, session: Session, tokens: dict[str, str], council: dict[str, int], clock: FakeClock
) -> None:
    both = {"Authorization": tokens["both"]}
    record = {"body": "stadt", "name": "Vorlage"}
    created = client.put("/write/v1/paper/VO-1", json=record, headers=both)
    assert created.status_code == 201
    assert client.put("/write/v1/paper/VO-1", json=record, headers=both).json()["result"] == "unchanged"
    at = clock.advance().isoformat()
    assert client.patch("/write/v1/paper/VO-1", json={"name": "Neu"}, headers=both).json()["result"] == "changed"
    assert client.delete("/write/v1/paper/VO-1", headers=both).json()["result"] == "deleted"
    upload = client.put("/write/v1/file/f/content", content=b"%PDF-1.4\n", headers=both, params={"body": "stadt"})
    assert upload.status_code == 201, upload.text
    paper, file = object_id(created.json()["id"]), object_id(upload.json()["id"])
    writer = token_id(session, "both")
    t1 = (dt.datetime.fromisoformat(T0) + dt.timedelta(seconds=60)).isoformat()
    assert rows(session)[3:] == [
        (writer, t1, "put", "Paper", "VO-1", paper, "created"),
        (writer, t1, "put", "Paper", "VO-1", paper, "unchanged"),
        (writer, at, "patch", "Paper", "VO-1", paper, "changed"),
        (writer, at, "delete", "Paper", "VO-1", paper, "deleted"),
        (writer, at, "upload", "File", "f", file, "created"),
    ]


def test_a_failed_batch_leaves_no_row(
    client: TestClient, session: Session, tokens: dict[str, str], council: dict[str, int]
) -> None:
    operations = [
        {"op": "put", "type": "Paper", "key": "VO-1", "record": {"body": "stadt", "name": "Vorlage"}},
        {"op": "patch", "type": "Paper", "key": "gibt-es-nicht", "record": {"name": "X"}},
    ]
    response = client.post(
        "/write/v1/batch", json={"operations": operations}, headers={"Authorization": tokens["writer"]}
    )
    assert response.status_code == 422
    assert session.scalar(select(func.count()).select_from(WriteAudit)) == 3  # the council's


def test_a_write_that_fails_after_its_audit_rows_were_added_leaves_no_row(
    client: TestClient,
    session: Session,
    tokens: dict[str, str],
    council: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def lost_race(*_args: Any) -> None:  # the rendering runs after the audit rows went in, just before the commit
        assert any(isinstance(obj, WriteAudit) for obj in [*session.new, *session.identity_map.values()])
        raise OperationalError("UPDATE", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(Snapshots, "refresh", lost_race)
    auth = {"Authorization": tokens["writer"]}
    response = client.put("/write/v1/paper/VO-1", json={"body": "stadt", "name": "V"}, headers=auth)
    assert response.status_code == 409
    monkeypatch.undo()
    assert session.scalar(select(func.count()).select_from(WriteAudit)) == 3  # the council's


def test_the_audit_lines_newest_first_filtered(
    client: TestClient, session: Session, tokens: dict[str, str], council: dict[str, int], clock: FakeClock
) -> None:
    both = {"Authorization": tokens["both"]}
    assert client.put("/write/v1/paper/VO-1", json={"body": "stadt", "name": "V"}, headers=both).status_code == 201
    paper = session.scalar(select(func.max(WriteAudit.object_id)).where(WriteAudit.type == "Paper"))
    writer, insider = token_id(session, "writer"), token_id(session, "both")
    t1 = (dt.datetime.fromisoformat(T0) + dt.timedelta(seconds=60)).isoformat()
    council_lines = [
        f"{T0}\t{writer}\twriter\tput\tOrganization\trat\t{council['rat']}\tcreated",
        f"{T0}\t{writer}\twriter\tput\tBody\tstadt\t{council['stadt']}\tcreated",
        f"{T0}\t{writer}\twriter\tput\tSystem\tsys\t{council['sys']}\tcreated",
    ]
    newest = f"{t1}\t{insider}\tboth\tput\tPaper\tVO-1\t{paper}\tcreated"
    assert audit_lines(session, None, None, 100) == [newest, *council_lines]
    assert audit_lines(session, writer, None, 2) == council_lines[:2]
    assert audit_lines(session, None, dt.datetime.fromisoformat(t1), 100) == [newest]


def test_a_tab_or_line_break_cannot_forge_a_column_or_line() -> None:
    assert _cell("a\tb\nc\\") == "a\\tb\\nc\\\\"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("OPARL_DATABASE_URL", "OPARL_PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPARL_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_the_audit_command(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["token", "create", "Sitzungsdienst"]) == 0
    engine = create_engine(f"sqlite:///{data_dir / 'oparl.sqlite3'}")
    with Session(engine) as session, session.begin():
        for minute, key in enumerate(["VO-1", "VO-2"]):
            at = dt.datetime(2026, 12, 2, 9, minute, tzinfo=dt.UTC)
            session.add(
                WriteAudit(token_id=1, at=at, op="put", type="Paper", key=key, object_id=7 + minute, result="created")
            )
    engine.dispose()
    capsys.readouterr()
    assert main(["audit", "--token", "1", "--since", "2026-12-02T09:00:30"]) == 0
    assert capsys.readouterr().out == (
        "time\ttoken\tname\top\ttype\tkey\tid\tresult\n"
        "2026-12-02T09:01:00+00:00\t1\tSitzungsdienst\tput\tPaper\tVO-2\t8\tcreated\n"
    )
    assert main(["audit", "--limit", "5"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "2026-12-02T09:01:00+00:00\t1\tSitzungsdienst\tput\tPaper\tVO-2\t8\tcreated",
        "2026-12-02T09:00:00+00:00\t1\tSitzungsdienst\tput\tPaper\tVO-1\t7\tcreated",
    ]
    assert main(["audit", "--token", "2"]) == 2
    assert capsys.readouterr().err == "oparl-server: no token 2\n"
    assert main(["audit", "--since", "gestern"]) == 2
    assert capsys.readouterr().err == (
        "oparl-server: --since: expected a date or time yyyy-mm-dd[Thh:mm[:ss]][+hh:mm], got 'gestern'\n"
    )
