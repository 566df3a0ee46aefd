"""Parsing of list parameters: lenient where clients are sloppy, strict about garbage."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from oparl.errors import BadRequest
from oparl.filters import ListParams, parse_datetime

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-31T12:00:00+01:00", "2024-01-31T11:00:00+00:00"),
        ("2024-01-31T12:00:00 01:00", "2024-01-31T11:00:00+00:00"),  # '+' decoded to a space
        ("2024-01-31T12:00:00Z", "2024-01-31T12:00:00+00:00"),
        ("2024-01-31T12:00:00.123456Z", "2024-01-31T12:00:00.123456+00:00"),
        ("0001-01-02T00:00:00+01:00", "0001-01-01T23:00:00+00:00"),
        ("2024-01-31T12:00:00,5-02:00", "2024-01-31T14:00:00.500000+00:00"),
        ("2024-01-31T12:00:00+0100", "2024-01-31T11:00:00+00:00"),
        ("2024-01-31T12:00+01:00", "2024-01-31T11:00:00+00:00"),
        ("2024-01-31 12:00:00", "2024-01-31T11:00:00+00:00"),  # no offset: Europe/Berlin
        ("2024-07-31T12:00:00", "2024-07-31T10:00:00+00:00"),  # summer time
        ("2024-01-31", "2024-01-30T23:00:00+00:00"),
    ],
)
def test_lenient_datetimes(raw: str, expected: str) -> None:
    assert parse_datetime("modified_since", raw, BERLIN).astimezone(dt.UTC).isoformat() == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "yesterday",
        "2024-01-31T25:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-01-31T12:00:00+1",
        "１２３",
        "2024-01-31T",
    ],
)
def test_garbage_is_a_bad_request(raw: str) -> None:
    with pytest.raises(BadRequest, match="modified_since"):
        parse_datetime("modified_since", raw, BERLIN)


def test_canonical_spelling_of_given_parameters() -> None:
    params = ListParams.parse(
        {"modified_since": "2024-01-31T12:00:00.9 01:00", "omit_internal": "1", "limit": "7", "after": "42"},
        tz=BERLIN,
        default_limit=100,
        max_limit=1000,
    )
    assert params.canonical == {
        "modified_since": "2024-01-31T12:00:01+01:00",
        "omit_internal": "true",
        "limit": "7",
    }
    assert (params.after, params.limit, params.omit_internal) == (42, 7, True)
