"""Where the harvester may connect: public addresses only, unless an operator allows a network.

A source's URLs (and the files it links to) are hostile input: without a check, `accessUrl:
http://169.254.169.254/…` would copy a cloud's metadata into this server and publish it. The
address is checked where the connection is made, after the one name lookup whose answer is used,
so a name that resolves to a public address when checked and to a private one when connecting
(DNS rebinding) cannot pass. `oparl.ingest.transport` connects by these rules; this module
imports no HTTP client, so the settings that name allowed networks load none.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
LOOPBACK: tuple[Network, ...] = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
# NAT64 prefixes (RFC 6052, RFC 8215): the IPv4 address they reach is the one to judge.
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class Blocked(Exception):
    """A destination the policy does not allow; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Policy:
    """What the harvester may fetch, and how much of it."""

    # Networks allowed besides the public internet (the tests allow loopback).
    networks: tuple[Network, ...] = ()
    max_file_bytes: int = 256 * 1024 * 1024
    max_page_bytes: int = 64 * 1024 * 1024
    # Seconds the body of one answer may take to arrive: the timeouts bound each wait for bytes,
    # this a source that drips them.
    max_seconds: float = 600.0
    redirects: int = 5


def parse_networks(text: str | Iterable[str]) -> tuple[Network, ...]:
    """`"127.0.0.0/8, ::1/128"` (or the items of a list); a bare address is a network of one."""
    items = text.split(",") if isinstance(text, str) else text
    try:
        return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())
    except ValueError as exc:
        raise ValueError(f"not a network: {exc}") from None


def _judged(address: Address) -> Address:
    """The IPv4 address an IPv6 one reaches when it embeds one (mapped, NAT64, 6to4)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if any(address in network for network in NAT64):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def check_address(text: str, networks: Sequence[Network]) -> None:
    """Raises Blocked unless `text` is a public unicast address or in one of `networks`."""
    address = ipaddress.ip_address(text.split("%", 1)[0])  # a zone index (fe80::1%eth0) is no part of it
    judged = _judged(address)
    if any(a in network for network in networks for a in (address, judged) if a.version == network.version):
        return
    if not judged.is_global or judged.is_multicast or judged.is_reserved:
        raise Blocked(f"{text} is not a public address")


def check_url(url: str, networks: Sequence[Network], hosts: frozenset[str] | None = None) -> None:
    """Before a request: http(s) only, on `hosts` when given, and an address written in the URL
    checked at once (a name is checked when it is resolved to connect)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1" and the like
        raise Blocked("not a URL") from None
    if parts.scheme not in ("http", "https"):
        raise Blocked(f"scheme {parts.scheme or 'none'!r} (only http and https)")
    host = parts.hostname
    if not host:
        raise Blocked("no host")
    if hosts is not None and host not in hosts:
        raise Blocked(f"host {host} is not the source's (allow it with --allow-host)")
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return
    check_address(host, networks)


def resolve(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
