"""A list page costs a fixed number of SQL queries, whatever its size (no N+1)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.settings import Settings
from models import Organization, Paper
from models.links import consultation_organization, paper_auxiliary_file, paper_originator_person
from oparl.snapshot import Snapshots
from oparl.urls import UrlBuilder
from tests.conftest import QueryCounter
from tests.factories import (
    link,
    make_body,
    make_consultation,
    make_file,
    make_meeting,
    make_organization,
    make_paper,
    make_person,
)


def council_with_papers(session: Session, n: int) -> int:
    body = make_body(session)
    committees: list[Organization] = [make_organization(session, body, name=f"Ausschuss {i}") for i in range(3)]
    person = make_person(session, body)
    meeting = make_meeting(session, body)
    for i in range(n):
        paper = make_paper(session, body, main_file_id=make_file(session, body).id, reference=f"VO/{i}")
        link(session, paper_auxiliary_file, paper, make_file(session, body), make_file(session, body))
        link(session, paper_originator_person, paper, person)
        for j in range(3):
            consultation = make_consultation(session, paper, meeting_id=meeting.id, position=j)
            link(session, consultation_organization, consultation, committees[j])
    return body.id


def test_paper_page_queries_do_not_grow_with_page_size(
    client: TestClient, session: Session, count_queries: QueryCounter
) -> None:
    body_id = council_with_papers(session, 100)
    counts = {}
    for size in (1, 10, 100):
        count_queries.count = 0
        page = client.get(f"/oparl/v1.1/body/{body_id}/paper?limit={size}").json()
        assert len(page["data"]) == size
        assert [len(p["consultation"]) for p in page["data"]] == [3] * size
        assert [len(p["auxiliaryFile"]) for p in page["data"]] == [2] * size
        counts[size] = count_queries.count
    # The first page counts the list; the count is kept for every page size of its generation.
    assert counts[1] == counts[10] + 1
    assert counts[10] == counts[100]
    # Not rendered yet: the stored reads' one statement (it finds no current renderings and leaves
    # the page to the route), then the Body check, the list generations, the stored page, the
    # rows rendered live and one query per eager load.
    assert counts[100] == 18


def test_rendered_pages_cost_one_query_and_cached_ones_one(
    client: TestClient, session: Session, settings: Settings, count_queries: QueryCounter
) -> None:
    body_id = council_with_papers(session, 100)
    live = client.get(f"/oparl/v1.1/body/{body_id}/paper?limit=100&created_since=2000-01-01").content
    snapshots = Snapshots(UrlBuilder(settings.public_base_url), settings.zone)
    assert snapshots.refresh(session, {Paper: set(session.scalars(select(Paper.id)))}) == 100
    for size, statements in ((1, 2), (10, 1), (100, 1)):
        count_queries.count = 0
        client.get(f"/oparl/v1.1/body/{body_id}/paper?limit={size}")
        # One statement: the stored page with the list generations and the Body check; the first
        # page also counts the list (then kept for every page size and cursor of its generation).
        assert count_queries.count == statements
        count_queries.count = 0
        client.get(f"/oparl/v1.1/body/{body_id}/paper?limit={size}")
        assert count_queries.count == 1  # the generations: the page is cached and answered before routing
    # Stored renderings join into the same bytes as live rendering (another URL: no cached page).
    stored = client.get(f"/oparl/v1.1/body/{body_id}/paper?limit=100&created_since=2000-01-02").content
    assert stored.split(b'"pagination"')[0] == live.split(b'"pagination"')[0]
