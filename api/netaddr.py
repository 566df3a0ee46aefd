"""Client addresses: the peer's, or behind trusted proxies the one they forwarded (X-Forwarded-For).

One place decides who a client is, for the rate limits, the /metrics allow-list and the logs. A
forwarded address is believed only from a proxy in OPARL_TRUSTED_PROXIES; the header is read from
the right, skipping trusted hops, so a client cannot pose as someone else by sending it itself.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """`10.0.0.0/8`, `192.0.2.7`, `::1`: networks, a bare address being a network of one."""
    try:
        return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())
    except ValueError as exc:
        raise ValueError(f"not an address or network: {exc}") from exc


def split_list(value: object) -> object:
    """Settings that are lists: `a,b` or a JSON array from the environment."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            loaded: object = json.loads(text)
            return loaded
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def contains(networks: Sequence[Network], address: str) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in networks)


def client_address(scope: Scope, trusted: Sequence[Network]) -> str:
    """The client's address: the TCP peer, unless that is a trusted proxy that forwarded one."""
    client = scope.get("client")
    peer = client[0] if client else ""
    if not trusted or not contains(trusted, peer):
        return peer
    forwarded = b",".join(value for name, value in scope["headers"] if name == b"x-forwarded-for")
    hops = [hop.strip() for hop in forwarded.decode("latin-1").split(",") if hop.strip()]
    address = peer
    for hop in reversed(hops):
        parsed = _address(hop)
        if parsed is None:  # garbage: the last hop a trusted proxy vouched for is the answer
            return address
        address = str(parsed)
        if not any(parsed in network for network in trusted):
            return address
    return address
