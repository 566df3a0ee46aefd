"""The delivery lease: one row, taken or renewed by one atomic UPDATE, so of several workers and
hosts exactly one delivers at a time.

The UPDATE succeeds only while the lease is free, expired or already the caller's; both engines
run it under a row (PostgreSQL) or database (SQLite) write lock, so two callers cannot both see
it succeed. Expiry is written and compared in the database's clock, never a host's. The holder
keeps its own monotonic deadline from just before the UPDATE ran and stops delivering before it
passes (`Lease.remaining`), so a lease taken over after expiry never overlaps a delivery of the
one before.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import ColumnElement, Float, func, literal, or_, update
from sqlalchemy.orm import Session

from models import WebhookLease

NAME = "deliver"


def database_now(dialect: str) -> ColumnElement[float]:
    """Seconds since the epoch in the database's own clock (the time of the statement, not of
    the transaction's start: a long transaction must not take a lease in the past)."""
    if dialect == "postgresql":
        return func.extract("epoch", func.clock_timestamp()).cast(Float)
    return (func.julianday("now") - literal(2440587.5)) * literal(86400.0)


class Lease:
    def __init__(self, owner: str, seconds: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.owner, self.seconds, self.monotonic = owner, seconds, monotonic
        self.deadline = 0.0  # in this process's monotonic clock

    def take(self, session: Session) -> bool:
        """Takes or renews the lease for `seconds` and commits; False while another holds it."""
        started = self.monotonic()
        now = database_now(session.get_bind().dialect.name)
        taken = session.execute(
            update(WebhookLease)
            .where(WebhookLease.name == NAME)
            .where(or_(WebhookLease.owner == self.owner, WebhookLease.owner.is_(None), WebhookLease.expires < now))
            .values(owner=self.owner, expires=now + self.seconds)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        held = int(taken.rowcount) == 1  # type: ignore[attr-defined]
        self.deadline = started + self.seconds if held else 0.0
        return held

    def remaining(self) -> float:
        """Seconds this process may still act as the holder (0 when it does not hold the lease)."""
        return max(0.0, self.deadline - self.monotonic())

    def release(self, session: Session) -> None:
        """Gives the lease up at once (a worker shutting down), so another need not wait for expiry."""
        session.execute(
            update(WebhookLease)
            .where(WebhookLease.name == NAME, WebhookLease.owner == self.owner)
            .values(owner=None, expires=0.0)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        self.deadline = 0.0
