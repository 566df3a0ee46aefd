"""The HTML pages (api/pages) on both engines: what each shows, paging, caching, visibility."""

from __future__ import annotations

import gzip
import html
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from api.pages.policy import PAGE_POLICY
from tests.api.test_nonpublic import SECRET, council, council_operations  # noqa: F401  (the fixture)
from tests.conftest import BASE_URL, LUEBECK

API = f"{BASE_URL}/oparl/v1.1"


def get_json(client: TestClient, url: str, headers: dict[str, str] | None = None) -> Any:
    response = client.get(url.removeprefix(BASE_URL), headers=headers or {})
    assert response.status_code == 200, (url, response.text)
    return response.json()


def page(client: TestClient, url: str) -> str:
    response = client.get(url.removeprefix(BASE_URL))
    assert response.status_code == 200, (url, response.text)
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return response.text


def text(markup: str) -> str:
    """The visible text, in one line."""
    markup = re.sub(r"<script.*?</script>|<span class=\"visually-hidden\">.*?</span>", "", markup, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def section(markup: str, name: str) -> str:
    found = re.search(rf'<section aria-labelledby="{name}"[^>]*>(.*?)</section>', markup, re.S)
    assert found is not None, name
    return found.group(1)


def links(markup: str) -> list[tuple[str, str]]:
    return [
        (html.unescape(href), text(inner)) for href, inner in re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', markup)
    ]


def by(client: TestClient, list_name: str, **match: str) -> dict[str, Any]:
    body = get_json(client, f"{API}/body")["data"][0]
    found = [o for o in get_json(client, body[list_name])["data"] if all(o.get(k) == v for k, v in match.items())]
    assert len(found) == 1, match
    only: dict[str, Any] = found[0]
    return only


@pytest.mark.usefixtures("luebeck")
class TestLuebeckPages:
    def test_start_page_lists_the_bodies(self, client: TestClient) -> None:
        body = get_json(client, f"{API}/body")["data"][0]
        markup = page(client, f"{BASE_URL}/")
        assert '<html lang="de">' in markup
        assert links(section_of_main(markup)) == [(body["web"], "Hansestadt Lübeck")]

    def test_every_web_url_is_a_page_of_its_object(self, client: TestClient) -> None:
        body = get_json(client, f"{API}/body")["data"][0]
        assert body["web"] == f"{BASE_URL}/body/{body['id'].rsplit('/', 1)[1]}"
        seen = {"Body"}
        for list_name in ("organization", "person", "meeting", "paper", "file", "agendaItem", "consultation"):
            for obj in get_json(client, body[list_name])["data"]:
                type_name = obj["type"].rsplit("/", 1)[1]
                if "web" not in obj:
                    continue
                seen.add(type_name)
                assert obj["web"] == f"{BASE_URL}/{list_name}/{obj['id'].rsplit('/', 1)[1]}"
                title = re.search(r"<h1>(.*?)</h1>", page(client, obj["web"]), re.S)
                assert title is not None
                assert (obj.get("name") or "") in text(title.group(1))
        assert seen == {"Body", "Organization", "Person", "Meeting", "Paper"}

    def test_body_page(self, client: TestClient) -> None:
        body = get_json(client, f"{API}/body")["data"][0]
        markup = page(client, body["web"])
        assert text(section(markup, "neu")) == (
            "Neue Vorlagen VO/2023/11778-01: Armuts- und Sozialbericht 2022 Teil 2: Handlungsoptionen 04.04.2024 · "
            "Bericht VO/2023/11779: Strategisches Sozialplanungsmodell Kurzkonzept 09.01.2023 · Vorlage"
        )
        # The demo's meetings are all past (the clock of the page is the real one).
        assert text(section(markup, "naechste")) == "Nächste Sitzungen Keine Sitzungen angesetzt."
        assert text(section(markup, "letzte")).startswith(
            "Letzte Sitzungen Sitzung der Bürgerschaft der Hansestadt Lübeck Do., 30.05.2024 Sitzung des "
            "Hauptausschusses Di., 14.05.2024"
        )
        committees = [name for _, name in links(section(markup, "gremien"))]
        assert committees[:3] == [
            "2.500 - Soziale Sicherung",
            "Ausschuss für Soziales",
            "Beirat für Menschen mit Behinderungen",
        ]
        assert len(committees) == 12

    def test_paper_page_shows_the_beratungsfolge_in_time_and_the_files(self, client: TestClient) -> None:
        paper = by(client, "paper", reference="VO/2023/11779")
        markup = page(client, paper["web"])
        assert text(re.search(r"<h1>(.*?)</h1>", markup, re.S).group(1)) == (  # type: ignore[union-attr]
            "VO/2023/11779 Strategisches Sozialplanungsmodell Kurzkonzept"
        )
        steps = [text(li) for li in re.findall(r"<li>(.*?)</li>", section(markup, "beratungsfolge"), re.S)]
        assert steps[:4] == [
            "Mo., 16.01.2023 Senat zur Senatsberatung Sitzung: Sitzung des Senats",
            "Di., 31.01.2023 Ausschuss für Soziales zur Vorberatung Sitzung: Sitzung des Ausschusses für Soziales",
            "Di., 07.02.2023 Hauptausschuss zur Vorberatung Sitzung: Sitzung des Hauptausschusses",
            "Do., 23.02.2023 Bürgerschaft der Hansestadt Lübeck zur Entscheidung entscheidend "
            "Sitzung: Sitzung der Bürgerschaft der Hansestadt Lübeck",
        ]
        assert len(steps) == 10
        assert steps[4].startswith("ohne Termin Frauenbüro")
        rows = [text(row) for row in re.findall(r"<tr>(.*?)</tr>", section(markup, "dokumente"), re.S)][1:]
        assert rows == [
            "Vorlage VO/2023/11779: Strategisches Sozialplanungsmodell Kurzkonzept Vorlage text/markdown 09.01.2023 "
            "4,1 kB Herunterladen",
            "Kurzkonzzept Strategisches Sozialplanungsmodell Anlage text/plain 09.01.2023 303 Byte Herunterladen",
            "Stellungnahme Kommunale Statistikstelle Anlage text/plain 09.01.2023 295 Byte Herunterladen",
            "Stellungnahme Stabsstelle Integration Anlage text/plain 09.01.2023 293 Byte Herunterladen",
        ]
        downloads = [href for href, name in links(section(markup, "dokumente")) if name.startswith("Herunterladen")]
        assert downloads == [paper["mainFile"]["downloadUrl"], *(f["downloadUrl"] for f in paper["auxiliaryFile"])]
        download = client.get(downloads[1].removeprefix(BASE_URL))
        assert download.content == (LUEBECK / "files" / "VO-2023-11779-Anlage-1.txt").read_bytes()
        related = [name for _, name in links(section(markup, "verwandt"))]
        assert related == [
            "404: Armuts- und Sozialbericht spätestens alle drei Jahre (Beschluss der Bürgerschaft vom 25.09.2003)",
            "VO/2023/11778-01: Armuts- und Sozialbericht 2022 Teil 2: Handlungsoptionen",
        ]

    def test_meeting_page_agenda_with_public_marks_papers_and_event(self, client: TestClient) -> None:
        paper = by(client, "paper", reference="VO/2023/11779")
        meeting = by(client, "meeting", start="2023-02-23T00:00:00+01:00")
        markup = page(client, meeting["web"])
        assert text(section(markup, "tagesordnung")) == (
            "Tagesordnung 1 Strategisches Sozialplanungsmodell Kurzkonzept öffentlich "
            "Vorlage: VO/2023/11779: Strategisches Sozialplanungsmodell Kurzkonzept"
        )
        assert (paper["web"], "VO/2023/11779: Strategisches Sozialplanungsmodell Kurzkonzept") in links(markup)
        assert (meeting["oparl-server:calendar"], "In den eigenen Kalender übernehmen (iCalendar)") in links(markup)
        event = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', markup).group(1))  # type: ignore[union-attr]
        assert event == {
            "@context": "https://schema.org", "@type": "Event",
            "name": "Sitzung der Bürgerschaft der Hansestadt Lübeck",
            "startDate": "2023-02-23T00:00:00+01:00", "url": meeting["web"],
            "eventStatus": "https://schema.org/EventScheduled",
            "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        }  # fmt: skip
        senat = by(client, "meeting", start="2023-01-16T00:00:00+01:00")
        assert "nicht öffentlich" in text(section(page(client, senat["web"]), "tagesordnung"))

    def test_organization_and_person_pages(self, client: TestClient) -> None:
        senat = by(client, "organization", name="Senat")
        markup = page(client, senat["web"])
        pia = by(client, "person", name="Pia Steinrücke")
        assert links(section(markup, "mitglieder")) == [(pia["web"], "Pia Steinrücke")]
        assert text(section(markup, "sitzungen")) == (
            "Sitzungen Sitzung des Senats Mo., 22.04.2024 Sitzung des Senats Mo., 16.01.2023 "
            "Alle Sitzungen des Gremiums"
        )
        assert [name for _, name in links(section(markup, "vorlagen"))] == [
            "VO/2023/11778-01: Armuts- und Sozialbericht 2022 Teil 2: Handlungsoptionen",
            "VO/2023/11779: Strategisches Sozialplanungsmodell Kurzkonzept",
        ]
        person = page(client, pia["web"])
        assert text(section(person, "mitgliedschaften")) == (
            "Mitgliedschaften Mitgliedschaften in Gremien Gremium Rolle von bis für Senat Senatorin"
        )

    def test_lists_are_paged_by_the_cursor(self, client: TestClient) -> None:
        body = get_json(client, f"{API}/body")["data"][0]
        first = page(client, f"{body['web']}/paper?limit=3")
        names = [name for _, name in links(section_of_main(first))]
        assert names[:3] == ["VO/2023/11779: Strategisches Sozialplanungsmodell Kurzkonzept",
                             "VO/2023/11778-01: Armuts- und Sozialbericht 2022 Teil 2: Handlungsoptionen",
                             "VO/2023/11778: Armuts- und Sozialbericht 2022 Teil 1"]  # fmt: skip
        (following,) = re.findall(r'<a rel="next" href="([^"]*)"', first)
        second = page(client, f"{body['web']}/paper" + html.unescape(following))
        assert [name for _, name in links(section_of_main(second))] == [
            "404: Armuts- und Sozialbericht spätestens alle drei Jahre (Beschluss der Bürgerschaft vom 25.09.2003)",
            "Zum Anfang",
        ]
        assert 'rel="next"' not in second

    def test_an_organizations_meetings_are_paged_by_the_cursor(self, client: TestClient) -> None:
        parliament = by(client, "organization", shortName="Bürgerschaft")
        assert (f"{parliament['web']}/meeting", "Alle Sitzungen des Gremiums") in links(page(client, parliament["web"]))
        first = page(client, f"{parliament['web']}/meeting?limit=2")
        assert text(re.search(r"<h1>(.*?)</h1>", first, re.S).group(1)) == (  # type: ignore[union-attr]
            "Sitzungen Bürgerschaft der Hansestadt Lübeck"
        )
        (following,) = re.findall(r'<a rel="next" href="([^"]*)"', first)
        second = page(client, f"{parliament['web']}/meeting" + html.unescape(following))
        starts = [
            text(t)
            for markup in (first, second)
            for t in re.findall(r"<time[^>]*>(.*?)</time>", section_of_main(markup))
        ]
        assert sorted(starts) == ["Do., 23.02.2023", "Do., 25.09.2003", "Do., 30.05.2024"]
        assert 'rel="next"' not in second
        assert (parliament["meeting"], "Diese Liste als OParl-JSON") in links(first)

    @pytest.mark.parametrize("path", ["/paper/abc", "/paper/0", "/paper/999999", "/body/999999", "/body/7x/paper"])
    def test_missing_pages_are_404_pages(self, client: TestClient, path: str) -> None:
        response = client.get(path)
        assert (response.status_code, response.headers["content-type"]) == (404, "text/html; charset=utf-8")
        assert "<h1>Nicht gefunden</h1>" in response.text


def hits(markup: str) -> list[tuple[str, str]]:
    """The hits of a search page: (link, title) in order."""
    found = re.search(r'<ol class="entries hits"[^>]*>(.*?)</ol>', markup, re.S)
    if found is None:
        return []
    return [(href, title) for href, title in links(found.group(1)) if title]


@pytest.mark.usefixtures("luebeck")
class TestSearchPage:
    """The Body's search page: the anonymous search API's hits (oparl/search) as a page."""

    def test_the_body_page_has_a_search_form_to_it(self, client: TestClient) -> None:
        body = get_json(client, f"{API}/body")["data"][0]
        markup = page(client, body["web"])
        assert f'<form class="search" role="search" action="{body["web"]}/search" method="get">' in markup
        assert '<input id="suche" name="q" type="search" value="" maxlength="2000" required>' in markup

    def test_hits_are_the_api_hits_in_order_with_snippets(self, client: TestClient) -> None:
        body = get_json(client, f"{API}/body")["data"][0]
        api = get_json(client, f"{body['oparl-server:search']}?q=Sozialbericht&limit=100")["data"]
        markup = page(client, f"{body['web']}/search?q=Sozialbericht&limit=100")
        expected = [o.get("web") or o.get("accessUrl") or o["id"] for o in api]
        assert len(expected) >= 3
        assert [href for href, _ in hits(markup)] == expected
        assert hits(markup)[0][1] == api[0]["name"]
        repeats = [o for o in api if re.sub("</?mark>", "", o.get("oparl-server:snippet", "")) == o.get("name")]
        assert markup.count('<p class="snippet">') == sum(1 for o in api if "oparl-server:snippet" in o) - len(repeats)
        assert repeats  # titles found are not repeated as snippets
        assert re.search('<p class="snippet">[^<]*<mark>Sozialberichts</mark>', markup)  # a form of the word
        assert f'<a href="{body["oparl-server:search"]}?limit=100&amp;q=Sozialbericht">' in markup  # the JSON

    def test_a_reference_finds_its_paper_first(self, client: TestClient) -> None:
        body = get_json(client, f"{API}/body")["data"][0]
        paper = by(client, "paper", reference="VO/2023/11779")
        markup = page(client, f"{body['web']}/search?q=VO/2023/11779")
        assert hits(markup)[0] == (paper["web"], "Strategisches Sozialplanungsmodell Kurzkonzept")

    def test_hits_are_paged_by_the_apis_cursor(self, client: TestClient) -> None:
        body = get_json(client, f"{API}/body")["data"][0]
        api = get_json(client, f"{body['oparl-server:search']}?q=Sozialbericht&limit=100")["data"]
        first = page(client, f"{body['web']}/search?q=Sozialbericht&limit=1")
        (following,) = re.findall(r'<a rel="next" href="([^"]*)"', first)
        assert html.unescape(following).startswith(f"{body['web']}/search?after=")
        second = page(client, html.unescape(following))
        assert [href for href, _ in hits(first) + hits(second)] == [
            o.get("web") or o.get("accessUrl") or o["id"] for o in api[:2]
        ]
        assert "Zu den besten Treffern" in second

    def test_without_q_the_form_alone_and_nothing_found_said(self, client: TestClient) -> None:
        body = get_json(client, f"{API}/body")["data"][0]
        empty = page(client, f"{body['web']}/search")
        assert 'role="search"' in empty
        assert "Treffer" not in text(section_of_main(empty))
        none = page(client, f"{body['web']}/search?q=Zzyzxwortnichtda")
        assert "Nichts gefunden." in none
        assert hits(none) == []

    @pytest.mark.parametrize("query", ["q=" + "x" * 2500, "q=a&limit=0", "q=a&after=kein-cursor", "q=a&type=Unsinn"])
    def test_bad_input_is_a_400_page_saying_why(self, client: TestClient, query: str) -> None:
        body = get_json(client, f"{API}/body")["data"][0]
        response = client.get(f"{body['web'].removeprefix(BASE_URL)}/search?{query}")
        assert (response.status_code, response.headers["content-type"]) == (400, "text/html; charset=utf-8")
        problem = re.search(r'<p class="problem" role="alert">(.*?)</p>', response.text, re.S)
        assert problem is not None
        assert problem.group(1).strip()

    def test_an_unknown_body_has_no_search_page(self, client: TestClient) -> None:
        assert client.get("/body/999999/search?q=a").status_code == 404


def section_of_main(markup: str) -> str:
    return markup.split('<main id="inhalt" tabindex="-1">', 1)[1].split("</main>", 1)[0]


@pytest.mark.usefixtures("luebeck")
class TestPageCaching:
    def test_validators_compression_and_the_pages_policy(self, client: TestClient) -> None:
        paper = by(client, "paper", reference="VO/2023/11779")
        path = paper["web"].removeprefix(BASE_URL)
        first = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert first.headers["content-encoding"] == "gzip"
        assert first.headers["content-security-policy"] == PAGE_POLICY
        assert first.headers["cache-control"] == "public, no-cache"
        again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert (again.status_code, again.headers["content-security-policy"]) == (304, PAGE_POLICY)
        raw = client.get(path, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in raw.headers
        assert raw.text == first.text
        assert gzip.decompress(gzip.compress(raw.content)) == first.content
        stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)">', raw.text).group(1)  # type: ignore[union-attr]
        css = client.get(stylesheet)
        assert (css.status_code, css.headers["content-type"]) == (200, "text/css; charset=utf-8")
        assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
        # The API keeps its own policy.
        assert client.get(paper["id"].removeprefix(BASE_URL)).headers["content-security-policy"] == (
            "default-src 'none'; frame-ancestors 'none'"
        )

    def test_a_write_shows_at_once(self, client: TestClient, tokens: dict[str, str]) -> None:
        paper = by(client, "paper", reference="VO/2023/11779")
        path = paper["web"].removeprefix(BASE_URL)
        before = client.get(path)
        assert client.get(path).headers["etag"] == before.headers["etag"]
        auth = {"Authorization": tokens["writer"]}
        changed = client.patch(
            "/write/v1/paper/luebeck/paper/vo-2023-11779", json={"name": "Neuer Titel"}, headers=auth
        )
        assert changed.status_code == 200, changed.text
        after = client.get(path)
        assert after.headers["etag"] != before.headers["etag"]
        assert '<h1><span class="reference">VO/2023/11779</span> Neuer Titel</h1>' in after.text

    def test_a_page_is_read_in_three_statements_generations_first(self, client: TestClient, session: Session) -> None:
        paper = by(client, "paper", reference="VO/2023/11779")
        meeting = by(client, "meeting", start="2023-02-23T00:00:00+01:00")
        client.app.state.snapshots.refresh_stale(session)  # type: ignore[attr-defined]  # as `serve` does
        statements: list[str] = []

        def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            kinds = (("list_generation", "generations"), ("rendered_key", "rendering"))
            statements.append(next((name for word, name in kinds if word in statement), "labels"))

        connection = session.connection()
        event.listen(connection, "before_cursor_execute", record)
        try:
            for url in (paper["web"], meeting["web"]):
                statements.clear()
                assert client.get(url.removeprefix(BASE_URL)).status_code == 200
                # The list generations (first: what is read after them is never kept as newer than
                # it is), the stored rendering, one UNION ALL of every label the page names.
                assert statements == ["generations", "rendering", "labels"], url
        finally:
            event.remove(connection, "before_cursor_execute", record)

    def test_pages_are_no_part_of_the_openapi_document(self, client: TestClient) -> None:
        paths = client.get("/openapi.json").json()["paths"]
        assert [p for p in paths if not p.startswith(("/oparl/", "/write/"))] == []


class TestPageVisibility:
    """The council of tests/api/test_nonpublic.py: pages show what anonymous JSON clients see."""

    def ids(self, client: TestClient, tokens: dict[str, str]) -> dict[str, str]:
        """Paper and meeting names -> their page URLs, as a read-nonpublic token sees them."""
        insider = {"Authorization": tokens["insider"]}
        body = get_json(client, f"{API}/body", insider)["data"][0]
        found = {}
        for list_name in ("paper", "meeting", "organization", "person"):
            for obj in get_json(client, body[list_name], insider)["data"]:
                found[obj.get("name")] = f"{BASE_URL}/{list_name}/{obj['id'].rsplit('/', 1)[1]}"
        return found

    def test_hidden_objects_have_no_page_and_shown_ones_show_nothing_hidden(
        self,
        client: TestClient,
        council: None,  # noqa: F811
        tokens: dict[str, str],
    ) -> None:
        pages = self.ids(client, tokens)
        for hidden in (f"{SECRET} Papier", f"{SECRET} Klausur", f"{SECRET} Kommission", f"{SECRET} Bert"):
            assert client.get(pages[hidden].removeprefix(BASE_URL)).status_code == 404, hidden
        assert client.get(pages[f"{SECRET} Zurückgezogen"].removeprefix(BASE_URL)).status_code == 410
        paper = page(client, pages["Vorlage"])
        assert SECRET not in paper
        assert [text(li) for li in re.findall(r"<li>(.*?)</li>", section(paper, "beratungsfolge"), re.S)] == [
            "ohne Termin Rat Sitzung: Sitzung"
        ]
        assert "Verfasst von Anna" in text(paper)
        assert "Federführung Rat" in text(paper)
        meeting = page(client, pages["Sitzung"])
        assert SECRET not in meeting
        assert text(section(meeting, "tagesordnung")) == "Tagesordnung 1 Öffentlicher Punkt öffentlich Vorlage: Vorlage"
        assert text(section(meeting, "teilnehmende")) == "Teilnehmende Anna"
        with_token = client.get(pages["Vorlage"].removeprefix(BASE_URL), headers={"Authorization": tokens["insider"]})
        assert with_token.text == paper  # a page is the anonymous view, whoever asks
        body = get_json(client, f"{API}/body")["data"][0]
        insider = {"Authorization": tokens["insider"]}
        assert get_json(client, f"{body['oparl-server:search']}?q={SECRET}", insider)["data"]  # there is something
        for headers in ({}, insider):  # the search page searches as an anonymous client, whoever asks
            found = client.get(f"{body['web'].removeprefix(BASE_URL)}/search?q={SECRET}", headers=headers)
            assert found.status_code == 200
            shown = found.text.replace(f"q={SECRET}", "").replace(f'value="{SECRET}"', "").replace(f"„{SECRET}“", "")
            assert SECRET not in shown
            assert "Nichts gefunden." in found.text


def test_the_readme_links_a_screenshot_of_every_page_type() -> None:
    root = LUEBECK.parent.parent
    readme = (root / "README.md").read_text()
    shots = sorted(p.name for p in (root / "docs" / "pages").glob("*.png"))
    assert shots == [f"{name}.png" for name in sorted(SCREENSHOTS)]
    assert [name for name in SCREENSHOTS if f"(docs/pages/{name}.png)" not in readme] == []


# One per page type, taken by tests/pages/test_browser.py (OPARL_SCREENSHOTS=docs/pages).
SCREENSHOTS = ("start", "body", "paper", "meeting", "organization", "person", "list", "search", "not-found")


def test_links_from_the_records_are_http_only(client: TestClient, tokens: dict[str, str]) -> None:
    """A `javascript:` URL a writer (or a harvested source) gave is shown, never linked."""
    auth = {"Authorization": tokens["writer"]}
    evil = "javascript:alert(1)"
    ops = [
        {"op": "put", "type": "System", "key": "s", "record": {"name": "Ratsinformation"}},
        {"op": "put", "type": "Body", "key": "b", "record": {"system": "s", "name": "Stadt", "website": evil}},
        {"op": "put", "type": "Organization", "key": "o", "record": {"body": "b", "name": "Rat", "website": evil}},
        {"op": "put", "type": "Paper", "key": "p", "record": {
            "body": "b", "name": "Vorlage", "auxiliaryFile": [{"key": "f", "name": "Anlage", "accessUrl": evil}]}},
    ]  # fmt: skip
    results = client.post("/write/v1/batch", json={"operations": ops}, headers=auth).json()["results"]
    pages = [page(client, get_json(client, r["id"])["web"]) for r in results[1:]]
    assert [evil in text(markup) for markup in pages] == [False, True, False]  # the website, as text
    assert [markup.count("javascript:") for markup in pages] == [0, 1, 0]
    assert [href for markup in pages for href, _ in links(markup) if not href.startswith(("http", "/", "mailto"))] == []


def test_pages_of_objects_with_nothing_but_what_they_must_have(client: TestClient, tokens: dict[str, str]) -> None:
    auth = {"Authorization": tokens["writer"]}
    ops = [
        {"op": "put", "type": "System", "key": "s", "record": {}},
        {"op": "put", "type": "Body", "key": "b", "record": {"system": "s", "name": "Stadt"}},
        {"op": "put", "type": "Organization", "key": "o", "record": {"body": "b"}},
        {"op": "put", "type": "Person", "key": "pe", "record": {"body": "b", "membership": [{"key": "m"}]}},
        {"op": "put", "type": "Meeting", "key": "me", "record": {"body": "b", "agendaItem": [{"key": "a"}],
                                                                 "auxiliaryFile": [{"key": "f", "accessUrl": "https://x.example/f"}]}},
        {"op": "put", "type": "Paper", "key": "pa", "record": {"body": "b", "consultation": [{"key": "c"}]}},
    ]  # fmt: skip
    results = client.post("/write/v1/batch", json={"operations": ops}, headers=auth).json()["results"]
    titles = [re.search(r"<h1>(.*?)</h1>", page(client, get_json(client, r["id"])["web"]), re.S) for r in results[1:]]
    assert [text(t.group(1)) for t in titles if t] == ["Stadt", "Gremium", "Person", "Sitzung", ""]
    body = get_json(client, results[1]["id"])
    paper = get_json(client, results[-1]["id"])
    assert links(section_of_main(page(client, f"{body['web']}/paper"))) == [(paper["web"], "(ohne Titel)")]
