"""The snapshot is one consistent read: a write committed while it streams is not in it, and the
feed from its header's cursor has that write; pruning in a running server."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from api.feed_pruner import start_pruner
from api.settings import Settings
from models import Body, FeedEntry, Paper, utcnow
from oparl.feed import read, snapshot
from oparl.snapshot import Snapshots
from tests.api import feed_writes
from tests.conftest import BASE_URL, fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with fresh_database(request.param, tmp_path, "snap") as engine:
        writer = engine.execution_options(sqlite_immediate=True)
        feed_writes.apply(writer, {"kind": "seed", "records": feed_writes.seed()})
        for i in range(30):
            op = {"kind": "paper", "key": f"p{i}", "name": "alt", "hidden": False, "consultations": [], "file": None}
            feed_writes.apply(writer, op)
        yield writer


def test_a_write_committed_while_the_snapshot_streams_is_not_in_it_but_in_the_feed(engine: Engine) -> None:
    snapshots = Snapshots(feed_writes.URLS, ZoneInfo("Europe/Berlin"))
    reader = engine.execution_options(sqlite_immediate=False)  # a reader: not SQLite's write lock
    with Session(reader) as session:
        body_id = session.execute(select(Body.id)).scalar_one()
        session.commit()
        session.connection(execution_options=snapshot.transaction_options(engine.dialect.name))
        lines = snapshot.lines(session, snapshots, body_id, now=utcnow(), batch=5)
        header = json.loads(next(lines))
        first = next(lines)  # the Body: the read has begun, the papers are still to come
        changed = {"kind": "paper", "key": "p29", "name": "neu", "hidden": False, "consultations": [], "file": None}
        feed_writes.apply(engine, changed)  # another connection, committed
        rest = [json.loads(line) for chunk in lines for line in chunk.splitlines()]
    objects = [json.loads(first), *rest[:-1]]
    assert rest[-1]["count"] == len(objects)
    papers = {o["name"] for o in objects if o["type"].endswith("/Paper")}
    assert papers == {"alt"}
    assert len([o for o in objects if o["type"].endswith("/Paper")]) == 30
    with Session(engine) as session:
        page = read.page(session, feed_writes.URLS, body_id, header["cursor"], 100, nonpublic=False)
        paper_id = session.execute(select(Paper.id).where(Paper.key == "p29")).scalar_one()
    assert [e["id"] for e in page.entries] == [feed_writes.URLS.object("Paper", paper_id)]


def test_a_served_worker_prunes_by_the_retention_setting(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(engine) as session:  # the writes are a moment old: moved back 31 days
        session.execute(update(FeedEntry).values(modified=utcnow() - dt.timedelta(days=31)))
        session.commit()
    monkeypatch.setattr("api.feed_pruner.random.uniform", lambda *_: 0.0)
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, public_base_url=BASE_URL, data_dir=tmp_path, feed_retention_days=30)
    stop = threading.Event()
    thread = start_pruner(settings, stop)
    try:
        for _ in range(100):
            with Session(engine) as session:
                if session.scalar(select(func.count()).select_from(FeedEntry)) == 0:
                    break
            stop.wait(0.1)
    finally:
        stop.set()
        thread.join(10)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(FeedEntry)) == 0
        state = read.state(session)
    assert state.pruned_through == state.position
