"""Non-public records: invisible to anonymous clients everywhere, complete for read-nonpublic tokens."""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest
from fastapi.testclient import TestClient

from tests.conftest import BASE_URL, FakeClock

SECRET = "GEHEIM"  # every non-public record carries it in a text field
LISTS = ("organization", "person", "meeting", "paper", "agendaItem", "consultation", "file", "locationList",
         "legislativeTermList", "membership")  # fmt: skip
# Lower-cased: the search's links repeat `q`, and the leak check looks for SECRET as written.
SEARCHES = tuple(f"?q={word}" for word in ("geheim", "geheim*", "Kommission", "Saal", "Klausur", "Vorsitz",
                                            "Hauptdatei", "Zur%C3%BCckgezogen", "Bert", "Rolle"))  # fmt: skip
QUERIES = ("", "?modified_since=2000-01-01T00:00:00Z", "?omit_internal=true", "?created_since=2000-01-01T00:00:00Z",
           "?limit=2")  # fmt: skip


def council_operations() -> list[dict[str, Any]]:
    """A council where every kind of object is non-public somewhere, next to public ones."""

    def put(type_name: str, key: str, **record: Any) -> dict[str, Any]:
        return {"op": "put", "type": type_name, "key": key, "record": record}

    hidden_file = {"key": "f-secret", "name": f"{SECRET} Anlage", "accessUrl": "https://files.example.org/s.pdf",
                   "nonPublic": True}  # fmt: skip
    return [
        put("System", "sys", name="Ratsinformation"),
        put("Body", "stadt", system="sys", name="Stadt"),
        put("Organization", "rat", body="stadt", name="Rat"),
        put("Organization", "kommission", body="stadt", name=f"{SECRET} Kommission", nonPublic=True),
        put("Location", "saal", body="stadt", description=f"{SECRET} Saal", nonPublic=True),
        put(
            "Person",
            "anna",
            body="stadt",
            name="Anna",
            membership=[
                {"key": "m-rat", "organization": "rat", "role": "Mitglied"},
                {"key": "m-komm", "organization": "kommission", "role": f"{SECRET} Mitglied", "nonPublic": True},
            ],
        ),  # fmt: skip
        put(
            "Person",
            "bert",
            body="stadt",
            name=f"{SECRET} Bert",
            nonPublic=True,
            membership=[{"key": "m-bert", "organization": "rat", "role": f"{SECRET} Vorsitz"}],
        ),  # fmt: skip
        put(
            "Meeting",
            "sitzung",
            body="stadt",
            name="Sitzung",
            location="saal",
            organization=["rat", "kommission"],
            participant=["anna", "bert"],
            agendaItem=[
                {"key": "top1", "name": "Öffentlicher Punkt", "public": True},
                {
                    "key": "top2",
                    "name": f"{SECRET} Punkt",
                    "public": False,
                    "nonPublic": True,
                    "auxiliaryFile": [hidden_file],
                },
            ],
        ),  # fmt: skip
        put(
            "Meeting",
            "klausur",
            body="stadt",
            name=f"{SECRET} Klausur",
            nonPublic=True,
            agendaItem=[{"key": "k1", "name": f"{SECRET} Klausurpunkt"}],
        ),  # fmt: skip
        put(
            "Paper",
            "vorlage",
            body="stadt",
            name="Vorlage",
            originatorPerson=["anna", "bert"],
            underDirectionOf=["rat", "kommission"],
            auxiliaryFile=["f-secret"],
            consultation=[
                {"key": "c-pub", "organization": ["rat"], "meeting": "sitzung", "agendaItem": "top1"},
                {
                    "key": "c-hid",
                    "organization": ["kommission"],
                    "meeting": "klausur",
                    "agendaItem": "k1",
                    "role": f"{SECRET} Rolle",
                    "nonPublic": True,
                },
            ],
        ),  # fmt: skip
        put(
            "Paper",
            "intern",
            body="stadt",
            name=f"{SECRET} Papier",
            nonPublic=True,
            relatedPaper=["vorlage"],
            mainFile={
                "key": "f-intern",
                "name": f"{SECRET} Hauptdatei",
                "accessUrl": "https://files.example.org/i.pdf",
            },
            consultation=[{"key": "c-int", "organization": ["rat"], "role": f"{SECRET} Beratung"}],
        ),  # fmt: skip
        put("Paper", "zurueckgezogen", body="stadt", name="Zurückgezogen"),
    ]


@pytest.fixture
def council(client: TestClient, tokens: dict[str, str], clock: FakeClock) -> None:
    auth = {"Authorization": tokens["writer"]}
    response = client.post("/write/v1/batch", json={"operations": council_operations()}, headers=auth)
    assert response.status_code == 200, response.text
    clock.advance(60)
    # Published first, then made non-public: anonymous copies must lose it.
    depublish = client.patch("/write/v1/paper/zurueckgezogen", json={"name": f"{SECRET} Zurückgezogen",
                                                                     "nonPublic": True}, headers=auth)  # fmt: skip
    assert depublish.status_code == 200


def crawl(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    """Every URL reachable from the System and from `/` (the HTML pages, api/pages, and every link
    on them), lists walked with several filters: url -> response text."""
    seen: dict[str, str] = {}
    todo = [f"{BASE_URL}/oparl/v1.1/system", f"{BASE_URL}/"]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        response = client.get(url.removeprefix(BASE_URL), headers=headers)
        assert response.status_code in (200, 404, 410), (url, response.status_code)
        seen[url] = response.text
        if response.headers["content-type"].startswith("text/html"):
            links = {
                urldefrag(urljoin(url, html.unescape(href))).url
                for href in re.findall(r'href="([^"]*)"', response.text)
            }
            todo += sorted(link for link in links - set(seen) if link.startswith(f"{BASE_URL}/"))
            continue
        if not response.headers["content-type"].startswith("application/json"):
            continue
        # The search without `q` is a 400: it is crawled with the words of the hidden records (SEARCHES).
        found = {u for u in re.findall(rf'"({re.escape(BASE_URL)}/[^"]*)"', response.text) if not u.endswith("/search")}
        data = response.json()
        if data.get("type", "").endswith("/Body"):
            found |= {data[name] + query for name in LISTS for query in QUERIES}
            found |= {data["oparl-server:search"] + query for query in SEARCHES}
            found |= {f"{data['web']}/search{query}" for query in SEARCHES}  # the search page
        todo += sorted(found - set(seen))
    return seen


def ids_in(pages: dict[str, str]) -> set[str]:
    return {m for text in pages.values() for m in re.findall(r'"id":"([^"]+)"', text.replace('": "', '":"'))}


def test_anonymous_clients_never_see_nonpublic_records(client: TestClient, council: None) -> None:
    pages = crawl(client, {})
    leaks = {url: text for url, text in pages.items() if SECRET in text}
    assert leaks == {}
    tombstones = [json.loads(t) for t in pages.values() if '"deleted":true' in t.replace(" ", "")]
    names = {t["id"] for page in tombstones for t in (page.get("data") or [page]) if t.get("deleted")}
    # The depublished paper shows as a tombstone; records never published do not exist at all.
    assert len(names) == 1
    assert sum(1 for text in pages.values() if '"totalElements"' in text) > 50
    # The pages: `/`, the Body's, its four lists, and the page of every shown Organization (Rat, and
    # its meetings' list), Person (Anna), Meeting (Sitzung) and Paper (Vorlage); not the hidden or
    # depublished ones; and the search page for every word of the hidden records.
    html_pages = [url.removeprefix(BASE_URL) for url, text in pages.items() if text.startswith("<!DOCTYPE html>")]
    assert sorted(re.sub(r"/[0-9]+", "/#", p) for p in html_pages if not p.startswith("/oparl/")) == sorted([
        "/", "/body/#", "/body/#/meeting", "/body/#/organization", "/body/#/paper", "/body/#/person",
        "/meeting/#", "/organization/#", "/organization/#/meeting", "/paper/#", "/person/#",
        *(f"/body/#/search{q}" for q in SEARCHES),
    ])  # fmt: skip


def test_read_nonpublic_tokens_see_everything(client: TestClient, council: None, tokens: dict[str, str]) -> None:
    public = ids_in(crawl(client, {}))
    insider_pages = crawl(client, {"Authorization": tokens["insider"]})
    insider = ids_in(insider_pages)
    hidden = insider - public
    texts = "".join(insider_pages.values())
    for marker in ("Kommission", "Saal", "Bert", "Vorsitz", "Klausurpunkt", "Papier", "Hauptdatei", "Rolle", "Beratung",
                   "Anlage", "Punkt", "Zurückgezogen"):  # fmt: skip
        assert f"{SECRET} {marker}" in texts, marker
    # Paper intern, Organization kommission, Location saal, Person bert, Memberships m-komm and m-bert,
    # Meeting klausur, AgendaItems top2 and k1, Consultations c-hid and c-int, Files f-secret and f-intern.
    # (The depublished paper is public as a tombstone.)
    assert len(hidden) == 13


def test_private_answers_are_marked_uncacheable(client: TestClient, council: None, tokens: dict[str, str]) -> None:
    insider = client.get("/oparl/v1.1/body", headers={"Authorization": tokens["insider"]})
    anonymous = client.get("/oparl/v1.1/body")
    assert insider.headers["cache-control"] == "private"
    assert "etag" not in insider.headers
    # Public answers may sit in a shared cache, which revalidates them and keys them on the token.
    assert anonymous.headers["cache-control"] == "public, no-cache"
    assert anonymous.headers["vary"] == "Accept-Encoding, Authorization"


class TestVisibilityRules:
    """Regressions found in review: each is a way hidden data could show or stay hidden wrongly."""

    @pytest.fixture
    def auth(self, tokens: dict[str, str]) -> dict[str, str]:
        return {"Authorization": tokens["writer"]}

    @pytest.fixture
    def body(self, client: TestClient, auth: dict[str, str]) -> str:
        ops = [{"op": "put", "type": "System", "key": "s", "record": {"name": "Ratsinformation"}},
               {"op": "put", "type": "Body", "key": "b", "record": {"system": "s", "name": "Stadt"}}]  # fmt: skip
        result = client.post("/write/v1/batch", json={"operations": ops}, headers=auth).json()["results"]
        return str(result[1]["id"]).removeprefix(BASE_URL)

    def files(self, client: TestClient, body: str, headers: dict[str, str] | None = None) -> list[str]:
        return [f.get("name", "†") for f in client.get(f"{body}/file", headers=headers or {}).json()["data"]]

    def test_files_in_agenda_items_of_a_hidden_meeting_are_hidden(
        self, client: TestClient, auth: dict[str, str], body: str
    ) -> None:
        record = {
            "body": "b",
            "nonPublic": True,
            "agendaItem": [
                {"key": "a", "resolutionFile": {"key": "f", "name": "Beschluss", "accessUrl": "https://x.example/f"}}
            ],
        }
        assert client.put("/write/v1/meeting/m", json=record, headers=auth).status_code == 201
        assert self.files(client, body) == []

    def test_depublishing_a_paper_hides_its_files_and_republishing_shows_them(
        self, client: TestClient, auth: dict[str, str], body: str, tokens: dict[str, str]
    ) -> None:
        record = {"body": "b", "name": "Vorlage", "mainFile": {"key": "f", "name": "Vorlage.pdf",
                                                                "accessUrl": "https://x.example/f"}}  # fmt: skip
        client.put("/write/v1/paper/p", json=record, headers=auth)
        assert self.files(client, body) == ["Vorlage.pdf"]
        client.patch("/write/v1/paper/p", json={"nonPublic": True}, headers=auth)
        assert self.files(client, body) == []
        assert self.files(client, body, {"Authorization": tokens["insider"]}) == ["Vorlage.pdf"]
        # Publishing a non-public record needs a writer that sees it (read-nonpublic too).
        client.patch("/write/v1/paper/p", json={"nonPublic": False}, headers={"Authorization": tokens["both"]})
        assert self.files(client, body) == ["Vorlage.pdf"]

    def test_a_location_shared_with_a_public_object_stays_public_and_unchanged(
        self, client: TestClient, body: str, tokens: dict[str, str]
    ) -> None:
        auth = {"Authorization": tokens["both"]}  # it writes a non-public record twice
        place = {"key": "saal", "description": "Saal"}
        ops = [{"op": "put", "type": "Paper", "key": "pub", "record": {"body": "b", "location": [place]}},
               {"op": "put", "type": "Meeting", "key": "priv", "record": {"body": "b", "location": "saal",
                                                                          "nonPublic": True}}]  # fmt: skip
        first = client.post("/write/v1/batch", json={"operations": ops}, headers=auth).json()["results"]
        again = client.post("/write/v1/batch", json={"operations": ops}, headers=auth).json()["results"]
        assert [r["result"] for r in first] == ["created", "created"]
        assert [r["result"] for r in again] == ["unchanged", "unchanged"]
        assert [loc["description"] for loc in client.get(f"{body}/location").json()["data"]] == ["Saal"]

    def test_standalone_agenda_items_count_only_visible_siblings(
        self, client: TestClient, auth: dict[str, str], body: str
    ) -> None:
        items = [{"key": "a"}, {"key": "b", "nonPublic": True}, {"key": "c"}]
        client.put("/write/v1/meeting/m", json={"body": "b", "agendaItem": items}, headers=auth)
        served = client.get(f"{body}/agenda-item").json()["data"]
        assert [i["order"] for i in served] == [0, 1]

    def test_a_never_published_deleted_file_does_not_exist(
        self, client: TestClient, auth: dict[str, str], body: str
    ) -> None:
        record = {"body": "b", "name": "intern", "nonPublic": True, "accessUrl": "https://x.example/f"}
        file_url = client.put("/write/v1/file/f", json=record, headers=auth).json()["id"].removeprefix(BASE_URL)
        client.delete("/write/v1/file/f", headers=auth)
        assert client.get(file_url).status_code == 404
        assert client.get(f"{file_url}/access").status_code == 404

    @pytest.mark.parametrize(
        ("path", "record", "message"),
        [
            ("body/b", {"system": "s", "name": "Stadt", "nonPublic": True}, "Body 'b'.nonPublic: a Body is always"),
            (
                "paper/p",
                {"body": "b", "underDirectionOf": [{"key": "o"}]},
                "Paper 'p'.underDirectionOf: a Organization",
            ),
            ("paper/p", {"body": {"key": "b"}}, "Paper 'p'.body: a Body is referenced by key or OParl URL"),
            (
                "meeting/m",
                {"body": "b", "start": "9999-12-31T23:30:00+00:00"},
                "Meeting 'm'.start: expected a date-time",
            ),
            ("paper/p", {"body": "b", "name": "a\x00b"}, "Paper 'p'.name: expected a string without NUL characters"),
        ],
    )
    def test_refused_records(
        self, client: TestClient, auth: dict[str, str], body: str, path: str, record: dict[str, Any], message: str
    ) -> None:
        response = client.put(f"/write/v1/{path}", json=record, headers=auth)
        assert response.status_code == 422
        assert response.json()["message"].startswith(message)

    def test_patching_a_deleted_record_is_404(self, client: TestClient, auth: dict[str, str], body: str) -> None:
        client.put("/write/v1/paper/p", json={"body": "b"}, headers=auth)
        client.delete("/write/v1/paper/p", headers=auth)
        assert client.patch("/write/v1/paper/p", json={"name": "X"}, headers=auth).status_code == 404

    def test_moving_a_consultation_stamps_both_papers(
        self, client: TestClient, auth: dict[str, str], body: str, clock: FakeClock
    ) -> None:
        one = client.put("/write/v1/paper/one", json={"body": "b", "consultation": [{"key": "c"}]}, headers=auth)
        two = client.put("/write/v1/paper/two", json={"body": "b"}, headers=auth)
        clock.advance(3600)
        client.patch("/write/v1/consultation/c", json={"paper": "two"}, headers=auth)
        papers = [client.get(r.json()["id"].removeprefix(BASE_URL)).json() for r in (one, two)]
        assert [p["modified"] for p in papers] == ["2024-06-03T11:00:01+02:00"] * 2
        assert ["consultation" in p for p in papers] == [False, True]


# Every non-public record of the council, by write-API segment.
HIDDEN_KEYS = [("organization", "kommission"), ("location", "saal"), ("person", "bert"), ("membership", "m-komm"),
               ("membership", "m-bert"), ("meeting", "klausur"), ("agenda-item", "top2"), ("agenda-item", "k1"),
               ("consultation", "c-hid"), ("consultation", "c-int"), ("file", "f-secret"), ("file", "f-intern"),
               ("paper", "intern"), ("paper", "zurueckgezogen")]  # fmt: skip


def without_key(answer: dict[str, Any], key: str) -> str:
    return json.dumps(answer).replace(key, "KEY")


def _is_json(text: str) -> bool:
    """Objects and lists, not calendars, Atom feeds or NDJSON snapshots the crawl also reaches."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_a_writer_without_read_nonpublic_learns_nothing(
    client: TestClient, council: None, tokens: dict[str, str]
) -> None:
    writer = {"Authorization": tokens["writer"]}
    insider = {"Authorization": tokens["insider"]}
    before = crawl(client, insider)
    objects = {url: json.loads(text) for url, text in before.items() if _is_json(text)}
    kommission = next(url for url, data in objects.items() if data.get("name") == f"{SECRET} Kommission")
    for segment, key in HIDDEN_KEYS:
        # Publishing it, changing or deleting it: answered exactly as for a key that does not exist.
        for method, body in (("PATCH", {"nonPublic": False}), ("PATCH", {}), ("DELETE", None)):
            hidden = client.request(method, f"/write/v1/{segment}/{key}", json=body, headers=writer)
            absent = client.request(method, f"/write/v1/{segment}/nope-{key}", json=body, headers=writer)
            assert hidden.status_code == absent.status_code == 404
            assert without_key(hidden.json(), key) == without_key(absent.json(), f"nope-{key}")
        ops = [{"op": "patch", "type": segment, "key": key, "record": {"nonPublic": False}}]
        batch = client.post("/write/v1/batch", json={"operations": ops}, headers=writer)
        ops_absent = [{"op": "patch", "type": segment, "key": f"nope-{key}", "record": {"nonPublic": False}}]
        batch_absent = client.post("/write/v1/batch", json={"operations": ops_absent}, headers=writer)
        assert without_key(batch.json(), key) == without_key(batch_absent.json(), f"nope-{key}")
        # Writing a record of its own under that key is refused (the one thing it learns: the key is taken).
        assert client.put(f"/write/v1/{segment}/{key}", json={"body": "stadt"}, headers=writer).status_code == 403
    # References to non-public records, by key or by URL, are answered as references to nothing.
    for reference, nothing in (("kommission", "nope"), (kommission, kommission.rsplit("/", 1)[0] + "/999999")):
        hidden = client.put("/write/v1/paper/neu", json={"body": "stadt", "underDirectionOf": [reference]},
                            headers=writer)  # fmt: skip
        absent = client.put("/write/v1/paper/neu", json={"body": "stadt", "underDirectionOf": [nothing]},
                            headers=writer)  # fmt: skip
        assert hidden.status_code == absent.status_code == 422
        assert without_key(hidden.json(), reference) == without_key(absent.json(), nothing)
    # Public records sent again as the writer sees them are unchanged: what it cannot see stays.
    visible = [
        ("paper", "vorlage", {"body": "stadt", "name": "Vorlage", "originatorPerson": ["anna"],
                              "underDirectionOf": ["rat"],
                              "consultation": [{"key": "c-pub", "organization": ["rat"], "meeting": "sitzung",
                                                "agendaItem": "top1"}]}),
        ("meeting", "sitzung", {"body": "stadt", "name": "Sitzung", "organization": ["rat"], "participant": ["anna"],
                                "agendaItem": [{"key": "top1", "name": "Öffentlicher Punkt", "public": True}]}),
        ("person", "anna", {"body": "stadt", "name": "Anna",
                            "membership": [{"key": "m-rat", "organization": "rat", "role": "Mitglied"}]}),
    ]  # fmt: skip
    for segment, key, record in visible:
        response = client.put(f"/write/v1/{segment}/{key}", json=record, headers=writer)
        assert (response.status_code, response.json()["result"]) == (200, "unchanged"), (key, response.text)
    assert crawl(client, insider) == before  # nothing of the non-public records moved
    leaks = {url: text for url, text in crawl(client, writer).items() if SECRET in text}
    assert leaks == {}


def test_a_location_written_inside_a_nonpublic_meeting(client: TestClient, tokens: dict[str, str]) -> None:
    """Hidden while only non-public records embed it; a public Meeting can show it only if its
    writer sees it (read-nonpublic), and a Location that must stay hidden says nonPublic itself."""
    writer, both = {"Authorization": tokens["writer"]}, {"Authorization": tokens["both"]}
    ops = [{"op": "put", "type": "System", "key": "s", "record": {"name": "S"}},
           {"op": "put", "type": "Body", "key": "b", "record": {"system": "s", "name": "Stadt"}},
           {"op": "put", "type": "Meeting", "key": "geheim", "record": {
               "body": "b", "nonPublic": True, "location": {"key": "raum", "description": f"{SECRET} Raum"},
           }}]  # fmt: skip
    body = client.post("/write/v1/batch", json={"operations": ops}, headers=writer).json()["results"][1]["id"]
    locations = client.get(body.removeprefix(BASE_URL)).json()["locationList"].removeprefix(BASE_URL)
    assert client.get(locations).json()["data"] == []
    refused = client.put("/write/v1/meeting/offen", json={"body": "b", "location": "raum"}, headers=writer)
    assert (refused.status_code, refused.json()["message"]) == (
        422, "Meeting 'offen'.location: no Location with key or URL 'raum'")  # fmt: skip
    assert client.get(locations).json()["data"] == []
    # A writer that sees it may publish it by showing it in a public Meeting.
    assert (
        client.put("/write/v1/meeting/offen", json={"body": "b", "location": "raum"}, headers=both).status_code == 201
    )
    assert [loc["description"] for loc in client.get(locations).json()["data"]] == [f"{SECRET} Raum"]
