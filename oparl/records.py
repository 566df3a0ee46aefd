"""What a record's properties are: how each OParl property of each type is stored and written."""

from __future__ import annotations

from enum import Enum
from functools import cache
from typing import Any

from sqlalchemy import Table, inspect
from sqlalchemy.orm import Mapper

import models
from models import OParlObject
from oparl.cascade import link_ends
from oparl.errors import Unprocessable
from oparl.urls import SEGMENTS

# Embedded arrays (spec 4) and the column that points from each child to its parent.
CHILDREN: dict[tuple[str, str], str] = {
    ("Body", "legislative_term"): "body_id",
    ("Person", "membership"): "person_id",
    ("Meeting", "agenda_item"): "meeting_id",
    ("Paper", "consultation"): "paper_id",
}
# Where a child's place in its parent's array is kept.
POSITION = {"AgendaItem": "order", "Consultation": "position"}
# Properties the server derives (list URLs, back-references, checksums): accepted and ignored.
DERIVED = frozenset(
    {"id", "type", "created", "modified", "deleted", "oparl_version", "location_list",
     "legislative_term_list", "derivative_file", "bodies", "organizations", "persons", "meetings",
     "papers", "stored", "ever_public"}
)  # fmt: skip
DERIVED_BY_TYPE = {
    "System": {"body"},
    "Body": {
        "organization",
        "person",
        "meeting",
        "paper",
        "agenda_item",
        "consultation",
        "file",
        "membership",
    },
    "Organization": {"meeting", "consultation", "membership"},
    "File": {"meeting", "agenda_item", "paper"},
    "AgendaItem": {"consultation"},
}
ALIASES = {("Person", "location_object"): "location"}
# File metadata that the server derives from bytes it holds; given values count only for files it does not.
FROM_BYTES = frozenset({"mime_type", "size", "sha1_checksum", "sha512_checksum"})
INTERNAL = frozenset(
    {"id", "key", "created", "modified", "deleted", "stored", "position", "nonpublic", "restricted", "revision",
     "rendered", "rendered_key"}
)  # fmt: skip
# Paper-to-paper links can be written from either end; a record that leaves them out keeps them,
# so two records describing one link never undo each other.
ADDITIVE = frozenset({"related_paper", "superordinated_paper", "subordinated_paper"})
MODELS: dict[str, type[OParlObject]] = {name: getattr(models, name) for name in SEGMENTS}
TABLE_MODELS = {model.__tablename__: model for model in MODELS.values()}  # type: ignore[attr-defined]


class Field(Enum):
    SKIP = "skip"
    UNKNOWN = "unknown"
    CONTENT = "content"  # File bytes from the fixture folder (loader-only field)
    NONPUBLIC = "nonpublic"  # `nonPublic: true` hides the object from anonymous clients
    SCALAR = "scalar"
    ONE = "one"  # a reference or one embedded object, stored as <attr>_id
    MANY = "many"  # an ordered link table: references or embedded objects
    CHILDREN = "children"  # an embedded array whose rows point at their parent


class RecordError(Unprocessable):
    """A record that cannot be stored; `message` names the record and the field."""


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def camel(attr: str) -> str:
    head, *rest = attr.split("_")
    return head + "".join(part.title() for part in rest)


@cache
def _classify(type_name: str, name: str) -> tuple[Field, str]:
    model = MODELS[type_name]
    attr = ALIASES.get((type_name, snake(name)), snake(name))
    mapper: Mapper[Any] = inspect(model)
    if name in ("key", "type") or attr in DERIVED or attr in DERIVED_BY_TYPE.get(type_name, ()):
        return Field.SKIP, attr
    if name == "content" and model is models.File:
        return Field.CONTENT, attr
    if name == "nonPublic":
        return Field.NONPUBLIC, "restricted"
    if (type_name, attr) in CHILDREN:
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
    return link_ends(rel.secondary)[0] is model


def classify(model: type[OParlObject], name: str) -> tuple[Field, str]:
    """What an input property of `model` is, and the attribute that stores it."""
    return _classify(model.__name__, name)


@cache
def properties(type_name: str) -> tuple[str, ...]:
    """Every input property of a type, as the camelCase names a record uses."""
    mapper: Mapper[Any] = inspect(MODELS[type_name])
    names = {camel(c.key) for c in mapper.columns if not c.foreign_keys}
    names |= {camel(c.key.removesuffix("_id")) for c in mapper.columns if c.foreign_keys}
    names |= {camel(r.key) for r in mapper.relationships}
    names.add("nonPublic")
    kept = {n for n in names if _classify(type_name, n)[0] not in (Field.SKIP, Field.UNKNOWN, Field.CONTENT)}
    return tuple(sorted(kept))


def fk_target(model: type[OParlObject], attr: str) -> type[OParlObject]:
    (fk,) = inspect(model).columns[f"{attr}_id"].foreign_keys
    return TABLE_MODELS[fk.column.table.name]


@cache
def parent_of(type_name: str) -> tuple[str, str] | None:
    """(parent type, column to the parent) of an embedded-only child type (Consultation: Paper,
    paper_id), else None."""
    for (parent_type, attr), fk in CHILDREN.items():
        if inspect(MODELS[parent_type]).relationships[attr].mapper.class_ is MODELS[type_name]:
            return parent_type, fk
    return None
