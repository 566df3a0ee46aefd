"""A polite and guarded httpx client for OParl sources: rate and concurrency per host, timeouts,
retries with backoff; public addresses only, every redirect checked, answers capped in size and time."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

from oparl.ingest.guard import Blocked, Policy, Resolver, check_url, resolve
from oparl.ingest.quirks import parse_json
from oparl.ingest.transport import GuardedTransport

USER_AGENT = "oparl-server-harvester/0.1 (OParl 1.1 mirror; https://oparl.org)"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
T = TypeVar("T")


class SourceError(Exception):
    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url, self.reason, self.status = url, reason, status


class Refused(SourceError):
    """Not fetched (or not kept): the policy does not allow it. Never retried."""


@dataclass(frozen=True)
class _Redirect:
    location: str


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
    """`transport` replaces the guarded one (tests): then only the URL checks apply, and the
    addresses of names are not looked up."""

    def __init__(
        self,
        politeness: Politeness = Politeness(),
        *,
        policy: Policy | None = None,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver = resolve,
        quirks: Counter[str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.politeness, self.policy, self.sleep, self.clock = politeness, policy or Policy(), sleep, clock
        self.quirks: Counter[str] = quirks if quirks is not None else Counter()
        self.http = httpx.Client(
            transport=transport or GuardedTransport(self.policy.networks, resolver),
            timeout=politeness.timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,  # each hop is checked here
            trust_env=False,
        )
        self.hosts: dict[str, _Host] = {}
        self.requests = 0
        self.lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def json(self, url: str, *, hosts: frozenset[str] | None = None) -> Any:
        """The JSON at `url`; it and every redirect on `hosts` when given, at most max_page_bytes."""

        def read(response: httpx.Response) -> tuple[bytes, str]:
            body = b"".join(self._chunks(url, response, self.policy.max_page_bytes))
            return body, response.headers.get("content-type", "?")

        raw, content_type = self._fetch(url, hosts, read)
        try:
            return parse_json(raw, self.quirks)
        except ValueError as exc:
            raise SourceError(url, f"not JSON ({content_type})", 200) from exc

    def download(self, url: str, target: Path) -> int:
        """Streams the bytes at `url` (any public host) into `target`, at most max_file_bytes:
        past the cap the download stops and `target` is removed. Returns the size."""

        def write(response: httpx.Response) -> int:
            size = 0
            with target.open("wb") as out:  # a retry starts the file again
                for chunk in self._chunks(url, response, self.policy.max_file_bytes):
                    out.write(chunk)
                    size += len(chunk)
            return size

        try:
            return self._fetch(url, None, write)
        except BaseException:
            target.unlink(missing_ok=True)
            raise

    def _fetch(self, url: str, hosts: frozenset[str] | None, consume: Callable[[httpx.Response], T]) -> T:
        """Follows redirects by hand, checking every hop before it is asked."""
        hop = url
        for _ in range(self.policy.redirects + 1):
            try:
                check_url(hop, self.policy.networks, hosts)
            except Blocked as exc:
                raise Refused(url, exc.reason if hop == url else f"redirected to {hop}: {exc.reason}") from None
            answer = self._get(url, hop, consume)
            if not isinstance(answer, _Redirect):
                return answer
            try:
                hop = urljoin(hop, answer.location)
            except ValueError:
                raise Refused(url, f"redirected to {answer.location!r}: not a URL") from None
        raise SourceError(url, f"unusable answer: more than {self.policy.redirects} redirects")

    def _get(self, url: str, hop: str, consume: Callable[[httpx.Response], T]) -> T | _Redirect:
        """One hop, with retries on timeouts, 429 and 5xx; other 4xx raise at once."""
        host = self._host(hop)
        for attempt in range(self.politeness.retries + 1):
            self._wait_turn(host)
            try:
                assert host.slots is not None
                with host.slots, self.http.stream("GET", hop) as response:
                    status = response.status_code
                    if status in REDIRECT_STATUS and "location" in response.headers:
                        return _Redirect(response.headers["location"])
                    if status == 200:
                        return consume(response)
                    retry_after = _retry_after(response)
            except Blocked as exc:  # raised where the connection is made
                raise Refused(url, exc.reason if hop == url else f"redirected to {hop}: {exc.reason}") from None
            except (httpx.DecodingError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                raise SourceError(url, f"unusable answer: {type(exc).__name__}") from exc
            except httpx.TransportError as exc:
                if attempt == self.politeness.retries:
                    raise SourceError(url, f"no answer: {type(exc).__name__}") from exc
                self.quirks["retried_transport_error"] += 1
                self.sleep(self.politeness.backoff * 2**attempt)
                continue
            if status in RETRY_STATUS and attempt < self.politeness.retries:
                self.quirks[f"retried_http_{status}"] += 1
                self.sleep(retry_after or self.politeness.backoff * 2**attempt)
                continue
            raise SourceError(url, f"HTTP {status}", status)
        raise SourceError(url, "gave up")  # pragma: no cover - the loop returns or raises

    def _chunks(self, url: str, response: httpx.Response, cap: int) -> Iterator[bytes]:
        """The (decoded) body, stopped once it passes `cap` bytes or the request's time is up."""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise Refused(url, f"larger than the cap of {cap} bytes ({declared} declared)")
        deadline = self.clock() + self.policy.max_seconds
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise Refused(url, f"larger than the cap of {cap} bytes")
            if self.clock() > deadline:
                raise Refused(url, f"took longer than {self.policy.max_seconds:g} s")
            yield chunk

    def _host(self, url: str) -> _Host:
        name = urlsplit(url).netloc
        with self.lock:
            if name not in self.hosts:
                self.hosts[name] = _Host(slots=threading.Semaphore(max(1, self.politeness.concurrency)))
            return self.hosts[name]

    def _wait_turn(self, host: _Host) -> None:
        """At most `rate` requests per second per host."""
        with host.lock:
            now = self.clock()
            slot = max(now, host.next_slot)
            host.next_slot = slot + (1.0 / self.politeness.rate if self.politeness.rate > 0 else 0.0)
            self.requests += 1
        if slot > now:
            self.sleep(slot - now)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return min(float(value), 120.0) if value.isdigit() else None
