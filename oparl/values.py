"""JSON values of a record as the columns store them, or a RecordError naming the field."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy.types import JSON, BigInteger, Boolean, Date, Integer

from models.base import UTCDateTime
from oparl.records import RecordError

INT_RANGE = {Integer: 2**31, BigInteger: 2**63}


def convert(column_type: Any, value: Any, path: str, attr: str = "") -> Any:
    """A JSON value as the column stores it, or a RecordError naming the field."""
    if value is None or value == "":
        return None
    if isinstance(column_type, UTCDateTime):
        return _datetime(value, path)
    if isinstance(column_type, Date):
        return _date(value, path)
    if isinstance(column_type, Boolean):
        return value if isinstance(value, bool) else _bad(path, value, "true or false")
    if isinstance(column_type, (Integer, BigInteger)):
        limit = INT_RANGE[BigInteger if isinstance(column_type, BigInteger) else Integer]
        ok = isinstance(value, int) and not isinstance(value, bool) and -limit <= value < limit
        return value if ok else _bad(path, value, "an integer")
    if isinstance(column_type, JSON):
        return _geojson(value, path) if attr == "geojson" else _strings(value, path)
    return _text(value, path)


def _text(value: Any, path: str) -> str:
    # NUL cannot be stored by PostgreSQL and has no place in OParl text.
    if isinstance(value, str) and "\x00" not in value:
        return value
    expected = "a string without NUL characters" if isinstance(value, str) else "a string"
    return _bad(path, value, expected)  # type: ignore[no-any-return]


def _strings(value: Any, path: str) -> list[str]:
    if isinstance(value, list) and all(isinstance(v, str) and "\x00" not in v for v in value):
        return value
    return _bad(path, value, "an array of strings")  # type: ignore[no-any-return]


def _geojson(value: Any, path: str) -> dict[str, Any]:
    # OParl wants a full GeoJSON Feature (spec 8.12), not a bare geometry.
    if isinstance(value, dict) and value.get("type") == "Feature" and isinstance(value.get("geometry"), dict):
        return {"properties": {}, **value}
    return _bad(path, value, 'a GeoJSON Feature ({"type": "Feature", "geometry": …})')  # type: ignore[no-any-return]


def _date(value: Any, path: str) -> dt.date:
    try:
        if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    return _bad(path, value, "a date yyyy-mm-dd")  # type: ignore[no-any-return]


def _datetime(value: Any, path: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) and value[:4].isascii() else None
        if parsed is not None and parsed.tzinfo is not None:
            # Showable in any time zone: a day either side must exist too.
            _ = (parsed - dt.timedelta(days=1), parsed + dt.timedelta(days=1))
            return parsed.astimezone(dt.UTC).replace(microsecond=0)
    except (ValueError, OverflowError):
        pass
    return _bad(path, value, "a date-time with offset, yyyy-mm-ddThh:mm:ss+hh:mm")  # type: ignore[no-any-return]


def _bad(path: str, value: Any, expected: str) -> Any:
    raise RecordError(f"{path}: expected {expected}, got {str(value)[:80]!r}")
