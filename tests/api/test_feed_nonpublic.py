"""The leak crawl of tests/api/test_nonpublic.py extended to the change feed and the snapshot:
anonymous clients learn nothing non-public from them; read-nonpublic tokens learn all of it."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.api.kommparl import local, read_feed, snapshot
from tests.api.test_nonpublic import SECRET, council, crawl, ids_in  # noqa: F401  (council: a fixture)


def feeds(client: TestClient, headers: dict[str, str]) -> tuple[list[dict[str, str]], list[dict[str, str]], str]:
    """Every entry of the Body's feed, every snapshot line, and their text, as `headers` see them."""
    body = client.get("/oparl/v1.1/body", headers=headers).json()["data"][0]
    entries, _ = read_feed(client, body["kommparl:changes"] + "?limit=3", headers)
    _, objects = snapshot(client, body["kommparl:snapshot"], headers)
    return entries, objects, json.dumps([entries, objects], ensure_ascii=False)


def test_the_anonymous_feed_and_snapshot_hold_no_secret(client: TestClient, council: None) -> None:  # noqa: F811
    entries, objects, text = feeds(client, {})
    assert SECRET not in text
    public = ids_in(crawl(client, {})) - {"https://oparl.example.org/oparl/v1.1/system"}  # in no Body
    # The snapshot is exactly what the lists show (no tombstones), and the feed names nothing else
    # but the depublished paper, which anonymous clients knew (it answers a tombstone, spec 6).
    assert {o["id"] for o in objects} == {i for i in public if client.get(local(i)).json().get("deleted") is not True}
    named = {e["id"] for e in entries}
    assert named <= public
    assert [e for e in entries if e["operation"] == "delete"] == [
        {**e, "operation": "delete", "reason": "nonPublic"} for e in entries if e["operation"] == "delete"
    ]
    depublished = {e["id"] for e in entries if e.get("reason") == "nonPublic"}
    assert {client.get(local(i)).json().get("deleted") for i in depublished} == {True}
    assert len(depublished) == 1


def test_no_object_in_the_anonymous_feed_or_snapshot_is_hidden(client: TestClient, council: None) -> None:  # noqa: F811
    entries, objects, _ = feeds(client, {})
    for url in {e["id"] for e in entries} | {o["id"] for o in objects}:
        answer = client.get(local(url))
        assert answer.status_code == 200, url  # never a 404: nothing never-public is named
        assert SECRET not in answer.text


def test_read_nonpublic_tokens_get_the_hidden_objects_too(
    client: TestClient,
    council: None,  # noqa: F811
    tokens: dict[str, str],
) -> None:
    insider = {"Authorization": tokens["insider"]}
    entries, objects, text = feeds(client, insider)
    public_entries, public_objects, _ = feeds(client, {})
    hidden = ids_in(crawl(client, insider)) - ids_in(crawl(client, {}))
    assert len(hidden) == 13  # as tests/api/test_nonpublic.py counts them
    assert hidden <= {e["id"] for e in entries}
    assert hidden <= {o["id"] for o in objects}
    assert f"{SECRET} Kommission" in text
    # The same positions: the anonymous feed is the full one filtered.
    cursors = [e["cursor"] for e in entries]
    assert [e["cursor"] for e in public_entries] == [c for c in cursors if c in {e["cursor"] for e in public_entries}]
    assert len(public_objects) < len(objects)
