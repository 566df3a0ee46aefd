"""Webhook subscriptions to a Body's public change feed, their delivery log, and the lease that
lets exactly one process deliver (oparl/webhooks)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, ObjectId, utcnow


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The owner: only this token lists, reads, changes or removes it.
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id"), index=True)
    body_id: Mapped[int] = mapped_column(ObjectId)
    url: Mapped[str] = mapped_column(String(2000))
    # Type names (e.g. "Paper") whose entries are delivered; None: every type.
    types: Mapped[list[str] | None]
    # The Standard Webhooks signing secret ("whsec_…"); HMAC needs it in the clear.
    secret: Mapped[str] = mapped_column(String(100))
    # Feed cursor of the last entry the receiver acknowledged (a 2xx); delivery continues after it.
    cursor: Mapped[str] = mapped_column(String(512))
    active: Mapped[bool] = mapped_column(default=True)
    # Failed deliveries in a row; at OPARL_WEBHOOK_MAX_FAILURES the subscription is disabled.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # Not before then (the backoff after a failure); None: at once.
    next_attempt: Mapped[dt.datetime | None]
    created: Mapped[dt.datetime] = mapped_column(default=utcnow)
    disabled: Mapped[dt.datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """One attempt to deliver one batch (consecutive feed entries) to one subscription."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_subscription_id_id", "subscription_id", "id"),)

    id: Mapped[int] = mapped_column(ObjectId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscription.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime]
    # The Standard Webhooks `webhook-id`: the same for every attempt of the same batch.
    message_id: Mapped[str] = mapped_column(String(64))
    after: Mapped[str] = mapped_column(String(512))  # the batch follows this cursor ...
    through: Mapped[str] = mapped_column(String(512))  # ... up to this one
    entries: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[int | None] = mapped_column(Integer)  # the receiver's HTTP status, None without an answer
    error: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float] = mapped_column(Float)


class WebhookLease(Base):
    """Who delivers: a row per lease name, taken by an atomic UPDATE while it is free or expired.
    `expires` is the database's clock in seconds since the epoch, so hosts' clocks do not matter."""

    __tablename__ = "webhook_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(200))
    expires: Mapped[float] = mapped_column(Float, default=0.0)
