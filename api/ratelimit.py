"""Rate limits per client address and per token (the `limits` library), with the IETF headers.

Anonymous requests count against their address, requests with a token against the token (a
SHA-256 of it: the secret is never a key). A token that turns out invalid (401) also counts against
its address's auth-failure limit, and an address over that one is refused before the database is
asked again: guessing tokens cannot buy unlimited requests. Counters live in Redis when
OPARL_REDIS_URL is set (one budget across every worker and host), else in the worker's memory.

Headers follow draft-ietf-httpapi-ratelimit-headers-10: `RateLimit-Policy: "address";q=1200;w=60`
on every limited answer, `RateLimit: "address";r=1187;t=42` (remaining, seconds to the window's
end), and on a 429 also `Retry-After`. Fixed windows: a window starts with its first request.
When the counter store fails the request passes (logged, at most once a minute): limits protect
the server, they must not take it down.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

import limits
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string
from limits.util import WindowStats
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import netaddr
from api.errors import error_response
from api.settings import Settings

log = logging.getLogger(__name__)

# Never limited: the operators' probes and scrapers must see a server under a flood.
EXEMPT = ("/healthz", "/readyz", "/metrics")


@dataclass(frozen=True)
class Policy:
    """A named set of limits; each item is one member of the IETF policy list."""

    name: str
    items: tuple[limits.RateLimitItem, ...]

    @classmethod
    def parse(cls, name: str, text: str) -> Policy:
        return cls(name, tuple(limits.parse_many(text)) if text.strip() else ())

    def label(self, index: int) -> str:
        return self.name if len(self.items) == 1 else f"{self.name}-{index + 1}"

    def header(self) -> str:
        return ", ".join(
            f'"{self.label(i)}";q={item.amount};w={item.get_expiry()}' for i, item in enumerate(self.items)
        )


class RateLimit:
    """ASGI middleware; allow-listed addresses, OPTIONS and EXEMPT paths pass uncounted."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.trusted = netaddr.parse_networks(settings.trusted_proxies)
        self.allow = netaddr.parse_networks(settings.rate_limit_allow)
        self.address = Policy.parse("address", settings.rate_limit)
        self.token = Policy.parse("token", settings.rate_limit_token)
        self.failures = Policy.parse("auth-failures", settings.rate_limit_auth_failures)
        self.storage = make_storage(settings)
        self.limiter = FixedWindowRateLimiter(self.storage)
        self.failed_at = -math.inf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        address = netaddr.client_address(scope, self.trusted)
        if netaddr.contains(self.allow, address):
            await self.app(scope, receive, send)
            return
        token = _token_key(scope)
        try:
            verdict = await self._check(address, token)
        except Exception as exc:  # the counter store is away: serve, and say so now and then
            self._store_failed(exc)
            await self.app(scope, receive, send)
            return
        policy, headers, retry_after = verdict
        if retry_after is not None:
            refused = error_response(429, "Zu viele Anfragen; bitte später erneut versuchen.",
                                     f"rate limit {policy.name} exhausted; retry after {retry_after} s")  # fmt: skip
            refused.headers.update(headers)
            refused.headers["Retry-After"] = str(retry_after)
            await refused(scope, receive, send)
            return
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)
        if token is not None and status == 401 and self.failures.items:
            try:
                for item in self.failures.items:
                    await self.limiter.hit(item, self.failures.name, address)
            except Exception as exc:
                self._store_failed(exc)

    async def _check(self, address: str, token: str | None) -> tuple[Policy, dict[str, str], int | None]:
        """The policy applied, its headers, and the seconds to wait when it is exhausted."""
        if token is not None:
            for item in self.failures.items:
                if not await self.limiter.test(item, self.failures.name, address):
                    failed = await self.limiter.get_window_stats(item, self.failures.name, address)
                    return self.failures, self._headers(self.failures, [failed]), _seconds_to(failed.reset_time)
        policy, key = (self.token, token) if token is not None else (self.address, address)
        allowed = True
        stats: list[WindowStats] = []
        for item in policy.items:
            allowed = await self.limiter.hit(item, policy.name, key) and allowed
            stats.append(await self.limiter.get_window_stats(item, policy.name, key))
        headers = self._headers(policy, stats)
        if allowed:
            return policy, headers, None
        exhausted = [s.reset_time for s in stats if s.remaining == 0]
        return policy, headers, max(_seconds_to(t) for t in exhausted or [time.time()])

    @staticmethod
    def _headers(policy: Policy, stats: list[WindowStats]) -> dict[str, str]:
        if not policy.items:
            return {}
        current = ", ".join(
            f'"{policy.label(i)}";r={s.remaining};t={_seconds_to(s.reset_time)}' for i, s in enumerate(stats)
        )
        return {"RateLimit-Policy": policy.header(), "RateLimit": current}

    def _store_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self.failed_at >= 60:
            self.failed_at = now
            log.warning("rate limits not applied: the counter store failed (%s: %s)", type(exc).__name__, exc)


def make_storage(settings: Settings) -> Storage:
    if settings.redis_url:
        storage = storage_from_string(
            f"async+{settings.redis_url}", implementation="redispy", key_prefix=settings.rate_limit_prefix
        )
    else:
        storage = storage_from_string("async+memory://")
    assert isinstance(storage, Storage)
    return storage


def _token_key(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return hashlib.sha256(value).hexdigest()[:32]
    return None


def _seconds_to(moment: float) -> int:
    return max(1, math.ceil(moment - time.time()))
