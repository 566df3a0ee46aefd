"""httpx on the guard's rules: the address is checked where the connection is made, after the one
name lookup whose answer is used (`oparl.ingest.guard` says why)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import httpcore
import httpx

from oparl.ingest.guard import Blocked, Network, Resolver, check_address, resolve


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves once, refuses unless every address is allowed, connects to an address it checked
    (TLS still verifies and names the host: httpcore takes those from the URL, not from here)."""

    def __init__(
        self, networks: Sequence[Network], resolver: Resolver = resolve, inner: httpcore.NetworkBackend | None = None
    ) -> None:
        self.networks, self.resolver = tuple(networks), resolver
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = list(dict.fromkeys(self.resolver(host, port)))
        except OSError as exc:
            raise httpcore.ConnectError(f"{host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host}: no address")
        for address in addresses:
            try:
                check_address(address, self.networks)
            except Blocked as exc:
                raise Blocked(f"{host} resolves to {exc.reason}") from None
        error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise Blocked("unix sockets")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport on a guarded network backend, and never through a proxy from the
    environment (its address would be checked, not the destination's)."""

    def __init__(self, networks: Sequence[Network], resolver: Resolver = resolve) -> None:
        super().__init__(trust_env=False)
        assert isinstance(self._pool, httpcore.ConnectionPool)  # httpx builds one when there is no proxy
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,  # httpx's default limits
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(networks, resolver),
        )
