"""Where webhooks may be sent: public addresses only, unless the operator allows a network
(OPARL_WEBHOOK_ALLOW_NETWORKS, like the harvest's). Checked when a subscription is made, with the
name resolved, and again at every delivery where the connection is made (oparl.ingest.guard's
transport), so a name that later resolves to a private address (DNS rebinding) cannot pass."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from oparl.ingest.guard import Blocked, Network, Resolver, check_address, check_url, resolve

__all__ = ["Blocked", "check_target"]
MAX_URL = 2000


def check_target(url: str, networks: Sequence[Network], resolver: Resolver = resolve) -> None:
    """Raises Blocked unless `url` is http(s) and every address its host resolves to is allowed."""
    if len(url) > MAX_URL:
        raise Blocked(f"longer than {MAX_URL} characters")
    if any(ord(c) <= 0x20 or 0x7F <= ord(c) <= 0x9F or c in '\\"<>^`{|}' for c in url):
        raise Blocked("not a URL (spaces, control or unsafe characters)")
    check_url(url, networks)
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise Blocked("credentials in the URL (send them in the path or not at all)")
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Blocked("not a port number") from None
    try:
        addresses = list(dict.fromkeys(resolver(host, port)))
    except (OSError, UnicodeError, ValueError) as exc:
        raise Blocked(f"{host} does not resolve ({exc.__class__.__name__})") from None
    if not addresses:
        raise Blocked(f"{host}: no address")
    for address in addresses:
        try:
            check_address(address, networks)
        except Blocked as exc:
            raise Blocked(f"{host} resolves to {exc.reason}") from None
