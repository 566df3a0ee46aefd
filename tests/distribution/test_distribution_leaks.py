"""The leak crawl of tests/api/test_nonpublic.py, extended to catalogues, calendars and feeds.

The council there hides an organization, a location, a person, a meeting, agenda items,
consultations, papers and files, each carrying SECRET. Here its meetings get dates in the
calendar window (one upcoming, for the agenda feeds), and every calendar and feed of every id,
hidden or not, is asked for anonymously.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.settings import Settings
from tests.api.test_nonpublic import SECRET, crawl
from tests.api.test_nonpublic import council as council  # the fixture, used by its name
from tests.conftest import BASE_URL, Database, FakeClock

LICENCE = "http://dcat-ap.de/def/licenses/cc-by/4.0"
DISTRIBUTIONS = {
    "body": ("calendar.ics", "papers.atom", "papers.atom?paperType=Vorlage", "catalog.ttl", "catalog.rdf",
             "catalog.jsonld"),
    "organization": ("calendar.ics", "papers.atom", "agenda.atom"),
    "person": ("calendar.ics",),
    "meeting": ("calendar.ics",),
}  # fmt: skip


@pytest.fixture
def settings(database: Database, data_dir: Path) -> Settings:
    return Settings(database_url=database.url, public_base_url=BASE_URL, data_dir=data_dir, rate_limit="",
                    rate_limit_token="", license=LICENCE, license_attribution="Stadt")  # fmt: skip


@pytest.fixture
def dated(client: TestClient, council: None, tokens: dict[str, str], clock: FakeClock) -> None:
    """The council's meetings, public and hidden, a week ahead (inside every window)."""
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).replace(microsecond=0).isoformat()
    clock.now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    for key in ("sitzung", "klausur"):
        answer = client.patch(f"/write/v1/meeting/{key}", json={"start": soon},
                              headers={"Authorization": tokens["both"]})  # fmt: skip
        assert answer.status_code == 200, answer.text


def test_no_catalogue_calendar_or_feed_shows_anything_nonpublic(
    client: TestClient, dated: None, tokens: dict[str, str]
) -> None:
    answers: dict[str, tuple[int, str]] = {}
    for path in ("catalog.ttl", "catalog.rdf", "catalog.jsonld"):
        answer = client.get(f"/oparl/v1.1/{path}")
        answers[path] = (answer.status_code, answer.text)
    # Every object there is, hidden ones included, as a read-nonpublic client finds them.
    everything = crawl(client, {"Authorization": tokens["insider"]})
    objects = {url.removeprefix(BASE_URL) for url in everything if re.fullmatch(r".*/oparl/v1\.1/[a-z-]+/\d+", url)}
    hidden_seen = 0
    for segment, paths in DISTRIBUTIONS.items():
        for url in sorted(u for u in objects if u.split("/")[-2] == segment):
            shown = client.get(url).status_code == 200
            hidden_seen += not shown
            for path in paths:
                answer = client.get(f"{url}/{path}")
                assert answer.status_code == (200 if shown else 404), (url, path)
                answers[f"{url}/{path}"] = (answer.status_code, answer.text)
    assert hidden_seen >= 3  # the hidden organization, person and meeting were asked for
    leaks = {url: text for url, (_, text) in answers.items() if SECRET in text}
    assert leaks == {}
    calendars = [text for url, (status, text) in answers.items() if url.endswith(".ics") and status == 200]
    assert any("Öffentlicher Punkt" in text for text in calendars)  # the public meeting is there
    agenda = [text for url, (status, text) in answers.items() if url.endswith("agenda.atom") and status == 200]
    assert any("Öffentlicher Punkt" in text for text in agenda)


def test_the_json_crawl_follows_the_new_links_and_finds_nothing(client: TestClient, dated: None) -> None:
    pages = crawl(client, {})
    followed = [url for url in pages if url.endswith((".ics", ".atom"))]
    assert followed, "the crawl reaches calendars and feeds through the objects' links"
    assert {url: text for url, text in pages.items() if SECRET in text} == {}
