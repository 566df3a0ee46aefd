"""Each recorded vendor quirk (../shared/realworld/vendor-quirks) is handled and counted."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from oparl.ingest.client import Politeness, SourceClient, SourceError
from oparl.ingest.convert import Converter
from oparl.ingest.quirks import Normaliser, is_error_body, list_page, next_link, parse_json

REALWORLD = Path(__file__).resolve().parents[4] / "shared" / "realworld"
QUIRKS = REALWORLD / "vendor-quirks"
pytestmark = pytest.mark.skipif(not REALWORLD.is_dir(), reason=f"no recorded responses at {REALWORLD}")


def recorded(name: str) -> Any:
    return json.loads((QUIRKS / name).read_text())


def test_cc_egov_meeting_single_file_object_becomes_an_array() -> None:
    quirks: Counter[str] = Counter()
    meeting = Normaliser("https://www.bonn.sitzung-online.de/public/oparl/system", quirks).obj(
        recorded("cc-egov-meeting.json")
    )
    record = Converter(quirks, ZoneInfo("Europe/Berlin")).record(meeting, body="b")
    assert record is not None
    assert isinstance(record["auxiliaryFile"], list)
    assert len(record["auxiliaryFile"]) == 1
    assert quirks["object_for_array"] == 1
    assert [item["key"] for item in record["agendaItem"]] == [
        i["id"] for i in recorded("cc-egov-meeting.json")["agendaItem"]
    ]


def test_cc_egov_paper_page_with_1_0_types() -> None:
    quirks: Counter[str] = Counter()
    page = list_page(recorded("cc-egov-paper-list-page.json"), quirks)
    normaliser = Normaliser("https://ratsinfo.leipzig.de/bi/oparl/1.0/system.asp", quirks)
    papers = [normaliser.obj(p, "Paper") for p in page["data"]]
    assert {p["type"] for p in papers} == {"https://schema.oparl.org/1.1/Paper"}
    assert quirks["oparl_1_0_type"] >= len(papers)
    assert page["links"]["next"].endswith("&p=3")


def test_somacos_needs_the_filter_unencoded(tmp_path: Path) -> None:
    """Somacos answers 404 (text/html) to a percent-encoded modified_since and only takes it raw."""
    from oparl.ingest.lists import unencoded

    url = "https://ratsinfo.wuppertal.de/webservice/oparl/v1/body/1/paper?page=2&modified_since=2019-05-01T19%3A26%3A34%2B00%3A00"
    raw = unencoded(url, {"modified_since": "2019-05-01T19:26:34+00:00"})
    assert raw.endswith("page=2&modified_since=2019-05-01T19:26:34+00:00")
    assert recorded("somacos-papers-unencoded-query-stub.json") == {}  # the recording's body is a stub


def test_sternberg_body_list_that_is_one_object() -> None:
    quirks: Counter[str] = Counter()
    page = list_page(recorded("sternberg-body-list-single-object.json"), quirks)
    assert [b["name"] for b in page["data"]] == ["Stadt Krefeld"]
    assert quirks == Counter({"object_for_list": 1})


def test_sternberg_tombstone_without_type_gets_the_list_type() -> None:
    quirks: Counter[str] = Counter()
    stub = Normaliser("https://ris.krefeld.de/webservice/oparl/v1.0/system", quirks).obj(
        recorded("sternberg-deleted-file-without-type.json"), "File"
    )
    assert (stub["type"], stub["deleted"]) == ("https://schema.oparl.org/1.1/File", True)
    assert quirks == Counter({"tombstone_without_type": 1})


def test_sternberg_error_802_is_an_empty_list() -> None:
    assert is_error_body(recorded("sternberg-error-802-empty-list.json"))


def test_sternberg_empty_array_is_an_empty_list_page() -> None:
    quirks: Counter[str] = Counter()
    assert list_page(recorded("sternberg-meeting-list-empty-array.json"), quirks) == {
        "data": [], "pagination": {}, "links": {}}  # fmt: skip
    assert quirks == Counter({"bare_array_for_list": 1})


def test_control_characters_in_json_are_tolerated() -> None:
    quirks: Counter[str] = Counter()
    paper = parse_json((REALWORLD / "mst-testdata" / "broken_json.broken_json").read_bytes(), quirks)
    assert paper["type"] == "https://schema.oparl.org/1.0/Paper"
    assert quirks == Counter({"control_characters": 1})


@pytest.mark.parametrize(
    ("next_url", "expected", "quirk"),
    [
        ("https://x.example/p?page=3", "https://x.example/p?page=3&modified_since=2024-01-01T00%3A00%3A00%2B01%3A00",
         "next_drops_filters"),
        ("https://x.example/p?page=3&modified_since=2024-01-01T00:00:00 01:00",
         "https://x.example/p?page=3&modified_since=2024-01-01T00%3A00%3A00%2B01%3A00", "next_mangles_filters"),
        ("https://x.example/p?page=2", None, "next_loops"),
    ],
)  # fmt: skip
def test_next_links_that_lose_filters_or_loop(next_url: str, expected: str | None, quirk: str) -> None:
    quirks: Counter[str] = Counter()
    carried = {"modified_since": "2024-01-01T00:00:00+01:00"}
    visited = {"https://x.example/p?page=2"}
    assert next_link(next_url, "https://x.example/p?page=2", visited, carried, quirks) == expected
    assert quirks == Counter({quirk: 1})


def test_http_ids_on_an_https_host_and_placeholders() -> None:
    quirks: Counter[str] = Counter()
    obj = Normaliser("https://ris.example/oparl/system", quirks).obj(
        {"id": "http://ris.example/oparl/paper/1", "Type": "https://schema.oparl.org/1.0/Paper", "name": "N/A",
         "reference": " 12/2020 ", "auxiliaryFile": {"id": "http://ris.example/oparl/file/1", "accessUrl": "x"}}
    )  # fmt: skip
    assert obj == {"id": "https://ris.example/oparl/paper/1", "type": "https://schema.oparl.org/1.1/Paper",
                   "reference": "12/2020", "auxiliaryFile": [{"id": "https://ris.example/oparl/file/1",
                                                               "accessUrl": "x"}]}  # fmt: skip
    expected = {"http_id_on_https_host": 2, "key_spelling": 1, "oparl_1_0_type": 1, "empty_or_placeholder_value": 1,
                "surrounding_whitespace": 1, "object_for_array": 1}  # fmt: skip
    assert quirks == Counter(expected)


def test_retries_on_5xx_then_succeeds_and_names_itself() -> None:
    answers = iter([httpx.Response(503), httpx.Response(500), httpx.Response(200, json={"ok": True})])
    agents = []

    def handle(request: httpx.Request) -> httpx.Response:
        agents.append(request.headers["user-agent"])
        return next(answers)

    client = SourceClient(Politeness(rate=0), transport=httpx.MockTransport(handle), sleep=lambda _s: None)
    assert client.json("https://x.example/system") == {"ok": True}
    assert client.quirks == Counter({"retried_http_503": 1, "retried_http_500": 1})
    assert agents[0].startswith("oparl-server-harvester/")
    with pytest.raises(SourceError, match="HTTP 404"):
        SourceClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))).json("https://x.example/y")
