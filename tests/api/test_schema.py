"""Every object served for the Lübeck fixtures validates against the official OParl 1.1 schemas."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import BASE_URL
from tests.oparl_schema import SCHEMA_DIR, errors

pytestmark = [
    pytest.mark.usefixtures("luebeck"),
    pytest.mark.skipif(not SCHEMA_DIR.is_dir(), reason=f"official schemas not found at {SCHEMA_DIR}"),
]
LIST_PROPERTIES = {
    "Body": (
        "organization",
        "person",
        "meeting",
        "paper",
        "agendaItem",
        "consultation",
        "file",
        "locationList",
        "legislativeTermList",
        "membership",
    ),
    "Organization": ("meeting", "consultation"),
}


def local(url: str) -> str:
    assert url.startswith(BASE_URL), url
    return url.removeprefix(BASE_URL)


def walk(client: TestClient, url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        page = client.get(local(next_url)).json()
        items += page["data"]
        next_url = page["links"].get("next")
    return items


def embedded(obj: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for value in obj.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and "type" in item and "id" in item:
                found += [item, *embedded(item)]
    return found


def crawl(client: TestClient) -> dict[str, dict[str, Any]]:
    """Every object reachable from the System: listed, embedded and fetched at its own id."""
    system = client.get("/oparl/v1.1/system").json()
    seen: dict[str, dict[str, Any]] = {system["id"]: system}
    queue = walk(client, system["body"])
    while queue:
        obj = queue.pop()
        for inner in [obj, *embedded(obj)]:
            if inner["id"] in seen:
                continue
            seen[inner["id"]] = inner
            fetched = client.get(local(inner["id"])).json()
            seen[inner["id"] + "#own"] = fetched
            queue += embedded(fetched)
            for prop in LIST_PROPERTIES.get(fetched["type"].rsplit("/", 1)[1], ()):
                queue += walk(client, fetched[prop])
    return seen


def test_every_served_object_validates(client: TestClient) -> None:
    objects = crawl(client)
    types = sorted({o["type"].rsplit("/", 1)[1] for o in objects.values()})
    assert types == [
        "AgendaItem",
        "Body",
        "Consultation",
        "File",
        "Meeting",
        "Membership",
        "Organization",
        "Paper",
        "Person",
        "System",
    ]
    assert len(objects) == 2 * 63 - 1  # the System is counted once; every other object listed and fetched
    problems = {url: errs for url, obj in objects.items() if (errs := errors(obj))}
    assert problems == {}


def test_validator_rejects_what_the_spec_forbids() -> None:
    paper = {
        "id": "https://x.example/p/1",
        "type": "https://schema.oparl.org/1.1/Paper",
        "date": "2024-01-01T00:00:00+01:00",
        "modified": "2024-01-01T00:00:00Z",
    }
    assert sorted(errors(paper)) == [
        "date: '2024-01-01T00:00:00+01:00' is not a 'date'",
        "modified: '2024-01-01T00:00:00Z' is not a 'date-time'",
    ]
