"""Catalogue, calendars and feeds of the Lübeck demo: what portals, calendar apps and feed readers get."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import feedparser  # type: ignore[import-untyped]
import icalendar
import pytest
from fastapi.testclient import TestClient
from pyshacl import validate
from rdflib import Graph, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, RDF

from api.settings import Settings
from tests.api.test_luebeck import BERATUNGSFOLGE
from tests.conftest import BASE_URL, Database

API = f"{BASE_URL}/oparl/v1.1"
SHAPES = Graph().parse(Path(__file__).with_name("dcat_ap_de_shapes.ttl"))
LICENCE = "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
FORMATS = {"ttl": "turtle", "rdf": "xml", "jsonld": "json-ld"}
DCATDE = Namespace("http://dcat-ap.de/def/dcatde/")
pytestmark = pytest.mark.usefixtures("luebeck")


@pytest.fixture
def settings(database: Database, data_dir: Path) -> Settings:
    return Settings(database_url=database.url, public_base_url=BASE_URL, data_dir=data_dir, rate_limit="",
                    rate_limit_token="", license=LICENCE, license_attribution="Hansestadt Lübeck",
                    contact_email="ratsinfo@example.org", calendar_past_days=10_000)  # fmt: skip


def get(client: TestClient, path: str, **headers: str) -> Any:
    response = client.get(path.removeprefix(BASE_URL), headers=headers)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return response


def body_json(client: TestClient) -> dict[str, Any]:
    data: dict[str, Any] = get(client, f"{API}/body").json()["data"][0]
    return data


def organization(client: TestClient, name: str) -> dict[str, Any]:
    body = body_json(client)
    found: list[dict[str, Any]] = [o for o in get(client, body["organization"]).json()["data"] if o["name"] == name]
    assert len(found) == 1
    return found[0]


class TestCatalogue:
    def graph(self, client: TestClient, url: str, extension: str) -> Graph:
        return Graph().parse(data=get(client, f"{url}.{extension}").content, format=FORMATS[extension])

    @pytest.mark.parametrize("which", ["system", "body"])
    def test_conforms_to_the_shapes_in_every_serialisation(self, client: TestClient, which: str) -> None:
        url = f"{API}/catalog" if which == "system" else body_json(client)["oparl-server:catalog"].removesuffix(".ttl")
        graphs = [self.graph(client, url, ext) for ext in FORMATS]
        conforms, _, report = validate(graphs[0], shacl_graph=SHAPES, advanced=True)
        assert conforms, report
        assert all(isomorphic(graphs[0], other) for other in graphs[1:])
        datasets = set(graphs[0].subjects(RDF.type, DCAT.Dataset))
        assert {str(d).rsplit("#", 1)[1] for d in datasets} == {"papers", "meetings", "organizations"}

    def test_distributions_name_the_lists_calendar_and_feed(self, client: TestClient) -> None:
        body = body_json(client)
        graph = self.graph(client, body["oparl-server:catalog"].removesuffix(".ttl"), "ttl")
        access = {str(o) for o in graph.objects(None, DCAT.accessURL)}
        assert {body["paper"], body["meeting"], body["organization"], body["oparl-server:calendar"],
                body["oparl-server:papersFeed"]} <= access  # fmt: skip
        service = next(graph.subjects(RDF.type, DCAT.DataService))
        assert str(graph.value(service, DCAT.endpointURL)) == f"{API}/system"
        geocoding = {str(o) for o in graph.objects(None, DCATDE.politicalGeocodingURI)}
        assert geocoding == {"http://dcat-ap.de/def/politicalGeocoding/municipalityKey/01003000"}
        assert {str(o) for o in graph.objects(None, DCTERMS.license)} == {LICENCE}

    def test_the_kommparl_snapshot_and_feed_are_distributions(self, client: TestClient) -> None:
        body = body_json(client)
        graph = self.graph(client, body["oparl-server:catalog"].removesuffix(".ttl"), "ttl")
        kommparl = {str(graph.value(d, DCAT.accessURL)) for d in graph.subjects(DCTERMS.conformsTo,
                    URIRef("https://schema.kommparl.de/0.1/"))}  # fmt: skip
        assert kommparl == {body["kommparl:snapshot"], body["kommparl:changes"]}

    def test_byte_stable_with_etag_and_304(self, client: TestClient) -> None:
        for ext in FORMATS:
            first, second = get(client, f"{API}/catalog.{ext}"), get(client, f"{API}/catalog.{ext}")
            assert first.content == second.content
            assert first.headers["etag"] == second.headers["etag"]
            again = client.get(f"/oparl/v1.1/catalog.{ext}", headers={"If-None-Match": first.headers["etag"]})
            assert again.status_code == 304

    def test_accept_picks_the_serialisation(self, client: TestClient) -> None:
        for media, ext in (("application/ld+json", "jsonld"), ("application/rdf+xml", "rdf"), ("text/turtle", "ttl"),
                           ("*/*", "ttl")):  # fmt: skip
            answer = client.get("/oparl/v1.1/catalog", headers={"Accept": media}, follow_redirects=False)
            assert (answer.status_code, answer.headers["location"]) == (303, f"/oparl/v1.1/catalog.{ext}")
        assert client.get("/oparl/v1.1/catalog.csv").status_code == 404

    def test_licence_and_contact_on_system_and_body(self, client: TestClient) -> None:
        system, body = get(client, f"{API}/system").json(), body_json(client)
        assert system["license"] == body["license"] == LICENCE
        assert body["contactEmail"] == "ratsinfo@example.org"


def test_without_a_licence_the_catalogue_lists_no_dataset(database: Database, data_dir: Path, client: TestClient,
                                                          session: Any) -> None:  # fmt: skip
    from api.app import create_app
    from api.deps import get_session

    plain = Settings(database_url=database.url, public_base_url=BASE_URL, data_dir=data_dir, rate_limit="")
    app = create_app(plain)
    app.dependency_overrides[get_session] = lambda: session
    with TestClient(app) as unlicensed:
        graph = Graph().parse(data=get(unlicensed, f"{API}/catalog.ttl").content, format="turtle")
        assert list(graph.subjects(RDF.type, DCAT.Dataset)) == []
        catalogue = URIRef(f"{API}/catalog")
        assert "OPARL_LICENSE" in str(graph.value(catalogue, DCTERMS.description))
        assert "license" not in get(unlicensed, f"{API}/system").json()


def events(client: TestClient, url: str) -> list[icalendar.Event]:
    answer = get(client, url)
    assert answer.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(answer.content)
    assert calendar["METHOD"] == "PUBLISH"
    return [event for event in calendar.walk("VEVENT") if isinstance(event, icalendar.Event)]


class TestCalendars:
    def test_the_body_calendar_holds_every_seed_meeting(self, client: TestClient) -> None:
        seen = {(e.decoded("DTSTART").isoformat(), str(e["CATEGORIES"].cats[0])) for e in  # type: ignore[union-attr]
                events(client, body_json(client)["oparl-server:calendar"])}  # fmt: skip
        expected = {(day, committee) for steps in BERATUNGSFOLGE.values() for day, committee, _, _ in steps}
        assert expected <= seen

    def test_agenda_shows_public_items_only(self, client: TestClient) -> None:
        by_day = {
            e.decoded("DTSTART").isoformat(): e for e in events(client, body_json(client)["oparl-server:calendar"])
        }
        social = by_day["2023-01-31"]
        assert "Ö 1 Strategisches Sozialplanungsmodell Kurzkonzept" in str(social["DESCRIPTION"])
        senat = by_day["2023-01-16"]  # its item is in the non-public part of the session
        assert "Sozialplanungsmodell" not in str(senat["DESCRIPTION"])
        assert str(senat["STATUS"]) == "CONFIRMED"
        assert str(senat["UID"]).startswith(f"{API}/meeting/")

    def test_organization_person_and_meeting_calendars(self, client: TestClient) -> None:
        council = organization(client, "Bürgerschaft der Hansestadt Lübeck")
        days = sorted(e.decoded("DTSTART").isoformat() for e in events(client, council["oparl-server:calendar"]))
        assert days == ["2003-09-25", "2023-02-23", "2024-05-30"]  # the Beschluss of 25.09.2003 (paper 404)
        meeting = get(client, council["meeting"]).json()["data"][0]
        assert [str(e["UID"]) for e in events(client, meeting["oparl-server:calendar"])] == [meeting["id"]]
        person = get(client, body_json(client)["person"]).json()["data"][0]
        events(client, person["oparl-server:calendar"])  # parses; which meetings depends on memberships

    def test_timed_meetings_have_local_times_sequence_and_cancellation(
        self, client: TestClient, tokens: dict[str, str], clock: Any
    ) -> None:
        auth = {"Authorization": tokens["writer"]}
        record = {"body": "luebeck", "name": "Sondersitzung", "start": "2026-12-10T17:00:00+01:00",
                  "end": "2026-12-10T19:30:00+01:00",
                  "organization": ["luebeck/organization/hauptausschuss"]}  # fmt: skip
        assert client.put("/write/v1/meeting/test/sondersitzung", json=record, headers=auth).status_code in (200, 201)
        url = body_json(client)["oparl-server:calendar"]
        event = next(e for e in events(client, url) if "Sondersitzung" in str(e["SUMMARY"]))
        assert event.decoded("DTSTART") == dt.datetime(2026, 12, 10, 17, tzinfo=event.decoded("DTSTART").tzinfo)
        assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
        ics = get(client, url).content
        assert b"BEGIN:VTIMEZONE" in ics
        assert b"TZID:Europe/Berlin" in ics
        clock.advance(60)
        patched = client.patch("/write/v1/meeting/test/sondersitzung", json={"cancelled": True}, headers=auth)
        assert patched.status_code == 200, patched.text
        later = next(e for e in events(client, url) if "Sondersitzung" in str(e["SUMMARY"]))
        assert str(later["STATUS"]) == "CANCELLED"
        assert int(str(later["SEQUENCE"])) > int(str(event["SEQUENCE"]))
        assert later.decoded("LAST-MODIFIED") > event.decoded("LAST-MODIFIED")

    def test_unknown_and_hidden_objects_have_no_calendar(self, client: TestClient) -> None:
        assert client.get("/oparl/v1.1/organization/99999/calendar.ics").status_code == 404


def parsed(client: TestClient, url: str, **headers: str) -> Any:
    answer = get(client, url, **headers)
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(answer.content)
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


class TestFeeds:
    def test_every_feed_parses(self, client: TestClient) -> None:
        body = body_json(client)
        papers = parsed(client, body["oparl-server:papersFeed"])
        references = {e.title.split(":")[0] for e in papers.entries}
        assert {"VO/2023/11779", "VO/2023/11778-01"} <= references
        entry = next(e for e in papers.entries if e.title.startswith("VO/2023/11779:"))
        # The entry's link is the paper's page (its `web`, api/pages); its id the OParl URL.
        assert entry.link == entry.id.replace("/oparl/v1.1/", "/")
        assert entry.id.startswith(f"{API}/paper/")
        assert "23.02.2023 Bürgerschaft der Hansestadt Lübeck – zur Entscheidung" in entry.summary
        assert "Dateien:" in entry.summary
        assert "/access" in entry.summary
        assert {"Vorlage", "Bürgerschaft der Hansestadt Lübeck"} <= {t.term for t in entry.tags}
        council = organization(client, "Ausschuss für Soziales")
        consulted = parsed(client, council["oparl-server:papersFeed"])
        assert {e.title.split(":")[0] for e in consulted.entries} == {"VO/2023/11779", "VO/2023/11778-01"}
        parsed(client, council["oparl-server:agendaFeed"])  # the seed meetings are past: no entries
        typed = parsed(client, body["oparl-server:papersFeed"] + "?paperType=Vorlage")
        assert typed.entries
        assert {t.term for e in typed.entries for t in e.tags if t.scheme.endswith("paperType")} == {"Vorlage"}

    def test_a_changed_paper_is_on_top_at_once_and_304_before(
        self, client: TestClient, tokens: dict[str, str], clock: Any
    ) -> None:
        url = body_json(client)["oparl-server:papersFeed"]
        before = get(client, url)
        assert (
            client.get(url.removeprefix(BASE_URL), headers={"If-None-Match": before.headers["etag"]}).status_code == 304
        )
        key = "luebeck/paper/vo-2023-11779"
        clock.now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)  # past the fixture's stamps
        patched = client.patch(f"/write/v1/paper/{key}", json={"name": "Strategisches Sozialplanungsmodell (neu)"},
                               headers={"Authorization": tokens["writer"]})  # fmt: skip
        assert patched.status_code == 200, patched.text
        after = client.get(url.removeprefix(BASE_URL), headers={"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200
        entries = feedparser.parse(after.content).entries
        # On top: the paper and the papers showing it (relatedPaper), stamped with it in one moment.
        top = [e.title for e in entries if e.updated == entries[0].updated]
        assert "VO/2023/11779: Strategisches Sozialplanungsmodell (neu)" in top
        assert len(top) < len(entries)
        assert entries[0].updated > entries[-1].updated

    def test_agenda_feed_lists_upcoming_public_items(self, client: TestClient, tokens: dict[str, str]) -> None:
        auth = {"Authorization": tokens["writer"]}
        start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).replace(microsecond=0).isoformat()
        meeting = {"body": "luebeck", "name": "Nächste Sitzung", "start": start,
                   "organization": ["luebeck/organization/hauptausschuss"],
                   "agendaItem": [
                       {"key": "test/top-1", "number": "1", "name": "Haushalt 2027", "public": True},
                       {"key": "test/top-2", "number": "2", "name": "Grundstücksgeschäft", "public": False},
                   ]}  # fmt: skip
        answer = client.put("/write/v1/meeting/test/naechste", json=meeting, headers=auth)
        assert answer.status_code in (200, 201), answer.text
        feed = parsed(client, organization(client, "Hauptausschuss")["oparl-server:agendaFeed"])
        assert [e.title for e in feed.entries] == ["Ö 1 Haushalt 2027"]
