"""Parsing of the OParl list parameters (spec 5.3), lenient where real clients are sloppy."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from oparl.errors import BadRequest

DATE_FILTERS = ("created_since", "created_until", "modified_since", "modified_until")
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)\s*(Z|z|[+\- ]\d{2}:?\d{2})?$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})


def parse_datetime(name: str, raw: str, tz: ZoneInfo) -> dt.datetime:
    """Accept `+01:00`, an unencoded `+` that arrived as a space, `Z`, fractions and plain dates.

    A value without an offset is read in the server's time zone, as a person would mean it.
    """
    value = raw.strip()
    if _DATE.match(value):
        return dt.datetime.fromisoformat(value).replace(tzinfo=tz)
    match = _DATETIME.match(raw.strip("\t\n\r"))
    if not match:
        raise BadRequest(
            f"Der Parameter {name} ist kein gültiger Zeitpunkt: {raw!r}.",
            f"{name} must be an ISO 8601 date-time such as 2024-01-31T12:00:00+01:00",
        )
    date, time, offset = match.groups()
    time = time.replace(",", ".")
    if offset is None:
        tzinfo: dt.tzinfo = tz
    elif offset in ("Z", "z"):
        tzinfo = dt.UTC
    else:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise BadRequest(f"Der Parameter {name} hat einen ungültigen Zeitzonen-Versatz: {raw!r}.")
        tzinfo = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    try:
        parsed = dt.datetime.fromisoformat(f"{date}T{time}")
    except ValueError as exc:
        raise BadRequest(f"Der Parameter {name} ist kein gültiger Zeitpunkt: {raw!r}.", str(exc)) from exc
    return parsed.replace(tzinfo=tzinfo)


def parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadRequest(f"Der Parameter {name} muss true oder false sein, nicht {raw!r}.")


def parse_int(name: str, raw: str, *, minimum: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadRequest(f"Der Parameter {name} muss eine ganze Zahl sein, nicht {raw!r}.") from None
    if value < minimum:
        raise BadRequest(f"Der Parameter {name} muss mindestens {minimum} sein, nicht {value}.")
    return value


@dataclass(frozen=True)
class ListParams:
    """The validated parameters of one list request."""

    created_since: dt.datetime | None = None
    created_until: dt.datetime | None = None
    modified_since: dt.datetime | None = None
    modified_until: dt.datetime | None = None
    omit_internal: bool = False
    limit: int = 100
    after: int | None = None
    # Each given parameter in its canonical spelling, carried into every link of the page.
    canonical: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, query: Mapping[str, str], *, tz: ZoneInfo, default_limit: int, max_limit: int
    ) -> ListParams:
        values: dict[str, object] = {"limit": default_limit}
        canonical: dict[str, str] = {}
        for name in DATE_FILTERS:
            if (raw := query.get(name)) is not None:
                # Stored times are whole seconds, so a bound truncated to seconds selects the same rows.
                moment = parse_datetime(name, raw, tz).replace(microsecond=0)
                values[name] = moment
                canonical[name] = moment.isoformat()
        if (raw := query.get("omit_internal")) is not None:
            values["omit_internal"] = parse_bool("omit_internal", raw)
            canonical["omit_internal"] = "true" if values["omit_internal"] else "false"
        if (raw := query.get("limit")) is not None:
            # Above the maximum the server clamps instead of refusing (the spec lets it ignore limit).
            values["limit"] = min(parse_int("limit", raw, minimum=1), max_limit)
            canonical["limit"] = str(values["limit"])
        if (raw := query.get("after")) is not None:
            values["after"] = parse_int("after", raw, minimum=0)
        return cls(canonical=canonical, **values)  # type: ignore[arg-type]
