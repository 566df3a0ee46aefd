"""Request examples of the write API, taken from the Lübeck demo records (fixtures/luebeck).

A record as the write API takes it: the fixture's record without `key` and `type` (the address
names them), an embedded record with its parent named (a Consultation's `paper`). File bytes are no
JSON: a fixture's `content` path becomes an `accessUrl` (bytes elsewhere), and the upload route
(`PUT /write/v1/file/{key}/content`) is the way to store them here.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from api.demo_records import demo_fixtures
from oparl.catalogue import TYPES, camel
from oparl.records import read_directory

# Arrays and properties in which a fixture record embeds records of another type.
EMBEDDED = {"membership": "Membership", "agendaItem": "AgendaItem", "consultation": "Consultation",
            "mainFile": "File", "auxiliaryFile": "File", "location": "Location"}  # fmt: skip
# Two types the Lübeck records do not hold: small records in their style.
MADE_UP: dict[str, tuple[str, dict[str, Any]]] = {
    "LegislativeTerm": ("luebeck/legislative-term/2023", {
        "body": "luebeck", "name": "Wahlperiode 2023–2028", "startDate": "2023-06-01", "endDate": "2028-05-31",
    }),
    "Location": ("luebeck/location/rathaus", {
        "body": "luebeck", "description": "Rathaus, Bürgerschaftssaal", "streetAddress": "Breite Straße 62",
        "postalCode": "23552", "locality": "Lübeck",
    }),
}  # fmt: skip
FILES_AT = "https://example.org/luebeck/"


@cache
def first_records() -> dict[str, tuple[str, dict[str, Any]]]:
    """For every type: the key and record of its first demo record, ready for a PUT."""
    found: dict[str, tuple[str, dict[str, Any]]] = dict(MADE_UP)
    folder = demo_fixtures()
    # Without the demo records (a trimmed install) the document merely lacks their examples.
    for record in read_directory(folder) if folder.is_dir() else []:
        _collect(record["type"], record, found)
    return found


def _collect(type_name: str, record: dict[str, Any], found: dict[str, tuple[str, dict[str, Any]]]) -> None:
    for name, value in record.items():
        for child in value if isinstance(value, list) else [value]:
            if name in EMBEDDED and isinstance(child, dict) and "key" in child:
                named = {**child, **_parent(EMBEDDED[name], type_name, record)}
                _collect(EMBEDDED[name], named, found)
    if type_name not in found:
        found[type_name] = (record["key"], _writable(record))


def _parent(child: str, parent: str, record: dict[str, Any]) -> dict[str, Any]:
    """What names the parent and the Body when an embedded record is written on its own."""
    named = {"body": record["body"]} if "body" in record else {}
    entry = TYPES[child].parent
    if entry is not None and entry.parent == parent and entry.child_column:
        named[camel(entry.child_column.removesuffix("_id"))] = record["key"]
    return named


def _writable(record: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy({k: v for k, v in record.items() if k not in ("key", "type")})
    if "content" in out:
        out["accessUrl"] = FILES_AT + str(out.pop("content")).removeprefix("files/")
    for name in ("mainFile", "auxiliaryFile"):  # their bytes: by the upload route
        out.pop(name, None)
    return out


def put_example(type_name: str) -> dict[str, Any]:
    if type_name not in first_records():
        return {}
    key, record = first_records()[type_name]
    return {"luebeck": {"summary": f"{type_name} {key} of the Lübeck demo", "value": record}}


def patch_example(type_name: str) -> dict[str, Any]:
    if type_name not in first_records():
        return {}
    key, record = first_records()[type_name]
    field = next((k for k in ("name", "role", "description", "fileName") if k in record), None)
    value = {field: record[field]} if field else {}
    return {"luebeck": {"summary": f"one property of {type_name} {key}", "value": value}}


def batch_example() -> dict[str, Any]:
    if not {"Organization", "Paper"} <= first_records().keys():
        return {}
    org_key, organization = first_records()["Organization"]
    paper_key, paper = first_records()["Paper"]
    operations = [
        {"op": "put", "type": "Organization", "key": org_key, "record": organization},
        {"op": "patch", "type": "Paper", "key": paper_key, "record": {"name": paper["name"]}},
    ]
    summary = "an Organization and a Paper in one transaction"
    return {"luebeck": {"summary": summary, "value": {"operations": operations}}}
