"""`oparl-server verify-mirror SYSTEM_URL`: this server's mirror of a source against the source's
completeness manifests (`oparl-server:manifest` on each Body), list by list."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlsplit

from api.settings import Settings
from models.db import check_schema, make_engine, make_sessionmaker
from oparl.ingest.client import Politeness, SourceClient, SourceError
from oparl.ingest.guard import Network, Policy
from oparl.manifest import Digest, mirror_digests

MAX_BODY_PAGES = 1000


def add_command(commands: Any, network: Any) -> None:
    verify = commands.add_parser("verify-mirror", help="check the mirror of a source against its manifests")
    verify.add_argument("system_url", help="the source's System URL (as harvested)")
    verify.add_argument("--allow-network", action="append", type=network, metavar="CIDR",
                        help="repeatable: a non-public network the check may connect to")  # fmt: skip


def verify_mirror(settings: Settings, args: argparse.Namespace, client: SourceClient | None = None) -> int:
    """0 when every list of every Body matches the source's manifest; 1 otherwise (printed).
    `client`: the source's (tests give one on a mock transport)."""
    networks: tuple[Network, ...] = settings.harvest_networks + tuple(args.allow_network or [])
    client = client or SourceClient(Politeness(rate=0.0), policy=Policy(networks=networks))
    hosts = frozenset({(urlsplit(args.system_url).hostname or "").lower()})
    engine = make_engine(url=settings.database_url)
    try:
        check_schema(engine)
        bodies = _bodies(client, args.system_url, hosts)
        differences = 0
        print("body\tlist\tsource count\tmirror count\tids")
        with make_sessionmaker(engine)() as session:
            for body in bodies:
                differences += _compare(client, body, mirror_digests(session, str(body.get("id"))), hosts)
    finally:
        client.close()
        engine.dispose()
    print("mirror complete" if not differences else f"{differences} lists differ")
    return 1 if differences else 0


def _bodies(client: SourceClient, system_url: str, hosts: frozenset[str]) -> list[dict[str, Any]]:
    system = client.json(system_url, hosts=hosts)
    url = system.get("body") if isinstance(system, dict) else None
    bodies: list[dict[str, Any]] = []
    for _ in range(MAX_BODY_PAGES):
        if not isinstance(url, str):
            break
        page = client.json(url, hosts=hosts)
        bodies += [b for b in page.get("data", []) if isinstance(b, dict)]
        url = (page.get("links") or {}).get("next")
    return bodies


def _compare(client: SourceClient, body: dict[str, Any], mirror: dict[str, Digest], hosts: frozenset[str]) -> int:
    """Prints a line per list; returns how many differ."""
    body_id, url = body.get("id"), body.get("oparl-server:manifest")
    if not isinstance(url, str):
        print(f"{body_id}\t-\t-\t-\tno oparl-server:manifest on this Body")
        return 1
    try:
        manifest = client.json(url, hosts=hosts)
    except SourceError as exc:
        print(f"{body_id}\t-\t-\t-\tmanifest unreadable: {exc.reason}")
        return 1
    differ = 0
    for name, source in sorted((manifest.get("lists") or {}).items()):
        local = mirror.get(name, Digest(0, "", ""))
        same = source.get("count") == local.count and source.get("ids") == local.ids
        differ += not same
        state = "same" if same else "DIFFERENT"
        print(f"{body_id}\t{name}\t{source.get('count')}\t{local.count}\t{state}")
    return differ
