"""The official OParl 1.1 schemas (../shared/oparl/schema) as a jsonschema validator.

The files use a custom `"schema": "X.json"` keyword for embedded objects; it becomes a `$ref`.
Their `format`s are checked strictly, as the spec's own check script does.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "shared" / "oparl" / "schema"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")

formats = FormatChecker()
formats.checks("date")(lambda v: not isinstance(v, str) or bool(DATE.match(v)))
formats.checks("date-time")(lambda v: not isinstance(v, str) or bool(DATE_TIME.match(v)))
formats.checks("url")(lambda v: not isinstance(v, str) or bool(URL.match(v)))


def _convert(node: Any) -> Any:
    if isinstance(node, dict):
        if "schema" in node and isinstance(node["schema"], str):
            return {"$ref": node["schema"]}
        return {k: _convert(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_convert(v) for v in node]
    return node


@cache
def validator(type_name: str) -> Draft7Validator:
    schemas = {p.name: _convert(json.loads(p.read_text())) for p in SCHEMA_DIR.glob("*.json")}
    registry: Registry[Any] = Registry().with_resources(
        (name, Resource.from_contents(schema, default_specification=_draft7())) for name, schema in schemas.items()
    )
    return Draft7Validator(schemas[f"{type_name}.json"], registry=registry, format_checker=formats)


def _draft7() -> Any:
    from referencing.jsonschema import DRAFT7

    return DRAFT7


def errors(obj: dict[str, Any]) -> list[str]:
    if not SCHEMA_DIR.is_dir():
        pytest.skip(f"official OParl schemas not found at {SCHEMA_DIR} (../shared beside the checkout)")
    type_name = obj["type"].rsplit("/", 1)[1]
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(type_name).iter_errors(obj)]
