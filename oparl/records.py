"""What a record's properties are: how each OParl property of each type is stored and written."""

from __future__ import annotations

import json
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Table, inspect
from sqlalchemy.orm import Mapper

import models
from models import OParlObject
from oparl.catalogue import TYPES, camel, children_of, derived, link_ends, snake
from oparl.errors import RecordError, Where

# File metadata that the server derives from bytes it holds; given values count only for files it does not.
FROM_BYTES = frozenset({"mime_type", "size", "sha1_checksum", "sha512_checksum"})
# A File's text is served at its own URL only (oparl/file.py), never in the copies embedded in a
# Paper or Meeting: a record that leaves it out (such a copy, harvested) keeps the stored text;
# `"text": null` clears it.
KEPT_IF_ABSENT = frozenset({"text"})
INTERNAL = frozenset(
    {"id", "key", "created", "modified", "deleted", "stored", "position", "nonpublic", "restricted", "revision",
     "rendered", "rendered_key", "text_state"}
)  # fmt: skip
# Paper-to-paper links can be written from either end; a record that leaves them out keeps them,
# so two records describing one link never undo each other.
ADDITIVE = frozenset(
    rel.key
    for t in TYPES.values()
    for rel in inspect(t.model).relationships
    if any(rel.secondary is table for s in TYPES.values() for table in s.mutual_links)
)


class Field(Enum):
    SKIP = "skip"
    UNKNOWN = "unknown"
    CONTENT = "content"  # File bytes from the fixture folder (loader-only field)
    NONPUBLIC = "nonpublic"  # `nonPublic: true` hides the object from anonymous clients
    SCALAR = "scalar"
    ONE = "one"  # a reference or one embedded object, stored as <attr>_id
    MANY = "many"  # an ordered link table: references or embedded objects
    CHILDREN = "children"  # an embedded array whose rows point at their parent


@cache
def _classify(type_name: str, name: str) -> tuple[Field, str]:
    oparl_type = TYPES[type_name]
    model = oparl_type.model
    attr = oparl_type.aliases.get(snake(name), snake(name))
    mapper: Mapper[Any] = inspect(model)
    if name in ("key", "type") or attr in derived(type_name):
        return Field.SKIP, attr
    if name == "content" and model is models.File:
        return Field.CONTENT, attr
    if name == "nonPublic":
        return Field.NONPUBLIC, "restricted"
    if any(e.array == attr for _, e in children_of(type_name)):
        return Field.CHILDREN, attr
    if attr in mapper.columns and attr not in INTERNAL and not mapper.columns[attr].foreign_keys:
        return Field.SCALAR, attr
    if f"{attr}_id" in mapper.columns:
        return Field.ONE, attr
    if attr in mapper.relationships and _writable_link(model, mapper.relationships[attr]):
        return Field.MANY, attr
    return Field.UNKNOWN, attr


def _writable_link(model: type[OParlObject], rel: Any) -> bool:
    """A link table this type writes: one it owns, or the paper link it may write from the other end."""
    if not isinstance(rel.secondary, Table):
        return False
    if rel.info.get("reverse"):
        return bool(rel.key == "superordinated_paper")
    return link_ends(rel.secondary)[0].model is model


def classify(model: type[OParlObject], name: str) -> tuple[Field, str]:
    """What an input property of `model` is, and the attribute that stores it."""
    return _classify(model.__name__, name)


@cache
def properties(type_name: str) -> tuple[str, ...]:
    """Every input property of a type, as the camelCase names a record uses."""
    mapper: Mapper[Any] = inspect(TYPES[type_name].model)
    names = {camel(c.key) for c in mapper.columns if not c.foreign_keys}
    names |= {camel(c.key.removesuffix("_id")) for c in mapper.columns if c.foreign_keys}
    names |= {camel(r.key) for r in mapper.relationships}
    names.add("nonPublic")
    kept = {n for n in names if _classify(type_name, n)[0] not in (Field.SKIP, Field.UNKNOWN, Field.CONTENT)}
    return tuple(sorted(kept))


_MAPPERS: dict[type[OParlObject], Mapper[Any]] = {}


def mapper(model: type[OParlObject]) -> Mapper[Any]:
    """`inspect(model)`, which costs more than a dict lookup and is asked for every field."""
    found = _MAPPERS.get(model)
    if found is None:
        found = _MAPPERS[model] = inspect(model)
    return found


def relationship(model: type[OParlObject], attr: str) -> Any:
    return mapper(model).relationships[attr]


def nullable(model: type[OParlObject], column: str) -> bool:
    return bool(mapper(model).columns[column].nullable)


@cache
def two_sided_links() -> frozenset[str]:
    """Link tables that records write from both ends (one end as a reversed relationship)."""
    return frozenset(
        str(getattr(rel.secondary, "name", ""))
        for type_name, oparl_type in TYPES.items()
        for name in properties(type_name)
        if (rel := mapper(oparl_type.model).relationships.get(classify(oparl_type.model, name)[1])) is not None
        and rel.secondary is not None
        and rel.info.get("reverse")
    )


def read_directory(folder: Path) -> list[dict[str, Any]]:
    """The records of every `*.json` file in `folder`, files in name order, records in file order."""
    records: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RecordError(Where(path=path.name), f"not valid JSON: {exc}") from exc
        if not isinstance(data, list):
            raise RecordError(Where(path=path.name), "expected a JSON array of records")
        records.extend(data)
    if not records:
        raise RecordError(Where(path=str(folder)), "no records (*.json) found")
    return records
