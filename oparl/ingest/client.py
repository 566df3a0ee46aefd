"""A polite httpx client for OParl sources: rate and concurrency per host, timeouts, retries with backoff."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from oparl.ingest.quirks import parse_json

USER_AGENT = "oparl-server-harvester/0.1 (OParl 1.1 mirror; https://oparl.org)"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class SourceError(Exception):
    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url, self.reason, self.status = url, reason, status


@dataclass(frozen=True)
class Politeness:
    """How hard a source may be asked. The defaults are gentle: 2 requests/s, 2 at a time."""

    rate: float = 2.0
    concurrency: int = 2
    timeout: float = 60.0
    retries: int = 4
    backoff: float = 1.0


@dataclass
class _Host:
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_slot: float = 0.0
    slots: threading.Semaphore | None = None


class SourceClient:
    def __init__(
        self,
        politeness: Politeness = Politeness(),
        *,
        transport: httpx.BaseTransport | None = None,
        quirks: Counter[str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.politeness, self.sleep = politeness, sleep
        self.quirks: Counter[str] = quirks if quirks is not None else Counter()
        self.http = httpx.Client(
            transport=transport,
            timeout=politeness.timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=True,
        )
        self.hosts: dict[str, _Host] = {}
        self.requests = 0
        self.lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def json(self, url: str) -> Any:
        response = self.get(url)
        try:
            return parse_json(response.content, self.quirks)
        except ValueError as exc:
            raise SourceError(url, f"not JSON ({response.headers.get('content-type', '?')})", 200) from exc

    def get(self, url: str) -> httpx.Response:
        """GET with retries on timeouts, 429 and 5xx; other 4xx raise at once."""
        host = self._host(url)
        for attempt in range(self.politeness.retries + 1):
            self._wait_turn(host)
            try:
                assert host.slots is not None
                with host.slots:
                    response = self.http.get(url)
            except (httpx.TooManyRedirects, httpx.DecodingError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                raise SourceError(url, f"unusable answer: {type(exc).__name__}") from exc
            except httpx.TransportError as exc:
                if attempt == self.politeness.retries:
                    raise SourceError(url, f"no answer: {type(exc).__name__}") from exc
                self.quirks["retried_transport_error"] += 1
                self.sleep(self.politeness.backoff * 2**attempt)
                continue
            if response.status_code in RETRY_STATUS and attempt < self.politeness.retries:
                self.quirks[f"retried_http_{response.status_code}"] += 1
                self.sleep(_retry_after(response) or self.politeness.backoff * 2**attempt)
                continue
            if response.status_code != 200:
                raise SourceError(url, f"HTTP {response.status_code}", response.status_code)
            return response
        raise SourceError(url, "gave up")  # pragma: no cover - the loop returns or raises

    def _host(self, url: str) -> _Host:
        name = urlsplit(url).netloc
        with self.lock:
            if name not in self.hosts:
                self.hosts[name] = _Host(slots=threading.Semaphore(max(1, self.politeness.concurrency)))
            return self.hosts[name]

    def _wait_turn(self, host: _Host) -> None:
        """At most `rate` requests per second per host."""
        with host.lock:
            now = time.monotonic()
            slot = max(now, host.next_slot)
            host.next_slot = slot + (1.0 / self.politeness.rate if self.politeness.rate > 0 else 0.0)
            self.requests += 1
        if slot > now:
            self.sleep(slot - now)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return min(float(value), 120.0) if value.isdigit() else None
