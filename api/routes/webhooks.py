"""Webhook subscriptions through the write API, for tokens with the scope `webhooks`: create,
list, read, enable again, remove, and read the delivery log (README "Webhooks"). A token sees only
its own subscriptions; another's id is a 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from sqlalchemy.orm import Session

from api.auth import Forbidden, Unauthorized, check_token
from api.deps import SettingsDep, UrlsDep, WriteSessionDep
from api.openapi import COMMON, TOKEN, Answers, error
from api.responses import OParlJSONResponse
from api.threads import in_write_thread
from models import ApiToken
from oparl.urls import UrlBuilder
from oparl.webhooks import subscriptions

router = APIRouter(prefix="/write/v1/webhooks", tags=["webhooks"])
ERRORS: Answers = {
    400: error("a bad parameter, or a body that is no JSON object"),
    401: error("no token, or an invalid, expired or revoked one"),
    403: error("the token lacks the scope webhooks"),
    404: error("no subscription of this token with this id, or no such public Body"),
    422: error("a bad url (not allowed), body or types"),
    **COMMON,
}
SubscriptionId = Annotated[int, Path(description="the subscription's id", ge=1, le=2**31 - 1)]


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class WebhookSubscriptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="the receiver; http(s) on a public address", max_length=2000)
    body: int | str = Field(description="the Body whose public change feed is delivered (its id URL)")
    types: list[str] | None = Field(None, description="only entries of these types (names or type URLs)")
    after: str | None = Field(None, description="a feed cursor to start after; default: from now on")


class WebhookSubscription(_Out):
    id: int
    body: str
    url: str
    types: list[str] | None
    cursor: str = Field(description="the feed cursor of the last entry the receiver acknowledged")
    active: bool
    failures: int = Field(description="failed deliveries in a row")
    next_attempt: str | None
    created: str
    disabled: str | None
    disabled_reason: str | None


class WebhookSubscriptionCreated(WebhookSubscription):
    secret: str = Field(description="the Standard Webhooks signing secret, shown this once")


class WebhookSubscriptions(_Out):
    data: list[WebhookSubscription]


class WebhookDelivery(_Out):
    id: int
    at: str
    message_id: str = Field(description="the webhook-id header: the same for every attempt of a batch")
    after: str
    through: str
    entries: int
    attempt: int
    status: int | None
    error: str | None
    seconds: float


class WebhookDeliveries(_Out):
    data: list[WebhookDelivery]


async def require_webhooks(request: Request, session: WriteSessionDep) -> ApiToken:
    return await in_write_thread(request, _owner, session, request.headers.get("authorization"))


def _owner(session: Session, header: str | None) -> ApiToken:
    token = check_token(session, header)
    if token is None:
        raise Unauthorized("Webhooks erfordern einen Zugangsschlüssel.", "send Authorization: Bearer oparl_…")
    if "webhooks" not in token.scopes:
        raise Forbidden("Dieser Zugangsschlüssel darf keine Webhooks verwalten.", "the token lacks the scope webhooks")
    session.commit()
    return token


OwnerDep = Annotated[ApiToken, Depends(require_webhooks)]


def _out(row: Any, urls: UrlBuilder) -> dict[str, Any]:
    return WebhookSubscription.model_validate(subscriptions.as_json(row, urls)).model_dump(by_alias=True)


@router.post(
    "",
    operation_id="createWebhook",
    openapi_extra=TOKEN,
    status_code=201,
    response_model=WebhookSubscriptionCreated,
    responses=ERRORS,
)
async def create(
    body: WebhookSubscriptionRequest, request: Request, owner: OwnerDep, session: WriteSessionDep, urls: UrlsDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    """Subscribe a receiver to a Body's public change feed; the answer holds the signing secret, once."""

    def work() -> Response:
        row = subscriptions.create(session, urls, token_id=owner.id, body=body.body, url=body.url, types=body.types,
                                   after=body.after, networks=settings.webhook_networks)  # fmt: skip
        session.commit()
        out = {**_out(row, urls), "secret": row.secret}
        return OParlJSONResponse(out, status_code=201, headers={"Location": f"{request.url.path}/{row.id}"})

    return await in_write_thread(request, work)


@router.get("", operation_id="listWebhooks", openapi_extra=TOKEN, response_model=WebhookSubscriptions, responses=ERRORS)
async def list_own(request: Request, owner: OwnerDep, session: WriteSessionDep, urls: UrlsDep) -> Response:
    """The token's subscriptions."""
    rows = await in_write_thread(request, subscriptions.owned, session, owner.id)
    return OParlJSONResponse({"data": [_out(row, urls) for row in rows]})


@router.get(
    "/{subscription_id}",
    operation_id="getWebhook",
    openapi_extra=TOKEN,
    response_model=WebhookSubscription,
    responses=ERRORS,
)
async def read_one(
    subscription_id: SubscriptionId, request: Request, owner: OwnerDep, session: WriteSessionDep, urls: UrlsDep
) -> Response:
    """One subscription of the token's: its cursor, failures and state."""
    row = await in_write_thread(request, subscriptions.get_owned, session, owner.id, subscription_id)
    return OParlJSONResponse(_out(row, urls))


@router.post(
    "/{subscription_id}/enable",
    operation_id="enableWebhook",
    openapi_extra=TOKEN,
    response_model=WebhookSubscription,
    responses=ERRORS,
)
async def enable(
    subscription_id: SubscriptionId, request: Request, owner: OwnerDep, session: WriteSessionDep, urls: UrlsDep
) -> Response:
    """Make a disabled subscription deliver again, from its cursor (no entry is skipped)."""

    def work() -> Response:
        row = subscriptions.enable(session, owner.id, subscription_id)
        session.commit()
        return OParlJSONResponse(_out(row, urls))

    return await in_write_thread(request, work)


@router.delete(
    "/{subscription_id}", operation_id="deleteWebhook", openapi_extra=TOKEN, status_code=204, responses=ERRORS
)
async def remove(
    subscription_id: SubscriptionId, request: Request, owner: OwnerDep, session: WriteSessionDep
) -> Response:
    """Remove a subscription and its delivery log."""

    def work() -> None:
        subscriptions.remove(session, owner.id, subscription_id)
        session.commit()

    await in_write_thread(request, work)
    return Response(status_code=204)


@router.get(
    "/{subscription_id}/deliveries",
    operation_id="listWebhookDeliveries",
    openapi_extra=TOKEN,
    response_model=WebhookDeliveries,
    responses=ERRORS,
)
async def deliveries(
    subscription_id: SubscriptionId,
    request: Request,
    owner: OwnerDep,
    session: WriteSessionDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many, newest first")] = 100,
) -> Response:
    """The delivery log: one line per attempt, newest first."""
    rows = await in_write_thread(request, subscriptions.deliveries, session, owner.id, subscription_id, limit)
    return OParlJSONResponse({"data": [subscriptions.delivery_json(row) for row in rows]})
