"""Webhook deliveries: every change as the anonymous feed lists it, signed (Standard Webhooks),
in batches and in order; retries with growing delays; disabled after the configured run of failures."""

from __future__ import annotations

import datetime as dt
import math
from contextlib import nullcontext
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from api.auth import create_token
from models import Body, WebhookDelivery, WebhookSubscription
from oparl.content import ContentStore
from oparl.errors import Unprocessable
from oparl.feed import read
from oparl.ingest.guard import LOOPBACK
from oparl.urls import UrlBuilder
from oparl.webhooks import subscriptions
from oparl.webhooks.deliver import Deliverer, Policy, Sender
from oparl.webhooks.lease import Lease
from tests.conftest import FakeClock, write
from tests.webhooks.receiver import Receiver, receiving

PAPER = "luebeck/paper/vo-2023-11779"
FILE = "luebeck/file/vo-2023-11779/vorlage"


@dataclass
class Setup:
    body_id: int
    token_id: int


@pytest.fixture
def setup(session: Session, luebeck: None) -> Setup:
    body_id = session.scalars(select(Body.id)).first()
    assert body_id is not None
    token, _secret = create_token(session, "hooks", ["webhooks"])
    session.commit()
    return Setup(body_id, token.id)


def changes(session: Session, store: ContentStore, clock: FakeClock, count: int, type_name: str = "Paper") -> None:
    """`count` writes to the Paper, or its File (which gives entries for the Paper too)."""
    for n in range(count):
        clock.advance(60)
        key = PAPER if type_name == "Paper" else FILE
        write(session, [{"type": type_name, "key": key, "name": f"Vorlage {n}"}], store=store, clock=clock,
              replace=False)  # fmt: skip


def deliverer(session: Session, urls: UrlBuilder, clock: FakeClock, **policy: float) -> Deliverer:
    rules = Policy(networks=LOOPBACK, timeout=5.0, **policy)  # type: ignore[arg-type]
    return Deliverer(lambda: nullcontext(session), urls, rules, Sender(LOOPBACK, 5.0), Lease("test", 60.0),
                     clock=clock)  # fmt: skip


def subscribe(
    session: Session, urls: UrlBuilder, setup: Setup, receiver: Receiver, **kw: object
) -> WebhookSubscription:
    row = subscriptions.create(session, urls, token_id=setup.token_id, body=setup.body_id, url=receiver.url,
                               networks=LOOPBACK, **kw)  # type: ignore[arg-type]  # fmt: skip
    session.commit()
    return row


def test_receiver_sees_every_change_as_the_feed_lists_it_signed_and_batched(
    session: Session, urls: UrlBuilder, store: ContentStore, clock: FakeClock, setup: Setup
) -> None:
    with receiving() as receiver:
        sub = subscribe(session, urls, setup, receiver)
        start = sub.cursor
        changes(session, store, clock, 4)
        feed = read.page(session, urls, setup.body_id, start, 1000, nonpublic=False)
        assert len(feed.entries) >= 4  # each change names the Paper and what embeds or shows it
        posts = deliverer(session, urls, clock, batch=3).run_once()
        assert posts == math.ceil(len(feed.entries) / 3)
        assert receiver.entries() == feed.entries
        after = start
        for request in receiver.requests:
            payload = Webhook(sub.secret).verify(request.body, request.headers)
            assert payload["type"] == "kommparl.changes"
            assert payload["data"]["after"] == after
            assert payload["data"]["body"] == urls.object("Body", setup.body_id)
            after = payload["data"]["cursor"]
            assert request.headers["webhook-id"].startswith(f"msg_{sub.id}_")
        assert len({r.headers["webhook-id"] for r in receiver.requests}) == posts
        session.refresh(sub)
        assert sub.cursor == after == feed.entries[-1]["cursor"]
        assert deliverer(session, urls, clock).run_once() == 0  # nothing new: nothing sent


def test_a_forged_signature_does_not_verify(
    session: Session, urls: UrlBuilder, store: ContentStore, clock: FakeClock, setup: Setup
) -> None:
    with receiving() as receiver:
        sub = subscribe(session, urls, setup, receiver)
        changes(session, store, clock, 1)
        deliverer(session, urls, clock).run_once()
    request = receiver.requests[0]
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(sub.secret).verify(request.body.replace(b"Paper", b"Pape_"), request.headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(subscriptions_secret()).verify(request.body, request.headers)


def subscriptions_secret() -> str:
    return "whsec_" + "A" * 43 + "="


def test_failing_receiver_gets_retries_with_growing_delays_then_is_disabled(
    session: Session, urls: UrlBuilder, store: ContentStore, clock: FakeClock, setup: Setup
) -> None:
    with receiving([500, 503, 500]) as receiver:
        sub = subscribe(session, urls, setup, receiver)
        changes(session, store, clock, 1)
        run = deliverer(session, urls, clock, max_failures=3, backoff=10.0).run_once
        waits = []
        for expected_failures in (1, 2):
            assert run() == 1
            session.refresh(sub)
            assert (sub.failures, sub.active) == (expected_failures, True)
            assert sub.next_attempt is not None
            waits.append((sub.next_attempt - clock()).total_seconds())
            assert run() == 0  # not before its time
            clock.now = sub.next_attempt
        assert waits == [10.0, 20.0]
        assert run() == 1
        session.refresh(sub)
        assert (sub.active, sub.failures) == (False, 3)
        assert sub.disabled_reason == "3 failed deliveries in a row, the last: HTTP 500"
        clock.advance(3600)
        assert run() == 0  # disabled: never again until enabled
        log = subscriptions.deliveries(session, setup.token_id, sub.id)
        assert [(d.attempt, d.status) for d in log] == [(3, 500), (2, 503), (1, 500)]
        assert len({d.message_id for d in log}) == 1  # the same batch each time
        ids = {r.headers["webhook-id"] for r in receiver.requests}
        assert ids == {log[0].message_id}
        start = log[0].after
        subscriptions.enable(session, setup.token_id, sub.id)
        session.commit()
        assert run() == 1
        session.refresh(sub)
        assert (sub.active, sub.failures) == (True, 0)
        assert sub.cursor != start
        # The batch that failed three times came again, the same entries.
        assert receiver.requests[-1].json["data"]["entries"] == receiver.requests[0].json["data"]["entries"]


def test_type_filter_sends_only_those_types_and_passes_the_rest(
    session: Session, urls: UrlBuilder, store: ContentStore, clock: FakeClock, setup: Setup
) -> None:
    with receiving() as receiver:
        sub = subscribe(session, urls, setup, receiver, types=["https://schema.oparl.org/1.1/Paper"])
        start = sub.cursor
        changes(session, store, clock, 2, "File")
        deliverer(session, urls, clock).run_once()
    feed = read.page(session, urls, setup.body_id, start, 1000, nonpublic=False).entries
    assert {e["type"] for e in feed} != {"https://schema.oparl.org/1.1/Paper"}  # others were there too
    assert receiver.entries() == [e for e in feed if e["type"].endswith("/Paper")]
    session.refresh(sub)
    assert sub.cursor == feed[-1]["cursor"]  # the trailing File entry passed over, nothing sent for it
    assert len(receiver.requests) == 1


def test_address_checked_again_at_delivery_after_the_name_lookup(
    session: Session, urls: UrlBuilder, store: ContentStore, clock: FakeClock, setup: Setup
) -> None:
    """A name that resolved to a public address when subscribing and to loopback later is refused."""
    public = ["93.184.216.34"]
    sub = subscriptions.create(session, urls, token_id=setup.token_id, body=setup.body_id,
                               url="http://hooks.example.org/in", resolver=lambda _h, _p: public)  # fmt: skip
    session.commit()
    changes(session, store, clock, 1)
    sender = Sender((), 5.0, resolver=lambda _h, _p: ["127.0.0.1"])
    run = Deliverer(lambda: nullcontext(session), urls, Policy(), sender, Lease("t", 60.0), clock=clock).run_once
    assert run() == 1
    (attempt,) = session.scalars(select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id))
    assert attempt.status is None
    assert attempt.error == "refused: hooks.example.org resolves to 127.0.0.1 is not a public address"
    session.refresh(sub)
    assert (sub.failures, sub.cursor) == (1, attempt.after)


def test_subscription_refuses_non_public_targets(session: Session, urls: UrlBuilder, setup: Setup) -> None:
    for url, reason in (
        ("http://127.0.0.1:9/x", "127.0.0.1 is not a public address"),
        ("http://10.1.2.3/x", "10.1.2.3 is not a public address"),
        ("http://[fe80::1]/x", "fe80::1 is not a public address"),
        ("http://intranet.example/x", "intranet.example resolves to 192.168.1.5 is not a public address"),
        ("ftp://hooks.example.org/x", "scheme 'ftp' (only http and https)"),
        ("http://hooks.example.org/a b", "not a URL (spaces, control or unsafe characters)"),
        ("http://hooks.example.org/\x00", "not a URL (spaces, control or unsafe characters)"),
        ("http://user:pw@hooks.example.org/", "credentials in the URL (send them in the path or not at all)"),
    ):
        with pytest.raises(Unprocessable) as caught:
            subscriptions.create(session, urls, token_id=setup.token_id, body=setup.body_id, url=url,
                                 resolver=lambda _h, _p: ["192.168.1.5"])  # fmt: skip
        assert caught.value.args[0] == f"url: dieses Ziel ist nicht erlaubt ({reason})."


def test_policy_delay_doubles_up_to_the_maximum() -> None:
    rules = Policy(backoff=30.0, backoff_max=100.0)
    assert [rules.delay(n) for n in (1, 2, 3, 4)] == [dt.timedelta(seconds=s) for s in (30, 60, 100, 100)]
