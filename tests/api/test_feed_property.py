"""The change feed under concurrent writers: a client that builds its copy from the snapshot and
the feed alone, reading from saved cursors while writers commit, ends with exactly what the public
API serves; and a write that took its position first but commits last is never missed.

Writers are threads with sessions (connections) of their own on both engines and, on PostgreSQL,
also a process of its own (tests/api/feed_writes.py). The copy is kept for anonymous clients and,
at the end, checked for a read-nonpublic token as well.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from api.auth import create_token
from api.settings import Settings
from oparl.feed.record import FeedRecorder
from tests.api import feed_writes
from tests.api.kommparl import local, read_feed, snapshot
from tests.conftest import BASE_URL, fresh_database

ROOT = Path(__file__).resolve().parents[2]
LISTS = ("organization", "person", "meeting", "paper", "legislativeTermList", "locationList", "agendaItem",
         "consultation", "file", "membership")  # fmt: skip


@dataclass
class Live:
    """A migrated database with committed data, the app serving it, and a writer process (PostgreSQL)."""

    kind: str
    engine: Engine
    client: TestClient
    body: dict[str, Any]
    insider: dict[str, str]
    process: subprocess.Popen[str] | None


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("feed")
    with fresh_database(request.param, folder, "feed") as engine:
        url = engine.url.render_as_string(hide_password=False)
        writer = engine.execution_options(sqlite_immediate=True)
        feed_writes.apply(writer, {"kind": "seed", "records": feed_writes.seed()})
        with Session(engine) as session:
            _, secret = create_token(session, "insider", ["read-nonpublic"])
            session.commit()
        settings = Settings(database_url=url, public_base_url=BASE_URL, data_dir=folder, rate_limit="",
                            rate_limit_token="", write_threads=1)  # fmt: skip
        process = None
        if request.param == "postgresql":
            process = subprocess.Popen([sys.executable, "-m", "tests.api.feed_writes", url], cwd=ROOT, text=True,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
        try:
            with TestClient(create_app(settings)) as client:
                body = client.get("/oparl/v1.1/body").json()["data"][0]
                yield Live(request.param, writer, client, body, {"Authorization": f"Bearer {secret}"}, process)
        finally:
            if process is not None:
                assert process.stdin is not None
                assert process.stdout is not None
                process.stdin.close()
                process.wait(timeout=30)
                process.stdout.close()


KEYS = st.sampled_from(["p0", "p1", "p2", "p3"])
PAPER = st.fixed_dictionaries({
    "kind": st.just("paper"), "key": KEYS, "name": st.sampled_from(["A", "B", "C"]), "hidden": st.booleans(),
    "consultations": st.lists(st.sampled_from(["o0-x", "o1-y"]), unique=True, max_size=2),
    "file": st.sampled_from([None, "f0", "f1"]),
})  # fmt: skip
ORG = st.fixed_dictionaries(
    {"kind": st.just("org"), "key": st.sampled_from(["o1", "o2"]), "name": st.sampled_from(["X", "Y"]),
     "hidden": st.booleans()}
)  # fmt: skip
DELETE = st.fixed_dictionaries({"kind": st.just("delete"), "key": KEYS})
OPERATION = st.one_of(PAPER, PAPER, ORG, DELETE)
WRITERS = st.lists(st.lists(OPERATION, min_size=1, max_size=5), min_size=3, max_size=3)


def run_writer(live: Live, ops: list[dict[str, Any]], own_process: bool) -> None:
    for op in ops:
        if own_process:
            assert live.process is not None
            assert live.process.stdin is not None
            assert live.process.stdout is not None
            live.process.stdin.write(json.dumps(op) + "\n")
            live.process.stdin.flush()
            assert live.process.stdout.readline() == "ok\n"
        else:
            feed_writes.apply(live.engine, op)


class Copy:
    """A client's copy of the Body: the snapshot, then every feed entry applied in order."""

    def __init__(self, live: Live, headers: dict[str, str]) -> None:
        self.live, self.headers = live, headers
        header, objects = snapshot(live.client, live.body["kommparl:snapshot"], headers)
        self.objects: dict[str, Any] = {o["id"]: o for o in objects}
        self.cursor = header["cursor"]

    def catch_up(self, after: str) -> str:
        """Reads the feed from `after` to its end; the last cursor."""
        entries, last = read_feed(self.live.client, self.live.body["kommparl:changes"] + f"?after={after}&limit=7",
                                  self.headers)  # fmt: skip
        for entry in entries:
            if entry["operation"] == "delete":
                self.objects.pop(entry["id"], None)
                continue
            answer = self.live.client.get(local(entry["id"]), headers=self.headers)
            assert answer.status_code == 200, entry  # the feed names nothing this client cannot fetch
            fetched = answer.json()
            if fetched.get("deleted"):  # deleted since the entry: its own entry follows
                self.objects.pop(entry["id"], None)
            else:
                self.objects[entry["id"]] = fetched
        return last


def served(live: Live, headers: dict[str, str]) -> dict[str, Any]:
    """What the API serves for the Body: the Body and every object of its ten lists."""
    found = {live.body["id"]: live.client.get(local(live.body["id"]), headers=headers).json()}
    for name in LISTS:
        url: str | None = live.body[name] + "?limit=1000"
        while url is not None:
            page = live.client.get(local(url), headers=headers).json()
            found.update((o["id"], o) for o in page["data"])
            url = page["links"].get("next")
    return found


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(writers=WRITERS, seed=st.integers(0, 2**16))
def test_snapshot_plus_feed_equals_the_api_under_concurrent_writers(
    live: Live, writers: list[list[dict[str, Any]]], seed: int
) -> None:
    chooser = random.Random(seed)
    anonymous, insider = Copy(live, {}), Copy(live, live.insider)
    saved = [anonymous.cursor]
    threads = [threading.Thread(target=run_writer, args=(live, ops, live.process is not None and i == 0))
               for i, ops in enumerate(writers)]  # fmt: skip
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        # A client restarting from one of its saved cursors, not always the last one.
        saved.append(anonymous.catch_up(chooser.choice(saved[-3:])))
        time.sleep(chooser.random() * 0.02)
    for thread in threads:
        thread.join()
    anonymous.catch_up(saved[-1])
    insider.catch_up(insider.cursor)
    assert anonymous.objects == served(live, {})
    assert insider.objects == served(live, live.insider)


@pytest.mark.parametrize("repeat", range(2))
def test_a_write_that_took_its_position_first_and_commits_last_is_not_missed(
    live: Live, monkeypatch: pytest.MonkeyPatch, repeat: int
) -> None:
    """Writer A takes its positions and is held before its commit; writer B, which touches nothing
    of A's, goes as far as it can meanwhile, and a client reads the feed then. B waits for A's lock
    (PostgreSQL: the feed's row; SQLite: the write lock), so neither is visible until A commits,
    and after that both are, A's first: the client's saved cursor misses neither."""
    held, release = threading.Event(), threading.Event()
    record = FeedRecorder.record

    def slow(self: FeedRecorder, moment: Any) -> None:
        record(self, moment)
        if threading.current_thread().name == "A" and not held.is_set():
            held.set()
            release.wait(10)

    monkeypatch.setattr(FeedRecorder, "record", slow)
    feed = live.body["kommparl:changes"]
    _, before = read_feed(live.client, feed)
    name = f"R{repeat}"
    a = threading.Thread(name="A", target=feed_writes.apply, args=(live.engine, _paper("p9", name)))
    b = threading.Thread(name="B", target=feed_writes.apply, args=(live.engine, _org("o9", name)))
    a.start()
    assert held.wait(10)
    b.start()
    time.sleep(0.5)
    during, cursor = read_feed(live.client, feed + f"?after={before}")
    assert during == []
    assert b.is_alive()  # B cannot commit before A: positions follow commit order
    release.set()
    a.join()
    b.join()
    after, _ = read_feed(live.client, feed + f"?after={cursor}")
    kinds = [e["type"].rsplit("/", 1)[1] for e in after]
    assert kinds == ["Paper", "Organization"]


def _paper(key: str, name: str) -> dict[str, Any]:
    return {"kind": "paper", "key": key, "name": name, "hidden": False, "consultations": [], "file": None}


def _org(key: str, name: str) -> dict[str, Any]:
    return {"kind": "org", "key": key, "name": name, "hidden": False}
