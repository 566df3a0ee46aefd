"""OParl-shaped records into the tables: the one way data gets in (fixtures now, write API later).

A record is an OParl object in its JSON shape with a stable `key` instead of an `id`. References
are keys of other records or OParl URLs of this server; embedded objects are nested records.
Loading is an upsert by key: unchanged records stay untouched (their `modified` does not move),
changed ones and every object they are embedded in get `modified` = the load's timestamp.
The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Date, Table, delete, insert, inspect, select
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.types import JSON, BigInteger, Boolean, Integer

import models
from models import BodyScoped, OParlObject, utcnow
from models.base import UTCDateTime
from oparl.base import SCHEMA_BASE
from oparl.content import ContentStore
from oparl.errors import Unprocessable
from oparl.urls import SEGMENTS, UrlBuilder

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
    {
        "id",
        "type",
        "created",
        "modified",
        "deleted",
        "oparl_version",
        "location_list",
        "legislative_term_list",
        "derivative_file",
        "bodies",
        "organizations",
        "persons",
        "meetings",
        "papers",
        "size",
        "sha1_checksum",
        "sha512_checksum",
    }
)
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
INTERNAL = frozenset({"id", "key", "created", "modified", "deleted", "stored", "position"})
MODELS: dict[str, type[OParlObject]] = {name: getattr(models, name) for name in SEGMENTS}
TABLE_MODELS = {model.__tablename__: model for model in MODELS.values()}  # type: ignore[attr-defined]


SCOPES = ("body", "system")


class Field(Enum):
    SKIP = "skip"
    UNKNOWN = "unknown"
    CONTENT = "content"  # File bytes from the fixture folder (loader-only field)
    SCALAR = "scalar"
    ONE = "one"  # a reference or one embedded object, stored as <attr>_id
    MANY = "many"  # an ordered link table: references or embedded objects
    CHILDREN = "children"  # an embedded array whose rows point at their parent


@cache
def _classify(type_name: str, name: str) -> tuple[Field, str]:
    model = MODELS[type_name]
    attr = ALIASES.get((type_name, snake(name)), snake(name))
    mapper: Mapper[Any] = inspect(model)
    if name in ("key", "type") or attr in DERIVED or attr in DERIVED_BY_TYPE.get(type_name, ()):
        return Field.SKIP, attr
    if name == "content" and model is models.File:
        return Field.CONTENT, attr
    if (type_name, attr) in CHILDREN:
        return Field.CHILDREN, attr
    if attr in mapper.columns and attr not in INTERNAL and not mapper.columns[attr].foreign_keys:
        return Field.SCALAR, attr
    if f"{attr}_id" in mapper.columns:
        return Field.ONE, attr
    if attr in mapper.relationships and mapper.relationships[attr].secondary is not None:
        return Field.MANY, attr
    return Field.UNKNOWN, attr


def classify(model: type[OParlObject], name: str) -> tuple[Field, str]:
    """What an input property of `model` is, and the attribute that stores it."""
    return _classify(model.__name__, name)


class RecordError(Unprocessable):
    """A record that cannot be stored; `message` names the record and the field."""


@dataclass
class LoadReport:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


class Loader:
    def __init__(
        self,
        session: Session,
        *,
        urls: UrlBuilder,
        store: ContentStore,
        base_dir: Path | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        self.session, self.urls, self.store, self.base_dir = session, urls, store, base_dir
        self.now = now or utcnow()
        self.created: set[OParlObject] = set()
        self.changed: set[OParlObject] = set()
        self.seen: list[OParlObject] = []
        self.parent: dict[OParlObject, OParlObject] = {}
        self.pending: list[tuple[OParlObject, dict[str, Any], str]] = []
        self.report = LoadReport()

    def load(self, records: list[dict[str, Any]]) -> LoadReport:
        # Rows are written at explicit flushes only, once their required fields are set.
        with self.session.no_autoflush:
            for index, record in enumerate(records):
                type_name = (
                    str(record.get("type", "")).removeprefix(SCHEMA_BASE) if isinstance(record, dict) else ""
                )
                if type_name not in MODELS:
                    raise RecordError(f"[{index}].type: not an OParl type: {str(record)[:80]!r}")
                self._upsert(MODELS[type_name], record, f"{type_name} {record.get('key')!r}", {})
            # References are resolved once every record exists, so records may name later ones.
            for obj, record, path in self.pending:
                self._relations(obj, record, path)
        self.session.flush()
        self._stamp()
        return self.report

    # -- pass 1: rows and their own fields --------------------------------------------------------

    def _upsert(
        self, model: type[OParlObject], record: dict[str, Any], path: str, fixed: dict[str, Any]
    ) -> OParlObject:
        obj = self._row(model, record, path)
        nested = [
            (field, attr, value, f"{path}.{name}")
            for name, value in record.items()
            for field, attr in [classify(model, name)]
            if self._field(obj, field, attr, value, f"{path}.{name}")
        ]
        # What the parent decides (its id, the Body, the position in its array) wins over the record.
        for attr, value in fixed.items():
            self._set(obj, attr, value)
        if isinstance(obj, BodyScoped) and obj.body_id is None:
            raise RecordError(f"{path}.body: the record names no Body")
        self.session.flush()  # the row needs its id before its embedded objects point at it
        body_id = obj.body_id if isinstance(obj, BodyScoped) else obj.id
        for field, attr, value, field_path in nested:
            if field is Field.CHILDREN:
                self._children(obj, attr, value, field_path)
            elif field is Field.MANY:
                target = inspect(model).relationships[attr].mapper.class_
                for index, item in enumerate(value):
                    if isinstance(item, dict):
                        self._embed(obj, target, item, f"{field_path}[{index}]", body_id)
            else:
                child = self._embed(obj, _fk_target(model, attr), value, field_path, body_id)
                self._set(obj, f"{attr}_id", child.id)
        self.pending.append((obj, record, path))
        return obj

    def _row(self, model: type[OParlObject], record: Any, path: str) -> OParlObject:
        if not isinstance(record, dict):
            raise RecordError(f"{path}: expected an object, got {type(record).__name__}")
        key = record.get("key")
        if not isinstance(key, str) or not key:
            raise RecordError(f"{path}.key: every record needs a non-empty string key")
        obj = self.session.scalar(select(model).where(model.key == key))
        if obj is None:
            obj = model()
            obj.key, obj.created, obj.modified, obj.deleted = key, self.now, self.now, False
            self.session.add(obj)
            self.created.add(obj)
        elif obj.deleted:
            self._set(obj, "deleted", False)
        self.seen.append(obj)
        return obj

    def _embed(
        self, parent: OParlObject, model: type[OParlObject], record: Any, path: str, body_id: int | None
    ) -> OParlObject:
        child = self._upsert(model, record, path, {"body_id": body_id})
        self.parent[child] = parent
        return child

    def _field(self, obj: OParlObject, field: Field, attr: str, value: Any, path: str) -> bool:
        """Stores a plain field now; True when the field holds embedded objects to store next."""
        if field is Field.UNKNOWN:
            raise RecordError(f"{path}: {type(obj).__name__} has no such property")
        if field is Field.CONTENT:
            self._content(obj, value, path)
        elif field is Field.SCALAR:
            self._set(obj, attr, convert(inspect(type(obj)).columns[attr].type, value, path))
        elif field in (Field.CHILDREN, Field.MANY) and not isinstance(value, list):
            raise RecordError(f"{path}: expected an array")
        elif field is Field.CHILDREN:
            return True
        elif field is Field.MANY:
            return any(isinstance(item, dict) for item in value)
        elif field is Field.ONE and isinstance(value, dict):
            return True
        elif field is Field.ONE and attr in SCOPES:
            # The scope is needed before the row can be written, so it must exist already.
            self._set(obj, f"{attr}_id", self._resolve(value, _fk_target(type(obj), attr), path))
        return False

    def _children(self, parent: OParlObject, attr: str, value: list[Any], path: str) -> None:
        type_name = type(parent).__name__
        fk = CHILDREN[(type_name, attr)]
        target: type[OParlObject] = inspect(type(parent)).relationships[attr].mapper.class_
        body_id = parent.body_id if isinstance(parent, BodyScoped) else parent.id
        kept: set[int] = set()
        for index, item in enumerate(value):
            fixed: dict[str, Any] = {fk: parent.id, "body_id": body_id}
            if target.__name__ in POSITION:
                fixed[POSITION[target.__name__]] = index
            child = self._upsert(target, item, f"{path}[{index}]", fixed)
            self.parent[child] = parent
            kept.add(child.id)
        for gone in self.session.scalars(select(target).where(getattr(target, fk) == parent.id)):
            if gone.id not in kept and not gone.deleted:
                self._set(gone, "deleted", True)
                self.parent[gone] = parent
                self.report.deleted += 1

    def _content(self, file: OParlObject, value: Any, path: str) -> None:
        if not isinstance(value, str) or self.base_dir is None:
            raise RecordError(f"{path}: expected a path relative to the fixture folder")
        source = (self.base_dir / value).resolve()
        if not source.is_relative_to(self.base_dir.resolve()) or not source.is_file():
            raise RecordError(f"{path}: no file {value!r} in the fixture folder")
        stored = self.store.put(source.read_bytes(), getattr(file, "file_name", None) or source.name)
        for attr, val in (
            ("stored", True),
            ("size", stored.size),
            ("sha512_checksum", stored.sha512),
            ("sha1_checksum", stored.sha1),
            ("mime_type", stored.mime_type),
        ):
            self._set(file, attr, val)
        if getattr(file, "file_name", None) is None:
            self._set(file, "file_name", source.name)

    # -- pass 2: references and ordered links ----------------------------------------------------

    def _relations(self, obj: OParlObject, record: dict[str, Any], path: str) -> None:
        model = type(obj)
        for name, value in record.items():
            field, attr = classify(model, name)
            if field is Field.MANY:
                rel = inspect(model).relationships[attr]
                ids = [
                    self._resolve(v, rel.mapper.class_, f"{path}.{name}[{i}]") for i, v in enumerate(value)
                ]
                self._links(obj, rel.secondary, ids, reverse=bool(rel.info.get("reverse")))
            elif field is Field.ONE and not isinstance(value, dict) and attr not in SCOPES:
                target = _fk_target(model, attr)
                self._set(
                    obj,
                    f"{attr}_id",
                    None if value is None else self._resolve(value, target, f"{path}.{name}"),
                )

    def _resolve(self, value: Any, target: type[OParlObject], path: str) -> int:
        if isinstance(value, dict):  # an embedded object, stored in pass 1
            value = value.get("key")
        if not isinstance(value, str) or not value:
            raise RecordError(f"{path}: expected a key or an OParl URL, got {value!r}")
        prefix = f"{self.urls.api}/{SEGMENTS[target.__name__]}/"
        if value.startswith(prefix) and value[len(prefix) :].isdigit():
            found = self.session.scalar(select(target.id).where(target.id == int(value[len(prefix) :])))
        else:
            found = self.session.scalar(select(target.id).where(target.key == value))
        if found is None:
            raise RecordError(f"{path}: no {target.__name__} with key or URL {value!r}")
        return found

    def _links(self, obj: OParlObject, table: Any, ids: list[int], *, reverse: bool) -> None:
        assert isinstance(table, Table)
        mine, theirs = (
            (table.c.target_id, table.c.owner_id) if reverse else (table.c.owner_id, table.c.target_id)
        )
        current = list(self.session.scalars(select(theirs).where(mine == obj.id).order_by(table.c.position)))
        wanted = list(dict.fromkeys(ids))
        if current == wanted:
            return
        self.session.execute(delete(table).where(mine == obj.id))
        if wanted:
            self.session.execute(
                insert(table),
                [{mine.key: obj.id, theirs.key: other, "position": pos} for pos, other in enumerate(wanted)],
            )
        self.changed.add(obj)

    # -- bookkeeping ----------------------------------------------------------------------------

    def _set(self, obj: OParlObject, attr: str, value: Any) -> None:
        if getattr(obj, attr) != value:
            setattr(obj, attr, value)
            self.changed.add(obj)

    def _stamp(self) -> None:
        """`modified` moves on every changed object and on every object it is embedded in."""
        touched = set(self.changed)
        for obj in self.changed:
            while obj in self.parent:
                obj = self.parent[obj]
                touched.add(obj)
        for obj in touched:
            if obj not in self.created:
                obj.modified = self.now
        self.session.flush()
        unique = set(self.seen)
        self.report.created = len(self.created)
        self.report.changed = len(touched - self.created)
        self.report.unchanged = len(unique - touched - self.created)


def _fk_target(model: type[OParlObject], attr: str) -> type[OParlObject]:
    (fk,) = inspect(model).columns[f"{attr}_id"].foreign_keys
    return TABLE_MODELS[fk.column.table.name]


def convert(column_type: Any, value: Any, path: str) -> Any:
    """A JSON value as the column stores it, or a RecordError naming the field."""
    if value is None or value == "":
        return None
    expected, ok = "a string", isinstance(value, str)
    if isinstance(column_type, UTCDateTime):
        return _datetime(value, path)
    if isinstance(column_type, Date):
        try:
            return (
                dt.date.fromisoformat(value)
                if isinstance(value, str) and len(value) == 10
                else _bad(path, value)
            )
        except ValueError:
            _bad(path, value, "a date yyyy-mm-dd")
    if isinstance(column_type, Boolean):
        expected, ok = "true or false", isinstance(value, bool)
    elif isinstance(column_type, (Integer, BigInteger)):
        expected, ok = "an integer", isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(column_type, JSON):
        expected = "an array of strings or an object"
        ok = isinstance(value, dict) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    if not ok:
        _bad(path, value, expected)
    return value


def _datetime(value: Any, path: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        _bad(path, value, "a date-time with offset, yyyy-mm-ddThh:mm:ss+hh:mm")
    assert parsed is not None
    return parsed


def _bad(path: str, value: Any, expected: str = "a date yyyy-mm-dd") -> Any:
    raise RecordError(f"{path}: expected {expected}, got {value!r}")


def read_directory(folder: Path) -> list[dict[str, Any]]:
    """The records of every `*.json` file in `folder`, files in name order, records in file order."""
    records: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise RecordError(f"{path.name}: expected a JSON array of records")
        records.extend(data)
    if not records:
        raise RecordError(f"{folder}: no records (*.json) found")
    return records
