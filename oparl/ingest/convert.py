"""A source's OParl objects (normalised by quirks.Normaliser) as records for the write path."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.types import Date

from models.base import BodyScoped, UTCDateTime
from oparl.catalogue import SHARED, TYPES, target
from oparl.ingest.quirks import body_fixes, geojson_fixes
from oparl.records import Field, classify, mapper, properties, relationship

SKIPPED = frozenset({"id", "type", "created", "modified", "deleted"})


class Converter:
    def __init__(self, quirks: Counter[str], tz: ZoneInfo) -> None:
        self.quirks, self.tz = quirks, tz

    def record(self, obj: dict[str, Any], *, key: str | None = None, body: str | None = None) -> dict[str, Any] | None:
        """The record for `obj`, or None for a type this server does not store.

        `body` is the Body whose list held the object: OParl leaves it implicit for most types.
        """
        type_name = str(obj.get("type", "")).rsplit("/", 1)[-1]
        if type_name not in TYPES:
            self.quirks["unknown_type"] += 1
            return None
        if type_name == "Body":
            obj = body_fixes(dict(obj), self.quirks)
        if type_name == "Location":
            obj = geojson_fixes(dict(obj), self.quirks)
        record: dict[str, Any] = {"type": type_name, "key": key or obj["id"]}
        known = set(properties(type_name))
        model = TYPES[type_name].model
        for name, value in obj.items():
            if name in SKIPPED or ":" in name:  # vendor extensions are the source's own business
                continue
            field, attr = classify(model, name)
            if field is Field.SKIP:  # derived here (list URLs, back-references)
                continue
            if name not in known:
                self.quirks["unknown_property_dropped"] += 1
                continue
            converted = self._field(model, field, attr, value, f"{record['key']}#{name}")
            if converted is not None:
                record[name] = converted
        if body is not None and "body" not in record and issubclass(model, BodyScoped):
            record["body"] = body
        return record

    def _field(self, model: Any, field: Field, attr: str, value: Any, key_base: str) -> Any:
        if field is Field.SCALAR:
            return self._scalar(mapper(model).columns[attr].type, value)
        if field is Field.ONE:
            return self._embedded_or_ref(value, target(model, f"{attr}_id").model, key_base)
        if field in (Field.MANY, Field.CHILDREN) and not isinstance(value, list):
            self.quirks["single_value_for_array"] += 1
            value = [value]
        if field is Field.MANY:
            to = relationship(model, attr).mapper.class_
            items = [self._embedded_or_ref(v, to, f"{key_base}[{i}]") for i, v in enumerate(value)]
            return [i for i in items if i is not None]
        if field is Field.CHILDREN:
            children = [self._child(v, f"{key_base}[{i}]") for i, v in enumerate(value)]
            return [c for c in children if c is not None]
        return value

    def _embedded_or_ref(self, value: Any, to: Any, key_base: str) -> Any:
        if not isinstance(value, dict):
            return value
        if issubclass(to, SHARED) and (value.get("id") or value.get("type")):
            return self._child(value, key_base)
        if isinstance(value.get("id"), str):
            self.quirks["object_for_reference"] += 1
            return value["id"]
        return None

    def _child(self, value: Any, key_base: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.quirks["reference_for_embedded_object"] += 1
            return None
        if value.get("deleted"):
            return None  # tombstones are never embedded
        if not isinstance(value.get("id"), str):
            self.quirks["embedded_object_without_id"] += 1
        return self.record(value, key=value.get("id") or key_base)

    def _scalar(self, column_type: Any, value: Any) -> Any:
        if isinstance(column_type, Date) and isinstance(value, str) and len(value) > 10 and value[10] == "T":
            self.quirks["date_time_for_date"] += 1
            return value[:10]
        if isinstance(column_type, UTCDateTime) and isinstance(value, str):
            return self._datetime(value)
        return value

    def _datetime(self, value: str) -> str:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return value  # the write path refuses it, naming the field
        if parsed.tzinfo is None:
            self.quirks["date_time_without_offset"] += 1
            return parsed.replace(tzinfo=self.tz).isoformat()
        return value
