"""Named normalisers for what real OParl servers send, each counted instead of crashing the run.

Every function takes what a vendor sent and returns what OParl 1.1 says it should have been,
adding the name of each quirk it met to a `Counter` (the harvest summary prints it).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SCHEMA_1_1 = "https://schema.oparl.org/1.1/"
TYPE_URI = re.compile(r"^https?://schema\.oparl\.org/1\.[0-9]/([A-Za-z]+)$")
KEY_SPELLINGS = {"Type": "type", "agendaitem": "agendaItem", "Id": "id"}
# Properties that are arrays wherever they appear (spec chapter 8); Paper.location is handled apart.
ARRAY_PROPERTIES = frozenset(
    {"auxiliaryFile", "keyword", "participant", "agendaItem", "consultation", "originatorPerson",
     "underDirectionOf", "originatorOrganization", "relatedPaper", "superordinatedPaper", "subordinatedPaper",
     "derivativeFile", "legislativeTerm", "equivalent", "post", "title", "phone", "email", "status",
     "otherOparlVersions"}
)  # fmt: skip
PLACEHOLDER_VALUES = frozenset({"", "N/A", "n/a", "-"})


def parse_json(raw: bytes, quirks: Counter[str]) -> Any:
    """JSON as sent: a BOM and raw control characters inside strings (CC e-gov) are tolerated."""
    text = raw.decode("utf-8-sig", errors="replace")
    if len(text) != len(raw.decode("utf-8", errors="replace")):
        quirks["byte_order_mark"] += 1
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        value = json.loads(text, strict=False)  # raises again if it is not JSON at all
        quirks["control_characters"] += 1
        return value


def list_page(data: Any, quirks: Counter[str]) -> dict[str, Any]:
    """A list page as OParl defines it, from a bare array (Essen) or one object (Sternberg body list)."""
    if isinstance(data, list):
        quirks["bare_array_for_list"] += 1
        return {"data": data, "pagination": {}, "links": {}}
    if isinstance(data, dict) and "data" not in data and "id" in data:
        quirks["object_for_list"] += 1
        return {"data": [data], "pagination": {}, "links": {}}
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data.setdefault("links", {})
        return data
    raise ValueError("not an OParl list page")


def is_error_body(data: Any) -> bool:
    """Vendor error shapes sent where a list belongs ({"error": …, "code": 802} from SD.NET)."""
    return isinstance(data, dict) and "error" in data and "data" not in data and "id" not in data


def next_link(
    next_url: str | None, requested: str, visited: set[str], carried: dict[str, str], quirks: Counter[str]
) -> str | None:
    """The next page to fetch: filters the server dropped are put back; a page seen before ends the walk."""
    if not next_url:
        return None
    if next_url in visited or next_url == requested:
        quirks["next_loops"] += 1
        return None
    try:
        parts = urlsplit(next_url)
    except ValueError:
        return next_url  # not a URL: refused when it is fetched, and reported
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    missing = {k: v for k, v in carried.items() if k not in query}
    mangled = {k: v for k, v in carried.items() if k in query and query[k] != v}
    if missing or mangled:
        # Dropped (Somacos from page 3) or mangled (an unencoded "+" that arrives as a space).
        quirks["next_drops_filters" if missing else "next_mangles_filters"] += 1
        query |= missing | mangled
        next_url = urlunsplit(parts._replace(query=urlencode(query)))
    if next_url in visited or next_url == requested:
        quirks["next_loops"] += 1
        return None
    return next_url


def same_scheme(url: str, source_host: str, source_scheme: str, quirks: Counter[str]) -> str:
    """`http` ids on an https host (SessionNet Dresden, Düsseldorf) become https."""
    if url.startswith("http://") and source_scheme == "https" and _netloc(url) == source_host:
        quirks["http_id_on_https_host"] += 1
        return "https://" + url[len("http://") :]
    return url


def _netloc(url: str) -> str | None:
    try:
        return urlsplit(url).netloc
    except ValueError:  # "http://[…" is no URL; left as it is, refused if it is ever fetched
        return None


class Normaliser:
    """Makes one source's objects OParl 1.1, counting every quirk met."""

    def __init__(self, system_url: str, quirks: Counter[str]) -> None:
        parts = urlsplit(system_url)
        self.host, self.scheme, self.quirks = parts.netloc, parts.scheme, quirks

    def url(self, value: str) -> str:
        return same_scheme(value, self.host, self.scheme, self.quirks)

    def obj(self, raw: dict[str, Any], expected_type: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if key in KEY_SPELLINGS:
                self.quirks["key_spelling"] += 1
                key = KEY_SPELLINGS[key]
            out[key] = self._value(key, value)
        out = {k: v for k, v in out.items() if v is not None}
        type_name = self._type(out, expected_type)
        if type_name:
            out["type"] = SCHEMA_1_1 + type_name
        if type_name == "Paper" and isinstance(out.get("location"), dict):
            self.quirks["object_for_array"] += 1
            out["location"] = [out["location"]]
        return out

    def _type(self, out: dict[str, Any], expected: str | None) -> str | None:
        declared = out.get("type")
        match = TYPE_URI.match(declared) if isinstance(declared, str) else None
        if match is None:
            if expected and out.get("deleted"):
                self.quirks["tombstone_without_type"] += 1
            return expected
        if not str(declared).startswith(SCHEMA_1_1):
            self.quirks["oparl_1_0_type"] += 1
        return match.group(1)

    def _value(self, key: str, value: Any) -> Any:
        if isinstance(value, str):
            if value.strip() in PLACEHOLDER_VALUES:
                self.quirks["empty_or_placeholder_value"] += 1
                return None
            if value != value.strip():
                self.quirks["surrounding_whitespace"] += 1
                value = value.strip()
            return self.url(value) if value.startswith("http://") else value
        if isinstance(value, dict):
            nested = self.obj(value) if "id" in value else value
            if key in ARRAY_PROPERTIES:
                self.quirks["object_for_array"] += 1
                return [nested]
            return nested
        if isinstance(value, list):
            items = [self._value("", v) for v in value]
            return [v for v in items if v is not None] or None
        return value


def body_fixes(body: dict[str, Any], quirks: Counter[str]) -> dict[str, Any]:
    """Body data that vendors get wrong: an AGS without its leading zero."""
    ags = body.get("ags")
    if isinstance(ags, str) and ags.isdigit() and len(ags) == 7:
        quirks["ags_without_leading_zero"] += 1
        body["ags"] = "0" + ags
    return body


def geojson_fixes(location: dict[str, Any], quirks: Counter[str]) -> dict[str, Any]:
    """GeoJSON as OParl wants it: a Feature, longitude first."""
    geo = location.get("geojson")
    if not isinstance(geo, dict):
        return location
    if geo.get("type") != "Feature" and "coordinates" in geo:
        quirks["geojson_not_a_feature"] += 1
        geo = {"type": "Feature", "geometry": geo, "properties": {}}
    point = geo.get("geometry", {}).get("coordinates") if isinstance(geo.get("geometry"), dict) else None
    if isinstance(point, list) and len(point) == 2 and all(isinstance(c, (int, float)) for c in point):
        # German latitudes are 47-55, longitudes 5-16: a pair the other way round was swapped.
        if 47 <= point[0] <= 56 and 5 <= point[1] <= 16:
            quirks["geojson_latitude_first"] += 1
            geo = {**geo, "geometry": {**geo["geometry"], "coordinates": [point[1], point[0]]}}
    geo.setdefault("properties", {})
    location["geojson"] = geo
    return location
