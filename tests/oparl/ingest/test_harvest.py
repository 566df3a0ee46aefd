"""Harvesting an OParl server into a second database: round trip, incremental runs, interruption."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from api import cli
from api.app import create_app
from api.settings import Settings
from models import Paper
from models.db import make_sessionmaker
from oparl.catalogue import BY_SEGMENT, TYPES
from oparl.content import ContentStore
from oparl.ingest.client import Politeness, SourceClient
from oparl.ingest.harvest import Harvester, Options, Summary
from oparl.load.loader import Loader
from oparl.load.references import stable_id
from oparl.snapshot import Snapshots
from oparl.urls import UrlBuilder
from tests.conftest import BASE_URL, Database, FakeClock, fresh_database

pytestmark = pytest.mark.usefixtures("luebeck")
MIRROR = "https://mirror.example.org"
SYSTEM = f"{BASE_URL}/oparl/v1.1/system"
OBJECT_URL = re.compile(rf"{re.escape(MIRROR)}/oparl/v1\.1/([a-z-]+)/(\d+)")
TYPE_BY_SEGMENT = {segment: t.name for segment, t in BY_SEGMENT.items()}
MODELS = {name: t.model for name, t in TYPES.items()}


class Crash(Exception):
    pass


def forwarding(source: TestClient, *, fail_after: int | None = None, hook: Any = None) -> httpx.MockTransport:
    """The source server behind an httpx transport, optionally dying after `fail_after` requests;
    `hook(request)` may answer in its place (a broken vendor)."""
    calls = Counter[str]()

    def handle(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if fail_after is not None and calls["n"] > fail_after:
            raise Crash(f"killed after {fail_after} requests")
        if hook is not None and (answer := hook(request)) is not None:
            return answer  # type: ignore[no-any-return]
        answer = source.get(str(request.url).removeprefix(BASE_URL))
        # The test client has decoded the body already: forward it as plain bytes.
        headers = {k: v for k, v in answer.headers.items() if k not in ("content-encoding", "content-length")}
        return httpx.Response(answer.status_code, headers=headers, content=answer.content)

    return httpx.MockTransport(handle)


@pytest.fixture
def mirror(database: Database, tmp_path: Path) -> Iterator[Engine]:
    """The harvest's target, on the engine the source runs on: every test runs on both engines
    (SQLite to SQLite, PostgreSQL to PostgreSQL) without doubling the combinations."""
    with fresh_database(database.name, tmp_path, "mirror") as engine:
        yield engine


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def harvest(
    engine: Engine,
    transport: httpx.BaseTransport,
    clock: FakeClock,
    store: Path,
    options: Options | None = None,
    system: str = SYSTEM,
    *,
    kommparl: bool = False,
) -> Summary:
    """The list walk unless `kommparl` (this server offers the profiles: tests/oparl/ingest/test_kommparl.py)."""
    options = dataclasses.replace(options or Options(), kommparl=kommparl)
    client = SourceClient(Politeness(rate=0), transport=transport)
    harvester = Harvester(make_sessionmaker(engine), client, urls=UrlBuilder(MIRROR), store=ContentStore(),
                          clock=clock, tz=ZoneInfo("Europe/Berlin"), options=options)  # fmt: skip
    try:
        return harvester.run(system)
    finally:
        client.close()


def crawl(client: TestClient, base: str) -> dict[str, dict[str, Any]]:
    """Every object of every Body list: id -> object."""
    found: dict[str, dict[str, Any]] = {}
    for body in client.get("/oparl/v1.1/body").json()["data"]:
        found[body["id"]] = body
        for name in ("organization", "person", "meeting", "paper", "agendaItem", "consultation", "file",
                     "locationList", "legislativeTermList", "membership"):  # fmt: skip
            url: str | None = body[name]
            while url:
                page = client.get(url.removeprefix(base)).json()
                found.update((o["id"], o) for o in page["data"])
                url = page["links"].get("next")
    return found


def as_source(value: Any, keys: dict[tuple[str, int], str]) -> Any:
    """A mirror object written with the source's URLs, and without the mirror's own timestamps and
    pages (`web`: each server names its own page of the object, api/pages)."""
    if isinstance(value, dict):
        return {k: as_source(v, keys) for k, v in value.items() if k not in ("created", "modified", "web")}
    if isinstance(value, list):
        return [as_source(v, keys) for v in value]
    if isinstance(value, str):
        value = value.replace(f"{MIRROR}/oparl/v1.1/system", SYSTEM)
        return OBJECT_URL.sub(lambda m: keys[(TYPE_BY_SEGMENT[m.group(1)], int(m.group(2)))], value)
    return value


PAGES = ("Body", "Organization", "Person", "Meeting", "Paper")


def compare(source: TestClient, engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        keys = {(name, o.id): str(o.key) for name, model in MODELS.items() for o in session.scalars(select(model))}
    settings = Settings(database_url=url_of(engine), public_base_url=MIRROR, data_dir=tmp_path / "mirror-data")
    with TestClient(create_app(settings)) as mirror_client:
        mirrored = crawl(mirror_client, MIRROR)
    original = {k: as_source(v, {}) for k, v in crawl(source, BASE_URL).items()}
    # The source's URLs point at objects of the source; in the mirror they were rewritten to its own.
    assert {keys[(TYPE_BY_SEGMENT[m.group(1)], int(m.group(2)))]: as_source(v, keys)
            for k, v in mirrored.items() if (m := OBJECT_URL.match(k))} == original  # fmt: skip
    assert {v["web"] for v in mirrored.values() if "web" in v} == {
        k.replace("/oparl/v1.1/", "/") for k, v in mirrored.items() if v["type"].rsplit("/", 1)[1] in PAGES
    }


def test_round_trip_and_a_second_harvest_changes_nothing(
    client: TestClient, mirror: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    first = harvest(mirror, forwarding(client), clock, tmp_path / "files")
    assert (first.failures, first.missing, first.mode) == ([], [], "full (content comparison)")
    assert sum(first.created.values()) == 63
    compare(client, mirror, tmp_path)
    clock.advance(60)
    second = harvest(mirror, forwarding(client), clock, tmp_path / "files")
    assert (second.mode, sum(second.created.values()), sum(second.changed.values())) == (
        "incremental (modified_since)", 0, 0)  # fmt: skip
    compare(client, mirror, tmp_path)


def test_incremental_harvest_follows_edits_and_deletions(
    client: TestClient, mirror: Engine, clock: FakeClock, tokens: dict[str, str], tmp_path: Path
) -> None:
    harvest(mirror, forwarding(client), clock, tmp_path / "files")
    clock.advance(7200)
    auth = {"Authorization": tokens["writer"]}
    edits = [
        client.patch("/write/v1/paper/luebeck/paper/vo-2023-11779", json={"name": "Geänderter Titel"}, headers=auth),
        client.patch(
            "/write/v1/consultation/luebeck/consultation/vo-2023-11779/2", json={"role": "zur Anhörung"}, headers=auth
        ),  # fmt: skip
        client.delete("/write/v1/meeting/luebeck/meeting/buergerschaft-2003-09-25", headers=auth),
        client.patch("/write/v1/paper/luebeck/paper/vo-2023-11778", json={"nonPublic": True}, headers=auth),
        client.put("/write/v1/paper/neu", json={"body": "luebeck", "name": "Neue Vorlage"}, headers=auth),
    ]
    assert [e.status_code for e in edits] == [200, 200, 200, 200, 201]
    clock.advance(60)
    summary = harvest(mirror, forwarding(client), clock, tmp_path / "files")
    assert summary.mode == "incremental (modified_since)"
    assert (summary.created["Paper"], summary.deleted["Meeting"], summary.deleted["Paper"]) == (1, 1, 1)
    compare(client, mirror, tmp_path)


@pytest.mark.parametrize("batch", [1, 1000], ids=["page-by-page", "batched"])
@pytest.mark.parametrize("fail_after", [2, 3, 6, 9])
def test_an_interrupted_harvest_resumes_to_the_same_store(
    client: TestClient, database: Database, clock: FakeClock, tmp_path: Path, fail_after: int, batch: int
) -> None:
    with ExitStack() as stack:
        engines = [stack.enter_context(fresh_database(database.name, tmp_path, name))
                   for name in ("interrupted", "straight")]  # fmt: skip
        interrupted, straight = engines
        options = Options(batch=batch)
        with pytest.raises(Crash):
            harvest(interrupted, forwarding(client, fail_after=fail_after), clock, tmp_path / "files", options)
        harvest(interrupted, forwarding(client), clock, tmp_path / "files", options)
        harvest(straight, forwarding(client), clock, tmp_path / "files", options)
        stores = []
        for engine in engines:
            settings = Settings(database_url=url_of(engine), public_base_url=MIRROR, data_dir=tmp_path / "d")
            with TestClient(create_app(settings)) as mirror_client:
                stores.append(crawl(mirror_client, MIRROR))
    assert stores[0] == stores[1]


def live_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            name: len(session.scalars(select(model.id).where(~model.deleted)).all()) for name, model in MODELS.items()
        }


@pytest.mark.parametrize(
    "broken",
    [
        lambda r: httpx.Response(503) if "/body/" in str(r.url) and str(r.url).endswith("/paper") else None,
        lambda r: (
            httpx.Response(200, json={"data": [{"id": "x"}], "links": None}) if "/meeting" in str(r.url) else None
        ),
        lambda r: httpx.Response(200, text="<html>Wartung</html>") if "/organization" in str(r.url) else None,
    ],
    ids=["5xx-list", "links-null", "html-for-json"],
)
def test_a_failing_full_run_deletes_nothing_and_is_asked_again(
    client: TestClient, mirror: Engine, clock: FakeClock, tmp_path: Path, broken: Any
) -> None:
    harvest(mirror, forwarding(client), clock, tmp_path / "files")
    before = live_counts(mirror)
    clock.advance(3600)
    from oparl.ingest.harvest import Options

    source = SourceClient(Politeness(rate=0, retries=0), transport=forwarding(client, hook=broken))
    walk = Options(full=True, kommparl=False)
    harvester = Harvester(make_sessionmaker(mirror), source, urls=UrlBuilder(MIRROR), store=ContentStore(),
                          clock=clock, tz=ZoneInfo("Europe/Berlin"), options=walk)  # fmt: skip
    summary = harvester.run(SYSTEM)
    assert summary.failures != []
    assert live_counts(mirror) == before


def test_an_unusable_source_is_reported(mirror: Engine, clock: FakeClock, tmp_path: Path) -> None:
    for answer in (httpx.Response(200, json=None), httpx.Response(302, headers={"Location": SYSTEM}),
                   httpx.Response(404)):  # fmt: skip
        summary = harvest(mirror, httpx.MockTransport(lambda _r, a=answer: a), clock, tmp_path)
        assert summary.usable is False


def test_a_list_that_never_ends_is_stopped(
    client: TestClient, mirror: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    def endless(request: httpx.Request) -> httpx.Response | None:
        if not str(request.url).split("?")[0].endswith("/organization"):
            return None
        path = str(request.url).removeprefix(BASE_URL).split("?")[0]
        page = client.get(f"{path}?limit=2").json()
        number = int(request.url.params.get("page", "1"))
        page["links"]["next"] = f"{BASE_URL}{path}?page={number + 1}"
        return httpx.Response(200, json=page)

    summary = harvest(mirror, forwarding(client, hook=endless), clock, tmp_path)
    assert summary.quirks["list_without_end"] == 1


def paged_source() -> httpx.MockTransport:
    """A source whose paper list repeats a paper on a later page, and deletes one and brings it back."""
    root = "https://source.example.org/oparl"
    paper = {"type": "https://schema.oparl.org/1.1/Paper", "modified": "2024-05-01T10:00:00+02:00"}
    pages = [
        [{**paper, "id": f"{root}/paper/1", "name": "erste Fassung"}, {**paper, "id": f"{root}/paper/2", "name": "B"},
         {**paper, "id": f"{root}/paper/3", "name": "C"}],
        [{**paper, "id": f"{root}/paper/1", "name": "zweite Fassung"}, {"id": f"{root}/paper/2", "deleted": True},
         {**paper, "id": f"{root}/paper/3", "deleted": True}],
        [{**paper, "id": f"{root}/paper/3", "name": "C wieder da"}],
    ]  # fmt: skip
    answers: dict[str, Any] = {
        f"{root}/system": {"id": f"{root}/system", "type": "https://schema.oparl.org/1.1/System",
                           "oparlVersion": "https://schema.oparl.org/1.1/", "body": f"{root}/bodies"},
        f"{root}/bodies": {"data": [{"id": f"{root}/body/1", "type": "https://schema.oparl.org/1.1/Body",
                                     "system": f"{root}/system", "name": "Rat", "paper": f"{root}/papers",
                                     "modified": "2024-05-01T10:00:00+02:00"}], "links": {}},
    }  # fmt: skip
    for index, data in enumerate(pages):
        more = {"next": f"{root}/papers?page={index + 2}"} if index + 1 < len(pages) else {}
        answers[f"{root}/papers" + (f"?page={index + 1}" if index else "")] = {"data": data, "links": more}
    return httpx.MockTransport(lambda request: httpx.Response(200, json=answers[str(request.url)]))


def test_pages_stored_in_one_batch_end_as_page_by_page(database: Database, clock: FakeClock, tmp_path: Path) -> None:
    """A later page wins over an earlier one in a batch, as it does when every page is stored alone."""
    stores = []
    for batch in (1, 1000):
        with fresh_database(database.name, tmp_path, f"batch-{batch}") as engine:
            summary = harvest(engine, paged_source(), clock, tmp_path / "files", Options(batch=batch),
                              "https://source.example.org/oparl/system")  # fmt: skip
            assert (summary.failures, summary.pages, summary.quirks["duplicate_id"]) == ([], 4, 4)
            with Session(engine) as session:
                rows = session.execute(select(Paper.key, Paper.name, Paper.deleted))
                stores.append(sorted(tuple(row) for row in rows))
    assert (
        stores[0]
        == stores[1]
        == [
            ("https://source.example.org/oparl/paper/1", "zweite Fassung", False),
            ("https://source.example.org/oparl/paper/2", "B", True),
            ("https://source.example.org/oparl/paper/3", "C wieder da", False),
        ]
    )


def test_objects_stored_embedded_are_not_written_again_from_their_own_list(
    client: TestClient, mirror: Engine, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1.1 source lists every Consultation again on its own; stored with its Paper already and
    unchanged, it is not written a second time, and the mirror is the same."""
    written: Counter[str] = Counter()
    load = Loader.load

    def spy(self: Loader, records: list[Any], **kwargs: Any) -> None:
        written.update(str(r.get("type", "")).rsplit("/", 1)[-1] for r in records)
        load(self, records, **kwargs)

    monkeypatch.setattr(Loader, "load", spy)
    summary = harvest(mirror, forwarding(client), clock, tmp_path / "files")
    assert summary.created["Consultation"] > 0
    assert written["Paper"] == summary.created["Paper"]
    assert written["Consultation"] == 0
    compare(client, mirror, tmp_path)


def stale(engine: Engine, snapshots: Snapshots) -> int:
    """Objects without a current rendering."""
    with Session(engine) as session:
        return sum(
            session.scalar(select(func.count()).where(or_(m.rendered_key.is_(None), m.rendered_key != snapshots.key)))
            or 0
            for m in (t.model for t in TYPES.values())
        )


@pytest.mark.parametrize("parallel_from", [1, 1_000_000])
def test_the_command_renders_what_it_harvested_in_processes_from_a_threshold(
    client: TestClient, mirror: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], parallel_from: int,
) -> None:  # fmt: skip
    monkeypatch.setattr(cli, "PARALLEL_RENDER_FROM", parallel_from)
    settings = Settings(database_url=url_of(mirror), public_base_url=MIRROR, data_dir=tmp_path / "mirror-data")
    engine = mirror
    snapshots = Snapshots(UrlBuilder(MIRROR), settings.zone)
    source = SourceClient(Politeness(rate=0), transport=forwarding(client))
    harvester = cli.make_harvester(settings, engine, source, Options())
    counted: list[int] = []
    render = harvester.render

    def counting(summary: Summary) -> None:
        counted.append(stale(engine, snapshots))
        render(summary)
        counted.append(stale(engine, snapshots))

    harvester.render = counting
    summary = harvester.run(SYSTEM)
    source.close()
    assert counted == [sum(summary.created.values()), 0] == [63, 0]
    output = capsys.readouterr()
    # 63 created and the 6 files changed once more: a Paper's embedded copy of a File carries no text
    # (oparl/file.py), the File list then adds it.
    assert dict(summary.changed) == {"File": 6}
    assert "rendering what the harvest wrote (69 objects and what embeds them)" in output.err
    assert ("rendered 63 objects in" in output.out) == (parallel_from == 1)
    compare(client, engine, tmp_path)


def test_ids_derived_from_source_urls_are_52_bit_and_served(mirror: Engine, clock: FakeClock, tmp_path: Path) -> None:
    """A harvested object's id is a 52-bit hash of its source URL, beyond a 4-byte integer: the
    mirror stores it (on PostgreSQL it did not: `integer out of range`) and serves it at its URL."""
    summary = harvest(
        mirror, paged_source(), clock, tmp_path / "files", system="https://source.example.org/oparl/system"
    )
    assert summary.failures == []
    with Session(mirror) as session:
        ids: dict[str | None, int] = dict(session.execute(select(Paper.key, Paper.id)).all())
    assert ids == {f"https://source.example.org/oparl/paper/{n}": stable_id(f"https://source.example.org/oparl/paper/{n}")
                   for n in (1, 2, 3)}  # fmt: skip
    assert all(2**31 <= paper_id < 2**52 for paper_id in ids.values())
    settings = Settings(database_url=url_of(mirror), public_base_url=MIRROR, data_dir=tmp_path / "mirror-data")
    with TestClient(create_app(settings)) as mirror_client:
        served = mirror_client.get(f"/oparl/v1.1/paper/{ids['https://source.example.org/oparl/paper/1']}").json()
        (body,) = mirror_client.get("/oparl/v1.1/body").json()["data"]
        listed = mirror_client.get(body["paper"].removeprefix(MIRROR)).json()["data"]
    assert (served["name"], served["body"]) == ("zweite Fassung", body["id"])
    live = sorted(ids[f"https://source.example.org/oparl/paper/{n}"] for n in (1, 3))  # paper 2 is a tombstone
    assert [p["id"] for p in listed] == [f"{MIRROR}/oparl/v1.1/paper/{i}" for i in live]
