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
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)\s*(Z|z|[+\- ]\d{2}:?\d{2})?$", re.ASCII
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_INT = re.compile(r"^[0-9]{1,18}$")
MAX_INT = 2**63 - 1
_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})


def parse_datetime(name: str, raw: str, tz: ZoneInfo) -> dt.datetime:
    """Accept `+01:00`, an unencoded `+` that arrived as a space, `Z`, fractions and plain dates.

    A value without an offset is read in the server's time zone, as a person would mean it.
    """
    invalid = BadRequest(
        f"Der Parameter {name} ist kein gültiger Zeitpunkt: {raw!r}.",
        f"{name} must be an ISO 8601 date-time such as 2024-01-31T12:00:00+01:00",
    )
    value = raw.strip()
    match = _DATETIME.match(raw.strip("\t\n\r"))
    if _DATE.match(value):
        match = _DATETIME.match(f"{value}T00:00:00")
    if not match:
        raise invalid
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
        # In UTC at once: a bound that exists nowhere (year 1 at +01:00) is refused here, not in the query.
        return dt.datetime.fromisoformat(f"{date}T{time}").replace(tzinfo=tzinfo).astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise invalid from exc


def parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadRequest(f"Der Parameter {name} muss true oder false sein, nicht {raw!r}.")


def parse_int(name: str, raw: str, *, minimum: int) -> int:
    value = raw.strip()
    negative = value.startswith("-") and _INT.match(value[1:])
    if not (_INT.match(value) or negative):
        raise BadRequest(f"Der Parameter {name} muss eine ganze Zahl sein, nicht {raw!r}.")
    number = int(value)
    if number < minimum:
        raise BadRequest(f"Der Parameter {name} muss mindestens {minimum} sein, nicht {number}.")
    if number > MAX_INT:
        raise BadRequest(f"Der Parameter {name} ist zu groß: {number}.")
    return number


def _whole_seconds(moment: dt.datetime, *, up: bool) -> dt.datetime:
    """Stored times are whole seconds: a lower bound rounds up, an upper bound down, same rows."""
    if moment.microsecond and up:
        moment += dt.timedelta(seconds=1)
    return moment.replace(microsecond=0)


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
    def parse(cls, query: Mapping[str, str], *, tz: ZoneInfo, default_limit: int, max_limit: int) -> ListParams:
        values: dict[str, object] = {"limit": default_limit}
        canonical: dict[str, str] = {}
        for name in DATE_FILTERS:
            if (raw := query.get(name)) is not None:
                moment = _whole_seconds(parse_datetime(name, raw, tz), up=name.endswith("_since"))
                values[name] = moment
                canonical[name] = moment.astimezone(tz).isoformat()
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
