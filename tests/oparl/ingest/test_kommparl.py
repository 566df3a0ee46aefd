"""Harvesting by the kommParl profiles: a first run reads the snapshot and then the feed, later runs
the feed only; the mirror equals what a list walk gives; a bad snapshot or an expired cursor is
handled; a source without the profiles is walked as before."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.manifest_commands import verify_mirror
from api.settings import Settings
from models import HarvestSource, Paper
from oparl.ingest.client import Politeness, SourceClient
from tests.conftest import BASE_URL, FakeClock
from tests.oparl.ingest.test_harvest import MIRROR, SYSTEM, compare, forwarding, harvest, mirror, url_of

__all__ = ["mirror"]  # the fixture, used by name
PAPER = "luebeck/paper/vo-2023-11779"


class Log:
    """Counts the source's requests by kind, optionally answering some itself."""

    def __init__(self, answer: Any = None) -> None:
        self.kinds = Counter[str]()
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response | None:
        path = request.url.path
        kind = ("snapshot" if path.endswith("/snapshot") else "feed" if path.endswith("/changes")
                else "list" if path.rsplit("/", 1)[-1].isalpha() and not path.endswith("/system")
                else "object")  # fmt: skip
        self.kinds[kind] += 1
        return self.answer(request, kind) if self.answer else None


def put(client: TestClient, auth: dict[str, str], record: dict[str, Any], key: str = PAPER) -> None:
    answer = client.patch(f"/write/v1/paper/{key}", json=record, headers=auth)
    assert answer.status_code == 200, answer.text


def test_snapshot_then_feed_gives_the_same_mirror_and_later_runs_read_the_feed_only(
    client: TestClient, luebeck: None, mirror: Engine, clock: FakeClock, tmp_path: Path, tokens: dict[str, str]
) -> None:
    log = Log()
    first = harvest(mirror, forwarding(client, hook=log), clock, tmp_path / "files", kommparl=True)
    assert (first.failures, first.missing) == ([], [])
    assert log.kinds["snapshot"] == 1
    assert log.kinds["feed"] == 1
    assert log.kinds["list"] == 1  # the Body list only
    compare(client, mirror, tmp_path)
    with Session(mirror) as session:
        (source,) = session.scalars(select(HarvestSource))
        assert list(source.feeds) == [client.get("/oparl/v1.1/body").json()["data"][0]["id"]]
    auth = {"Authorization": tokens["writer"]}
    clock.advance(60)
    put(client, auth, {"name": "Geänderte Vorlage"})
    clock.advance(60)
    assert client.delete(f"/write/v1/paper/{PAPER}", headers=auth).status_code == 200
    log.kinds.clear()
    clock.advance(60)
    second = harvest(mirror, forwarding(client, hook=log), clock, tmp_path / "files", kommparl=True)
    assert (second.failures, second.mode) == ([], "incremental (kommParl feed)")
    assert (log.kinds["snapshot"], log.kinds["list"]) == (0, 1)
    assert sum(second.deleted.values()) >= 1
    compare(client, mirror, tmp_path)


def test_a_snapshot_without_its_end_line_is_discarded_and_the_lists_walked(
    client: TestClient, luebeck: None, mirror: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    def truncated(request: httpx.Request, kind: str) -> httpx.Response | None:
        if kind != "snapshot":
            return None
        lines = client.get(str(request.url).removeprefix(BASE_URL)).content.splitlines(keepends=True)
        return httpx.Response(200, content=b"".join(lines[:-1]), headers={"content-type": "application/x-ndjson"})

    log = Log(truncated)
    summary = harvest(mirror, forwarding(client, hook=log), clock, tmp_path / "files", kommparl=True)
    assert summary.quirks["snapshot_discarded"] == 1
    assert log.kinds["list"] > 1  # walked instead
    assert log.kinds["feed"] == 0
    compare(client, mirror, tmp_path)


def test_an_expired_cursor_starts_over_from_the_snapshot(
    client: TestClient, luebeck: None, mirror: Engine, clock: FakeClock, tmp_path: Path, tokens: dict[str, str]
) -> None:
    harvest(mirror, forwarding(client), clock, tmp_path / "files", kommparl=True)
    put(client, {"Authorization": tokens["writer"]}, {"name": "Noch eine Änderung"})
    expired = {"n": 0}

    def gone_once(request: httpx.Request, kind: str) -> httpx.Response | None:
        if kind == "feed" and not expired["n"]:
            expired["n"] += 1
            return httpx.Response(410, json={"type": "https://schema.oparl.org/1.1/Error", "message": "abgelaufen"})
        return None

    log = Log(gone_once)
    clock.advance(60)
    summary = harvest(mirror, forwarding(client, hook=log), clock, tmp_path / "files", kommparl=True)
    assert summary.quirks["feed_cursor_expired"] == 1
    assert (log.kinds["snapshot"], log.kinds["feed"]) == (1, 2)
    compare(client, mirror, tmp_path)


def test_a_source_without_the_profiles_is_walked(
    client: TestClient, luebeck: None, mirror: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    def plain_system(request: httpx.Request, kind: str) -> httpx.Response | None:
        if not request.url.path.endswith("/system"):
            return None
        system = client.get("/oparl/v1.1/system").json()
        del system["kommparl:conformsTo"]
        return httpx.Response(200, json=system)

    log = Log(plain_system)
    summary = harvest(mirror, forwarding(client, hook=log), clock, tmp_path / "files", kommparl=True)
    assert summary.failures == []
    assert (log.kinds["snapshot"], log.kinds["feed"]) == (0, 0)
    assert log.kinds["list"] > 1
    compare(client, mirror, tmp_path)


def test_verify_mirror_reports_each_list_and_fails_on_a_difference(
    client: TestClient, luebeck: None, mirror: Engine, clock: FakeClock, tmp_path: Path, tokens: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    harvest(mirror, forwarding(client), clock, tmp_path / "files", kommparl=True)
    settings = Settings(database_url=url_of(mirror), public_base_url=MIRROR, data_dir=tmp_path / "m")
    args = argparse.Namespace(system_url=SYSTEM, allow_network=None)

    def verify() -> tuple[int, list[str]]:
        capsys.readouterr()
        code = verify_mirror(settings, args, SourceClient(Politeness(rate=0), transport=forwarding(client)))
        return code, capsys.readouterr().out.splitlines()

    code, lines = verify()
    assert code == 0
    assert lines[0] == "body\tlist\tsource count\tmirror count\tids"
    assert len(lines) == 1 + 10 + 1
    assert lines[-1] == "mirror complete"
    assert all(line.endswith("\tsame") for line in lines[1:-1])
    assert client.delete(f"/write/v1/paper/{PAPER}", headers={"Authorization": tokens["writer"]}).status_code == 200
    code, lines = verify()
    assert code == 1
    different = [line.split("\t")[1:] for line in lines if line.endswith("DIFFERENT")]
    papers = client.get("/oparl/v1.1/body").json()["data"][0]
    count = len(client.get(papers["paper"].removeprefix(BASE_URL)).json()["data"])
    assert ["paper", str(count), str(count + 1), "DIFFERENT"] in different
    assert lines[-1] == f"{len(different)} lists differ"


def test_redact_and_withdrawn_entries_delete_the_copy_and_the_mirror_passes_them_on(
    client: TestClient, luebeck: None, mirror: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    harvest(mirror, forwarding(client), clock, tmp_path / "files", kommparl=True)
    body = client.get("/oparl/v1.1/body").json()["data"][0]
    erased, withdrawn = client.get(body["paper"].removeprefix(BASE_URL)).json()["data"][:2]
    entries = [
        {"cursor": "x", "operation": "redact", "type": erased["type"], "id": erased["id"],
         "modified": erased["modified"], "reason": "privacy"},
        {"cursor": "y", "operation": "delete", "type": withdrawn["type"], "id": withdrawn["id"],
         "modified": withdrawn["modified"], "reason": "withdrawn"},
    ]  # fmt: skip

    def redacting(request: httpx.Request, kind: str) -> httpx.Response | None:
        if kind != "feed":
            return None
        page = client.get(str(request.url).removeprefix(BASE_URL)).json()
        return httpx.Response(200, json={**page, "data": [*page["data"], *entries]})

    clock.advance(60)
    summary = harvest(mirror, forwarding(client, hook=Log(redacting)), clock, tmp_path / "files", kommparl=True)
    assert summary.deleted["Paper"] == 2
    with Session(mirror) as session:
        query = select(Paper.key, Paper.name).where(Paper.key.in_([erased["id"], withdrawn["id"]]))
        names = {row.key: row.name for row in session.execute(query)}
    assert names == {erased["id"]: None, withdrawn["id"]: withdrawn["name"]}  # only the erasure empties it
    settings = Settings(database_url=url_of(mirror), public_base_url=MIRROR, data_dir=tmp_path / "m")
    with TestClient(create_app(settings)) as mirrored:
        own = mirrored.get("/oparl/v1.1/body").json()["data"][0]
        feed: list[dict[str, Any]] = []
        url: str | None = own["kommparl:changes"]
        while url:
            page = mirrored.get(url.removeprefix(MIRROR)).json()
            feed += page["data"]
            url = page["links"].get("next")
        assert len(feed) > 50  # every object the harvest wrote, through the write path
        gone = {e["id"]: (e["operation"], e["reason"]) for e in feed if e["type"] == erased["type"] and "reason" in e}
        assert sorted(gone.values()) == [("delete", "withdrawn"), ("redact", "privacy")]
        for object_id in gone:
            assert mirrored.get(object_id.removeprefix(MIRROR)).json()["deleted"] is True
        # What went with them (their consultations, files only they had) went for the same reason.
        along = {(e["operation"], e["reason"]) for e in feed if e["type"] != erased["type"] and "reason" in e}
        assert along == {("delete", "withdrawn"), ("redact", "privacy")}
