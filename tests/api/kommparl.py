"""The kommParl 0.1 shapes as ../shared/docs/kommparl-notes.md states them, as JSON Schemas, and
helpers that fetch feed pages and snapshots and validate every page and every line against them."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from tests.conftest import BASE_URL

DRAFT = "https://schema.kommparl.de/0.1/"
CURSOR = {"type": "string", "pattern": "^[A-Za-z0-9._~-]{1,512}$"}
# Whole seconds or fractions, and always a numeric offset: never "Z", never none.
DATE_TIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$"}
URL = {"type": "string", "pattern": "^https?://"}
# Extra keys only with a prefix that is not kommparl's.
EXTRA: dict[str, Any] = {"^(?!kommparl:)[A-Za-z0-9-]+:": {}}

ENTRY: dict[str, Any] = {
    "type": "object",
    "required": ["cursor", "operation", "type", "id", "modified"],
    "properties": {
        "cursor": CURSOR,
        "operation": {"enum": ["upsert", "delete", "redact"]},
        "type": {"type": "string", "pattern": "^https://schema\\.oparl\\.org/1\\.1/[A-Za-z]+$"},
        "id": URL,
        "modified": DATE_TIME,
        "reason": {"type": "string"},
    },
    "patternProperties": EXTRA,
    "additionalProperties": False,
    "allOf": [
        {  # reason: absent on upsert, required otherwise, with the values the draft names
            "if": {"properties": {"operation": {"const": "upsert"}}},
            "then": {"not": {"required": ["reason"]}},
            "else": {"required": ["reason"]},
        },
        {
            "if": {"properties": {"operation": {"const": "delete"}}},
            "then": {"properties": {"reason": {"enum": ["deleted", "withdrawn", "nonPublic"]}}},
        },
        {
            "if": {"properties": {"operation": {"const": "redact"}}},
            "then": {"properties": {"reason": {"const": "privacy"}}},
        },
    ],
}
PAGE: dict[str, Any] = {
    "type": "object",
    "required": ["data", "cursor", "links"],
    "properties": {
        "data": {"type": "array", "items": ENTRY},
        "cursor": CURSOR,
        "links": {
            "type": "object",
            "properties": {"next": URL, "self": URL},
            "additionalProperties": False,
        },
    },
    "patternProperties": EXTRA,
    "additionalProperties": False,  # no `pagination`, no filters
}
HEADER: dict[str, Any] = {
    "type": "object",
    "required": ["type", "body", "cursor", "generated"],
    "properties": {
        "type": {"const": DRAFT + "SnapshotHeader"},
        "body": URL,
        "cursor": CURSOR,
        "generated": DATE_TIME,
    },
    "patternProperties": EXTRA,
    "additionalProperties": False,
}
END: dict[str, Any] = {
    "type": "object",
    "required": ["type", "count"],
    "properties": {"type": {"const": DRAFT + "SnapshotEnd"}, "count": {"type": "integer", "minimum": 0}},
    "patternProperties": EXTRA,
    "additionalProperties": False,
}
OBJECT: dict[str, Any] = {  # an object line: an OParl object (its own schema is tests/oparl_schema.py's)
    "type": "object",
    "required": ["id", "type"],
    "properties": {"id": URL, "type": {"type": "string", "pattern": "^https://schema\\.oparl\\.org/1\\.1/"}},
    "not": {"properties": {"deleted": {"const": True}}, "required": ["deleted"]},
}
for schema in (PAGE, HEADER, END, OBJECT):
    Draft202012Validator.check_schema(schema)
VALIDATORS = {name: Draft202012Validator(s) for name, s in (("page", PAGE), ("header", HEADER), ("end", END),
                                                           ("object", OBJECT))}  # fmt: skip


def valid(name: str, document: Any) -> Any:
    errors = [e.message for e in VALIDATORS[name].iter_errors(document)]
    assert errors == [], (name, errors, document)
    return document


def local(url: str) -> str:
    return url.removeprefix(BASE_URL)


def feed_page(client: TestClient, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.get(local(url), headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    page: dict[str, Any] = valid("page", response.json())
    return page


def read_feed(client: TestClient, url: str, headers: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], str]:
    """Every entry from `url` on (links.next followed to the end), and the last cursor."""
    entries: list[dict[str, Any]] = []
    while True:
        page = feed_page(client, url, headers)
        entries += page["data"]
        if "next" not in page["links"]:
            return entries, page["cursor"]
        url = page["links"]["next"]


def snapshot(client: TestClient, url: str, headers: dict[str, str] | None = None) -> tuple[dict[str, Any], list[Any]]:
    """The header and the object lines of a snapshot; every line validated, the count checked."""
    response = client.get(local(url), headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.text.splitlines()]
    header, objects, end = valid("header", lines[0]), lines[1:-1], valid("end", lines[-1])
    for line in objects:
        valid("object", line)
    assert end["count"] == len(objects)
    assert len({o["id"] for o in objects}) == len(objects)  # each exactly once
    return header, objects
