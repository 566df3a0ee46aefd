"""List pages (spec 5): keyset paging, filters carried into links, tombstones, bad parameters."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from models import Body, Paper
from tests.conftest import BASE_URL
from tests.factories import make_body, make_paper

T0 = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)


def local(url: str) -> str:
    return url.removeprefix(BASE_URL)


def papers(session: Session, body: Body, n: int) -> list[Paper]:
    """n papers, created and modified one minute apart from T0."""
    made = []
    for i in range(n):
        stamp = T0 + dt.timedelta(minutes=i)
        made.append(make_paper(session, body, name=f"Vorlage {i}", created=stamp, modified=stamp))
    return made


def walk(client: TestClient, url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    items, pages = [], []
    next_url: str | None = url
    while next_url:
        response = client.get(local(next_url))
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        items += page["data"]
        next_url = page["links"].get("next")
    return items, pages


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items]


def url_of(paper: Paper) -> str:
    return f"{BASE_URL}/oparl/v1.1/paper/{paper.id}"


class TestPaging:
    def test_walk_returns_every_object_once_in_id_order(self, client: TestClient, session: Session) -> None:
        body = make_body(session)
        made = papers(session, body, 7)
        items, pages = walk(client, f"/oparl/v1.1/body/{body.id}/paper?limit=3")
        assert ids(items) == [url_of(p) for p in made]
        assert [len(p["data"]) for p in pages] == [3, 3, 1]
        assert [p["pagination"] for p in pages] == [{"totalElements": 7, "elementsPerPage": 3}] * 3
        assert "next" not in pages[-1]["links"]

    def test_next_link_is_a_cursor_on_the_last_id(self, client: TestClient, session: Session) -> None:
        body = make_body(session)
        made = papers(session, body, 3)
        page = client.get(f"/oparl/v1.1/body/{body.id}/paper?limit=2").json()
        base = f"{BASE_URL}/oparl/v1.1/body/{body.id}/paper"
        assert page["links"] == {
            "first": f"{base}?limit=2",
            "self": f"{base}?limit=2",
            "next": f"{base}?after={made[1].id}&limit=2",
        }

    def test_a_deletion_mid_walk_shifts_nothing(self, client: TestClient, session: Session) -> None:
        body = make_body(session)
        made = papers(session, body, 6)
        first = client.get(f"/oparl/v1.1/body/{body.id}/paper?limit=3").json()
        made[0].deleted = True  # offset paging would now skip made[3]
        session.flush()
        rest, _ = walk(client, first["links"]["next"])
        assert ids(rest) == [url_of(p) for p in made[3:]]

    def test_default_and_maximum_page_size(self, client: TestClient, session: Session) -> None:
        body = make_body(session)
        papers(session, body, 3)
        default = client.get(f"/oparl/v1.1/body/{body.id}/paper").json()
        clamped = client.get(f"/oparl/v1.1/body/{body.id}/paper?limit=5000").json()
        assert default["pagination"]["elementsPerPage"] == 100
        assert clamped["pagination"]["elementsPerPage"] == 1000
        assert clamped["links"]["self"].endswith("?limit=1000")

    def test_empty_list_is_a_full_page_object(self, client: TestClient, session: Session) -> None:
        body = make_body(session)
        page = client.get(f"/oparl/v1.1/body/{body.id}/meeting").json()
        url = f"{BASE_URL}/oparl/v1.1/body/{body.id}/meeting"
        assert page == {
            "data": [],
            "pagination": {"totalElements": 0, "elementsPerPage": 100},
            "links": {"first": url, "self": url},
        }

    def test_lists_are_scoped_to_their_body(self, client: TestClient, session: Session) -> None:
        one = make_body(session)
        two = make_body(session, name="Kreis Beispielkreis")
        (mine,) = papers(session, one, 1)
        make_paper(session, two)
        items, _ = walk(client, f"/oparl/v1.1/body/{one.id}/paper")
        assert ids(items) == [url_of(mine)]
        bodies, _ = walk(client, "/oparl/v1.1/body")
        assert [b["name"] for b in bodies] == ["Stadt Beispielstadt", "Kreis Beispielkreis"]


class TestFilters:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("created_since=2024-01-01T12:02:00%2B00:00", [2, 3, 4]),
            ("created_until=2024-01-01T12:02:00%2B00:00", [0, 1, 2]),
            ("modified_since=2024-01-01T13:01:00%2B01:00", [1, 2, 3, 4]),
            ("modified_until=2024-01-01T13:01:00%2B01:00", [0, 1]),
            ("modified_since=2024-01-01T12:01:00Z&modified_until=2024-01-01T12:03:00Z", [1, 2, 3]),
            # an unencoded + arrives as a space
            ("modified_since=2024-01-01T13:03:00+01:00", [3, 4]),
            ("modified_since=2024-01-01T12:02:00.000001Z", [3, 4]),  # rounded up: inclusive, same rows
            ("modified_until=2024-01-01T12:03:00.999999Z", [0, 1, 2, 3]),
            ("created_since=2024-01-01T13:03:00", [3, 4]),  # no offset: the server's time zone
            ("created_until=2024-01-01", []),
        ],
    )
    def test_bounds_are_inclusive(self, client: TestClient, session: Session, query: str, expected: list[int]) -> None:
        body = make_body(session)
        made = papers(session, body, 5)
        items, _ = walk(client, f"/oparl/v1.1/body/{body.id}/paper?{query}&limit=2")
        assert ids(items) == [url_of(made[i]) for i in expected]

    def test_every_filter_is_carried_encoded_into_every_link(self, client: TestClient, session: Session) -> None:
        body = make_body(session)
        papers(session, body, 5)
        query = (
            "created_since=2024-01-01T13:00:00+01:00&created_until=2024-12-31T00:00:00Z"
            "&modified_since=2023-01-01T00:00:00%2B01:00&modified_until=2030-01-01T00:00:00.5-02:00"
            "&omit_internal=true&limit=2"
        )
        _, pages = walk(client, f"/oparl/v1.1/body/{body.id}/paper?{query}")
        assert len(pages) == 3
        expected = {
            "created_since": ["2024-01-01T13:00:00+01:00"],
            "created_until": ["2024-12-31T01:00:00+01:00"],
            "modified_since": ["2023-01-01T00:00:00+01:00"],
            "modified_until": ["2030-01-01T03:00:00+01:00"],
            "omit_internal": ["true"],
            "limit": ["2"],
        }
        for page in pages:
            for name, link in page["links"].items():
                assert "+" not in link, link
                assert " " not in link, link
                params = parse_qs(urlsplit(link).query)
                params.pop("after", None)
                assert params == expected, name

    def test_tombstones_only_with_modified_since(self, client: TestClient, session: Session) -> None:
        body = make_body(session)
        live, gone = papers(session, body, 2)
        gone.deleted = True
        session.flush()
        plain, _ = walk(client, f"/oparl/v1.1/body/{body.id}/paper")
        assert ids(plain) == [url_of(live)]
        changed, _ = walk(client, f"/oparl/v1.1/body/{body.id}/paper?modified_since=2000-01-01T00:00:00Z")
        assert changed[1] == {
            "id": url_of(gone),
            "type": "https://schema.oparl.org/1.1/Paper",
            "created": "2024-01-01T13:01:00+01:00",
            "modified": "2024-01-01T13:01:00+01:00",
            "deleted": True,
        }

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            (
                "modified_since=yesterday",
                "Der Parameter modified_since ist kein gültiger Zeitpunkt: 'yesterday'.",
            ),
            (
                "created_until=2024-13-01T00:00:00Z",
                "Der Parameter created_until ist kein gültiger Zeitpunkt: '2024-13-01T00:00:00Z'.",
            ),
            (
                "created_since=2024-01-01T00:00:00%2B25:00",
                "Der Parameter created_since hat einen ungültigen Zeitzonen-Versatz: '2024-01-01T00:00:00+25:00'.",
            ),
            ("limit=0", "Der Parameter limit muss mindestens 1 sein, nicht 0."),
            ("limit=ten", "Der Parameter limit muss eine ganze Zahl sein, nicht 'ten'."),
            ("omit_internal=maybe", "Der Parameter omit_internal muss true oder false sein, nicht 'maybe'."),
            ("after=-1", "Der Parameter after muss mindestens 0 sein, nicht -1."),
            ("after=%00", "Der Parameter after muss eine ganze Zahl sein, nicht '\\x00'."),
            (
                "after=99999999999999999999",
                "Der Parameter after muss eine ganze Zahl sein, nicht '99999999999999999999'.",
            ),
            ("after=²", "Der Parameter after muss eine ganze Zahl sein, nicht '²'."),
            (
                "created_since=2024-02-30",
                "Der Parameter created_since ist kein gültiger Zeitpunkt: '2024-02-30'.",
            ),
            (
                "created_since=２024-01-01",
                "Der Parameter created_since ist kein gültiger Zeitpunkt: '２024-01-01'.",
            ),
            (
                "created_since=0001-01-01",
                "Der Parameter created_since ist kein gültiger Zeitpunkt: '0001-01-01'.",
            ),
            (
                "created_until=9999-12-31T23:59:59-01:00",
                "Der Parameter created_until ist kein gültiger Zeitpunkt: '9999-12-31T23:59:59-01:00'.",
            ),
        ],
    )
    def test_bad_parameters_get_a_400_error_object(
        self, client: TestClient, session: Session, query: str, message: str
    ) -> None:
        body = make_body(session)
        response = client.get(f"/oparl/v1.1/body/{body.id}/paper?{query}")
        assert response.status_code == 400
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.json()["type"] == "https://schema.oparl.org/1.1/Error"
        assert response.json()["message"] == message


class TestOtherLists:
    def test_unknown_body_or_list(self, client: TestClient, session: Session) -> None:
        body = make_body(session)
        assert client.get("/oparl/v1.1/body/999999/paper").status_code == 404
        assert client.get(f"/oparl/v1.1/body/{body.id}/nonsense").status_code == 404
        assert client.get(f"/oparl/v1.1/body/{body.id}/paper/").status_code == 404

    def test_every_body_list_answers(self, client: TestClient, session: Session) -> None:
        body = make_body(session)
        doc = client.get(f"/oparl/v1.1/body/{body.id}").json()
        for prop in (
            "organization",
            "person",
            "meeting",
            "paper",
            "agendaItem",
            "consultation",
            "file",
            "locationList",
            "legislativeTermList",
            "membership",
        ):
            response = client.get(local(doc[prop]))
            assert (response.status_code, response.json()["data"]) == (200, []), prop
