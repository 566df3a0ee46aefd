"""Subscriptions: made, listed, enabled again and removed by the token that owns them (the write
API and `oparl-server webhook` call these). A subscription follows one Body's anonymous feed from
the position it was made at (or from a cursor given), optionally only some types."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import WebhookDelivery, WebhookSubscription
from oparl.catalogue import SCHEMA_BASE, TYPES
from oparl.errors import NotFound, OParlError, Unprocessable
from oparl.feed import cursor, read
from oparl.ingest.guard import Network, Resolver, resolve
from oparl.urls import UrlBuilder
from oparl.webhooks.target import Blocked, check_target

# Types a feed has entries for (the System has none: it is no Body's object).
FEED_TYPES = tuple(name for name in TYPES if name != "System")
# How a subscription disabled by an expired cursor says so (it cannot be enabled again).
EXPIRED = "cursor expired"


def parse_body(urls: UrlBuilder, value: object) -> int:
    """A Body by its numeric id or its URL on this server."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    prefix = urls.object("Body", 1).removesuffix("1")
    if isinstance(value, str) and value.startswith(prefix) and value[len(prefix) :].isdigit():
        return int(value[len(prefix) :])
    raise Unprocessable("body: erwartet die Kennung (URL) einer Körperschaft dieses Servers.", repr(value)[:200])


def parse_types(values: Sequence[str] | None) -> list[str] | None:
    """Type names or type URLs; None (or an empty list): every type."""
    if not values:
        return None
    names = [v.removeprefix(SCHEMA_BASE) if isinstance(v, str) else "" for v in values]
    unknown = [repr(n)[:60] for n in names if n not in FEED_TYPES]
    if unknown:
        raise Unprocessable(f"types: keine OParl-Typen: {', '.join(unknown)}", f"one of {', '.join(FEED_TYPES)}")
    return sorted(set(names))


def create(
    session: Session,
    urls: UrlBuilder,
    *,
    token_id: int,
    body: object,
    url: str,
    types: Sequence[str] | None = None,
    after: str | None = None,
    networks: Sequence[Network] = (),
    resolver: Resolver = resolve,
) -> WebhookSubscription:
    """A new subscription (flushed, not committed); its `secret` is shown to the owner once."""
    body_id = parse_body(urls, body)
    read.require_body(session, body_id, nonpublic=False)  # only a public Body's feed
    names = parse_types(types)
    try:
        check_target(url, networks, resolver)
    except Blocked as exc:
        raise Unprocessable(f"url: dieses Ziel ist nicht erlaubt ({exc.reason}).", url[:200]) from None
    current = read.state(session)
    if after is None:
        after = cursor.encode(current.epoch, body_id, current.position)
    else:
        read.start(current, urls, body_id, after)  # 400 for no cursor of this feed, 410 for an expired one
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    row = WebhookSubscription(token_id=token_id, body_id=body_id, url=url, types=names, secret=secret, cursor=after,
                              active=True, failures=0)  # fmt: skip
    session.add(row)
    session.flush()
    return row


def owned(session: Session, token_id: int) -> list[WebhookSubscription]:
    query = select(WebhookSubscription).where(WebhookSubscription.token_id == token_id)
    return list(session.scalars(query.order_by(WebhookSubscription.id)))


def get_owned(session: Session, token_id: int | None, subscription_id: int) -> WebhookSubscription:
    """The subscription if `token_id` owns it (None: the operator's CLI, any); 404 otherwise, so a
    token learns nothing about other tokens' subscriptions."""
    row = session.get(WebhookSubscription, subscription_id)
    if row is None or (token_id is not None and row.token_id != token_id):
        raise NotFound(f"Kein Webhook-Abonnement mit der Kennung {subscription_id}.")
    return row


def remove(session: Session, token_id: int | None, subscription_id: int) -> None:
    session.delete(get_owned(session, token_id, subscription_id))
    session.flush()


def enable(session: Session, token_id: int | None, subscription_id: int) -> WebhookSubscription:
    """Active again after it was disabled: deliveries go on from its cursor, at once."""
    row = get_owned(session, token_id, subscription_id)
    if row.disabled_reason is not None and row.disabled_reason.startswith(EXPIRED):
        raise OParlError("Der Cursor dieses Abonnements ist abgelaufen; bitte neu anlegen.", row.disabled_reason)
    row.active, row.failures, row.next_attempt, row.disabled, row.disabled_reason = True, 0, None, None, None
    session.flush()
    return row


def deliveries(session: Session, token_id: int | None, subscription_id: int, limit: int = 100) -> list[WebhookDelivery]:
    """The delivery log, newest first."""
    get_owned(session, token_id, subscription_id)
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    return list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def as_json(row: WebhookSubscription, urls: UrlBuilder) -> dict[str, Any]:
    """What the owner reads about a subscription (the secret only once, on creation)."""
    return {
        "id": row.id,
        "body": urls.object("Body", row.body_id),
        "url": row.url,
        "types": row.types,
        "cursor": row.cursor,
        "active": row.active,
        "failures": row.failures,
        "nextAttempt": row.next_attempt.isoformat() if row.next_attempt else None,
        "created": row.created.isoformat(),
        "disabled": row.disabled.isoformat() if row.disabled else None,
        "disabledReason": row.disabled_reason,
    }


def delivery_json(row: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "messageId": row.message_id,
        "after": row.after,
        "through": row.through,
        "entries": row.entries,
        "attempt": row.attempt,
        "status": row.status,
        "error": row.error,
        "seconds": round(row.seconds, 3),
    }
