"""The search index in step with every write, deletion and visibility change, File.text where it is
served, and the non-public records: anonymous searches built from the hidden records' own words find
nothing, a read-nonpublic token finds them."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import File
from oparl.search.analysis import words
from tests.api.test_nonpublic import SECRET, council_operations, crawl, ids_in
from tests.conftest import BASE_URL

COUNCIL = [
    {"op": "put", "type": "System", "key": "sys", "record": {"name": "Ratsinformation"}},
    {"op": "put", "type": "Body", "key": "stadt", "record": {"system": "sys", "name": "Stadt Beispiel"}},
    {"op": "put", "type": "Organization", "key": "rat", "record": {"body": "stadt", "name": "Rat"}},
]
TEXT = "Die Kämmerei empfiehlt eine Haushaltssperre für das Straßenbauamt."


@pytest.fixture
def writer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": tokens["writer"]}


@pytest.fixture
def stadt(client: TestClient, writer: dict[str, str]) -> str:
    response = client.post("/write/v1/batch", json={"operations": COUNCIL}, headers=writer)
    assert response.status_code == 200, response.text
    body = client.get("/oparl/v1.1/body").json()["data"][0]
    return str(body["oparl-server:search"]).removeprefix(BASE_URL)


def words_of(text: str) -> set[str]:
    """The words of a JSON answer's values that are text (not URLs, dates or keys)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and not node.startswith("http") and not node[:1].isdigit():
            found.update(word for _s, _e, word in words(node))

    for line in text.splitlines() if text.startswith("{") else ():  # an NDJSON snapshot: a document a line
        walk(json.loads(line))
    return found


def names(client: TestClient, url: str, q: str, headers: dict[str, str] | None = None) -> list[str]:
    response = client.get(url, params={"q": q, "limit": "100"}, headers=headers or {})
    assert response.status_code == 200, response.text
    return [hit.get("name") or hit["id"] for hit in response.json()["data"]]


def paper(name: str, **extra: Any) -> dict[str, Any]:
    return {"body": "stadt", "name": name, "reference": "VO/7", **extra}


def test_writes_edits_deletions_and_visibility_move_the_index(
    client: TestClient, writer: dict[str, str], tokens: dict[str, str], stadt: str
) -> None:
    insider = {"Authorization": tokens["insider"]}
    writer = {"Authorization": tokens["both"]}  # it writes a hidden paper, and shows it again
    assert client.put("/write/v1/paper/p", json=paper("Radwegekonzept Nord"), headers=writer).status_code == 201
    assert names(client, stadt, "Radweg") == ["Radwegekonzept Nord"]
    assert client.patch("/write/v1/paper/p", json={"name": "Parkraumkonzept Süd"}, headers=writer).status_code == 200
    assert names(client, stadt, "Radweg") == []
    assert names(client, stadt, "Parkraum sud") == ["Parkraumkonzept Süd"]
    assert client.patch("/write/v1/paper/p", json={"nonPublic": True}, headers=writer).status_code == 200
    assert names(client, stadt, "Parkraum") == []
    assert names(client, stadt, "Parkr*") == []
    assert names(client, stadt, "Parkraum", insider) == ["Parkraumkonzept Süd"]
    assert client.patch("/write/v1/paper/p", json={"nonPublic": False}, headers=writer).status_code == 200
    assert names(client, stadt, "Parkraum") == ["Parkraumkonzept Süd"]
    assert names(client, stadt, "Parkr*") == names(client, stadt, "Parkraumkonz*") == ["Parkraumkonzept Süd"]
    assert client.delete("/write/v1/paper/p", headers=writer).status_code == 200
    assert names(client, stadt, "Parkraum") == names(client, stadt, "Parkr*") == []
    assert names(client, stadt, "Parkraum", insider) == []


def test_file_text_is_served_at_the_file_and_searched_never_embedded(
    client: TestClient, writer: dict[str, str], stadt: str, session: Session
) -> None:
    main = {"key": "f", "name": "Vorlage", "accessUrl": "https://files.example.org/f.pdf", "text": TEXT}
    assert client.put("/write/v1/paper/p", json=paper("Haushalt", mainFile=main), headers=writer).status_code == 201
    # In document text a word matches its own forms; a prefix there is asked for with *.
    assert client.get(stadt, params={"q": "Strassenbau"}).json()["data"] == []
    assert [h["name"] for h in client.get(stadt, params={"q": "Straßenbauamtes"}).json()["data"]] == ["Vorlage"]
    hit = client.get(stadt, params={"q": "Strassenbau*"}).json()["data"]
    assert [(h["name"], h["oparl-server:match"]) for h in hit] == [("Vorlage", "text")]
    assert hit[0]["oparl-server:snippet"] == TEXT.replace("Straßenbauamt", "<mark>Straßenbauamt</mark>")
    file_url = hit[0]["id"].removeprefix(BASE_URL)
    assert client.get(file_url).json()["text"] == TEXT
    paper_url = client.get(file_url).json()["paper"][0].removeprefix(BASE_URL)
    assert "text" not in client.get(paper_url).json()["mainFile"]  # embedded copies carry no text
    assert "text" not in client.get(stadt.replace("/search", "/paper")).json()["data"][0]["mainFile"]
    assert client.get(stadt.replace("/search", "/file")).json()["data"][0]["text"] == TEXT  # the file list does
    # A copy without the text (as a harvester reads it embedded in the Paper) keeps the stored text.
    copy = {k: v for k, v in main.items() if k != "text"}
    assert client.put("/write/v1/paper/p", json=paper("Haushalt", mainFile=copy), headers=writer).status_code == 200
    assert session.scalar(select(File.text).where(File.key == "f")) == TEXT
    assert names(client, stadt, "Haushaltssperre") == ["Vorlage"]
    # Stated as empty, it is.
    assert names(client, stadt, "Kämmer*") == ["Vorlage"]  # from the prefix table (SQLite)
    gone = {**copy, "text": None}
    assert client.put("/write/v1/paper/p", json=paper("Haushalt", mainFile=gone), headers=writer).status_code == 200
    assert names(client, stadt, "Haushaltssperre") == names(client, stadt, "Kämmer*") == []
    if session.get_bind().dialect.name == "sqlite":  # the contentless table holds no row of the old text
        match = text("SELECT count(*) FROM search_prefix_fts WHERE search_prefix_fts MATCH '\"kammer\"*'")
        assert session.scalar(match) == 0


def test_a_filter_by_a_hidden_organization_or_person_finds_nothing(
    client: TestClient, writer: dict[str, str], tokens: dict[str, str], stadt: str
) -> None:
    operations = [
        {"op": "put", "type": "Organization", "key": "geheim", "record": {"body": "stadt", "name": "Zirkel",
                                                                          "nonPublic": True}},
        {"op": "put", "type": "Person", "key": "anna", "record": {"body": "stadt", "name": "Anna Ampel", "membership": [
            {"key": "m1", "organization": "rat"}, {"key": "m2", "organization": "geheim", "nonPublic": True}]}},
        {"op": "put", "type": "Paper", "key": "p", "record": paper("Ampelschaltung", underDirectionOf=["geheim"])},
    ]  # fmt: skip
    assert client.post("/write/v1/batch", json={"operations": operations}, headers=writer).status_code == 200
    both = {"Authorization": tokens["both"]}
    results = client.post("/write/v1/batch", json={"operations": operations[:1]}, headers=both).json()["results"]
    hidden = results[0]["id"]
    insider = {"Authorization": tokens["insider"]}
    for q in ("Ampel", "Anna"):
        found = client.get(stadt, params={"q": q, "organization": hidden}).json()["data"]
        assert found == []
    got = client.get(stadt, params={"q": "Ampel", "organization": hidden}, headers=insider).json()["data"]
    assert sorted(h["name"] for h in got) == ["Ampelschaltung", "Anna Ampel"]


@pytest.fixture
def council(client: TestClient, tokens: dict[str, str]) -> None:
    """tests/api/test_nonpublic.py's council, every kind of object non-public somewhere, and a hidden
    document text beside a public one."""
    operations = council_operations()
    files = [("f-text", f"{SECRET} Protokoll der Klausurtagung zur Haushaltssperre und Stellenbesetzung", True),
             ("f-open", "Bekanntmachung der Tagesordnung", False)]  # fmt: skip
    operations += [{"op": "put", "type": "File", "key": key, "record": {"body": "stadt", "name": "Anlage", "text": text,
                    "accessUrl": f"https://files.example.org/{key}.pdf", "nonPublic": hidden}}
                   for key, text, hidden in files]  # fmt: skip
    response = client.post(
        "/write/v1/batch", json={"operations": operations}, headers={"Authorization": tokens["both"]}
    )
    assert response.status_code == 200, response.text


def test_random_queries_from_the_hidden_records_words_find_nothing_anonymously(
    client: TestClient, council: None, tokens: dict[str, str]
) -> None:
    insider = {"Authorization": tokens["insider"]}
    public_pages, insider_pages = crawl(client, {}), crawl(client, insider)
    hidden = ids_in(insider_pages) - ids_in(public_pages)
    public_words = {w for url, text in public_pages.items() if "/search?" not in url for w in words_of(text)}
    hidden_words = {w for url, text in insider_pages.items() if url in hidden for w in words_of(text)}
    only_hidden = sorted(hidden_words - public_words)
    assert "geheim" in only_hidden
    rng = random.Random(15)
    queries = [SECRET, f"{SECRET[:4]}*", *rng.sample(only_hidden, min(25, len(only_hidden)))]
    queries += [" ".join(rng.sample(only_hidden, 2)) for _ in range(10)]
    body = client.get("/oparl/v1.1/body").json()["data"][0]
    search = body["oparl-server:search"].removeprefix(BASE_URL)
    entitled_hits = 0
    for q in queries:
        answer = client.get(search, params={"q": q, "limit": "100"})
        assert answer.status_code == 200, (q, answer.text)
        assert answer.json()["data"] == [], q
        assert "next" not in answer.json()["links"]
        seen = client.get(search, params={"q": q, "limit": "100"}, headers=insider).json()["data"]
        entitled_hits += bool(seen)
        assert {hit["id"] for hit in seen} <= hidden | ids_in(public_pages)
    # The same queries do find the hidden records with a read-nonpublic token.
    assert entitled_hits >= len(queries) // 2
    assert re.search(SECRET, str(client.get(search, params={"q": SECRET}, headers=insider).json()))


def test_the_rebuild_makes_what_the_writes_made(session: Session, luebeck: None) -> None:
    from models import SearchEntry
    from oparl.search.index import rebuild

    def entries() -> set[tuple[Any, ...]]:
        columns = (SearchEntry.type_name, SearchEntry.object_id, SearchEntry.public, SearchEntry.ref_key,
                   SearchEntry.date, SearchEntry.title, SearchEntry.body, SearchEntry.facets)  # fmt: skip
        return {tuple(row) for row in session.execute(select(*columns))}

    written = entries()
    assert len(written) == 4 + 10 + 9 + 3 + 12 + 6  # the Lübeck papers, meetings, items, persons, organizations, files
    assert rebuild(session, batch=7) == len(written)
    assert entries() == written
