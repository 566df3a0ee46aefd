"""Delivering subscriptions: what the anonymous feed shows after each one's cursor, in batches of
consecutive entries, signed as Standard Webhooks does it, at least once and in feed order.

A subscription's cursor moves only after its receiver answered 2xx, in the same transaction as the
log line, so a crash between the answer and the commit sends the batch again (at least once) and
nothing is ever skipped. A failure sets the next attempt after a delay doubling with every failure
in a row (up to `backoff_max`); `max_failures` in a row disable it. Only the holder of the lease
delivers (oparl/webhooks/lease.py), and it stops before its lease could run out mid-request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from models import WebhookDelivery, WebhookSubscription, utcnow
from oparl.catalogue import SCHEMA_BASE
from oparl.errors import Gone, NotFound
from oparl.feed import read
from oparl.ingest.guard import Blocked, Network, Resolver, check_url, resolve
from oparl.ingest.transport import GuardedTransport
from oparl.urls import UrlBuilder
from oparl.webhooks.lease import Lease
from oparl.webhooks.subscriptions import EXPIRED

EVENT = "kommparl.changes"
USER_AGENT = "oparl-server-webhooks/0.1 (Standard Webhooks; kommParl 0.1 change feed)"
# Feed pages without an entry for a filtered subscription read in one go before it waits its turn again.
SKIP_PAGES = 20
Sessions = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class Policy:
    batch: int = 100  # entries per delivery at most
    timeout: float = 10.0  # seconds a receiver has for its answer, all of it
    max_failures: int = 10
    backoff: float = 30.0  # seconds before the first retry; doubled after every further failure
    backoff_max: float = 6 * 3600.0
    batches_per_round: int = 10  # per subscription, so one busy feed does not hold up the rest
    networks: tuple[Network, ...] = ()

    def delay(self, failures: int) -> dt.timedelta:
        """The wait after the `failures`th failure in a row: backoff, 2·backoff, 4·backoff …"""
        return dt.timedelta(seconds=min(self.backoff * 2 ** (failures - 1), self.backoff_max))


@dataclass(frozen=True)
class Target:
    """A subscription as read before its delivery: nothing of it is loaded while the receiver answers."""

    id: int
    body_id: int
    url: str
    secret: str
    cursor: str
    types: tuple[str, ...]
    failures: int

    @classmethod
    def of(cls, row: WebhookSubscription) -> Target:
        return cls(row.id, row.body_id, row.url, row.secret, row.cursor, tuple(row.types or ()), row.failures)


@dataclass(frozen=True)
class Batch:
    after: str
    through: str
    entries: list[dict[str, Any]]

    def message_id(self, subscription_id: int) -> str:
        """The same for every attempt of the same batch: receivers drop repeats by it."""
        digest = hashlib.sha256(f"{subscription_id}:{self.after}:{self.through}".encode()).hexdigest()
        return f"msg_{subscription_id}_{digest[:32]}"


@dataclass(frozen=True)
class Answer:
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Sender:
    """POSTs to receivers through the guarded transport: the address is checked after the name
    lookup whose answer is used; redirects are not followed (a 3xx is a failure)."""

    def __init__(
        self,
        networks: Sequence[Network],
        timeout: float,
        *,
        resolver: Resolver = resolve,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.networks, self.timeout = tuple(networks), timeout
        self.http = httpx.Client(
            transport=transport or GuardedTransport(self.networks, resolver),
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
        )

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        try:
            check_url(url, self.networks)
            with self.http.stream("POST", url, content=body, headers=headers) as response:
                response.read()  # the answer's body is not kept; reading it lets the connection be reused
                return Answer(response.status_code, None if response.is_success else f"HTTP {response.status_code}")
        except Blocked as exc:
            return Answer(None, f"refused: {exc.reason}")
        except httpx.HTTPError as exc:
            return Answer(None, f"no answer: {type(exc).__name__}")

    def close(self) -> None:
        self.http.close()


def signed(secret: str, message_id: str, body: bytes, moment: dt.datetime) -> dict[str, str]:
    """The Standard Webhooks headers (webhook-id, -timestamp, -signature) for `body`."""
    signature = Webhook(secret).sign(message_id, moment.astimezone(dt.UTC), body.decode())
    return {"webhook-id": message_id, "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signature}  # fmt: skip


class Deliverer:
    def __init__(
        self,
        sessions: Sessions,
        urls: UrlBuilder,
        policy: Policy,
        sender: Sender,
        lease: Lease,
        *,
        tz: dt.tzinfo = dt.UTC,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.sessions, self.urls, self.policy, self.sender, self.lease = sessions, urls, policy, sender, lease
        self.tz, self.clock = tz, clock

    def run_once(self) -> int:
        """One round if this process holds (or takes) the lease: each due subscription gets up to
        `batches_per_round` batches. Returns the number of POSTs made."""
        posts = 0
        with self.sessions() as session:
            # Renewed once half of it has passed, not every round: on SQLite each try is a write.
            if self.lease.remaining() < self.lease.seconds / 2 and not self.lease.take(session):
                return 0
            now = self.clock()
            due = select(WebhookSubscription.id).where(
                WebhookSubscription.active,
                or_(WebhookSubscription.next_attempt.is_(None), WebhookSubscription.next_attempt <= now),
            )
            for subscription_id in list(session.scalars(due.order_by(WebhookSubscription.id))):
                session.commit()  # a fresh snapshot of the feed for every subscription
                for _ in range(self.policy.batches_per_round):
                    if not self._may_post(session):
                        return posts
                    outcome = self._deliver_one(session, subscription_id)
                    posts += outcome is not None
                    if outcome is not True:  # nothing more to send, or it failed: the next one
                        break
        return posts

    def _may_post(self, session: Session) -> bool:
        """Whether a POST started now ends inside the lease (renewed when it gets short)."""
        if self.lease.remaining() > 2 * self.policy.timeout + 1:
            return True
        return self.lease.take(session) and self.lease.remaining() > 2 * self.policy.timeout + 1

    def _deliver_one(self, session: Session, subscription_id: int) -> bool | None:
        """The next batch: True when sent and acknowledged, False when it failed, None when there
        was nothing to send (or the subscription is gone)."""
        row = session.get(WebhookSubscription, subscription_id, populate_existing=True)
        if row is None or not row.active:
            return None
        sub = Target.of(row)
        try:
            batch = self._batch(session, sub)
        except Gone:
            self._disable(session, sub, f"{EXPIRED}: start again from {self.urls.snapshot(sub.body_id)}")
            return None
        except NotFound:
            self._failed(session, sub, None, Answer(None, "the Body is not public (any more)"), 0.0)
            return False
        session.commit()  # no transaction (nor SQLite's write lock) held while the receiver answers
        if batch is None:
            return None
        started = time.monotonic()
        moment = utcnow()  # the real time, whatever schedules retries: receivers check it against theirs
        body = self._payload(sub, batch, moment)
        answer = self.sender.post(sub.url, body, signed(sub.secret, batch.message_id(sub.id), body, moment))
        took = time.monotonic() - started
        if not answer.ok:
            self._failed(session, sub, batch, answer, took)
            return False
        # Only from the cursor the batch was read at: a cursor never moves back or skips.
        moved = self._update(session, sub, cursor=batch.through, failures=0, next_attempt=None)
        if moved:
            self._log(session, sub, batch, answer, took)
        session.commit()
        return moved

    def _update(self, session: Session, sub: Target, **values: object) -> bool:
        """Sets `values` on the subscription if it still exists at the cursor it was read at."""
        changed = session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == sub.id, WebhookSubscription.cursor == sub.cursor)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(changed.rowcount) == 1  # type: ignore[attr-defined]

    def _batch(self, session: Session, sub: Target) -> Batch | None:
        """The entries after the subscription's cursor of its types, at most `batch`; None without
        any (a run of entries of other types is passed over by moving the cursor, nothing sent)."""
        after = sub.cursor
        types = {SCHEMA_BASE + name for name in sub.types} if sub.types else None
        for _ in range(SKIP_PAGES):
            found = read.page(session, self.urls, sub.body_id, after, self.policy.batch, nonpublic=False, tz=self.tz)
            entries = [e for e in found.entries if types is None or e["type"] in types]
            if entries:
                return Batch(sub.cursor, entries[-1]["cursor"], entries)
            if not found.more:
                after = found.cursor if found.entries else after
                break
            after = found.cursor
        if after != sub.cursor:
            self._update(session, sub, cursor=after)
        return None

    def _payload(self, sub: Target, batch: Batch, moment: dt.datetime) -> bytes:
        """Standard Webhooks' payload shape (type, timestamp, data); `data` holds the feed's entries
        exactly as the anonymous feed lists them."""
        data = {"subscription": sub.id, "body": self.urls.object("Body", sub.body_id), "after": batch.after,
                "cursor": batch.through, "entries": batch.entries}  # fmt: skip
        return orjson.dumps({"type": EVENT, "timestamp": read.date_time(moment, self.tz), "data": data})

    def _failed(self, session: Session, sub: Target, batch: Batch | None, answer: Answer, took: float) -> None:
        failures = sub.failures + 1
        if failures >= self.policy.max_failures:
            reason = f"{failures} failed deliveries in a row, the last: {answer.error}"
            moved = self._update(session, sub, failures=failures, next_attempt=None, active=False,
                                 disabled=self.clock(), disabled_reason=reason)  # fmt: skip
        else:
            moved = self._update(
                session, sub, failures=failures, next_attempt=self.clock() + self.policy.delay(failures)
            )
        if moved:
            self._log(session, sub, batch, answer, took)
        session.commit()

    def _disable(self, session: Session, sub: Target, reason: str) -> None:
        self._update(session, sub, active=False, disabled=self.clock(), disabled_reason=reason)
        session.commit()

    def _log(self, session: Session, sub: Target, batch: Batch | None, answer: Answer, took: float) -> None:
        session.add(
            WebhookDelivery(
                subscription_id=sub.id, at=self.clock(), message_id=batch.message_id(sub.id) if batch else "-",
                after=batch.after if batch else sub.cursor, through=batch.through if batch else sub.cursor,
                entries=len(batch.entries) if batch else 0, attempt=sub.failures + 1, status=answer.status,
                error=answer.error, seconds=took,
            )
        )  # fmt: skip
        session.flush()


def run(
    deliverer: Deliverer, stop: Callable[[float], bool], interval: float, on_error: Callable[[Exception], None]
) -> None:
    """Rounds until `stop(seconds)` (an Event's wait) says so; idle rounds `interval` apart. A
    database outage is reported and waited out, never the end of the loop."""
    while True:
        try:
            posts = deliverer.run_once()
        except Exception as exc:  # the loop outlives an outage; the error is reported
            on_error(exc)
            posts = 0
        if stop(0.0 if posts else interval):
            return
