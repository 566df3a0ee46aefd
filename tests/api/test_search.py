"""Full-text search (issue 15) over the Lübeck records: a test set written from the seed texts,
each query with the objects it must find and must not find, the same on SQLite and PostgreSQL;
ranking, filters, paging, the index kept in step with writes, and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from oparl.catalogue import TYPES
from tests.conftest import BASE_URL

PAPERS = ("vo-2023-11779", "vo-2023-11778-01", "vo-2023-11778", "drucksache-404-2003")
P11779, P11778_01, P11778, P404 = (f"Paper:luebeck/paper/{k}" for k in PAPERS)
A11779 = "AgendaItem:luebeck/agenda-item/ausschuss-soziales-2023-01-31/vo-2023-11779"
F11779 = "File:luebeck/file/vo-2023-11779/vorlage"
F11778_01 = "File:luebeck/file/vo-2023-11778-01/bericht"


@pytest.fixture
def keys(session: Session, luebeck: None) -> dict[str, str]:
    """OParl URL -> "Type:key", so the test set names objects as the fixtures do (ids differ by engine)."""
    found = {}
    for type_name in ("Paper", "Meeting", "AgendaItem", "Person", "Organization", "File"):
        model, segment = TYPES[type_name].model, TYPES[type_name].segment
        for object_id, key in session.execute(select(model.id, model.key)):
            found[f"{BASE_URL}/oparl/v1.1/{segment}/{object_id}"] = f"{type_name}:{key}"
    return found


def url_of(keys: dict[str, str], name: str) -> str:
    return next(url for url, key in keys.items() if key == name)


def search(client: TestClient, params: dict[str, str], headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = client.get("/oparl/v1.1/body").json()["data"][0]
    response = client.get(body["oparl-server:search"].removeprefix(BASE_URL), params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    return dict(response.json())


def found(client: TestClient, keys: dict[str, str], **params: str) -> list[str]:
    """Every hit of every page, in order."""
    hits: list[str] = []
    page = search(client, {"limit": "100", **params})
    while True:
        hits += [keys[hit["id"]] for hit in page["data"]]
        if "next" not in page["links"]:
            return hits
        page = client.get(page["links"]["next"].removeprefix(BASE_URL)).json()


# (query and filters, must find, must not find), written from fixtures/luebeck and its files.
TEST_SET: list[tuple[dict[str, str], set[str], set[str]]] = [
    # a compound found by its first part, in titles and in document text
    ({"q": "Sozialplan"}, {P11779, F11779, A11779}, {P11778, P404}),
    # the reference: exact
    ({"q": "VO/2023/11779"}, {P11779, F11779}, {P11778, P11778_01}),
    # stemming: Armuts-, Armut; the Sozialplanung paper's Vorlage mentions it in its text, its name not
    ({"q": "Armut"}, {P11778, P11778_01, P404, F11779}, {P11779}),
    # only in a document's text
    ({"q": "Quartiersmanagement"}, {F11778_01}, {P11778_01, P11779, F11779}),
    # umlauts and ß, with and without
    ({"q": "Maßnahme"}, {F11779}, {P11779, F11778_01}),
    ({"q": "Massnahme"}, {F11779}, {P11779, F11778_01}),
    ({"q": "Burgerschaft Lubeck", "type": "Organization"}, {"Organization:luebeck/organization/buergerschaft"},
     {"Organization:luebeck/organization/senat"}),
    # inflected forms: Beschlüsse finds Beschluss
    ({"q": "Beschlüsse"}, {F11779}, {F11778_01}),
    # a phrase in its order only
    ({"q": '"Soziale Sicherung"', "type": "Organization"}, {"Organization:luebeck/organization/2.500"}, set()),
    ({"q": '"Sicherung Soziale"'}, set(), {"Organization:luebeck/organization/2.500", F11779}),
    # filters
    ({"q": "Sozialbericht", "type": "Paper"}, {P11778, P11778_01, P404}, {F11779, F11778_01}),
    ({"q": "Sozialbericht", "type": "Paper", "paperType": "Bericht"}, {P11778_01}, {P404}),
    ({"q": "Sozial", "type": "Paper", "person": "Person:luebeck/person/gitte-timmermann"}, {P11779},
     {P11778_01, P11778, P404}),
    ({"q": "Armut", "organization": "Organization:luebeck/organization/jugendhilfeausschuss"}, {P11778_01, P11778_01},
     {P11778, P404, F11779}),
    ({"q": "Sozialbericht", "date_since": "2024-01-01"}, {P11778_01, F11778_01}, {P404}),
    # an undated object is outside every date range
    ({"q": "Sozialbericht", "date_until": "2023-12-31"}, set(), {P11778, P11778_01, F11778_01}),
    ({"q": "Sozialplan", "date_until": "2023-12-31", "date_since": "2023-01-09"}, {P11779, F11779}, set()),
    ({"q": "Timmermann", "type": "Person"}, {"Person:luebeck/person/gitte-timmermann"},
     {"Person:luebeck/person/eric-zschech"}),
]  # fmt: skip


@pytest.mark.parametrize(("params", "must", "must_not"), TEST_SET, ids=[str(p) for p, _, _ in TEST_SET])
def test_the_test_set(
    client: TestClient, keys: dict[str, str], params: dict[str, str], must: set[str], must_not: set[str]
) -> None:
    named = {k: url_of(keys, v) if k in ("person", "organization") else v for k, v in params.items()}
    hits = found(client, keys, **named)
    assert len(hits) == len(set(hits))  # no hit twice across pages
    assert must <= set(hits), must - set(hits)
    assert must_not.isdisjoint(hits), must_not & set(hits)
