"""The parameters of one search request, validated: `q`, the filters, `limit` and the cursor."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from oparl.catalogue import TYPES
from oparl.errors import BadRequest
from oparl.filters import parse_int
from oparl.search.documents import SOURCES, paper_type_token
from oparl.search.engines import Cursor
from oparl.search.query import Query, parse

SCHEMA_PREFIX = "https://schema.oparl.org/1.1/"
_CURSOR = re.compile(r"^([123])_([0-9]{1,18})$")
_ID_AT_END = re.compile(r"/([0-9]{1,18})/?$")


@dataclass(frozen=True)
class SearchParams:
    query: Query
    types: tuple[str, ...] = ()
    organization: int | None = None
    person: int | None = None
    paper_type: str | None = None
    date_since: dt.date | None = None
    date_until: dt.date | None = None
    limit: int = 20
    after: Cursor | None = None
    canonical: dict[str, str] = field(default_factory=dict)  # carried into every link


def encode_cursor(cursor: Cursor) -> str:
    return f"{cursor.tier}_{cursor.row}"


def _cursor(raw: str) -> Cursor:
    match = _CURSOR.match(raw.strip())
    if match is None:
        raise BadRequest(f"Der Parameter after ist kein Cursor dieser Suche: {raw[:100]!r}.")
    return Cursor(int(match.group(1)), int(match.group(2)))


def _types(raw: str) -> tuple[str, ...]:
    found = []
    for part in raw.split(","):
        name = part.strip().removeprefix(SCHEMA_PREFIX)
        if name not in SOURCES:
            known = ", ".join(SOURCES)
            raise BadRequest(f"Der Parameter type nennt keinen durchsuchten Typ: {part[:100]!r} (möglich: {known}).")
        found.append(name)
    return tuple(dict.fromkeys(found))


def _object_id(name: str, raw: str, type_name: str) -> int:
    """An object given by its id or its URL (the URL's last segment)."""
    value = raw.strip()
    match = _ID_AT_END.search("/" + value)
    segment = TYPES[type_name].segment
    if match is None or ("/" in value and f"/{segment}/" not in value):
        raise BadRequest(f"Der Parameter {name} ist keine Kennung und keine URL eines {type_name}: {raw[:100]!r}.")
    return parse_int(name, match.group(1), minimum=0)


def _date(name: str, raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise BadRequest(f"Der Parameter {name} ist kein Datum (JJJJ-MM-TT): {raw[:100]!r}.") from exc


MAX_VALUE = 2000  # characters of one parameter: longer is no search anybody types


def _checked(query: Mapping[str, str]) -> Mapping[str, str]:
    if any(len(value) > MAX_VALUE for value in query.values()):
        raise BadRequest("Ein Parameter der Suche ist zu lang.")
    return query


def parse_search(query: Mapping[str, str], *, default_limit: int = 20, max_limit: int = 100) -> SearchParams:
    q = _checked(query).get("q")
    if q is None or not q.strip():
        raise BadRequest("Der Parameter q fehlt: wonach soll gesucht werden?")
    values: dict[str, object] = {"query": parse(q), "limit": default_limit}
    canonical = {"q": q}
    if (raw := query.get("type")) is not None:
        values["types"] = _types(raw)
        canonical["type"] = ",".join(values["types"])  # type: ignore[arg-type]
    for name, type_name in (("organization", "Organization"), ("person", "Person")):
        if (raw := query.get(name)) is not None:
            values[name] = _object_id(name, raw, type_name)
            canonical[name] = str(values[name])
    if (raw := query.get("paperType")) is not None:
        values["paper_type"] = raw
        canonical["paperType"] = raw
    for name in ("date_since", "date_until"):
        if (raw := query.get(name)) is not None:
            values[name] = _date(name, raw)
            canonical[name] = str(values[name])
    if (raw := query.get("limit")) is not None:
        values["limit"] = min(parse_int("limit", raw, minimum=1), max_limit)
        canonical["limit"] = str(values["limit"])
    if (raw := query.get("after")) is not None:
        values["after"] = _cursor(raw)
    return SearchParams(canonical=canonical, **values)  # type: ignore[arg-type]


def facet_groups(params: SearchParams, *, entitled: bool) -> tuple[tuple[str, ...], ...]:
    """The filter tokens each hit must carry (one of each group), oparl.search.documents."""
    groups: list[tuple[str, ...]] = []
    if params.organization is not None:
        groups.append(
            (f"o{params.organization}", f"q{params.organization}") if entitled else (f"o{params.organization}",)
        )
    if params.person is not None:
        groups.append((f"n{params.person}",))
    if params.paper_type is not None:
        groups.append((paper_type_token(params.paper_type),))
    return tuple(groups)
