"""The completeness manifest recomputed from what anonymous clients read, and the leak crawl
extended to manifests and webhook payloads: neither names or counts anything non-public."""

from __future__ import annotations

import datetime as dt
import hashlib
from contextlib import nullcontext
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from api.auth import create_token
from models import Body
from oparl.ingest.guard import LOOPBACK
from oparl.urls import UrlBuilder
from oparl.webhooks import subscriptions
from oparl.webhooks.deliver import Deliverer, Policy, Sender
from oparl.webhooks.lease import Lease
from tests.api.test_nonpublic import LISTS, SECRET, council, council_operations, crawl, ids_in
from tests.conftest import BASE_URL, FakeClock
from tests.webhooks.receiver import receiving

__all__ = ["council"]  # the fixture, used by name


def walk(client: TestClient, url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        page = client.get(next_url.removeprefix(BASE_URL)).json()
        items += page["data"]
        next_url = page["links"].get("next")
    return items


def recomputed(items: list[dict[str, Any]]) -> tuple[int, str, str]:
    """The digests as the README specifies them, written out independently of oparl/manifest.py."""
    rows = sorted((i["id"], dt.datetime.fromisoformat(i["modified"]).astimezone(dt.UTC)) for i in items)
    ids = "".join(f"{i}\n" for i, _ in rows).encode()
    versions = "".join(f"{i}\t{m:%Y-%m-%dT%H:%M:%SZ}\n" for i, m in rows).encode()
    return len(rows), hashlib.sha256(ids).hexdigest(), hashlib.sha256(versions).hexdigest()


def test_manifest_equals_what_a_client_recomputes_from_the_lists(client: TestClient, luebeck: None) -> None:
    body = walk(client, "/oparl/v1.1/body")[0]
    manifest = client.get(body["oparl-server:manifest"].removeprefix(BASE_URL))
    assert manifest.status_code == 200
    lists = manifest.json()["lists"]
    assert set(lists) == set(LISTS)
    assert lists["paper"]["count"] > 0
    for name in LISTS:
        got = lists[name]
        assert got["url"] == body[name]
        assert (got["count"], got["ids"], got["versions"]) == recomputed(walk(client, body[name])), name


def test_manifest_counts_and_digests_only_public_objects(
    client: TestClient, council: None, tokens: dict[str, str]
) -> None:
    pages = crawl(client, {})
    body = walk(client, "/oparl/v1.1/body")[0]
    manifest_url = body["oparl-server:manifest"]
    assert manifest_url in pages  # the crawl reached it
    assert SECRET not in pages[manifest_url]
    lists = client.get(manifest_url.removeprefix(BASE_URL)).json()["lists"]
    for name in LISTS:
        assert (lists[name]["count"], lists[name]["ids"], lists[name]["versions"]) == recomputed(
            walk(client, body[name])
        ), name
    # A read-nonpublic token gets the same manifest: it is about the public copy a mirror can hold.
    insider = client.get(manifest_url.removeprefix(BASE_URL), headers={"Authorization": tokens["insider"]})
    assert insider.json()["lists"] == lists


def test_webhook_payloads_name_nothing_non_public(
    client: TestClient, session: Session, tokens: dict[str, str], clock: FakeClock, urls: UrlBuilder
) -> None:
    """A subscription made before the council is written receives every entry of its creation,
    as the anonymous feed has them: none for never-public objects, no SECRET anywhere."""
    auth = {"Authorization": tokens["writer"]}
    ops = council_operations()
    setup = [op for op in ops if op["type"] in ("System", "Body")]
    assert client.post("/write/v1/batch", json={"operations": setup}, headers=auth).status_code == 200
    body_id = session.scalars(select(Body.id)).one()
    token, _ = create_token(session, "hooks", ["webhooks"])
    with receiving() as receiver:
        sub = subscriptions.create(session, urls, token_id=token.id, body=body_id, url=receiver.url,
                                   networks=LOOPBACK)  # fmt: skip
        session.commit()
        rest = [op for op in ops if op not in setup]
        assert client.post("/write/v1/batch", json={"operations": rest}, headers=auth).status_code == 200
        deliverer = Deliverer(lambda: nullcontext(session), urls, Policy(networks=LOOPBACK, timeout=5.0),
                              Sender(LOOPBACK, 5.0), Lease("leak", 60.0), clock=clock)  # fmt: skip
        assert deliverer.run_once() >= 1
    anonymous = crawl(client, {})
    public_ids = ids_in({u: t for u, t in anonymous.items() if '"deleted":true' not in t.replace(" ", "")})
    delivered = receiver.entries()
    assert delivered
    for request in receiver.requests:
        assert SECRET.encode() not in request.body
        Webhook(sub.secret).verify(request.body, request.headers)
    named = {e["id"] for e in delivered}
    assert named <= public_ids  # only objects an anonymous client can read
    assert {e["operation"] for e in delivered} == {"upsert"}
