"""The Lübeck seed papers (../shared/seeds) as served: every fact of the documents, in their order."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.usefixtures("luebeck")

# The Beratungsfolge of each paper as printed: date, Gremium, public?, Zuständigkeit.
BERATUNGSFOLGE = {
    "VO/2023/11779": [
        ("2023-01-16", "Senat", False, "zur Senatsberatung"),
        ("2023-01-31", "Ausschuss für Soziales", True, "zur Vorberatung"),
        ("2023-02-07", "Hauptausschuss", True, "zur Vorberatung"),
        ("2023-02-23", "Bürgerschaft der Hansestadt Lübeck", True, "zur Entscheidung"),
    ],
    "VO/2023/11778-01": [
        ("2024-04-22", "Senat", False, "zur Senatsberatung"),
        ("2024-05-02", "Jugendhilfeausschuss", True, "zur Kenntnisnahme"),
        ("2024-05-07", "Ausschuss für Soziales", True, "zur Kenntnisnahme"),
        ("2024-05-14", "Hauptausschuss", True, "zur Kenntnisnahme"),
        ("2024-05-30", "Bürgerschaft der Hansestadt Lübeck", True, "zur Kenntnisnahme"),
    ],
}
VERFAHREN_11779 = [
    ("Frauenbüro", "Zustimmung"),
    ("DOS", "Zustimmung"),
    ("Stabsstelle Integration", "Zustimmung (Stellungnahme anbei)"),
    ("Kommunale Statistikstelle", "Zustimmung (Stellungnahme anbei)"),
    ("Beirat für Menschen mit Behinderungen", "Zustimmung"),
    ("Beirat für Senior:innen", "Zustimmung"),
]


def get(client: TestClient, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.json()


def papers_by_reference(client: TestClient) -> dict[str, Any]:
    body = get(client, "/oparl/v1.1/body")["data"][0]
    return {p["reference"]: p for p in get(client, body["paper"])["data"]}


class TestSeedPapers:
    def test_both_papers_with_reference_title_date_type(self, client: TestClient) -> None:
        papers = papers_by_reference(client)
        facts = {ref: (p["name"], p.get("date"), p.get("paperType")) for ref, p in papers.items()}
        assert facts == {
            "VO/2023/11779": ("Strategisches Sozialplanungsmodell Kurzkonzept", "2023-01-09", "Vorlage"),
            "VO/2023/11778-01": (
                "Armuts- und Sozialbericht 2022 Teil 2: Handlungsoptionen",
                "2024-04-04",
                "Bericht",
            ),
            "VO/2023/11778": ("Armuts- und Sozialbericht 2022 Teil 1", None, None),
            "404": (
                "Armuts- und Sozialbericht spätestens alle drei Jahre (Beschluss der Bürgerschaft vom 25.09.2003)",
                None,
                None,
            ),
        }

    @pytest.mark.parametrize("reference", BERATUNGSFOLGE)
    def test_beratungsfolge_in_document_order_with_dates(self, client: TestClient, reference: str) -> None:
        paper = papers_by_reference(client)[reference]
        rows = []
        for consultation in paper["consultation"]:
            if "meeting" not in consultation:
                continue  # the Verfahren rows have no meeting
            meeting = get(client, consultation["meeting"])
            (organization_url,) = consultation["organization"]
            item = get(client, consultation["agendaItem"])
            assert item["consultation"] == consultation["id"]
            assert meeting["organization"] == [organization_url]
            rows.append(
                (
                    meeting["start"][:10],
                    get(client, organization_url)["name"],
                    item["public"],
                    consultation["role"],
                )
            )
        assert rows == BERATUNGSFOLGE[reference]

    @pytest.mark.parametrize("reference", BERATUNGSFOLGE)
    def test_only_the_deciding_consultation_is_authoritative(self, client: TestClient, reference: str) -> None:
        paper = papers_by_reference(client)[reference]
        decided = [c["role"] for c in paper["consultation"] if c["authoritative"]]
        assert decided == (["zur Entscheidung"] if reference == "VO/2023/11779" else [])

    def test_verfahren_follows_the_beratungsfolge(self, client: TestClient) -> None:
        paper = papers_by_reference(client)["VO/2023/11779"]
        verfahren = [c for c in paper["consultation"] if "meeting" not in c]
        assert [c["id"] for c in paper["consultation"]][-6:] == [c["id"] for c in verfahren]
        rows = [(get(client, c["organization"][0])["name"], c["role"]) for c in verfahren]
        assert rows == [(org, f"Beteiligung im Verfahren: {result}") for org, result in VERFAHREN_11779]

    @pytest.mark.parametrize(
        ("reference", "preparer", "email"),
        [
            ("VO/2023/11779", "Gitte Timmermann", "gitte.timmermann@luebeck.de"),
            ("VO/2023/11778-01", "Eric Zschech", "eric.zschech@luebeck.de"),
        ],
    )
    def test_department_preparer_and_senatorin(
        self, client: TestClient, reference: str, preparer: str, email: str
    ) -> None:
        paper = papers_by_reference(client)[reference]
        assert [get(client, u)["name"] for u in paper["underDirectionOf"]] == ["2.500 - Soziale Sicherung"]
        people = [get(client, u) for u in paper["originatorPerson"]]
        assert [p["name"] for p in people] == [preparer, "Pia Steinrücke"]
        assert people[0]["email"] == [email]
        senatorin = people[1]
        assert senatorin["status"] == ["Senatorin"]
        (membership,) = senatorin["membership"]
        assert (get(client, membership["organization"])["name"], membership["role"]) == ("Senat", "Senatorin")

    def test_anlagen_as_files(self, client: TestClient) -> None:
        papers = papers_by_reference(client)
        names = {ref: [f["name"] for f in papers[ref].get("auxiliaryFile", [])] for ref in BERATUNGSFOLGE}
        assert names == {
            "VO/2023/11779": [
                "Kurzkonzzept Strategisches Sozialplanungsmodell",
                "Stellungnahme Kommunale Statistikstelle",
                "Stellungnahme Stabsstelle Integration",
            ],
            "VO/2023/11778-01": ["Armuts- und Sozialbericht 2022 Teil 2: Handlungsoptionen"],
        }

    def test_main_file_is_the_document_text(self, client: TestClient) -> None:
        main = papers_by_reference(client)["VO/2023/11779"]["mainFile"]
        content = client.get(main["accessUrl"].removeprefix("https://oparl.example.org"))
        assert content.status_code == 200
        assert "Strategisches Sozialplanungsmodell" in content.text
        assert "► Nr. VO/2023/11779" in content.text
        assert main["mimeType"] == "text/markdown"

    def test_cross_references(self, client: TestClient) -> None:
        papers = papers_by_reference(client)
        ids = {ref: p["id"] for ref, p in papers.items()}
        assert papers["VO/2023/11778-01"]["superordinatedPaper"] == [ids["VO/2023/11778"]]
        assert papers["VO/2023/11778"]["subordinatedPaper"] == [ids["VO/2023/11778-01"]]
        assert papers["VO/2023/11778-01"]["relatedPaper"] == [ids["VO/2023/11779"]]
        assert sorted(papers["VO/2023/11779"]["relatedPaper"]) == sorted([ids["404"], ids["VO/2023/11778-01"]])
        assert papers["404"]["relatedPaper"] == [ids["VO/2023/11779"]]

    def test_2003_decision_was_taken_by_the_buergerschaft(self, client: TestClient) -> None:
        (consultation,) = papers_by_reference(client)["404"]["consultation"]
        meeting = get(client, consultation["meeting"])
        assert consultation["authoritative"] is True
        assert meeting["start"] == "2003-09-25T00:00:00+02:00"
        assert get(client, meeting["organization"][0])["classification"] == "Parlament"

    def test_nonpublic_senat_sessions_publish_no_more_than_the_paper(self, client: TestClient) -> None:
        body = get(client, "/oparl/v1.1/body")["data"][0]
        senat = [m for m in get(client, body["meeting"])["data"] if m["name"] == "Sitzung des Senats"]
        assert [m["start"] for m in senat] == ["2023-01-16T00:00:00+01:00", "2024-04-22T00:00:00+02:00"]
        for meeting in senat:
            (item,) = meeting["agendaItem"]
            assert item["public"] is False
            # Nothing beyond what the public paper itself prints: no result, text, files or protocol.
            assert set(item) == {
                "id",
                "type",
                "order",
                "name",
                "public",
                "consultation",
                "created",
                "modified",
            }
            assert set(meeting) == {
                "id",
                "type",
                "name",
                "start",
                "organization",
                "agendaItem",
                "created",
                "modified",
                "oparl-server:calendar",  # the meeting's calendar (oparl/distribution)
                "web",  # its page (api/pages)
            }
