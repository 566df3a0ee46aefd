"""JSON values of a record as the columns store them, or a RecordError naming the field.

Every string of a record must be Unicode text that any database stores (no lone surrogates, no
NUL) and no longer than its property allows (README: "Size limits").
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import orjson
from sqlalchemy.types import JSON, BigInteger, Boolean, Date, Integer

from models.base import UTCDateTime
from oparl.errors import RecordError, Where

INT_RANGE = {Integer: 2**31, BigInteger: 2**63}

# Characters per string property (the README's table); every other string property is a SHORT one.
KEY, REFERENCE, SHORT, NAME, URL, TEXT, FULL_TEXT = 255, 2_048, 1_000, 4_000, 8_192, 100_000, 4_000_000
LIMITS: dict[str, int] = {
    **dict.fromkeys(("name", "short_name", "family_name", "given_name", "file_name", "reference"), NAME),
    **dict.fromkeys(
        (
            "web",
            "website",
            "license",
            "file_license",
            "access_url",
            "download_url",
            "external_service_url",
            "external_body",
        ),
        URL,
    ),  # fmt: skip
    **dict.fromkeys(("description", "life", "life_source", "resolution_text", "result"), TEXT),
    "text": FULL_TEXT,  # a File's full text
}
# Entries of an array of strings (keyword, email, …), and of an array of references or embedded records.
STRINGS_ITEMS, ITEMS = 1_000, 10_000
GEOJSON_BYTES = 1_000_000


def check_strings(record: Any, where: Where) -> None:
    """Refuses a record holding a string no database can store: a lone surrogate anywhere (values,
    property names, nested records, properties the server ignores). One C-speed encoding pass when
    the record is fine; the walk that names the field only when it is not. Lengths are checked per
    property where each is converted."""
    try:
        orjson.dumps(record)
    except TypeError:  # a surrogate (or an integer beyond 64 bits, which convert() names)
        _walk(record, where)


def _walk(value: Any, where: Where) -> None:
    if isinstance(value, str):
        _unicode(value, where)
    elif isinstance(value, dict):
        for name, item in value.items():
            _unicode(name, where.at(f".{shown(name)[:KEY]}"))
            _walk(item, where.at(f".{name}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, where.at(f"[{index}]"))


def _unicode(value: str, where: Where) -> None:
    try:
        value.encode()
    except UnicodeEncodeError:
        raise RecordError(where, f"expected Unicode text, got a lone surrogate in {shown(value)[:80]!r}") from None


def shown(text: str) -> str:
    """`text` with lone surrogates written as \\udxxx, safe to put into an answer."""
    return text.encode("utf-8", "backslashreplace").decode()


def limit_of(attr: str) -> int:
    return LIMITS.get(attr, SHORT)


def check_length(value: str, where: Where, limit: int) -> None:
    if len(value) > limit:
        raise RecordError(where, f"at most {limit} characters, got {len(value)}")


def convert(column_type: Any, value: Any, where: Where, attr: str = "") -> Any:
    """A JSON value as the column stores it, or a RecordError naming the field."""
    if value is None or value == "":
        return None
    if isinstance(column_type, UTCDateTime):
        return _datetime(value, where)
    if isinstance(column_type, Date):
        return _date(value, where)
    if isinstance(column_type, Boolean):
        return value if isinstance(value, bool) else _bad(where, value, "true or false")
    if isinstance(column_type, (Integer, BigInteger)):
        limit = INT_RANGE[BigInteger if isinstance(column_type, BigInteger) else Integer]
        ok = isinstance(value, int) and not isinstance(value, bool) and -limit <= value < limit
        return value if ok else _bad(where, value, "an integer")
    if isinstance(column_type, JSON):
        return _geojson(value, where) if attr == "geojson" else _strings(value, where, attr)
    return _text(value, where, getattr(column_type, "length", None) or limit_of(attr))


def _text(value: Any, where: Where, limit: int) -> str:
    # NUL cannot be stored by PostgreSQL and has no place in OParl text.
    if isinstance(value, str) and "\x00" not in value:
        check_length(value, where, limit)
        return value
    expected = "a string without NUL characters" if isinstance(value, str) else "a string"
    return _bad(where, value, expected)  # type: ignore[no-any-return]


def _strings(value: Any, where: Where, attr: str) -> list[str]:
    if isinstance(value, list) and all(isinstance(v, str) and "\x00" not in v for v in value):
        if len(value) > STRINGS_ITEMS:
            raise RecordError(where, f"at most {STRINGS_ITEMS} entries, got {len(value)}")
        for index, item in enumerate(value):
            check_length(item, where.at(f"[{index}]"), URL if attr in ("other_oparl_versions", "equivalent") else SHORT)
        return value
    return _bad(where, value, "an array of strings")  # type: ignore[no-any-return]


def _geojson(value: Any, where: Where) -> dict[str, Any]:
    # OParl wants a full GeoJSON Feature (spec 8.12), not a bare geometry.
    if isinstance(value, dict) and value.get("type") == "Feature" and isinstance(value.get("geometry"), dict):
        if len(orjson.dumps(value)) > GEOJSON_BYTES:
            raise RecordError(where, f"a GeoJSON Feature of at most {GEOJSON_BYTES} bytes")
        return {"properties": {}, **value}
    return _bad(where, value, 'a GeoJSON Feature ({"type": "Feature", "geometry": …})')  # type: ignore[no-any-return]


def _date(value: Any, where: Where) -> dt.date:
    try:
        if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    return _bad(where, value, "a date yyyy-mm-dd")  # type: ignore[no-any-return]


def _datetime(value: Any, where: Where) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) and value[:4].isascii() else None
        if parsed is not None and parsed.tzinfo is not None:
            # Showable in any time zone: a day either side must exist too.
            _ = (parsed - dt.timedelta(days=1), parsed + dt.timedelta(days=1))
            return parsed.astimezone(dt.UTC).replace(microsecond=0)
    except (ValueError, OverflowError):
        pass
    return _bad(where, value, "a date-time with offset, yyyy-mm-ddThh:mm:ss+hh:mm")  # type: ignore[no-any-return]


def _bad(where: Where, value: Any, expected: str) -> Any:
    raise RecordError(where, f"expected {expected}, got {str(value)[:80]!r}")
