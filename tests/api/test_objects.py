"""Objects at their own URLs (spec 2, 4, 6): every type, embedding, back-references, tombstones, HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from models.links import (
    meeting_auxiliary_file,
    meeting_organization,
    paper_auxiliary_file,
    paper_location,
    paper_originator_person,
)
from oparl.catalogue import TYPES
from tests.conftest import BASE_URL
from tests.factories import (
    link,
    make_agenda_item,
    make_body,
    make_consultation,
    make_file,
    make_legislative_term,
    make_location,
    make_meeting,
    make_membership,
    make_organization,
    make_paper,
    make_person,
)
from tests.oparl_schema import errors

API = f"{BASE_URL}/oparl/v1.1"


def get(client: TestClient, url: str) -> Any:
    response = client.get(url.removeprefix(BASE_URL))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def council(session: Session) -> dict[str, Any]:
    """One object of each type, related the way a real council's are."""
    body = make_body(session)
    seat = make_location(session, body)
    body.location_id = seat.id
    term = make_legislative_term(session, body)
    org = make_organization(session, body, location_id=seat.id)
    person = make_person(session, body, location_id=seat.id)
    membership = make_membership(session, person, org)
    meeting = make_meeting(session, body, location_id=seat.id)
    link(session, meeting_organization, meeting, org)
    item = make_agenda_item(session, meeting)
    paper = make_paper(session, body)
    link(session, paper_originator_person, paper, person)
    link(session, paper_location, paper, seat)
    consultation = make_consultation(session, paper, meeting_id=meeting.id, agenda_item_id=item.id)
    file = make_file(session, body)
    link(session, paper_auxiliary_file, paper, file)
    link(session, meeting_auxiliary_file, meeting, file)
    session.flush()
    return {
        "Body": body,
        "Location": seat,
        "LegislativeTerm": term,
        "Organization": org,
        "Person": person,
        "Membership": membership,
        "Meeting": meeting,
        "AgendaItem": item,
        "Paper": paper,
        "Consultation": consultation,
        "File": file,
    }


SEGMENT = {name: t.segment for name, t in TYPES.items() if name != "System"}


class TestEveryType:
    @pytest.mark.parametrize("type_name", list(SEGMENT))
    def test_served_at_its_id_and_valid(self, client: TestClient, council: dict[str, Any], type_name: str) -> None:
        url = f"{API}/{SEGMENT[type_name]}/{council[type_name].id}"
        obj = get(client, url)
        assert (obj["id"], obj["type"]) == (url, f"https://schema.oparl.org/1.1/{type_name}")
        assert errors(obj) == []

    @pytest.mark.parametrize(
        ("type_name", "prop", "parent"),
        [
            ("LegislativeTerm", "body", "Body"),
            ("Membership", "person", "Person"),
            ("AgendaItem", "meeting", "Meeting"),
            ("Consultation", "paper", "Paper"),
        ],
    )
    def test_back_reference_when_standalone_only(
        self, client: TestClient, council: dict[str, Any], type_name: str, prop: str, parent: str
    ) -> None:
        parent_url = f"{API}/{SEGMENT[parent]}/{council[parent].id}"
        child_url = f"{API}/{SEGMENT[type_name]}/{council[type_name].id}"
        assert get(client, child_url)[prop] == parent_url
        (inner,) = [o for o in _embedded(get(client, parent_url)) if o["id"] == child_url]
        assert prop not in inner

    def test_file_and_location_back_references(self, client: TestClient, council: dict[str, Any]) -> None:
        c = council
        file = get(client, f"{API}/file/{c['File'].id}")
        assert (file["paper"], file["meeting"]) == (
            [f"{API}/paper/{c['Paper'].id}"],
            [f"{API}/meeting/{c['Meeting'].id}"],
        )
        location = get(client, f"{API}/location/{c['Location'].id}")
        assert {k: location[k] for k in ("bodies", "organizations", "persons", "meetings", "papers")} == {
            "bodies": [f"{API}/body/{c['Body'].id}"],
            "organizations": [f"{API}/organization/{c['Organization'].id}"],
            "persons": [f"{API}/person/{c['Person'].id}"],
            "meetings": [f"{API}/meeting/{c['Meeting'].id}"],
            "papers": [f"{API}/paper/{c['Paper'].id}"],
        }
        paper = get(client, f"{API}/paper/{c['Paper'].id}")
        assert "paper" not in paper["auxiliaryFile"][0]
        assert "papers" not in paper["location"][0]

    def test_person_location_names_the_embedded_object(self, client: TestClient, council: dict[str, Any]) -> None:
        person = get(client, f"{API}/person/{council['Person'].id}")
        assert person["location"] == person["locationObject"]["id"] == f"{API}/location/{council['Location'].id}"

    def test_body_embeds_terms_and_lists_them(self, client: TestClient, council: dict[str, Any]) -> None:
        body = get(client, f"{API}/body/{council['Body'].id}")
        (term,) = body["legislativeTerm"]
        assert term == {
            "id": f"{API}/legislative-term/{council['LegislativeTerm'].id}",
            "type": "https://schema.oparl.org/1.1/LegislativeTerm",
            "created": "2024-03-01T13:00:00+01:00",
            "modified": "2024-03-01T13:00:00+01:00",
            "name": "Wahlperiode 2023-2028",
            "startDate": "2023-06-01",
            "endDate": "2028-05-31",
        }
        assert get(client, body["legislativeTermList"])["data"][0]["body"] == body["id"]

    def test_organization_lists_its_meetings_and_consultations(
        self, client: TestClient, council: dict[str, Any], session: Session
    ) -> None:
        org = get(client, f"{API}/organization/{council['Organization'].id}")
        assert [m["id"] for m in get(client, org["meeting"])["data"]] == [f"{API}/meeting/{council['Meeting'].id}"]
        assert get(client, org["consultation"])["data"] == []
        assert org["membership"] == [f"{API}/membership/{council['Membership'].id}"]


def _embedded(obj: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for value in obj.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and "id" in item:
                found += [item, *_embedded(item)]
    return found


class TestDeletion:
    def test_tombstone_answers_200_with_only_the_required_fields(
        self, client: TestClient, council: dict[str, Any], session: Session
    ) -> None:
        council["Paper"].deleted = True
        session.flush()
        assert set(get(client, f"{API}/paper/{council['Paper'].id}")) == {
            "id",
            "type",
            "created",
            "modified",
            "deleted",
        }

    def test_deleted_objects_are_never_embedded_nor_referenced_in_arrays(
        self, client: TestClient, council: dict[str, Any], session: Session
    ) -> None:
        for name in (
            "File",
            "Consultation",
            "Location",
            "Person",
            "AgendaItem",
            "LegislativeTerm",
            "Membership",
        ):
            council[name].deleted = True
        session.flush()
        paper = get(client, f"{API}/paper/{council['Paper'].id}")
        assert [k for k in ("auxiliaryFile", "consultation", "location", "originatorPerson") if k in paper] == []
        meeting = get(client, f"{API}/meeting/{council['Meeting'].id}")
        assert "agendaItem" not in meeting
        assert "auxiliaryFile" not in meeting
        assert get(client, f"{API}/body/{council['Body'].id}")["legislativeTerm"] == []

    def test_agenda_order_counts_live_items_only(self, client: TestClient, session: Session) -> None:
        body = make_body(session)
        meeting = make_meeting(session, body)
        items = [make_agenda_item(session, meeting, order=i, number=f"{i + 1}.") for i in range(3)]
        items[0].deleted = True
        session.flush()
        served = get(client, f"{API}/meeting/{meeting.id}")["agendaItem"]
        assert [(i["number"], i["order"]) for i in served] == [("2.", 0), ("3.", 1)]


class TestOmitInternal:
    def test_drops_exactly_the_internal_lists(self, client: TestClient, council: dict[str, Any]) -> None:
        body_id = council["Body"].id
        expect_gone = {
            "meeting": {"agendaItem", "auxiliaryFile"},
            "paper": {"auxiliaryFile", "location"},
            "person": {"membership"},
        }
        for list_name, gone in expect_gone.items():
            full = get(client, f"{API}/body/{body_id}/{list_name}")["data"][0]
            lean = get(client, f"{API}/body/{body_id}/{list_name}?omit_internal=true")["data"][0]
            assert set(full) - set(lean) == gone, list_name
        assert "legislativeTerm" not in get(client, f"{API}/body?omit_internal=true")["data"][0]


class TestHttp:
    def test_ids_come_from_the_public_base_url_not_the_host(self, client: TestClient, council: dict[str, Any]) -> None:
        response = client.get(f"/oparl/v1.1/paper/{council['Paper'].id}", headers={"Host": "evil.example"})
        assert response.json()["id"] == f"{API}/paper/{council['Paper'].id}"

    @pytest.mark.parametrize(
        "path",
        [
            "/oparl/v1.1/paper/999999",
            "/oparl/v1.1/paper/abc",
            "/oparl/v1.1/paper/01",
            "/oparl/v1.1/nonsense/1",
            "/oparl/v1.1/paper/1/",
            "/nowhere",
        ],
    )
    def test_unknown_addresses_get_404_error_objects(
        self, client: TestClient, council: dict[str, Any], path: str
    ) -> None:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.json()["type"] == "https://schema.oparl.org/1.1/Error"

    def test_json_headers(self, client: TestClient, council: dict[str, Any]) -> None:
        response = client.get(f"/oparl/v1.1/paper/{council['Paper'].id}")
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert response.headers["access-control-allow-origin"] == "*"
        assert not response.content.startswith(b"\xef\xbb\xbf")

    def test_other_methods_are_refused_with_an_error_object(self, client: TestClient) -> None:
        response = client.post("/oparl/v1.1/system")
        assert response.status_code == 405
        assert response.json()["type"] == "https://schema.oparl.org/1.1/Error"
        assert response.headers["access-control-allow-origin"] == "*"

    def test_no_system_yet_is_a_404_error_object(self, client: TestClient) -> None:
        response = client.get("/oparl/v1.1/system")
        assert response.status_code == 404
        assert response.json()["message"] == "Dieser Server hat noch kein System-Objekt: bitte Daten laden."

    def test_unexpected_failure_is_a_500_error_object_with_cors(self, settings: Any, session: Session) -> None:
        from api.app import create_app
        from api.deps import get_session

        def broken() -> Session:
            raise RuntimeError("database went away")

        app = create_app(settings)
        app.dependency_overrides[get_session] = broken
        with TestClient(app, raise_server_exceptions=False) as test_client:
            response = test_client.get("/oparl/v1.1/system")
        assert response.status_code == 500
        assert response.json() == {
            "type": "https://schema.oparl.org/1.1/Error",
            "message": "Interner Fehler des Servers.",
        }
        assert response.headers["access-control-allow-origin"] == "*"


class TestRelations:
    def test_self_references_in_both_directions(self, client: TestClient, session: Session) -> None:
        body = make_body(session)
        council = make_organization(session, body, name="Rat")
        committee = make_organization(session, body, sub_organization_of_id=council.id)
        fraction = make_organization(session, body, name="Fraktion", organization_type="Fraktion")
        person = make_person(session, body)
        membership = make_membership(session, person, committee, on_behalf_of_id=fraction.id, voting_right=True)
        odt = make_file(session, body, name="Vorlage (ODT)")
        pdf = make_file(session, body, name="Vorlage (PDF)", master_file_id=odt.id)
        assert (
            get(client, f"{API}/organization/{committee.id}")["subOrganizationOf"] == f"{API}/organization/{council.id}"
        )
        served = get(client, f"{API}/membership/{membership.id}")
        assert (served["onBehalfOf"], served["votingRight"]) == (f"{API}/organization/{fraction.id}", True)
        assert get(client, f"{API}/file/{pdf.id}")["masterFile"] == f"{API}/file/{odt.id}"
        assert get(client, f"{API}/file/{odt.id}")["derivativeFile"] == [f"{API}/file/{pdf.id}"]

    def test_a_files_back_references_are_in_id_order_whatever_the_rows_order(
        self, client: TestClient, session: Session
    ) -> None:
        """PostgreSQL returns rows in the order they were written, and that order moves with every
        update: a File read twice without a change listed its papers in two orders."""
        body = make_body(session)
        file = make_file(session, body)
        start = file.id * 1000
        ids = [start + 30, start + 10, start + 20]  # written in this order
        for paper_id in ids:
            make_paper(session, body, id=paper_id, main_file_id=file.id)
        assert get(client, f"{API}/file/{file.id}")["paper"] == [f"{API}/paper/{i}" for i in sorted(ids)]


def test_head_answers_like_get_without_a_body(client: TestClient, council: dict[str, Any]) -> None:
    url = f"/oparl/v1.1/paper/{council['Paper'].id}"
    plain = {"Accept-Encoding": "identity"}
    head, full = client.head(url, headers=plain), client.get(url, headers=plain)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == full.headers["content-length"] == str(len(full.content))
    assert client.head("/oparl/v1.1/paper/999999").status_code == 404
