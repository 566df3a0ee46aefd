"""The delivery lease: one holder at a time, taken over after expiry or release; and two real
processes delivering the same subscriptions never send a batch twice (on both engines)."""

from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import create_token
from models import Body, WebhookLease
from models.db import make_engine, make_sessionmaker
from oparl.content import ContentStore
from oparl.feed import read
from oparl.ingest.guard import LOOPBACK
from oparl.records import read_directory
from oparl.urls import UrlBuilder
from oparl.webhooks import subscriptions
from oparl.webhooks.deliver import Deliverer, Policy, Sender
from oparl.webhooks.lease import Lease
from tests.conftest import BASE_URL, LUEBECK, Database, FakeClock, fresh_database, write
from tests.webhooks.receiver import receiving
from tests.webhooks.test_delivery import PAPER


def test_one_holder_at_a_time(session: Session) -> None:
    first, second = Lease("first", 60.0), Lease("second", 60.0)
    assert first.take(session)
    assert not second.take(session)
    assert second.remaining() == 0.0
    assert first.take(session)  # renewed by its holder
    assert 59.0 < first.remaining() <= 60.0
    first.release(session)
    assert first.remaining() == 0.0
    assert second.take(session)
    assert session.get(WebhookLease, "deliver", populate_existing=True).owner == "second"  # type: ignore[union-attr]


def test_an_expired_lease_is_taken_over(session: Session) -> None:
    short = Lease("short", 0.3)
    assert short.take(session)
    assert not Lease("other", 60.0).take(session)
    time.sleep(0.5)  # in the database's clock too
    assert Lease("other", 60.0).take(session)
    assert short.remaining() == 0.0  # its own deadline ran out first: it stopped acting before


def _deliver_for(url: str, owner: str, ready: Any, done: Any) -> int:
    """A delivering process: rounds until `done` (and a last second to drain), giving the lease up
    after each so the other process gets it often (the worst case for double delivery)."""
    engine = make_engine(url=url)
    rules = Policy(batch=2, timeout=1.0, networks=LOOPBACK)
    deliverer = Deliverer(make_sessionmaker(engine.execution_options(sqlite_immediate=True)), UrlBuilder(BASE_URL),
                          rules, Sender(LOOPBACK, 1.0), Lease(owner, 4.0))  # fmt: skip
    posts, drain = 0, None
    ready.put(owner)
    while drain is None or time.monotonic() < drain:
        if drain is None and done.is_set():
            drain = time.monotonic() + 3.0
        posts += deliverer.run_once()
        with deliverer.sessions() as session:
            deliverer.lease.release(session)
        time.sleep(random.uniform(0, 0.02))
    engine.dispose()
    return posts


def test_two_processes_never_deliver_the_same_batch_twice(database: Database, tmp_path: Path) -> None:
    with fresh_database(database.name, tmp_path, "lease") as engine, receiving() as receiver:
        sessions = make_sessionmaker(engine.execution_options(sqlite_immediate=True))
        store, clock, urls = ContentStore(), FakeClock(), UrlBuilder(BASE_URL)
        with sessions() as session:
            write(session, read_directory(LUEBECK), store=store, clock=clock)
            body_id = session.scalars(select(Body.id)).one()
            token, _ = create_token(session, "hooks", ["webhooks"])
            subs = [subscriptions.create(session, urls, token_id=token.id, body=body_id, url=f"{receiver.url}/{n}",
                                         networks=LOOPBACK) for n in range(2)]  # fmt: skip
            start = {sub.id: sub.cursor for sub in subs}
            session.commit()
        context = multiprocessing.get_context("spawn")
        with context.Manager() as manager, context.Pool(2) as pool:
            ready, done = manager.Queue(), manager.Event()
            url = engine.url.render_as_string(hide_password=False)
            runs = [pool.apply_async(_deliver_for, (url, f"p{n}", ready, done)) for n in range(2)]
            for _ in range(2):  # both processes started (spawned, they import everything first)
                ready.get(timeout=120)
            with sessions() as session:
                for n in range(20):
                    clock.advance(60)
                    write(session, [{"type": "Paper", "key": PAPER, "name": f"Vorlage {n}"}], store=store,
                          clock=clock, replace=False)  # fmt: skip
                    time.sleep(0.3)
            done.set()
            posts = [run.get(timeout=60) for run in runs]
        assert all(p > 0 for p in posts), posts  # both processes held the lease at some time
        ids = Counter(r.headers["webhook-id"] for r in receiver.requests)
        assert [i for i, n in ids.items() if n > 1] == []
        assert sum(posts) == len(receiver.requests)
        with sessions() as session:
            for sub_id, cursor in start.items():
                feed = read.page(session, urls, body_id, cursor, 1000, nonpublic=False).entries
                got = [e for r in receiver.requests if r.json["data"]["subscription"] == sub_id
                       for e in r.json["data"]["entries"]]  # fmt: skip
                assert got == feed  # every entry once, in feed order
