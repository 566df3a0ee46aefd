"""The stored reads (api/stored_reads.py) answer exactly as the routes do, or leave it to them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import caching, stored_reads
from api.app import create_app
from api.caching import PublicCache, generations
from api.deps import get_session, get_write_session
from api.readers import Compiled, Row, SessionReader
from api.settings import Settings
from models import Body, Consultation, ListGeneration, Meeting, Organization, Paper
from oparl.catalogue import TYPES
from tests.conftest import FakeClock
from tests.factories import make_paper

API = "/oparl/v1.1"
SINCE = "2000-01-01T00:00:00%2B01:00"


class NoRows(SessionReader):
    """Finds nothing: every request goes to the routes."""

    async def rows(self, statement: Compiled, values: dict[str, Any], *, heavy: bool = False) -> list[Row]:
        return []


def _refused() -> Session:
    raise AssertionError("answered by the routes")


@pytest.fixture
def pair(settings: Settings, session: Session, clock: FakeClock) -> Iterator[tuple[TestClient, TestClient]]:
    """(stored, routes): the first answers from the stored reads where it can, the second never does."""
    with (
        TestClient(create_app(settings, clock=clock)) as stored,
        TestClient(create_app(settings, clock=clock)) as routes,
    ):
        for client, reader in ((stored, SessionReader(session)), (routes, NoRows(session))):
            app: Any = client.app
            app.dependency_overrides[get_session] = lambda: session
            app.dependency_overrides[get_write_session] = lambda: session
            app.state.read_generations = lambda tables: generations(session, tables)[0]
            app.state.stored_reader = reader
        yield stored, routes


@pytest.fixture
def council(session: Session, settings: Settings, luebeck: None) -> dict[str, Any]:
    body = session.scalars(select(Body)).one()
    for flags in ({"deleted": True}, {"nonpublic": True}, {"nonpublic": True, "ever_public": False}):
        make_paper(session, body, **flags)
    snapshots = settings.snapshots
    snapshots.refresh(session, {t.model: set(session.scalars(select(t.model.id))) for t in TYPES.values()})
    return {"body": body.id, "organization": session.scalars(select(Organization.id).order_by(Organization.id)).first()}


def _reaching_routes(stored: TestClient, session: Session) -> list[int]:
    """A list that grows by one each time a request of `stored` reaches the routes."""
    reached: list[int] = []

    def counted() -> Session:
        reached.append(1)
        return session

    stored.app.dependency_overrides[get_session] = counted  # type: ignore[attr-defined]
    return reached


def _urls(session: Session, council: dict[str, Any]) -> list[str]:
    urls = [f"{API}/{t.segment}/{i}" for t in TYPES.values() if t.name != "System"
            for i in session.scalars(select(t.model.id).order_by(t.model.id))]  # fmt: skip
    urls += [f"{API}/paper/{max(session.scalars(select(Paper.id))) + 1}", f"{API}/paper/007"]
    lists = [f"{API}/body", *(f"{API}/body/{council['body']}/{t.segment}" for t in TYPES.values() if t.body_list)]
    lists += [
        f"{API}/organization/{council['organization']}/meeting",
        f"{API}/organization/{council['organization']}/consultation",
    ]
    lists += [f"{API}/body/999/paper", f"{API}/organization/999/meeting"]
    first_paper = min(session.scalars(select(Paper.id)))
    queries = ["", "?limit=1", f"?limit=2&after={first_paper}", f"?modified_since={SINCE}",
               f"?created_since={SINCE}&limit=3", "?modified_until=2100-01-01&modified_since=2000-01-01",
               "?created_until=2000-01-01", "?limit=abc",
               "?omit_internal=true", "?after=99999999", "?limit=5000"]  # fmt: skip
    return urls + [url + query for url in lists for query in queries]


def test_every_answer_is_the_routes_byte_for_byte(
    pair: tuple[TestClient, TestClient], session: Session, council: dict[str, Any]
) -> None:
    stored, routes = pair
    for url in _urls(session, council):
        for headers in ({}, {"Accept-Encoding": "gzip"}):
            ours, theirs = stored.get(url, headers=headers), routes.get(url, headers=headers)
            assert (url, ours.status_code, ours.content) == (url, theirs.status_code, theirs.content)
            for name in ("etag", "last-modified", "content-type", "content-encoding", "cache-control", "vary"):
                assert ours.headers.get(name) == theirs.headers.get(name), (url, name)
        if "etag" in ours.headers:
            again = stored.get(url, headers={"If-None-Match": ours.headers["etag"]})
            assert again.status_code == 304


def test_objects_and_pages_need_no_route(
    pair: tuple[TestClient, TestClient], session: Session, council: dict[str, Any]
) -> None:
    """What is shown (or a tombstone) comes from the stored reads alone: the routes' session is refused."""
    stored, _ = pair
    stored.app.dependency_overrides[get_session] = _refused  # type: ignore[attr-defined]
    deleted = session.scalars(select(Paper.id).where(Paper.deleted)).one()
    meeting = session.scalars(select(Meeting.id)).first()
    consultation = session.scalars(select(Consultation.id)).first()
    body, organization = council["body"], council["organization"]
    for url in (f"{API}/paper/{deleted}", f"{API}/meeting/{meeting}", f"{API}/consultation/{consultation}",
                f"{API}/body", f"{API}/body/{body}/paper?limit=1", f"{API}/body/{body}/paper?modified_since={SINCE}",
                f"{API}/organization/{organization}/meeting"):  # fmt: skip
        assert stored.get(url).status_code == 200, url


def test_a_rendering_made_by_other_settings_is_left_to_the_routes(
    pair: tuple[TestClient, TestClient], session: Session, council: dict[str, Any]
) -> None:
    stored, routes = pair
    paper = session.scalars(select(Paper).where(~Paper.deleted, ~Paper.nonpublic)).first()
    assert paper is not None
    paper.rendered_key = "0" * 32
    session.flush()
    url = f"{API}/paper/{paper.id}"
    reached = _reaching_routes(stored, session)
    assert stored.get(url).content == routes.get(url).content
    assert reached == [1]  # once: the stored reads left it to them


def test_a_page_counts_again_when_its_generation_moves(
    pair: tuple[TestClient, TestClient], session: Session, council: dict[str, Any]
) -> None:
    """Counts are kept per generation: a write (here: a new row and its generation moved, as the
    write path does) is counted by the next page, on the same URL and on another cursor."""
    stored, _ = pair
    url = f"{API}/body/{council['body']}/paper?limit=1"
    before = stored.get(url).json()["pagination"]["totalElements"]
    body = session.get(Body, council["body"])
    generation = session.get(ListGeneration, "paper")
    assert body is not None
    assert generation is not None
    make_paper(session, body)
    generation.value += 1
    session.flush()
    assert stored.get(url).json()["pagination"]["totalElements"] == before + 1
    assert stored.get(url + "&after=1").json()["pagination"]["totalElements"] == before + 1


def test_a_page_read_in_chunks_and_compressed_as_it_comes_is_the_routes(
    pair: tuple[TestClient, TestClient],
    session: Session,
    settings: Settings,
    council: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pages bigger than a chunk (here 2 rows) are read and compressed in parts (here from 2 KB on):
    every limit around the chunks' edges, every encoding, answers as the routes do."""
    monkeypatch.setattr(stored_reads, "CHUNK_ROWS", 2)
    monkeypatch.setattr(caching, "BIG_ANSWER", 2048)
    stored, routes = pair
    body = council["body"]
    more = [make_paper(session, session.get_one(Body, body)).id for _ in range(3)]
    settings.snapshots.refresh(session, {Paper: set(more)})
    papers = sorted(session.scalars(select(Paper.id).where(~Paper.deleted, ~Paper.nonpublic)))
    assert len(papers) == 7  # pages of 3, 4 and 5 take 2 and 3 chunks, with the row after the page
    urls = [f"{API}/body/{body}/{segment}?limit={limit}" for segment in ("paper", "meeting", "file", "person")
            for limit in (3, 4, 5, 1000)]  # fmt: skip
    urls += [
        f"{API}/body/{body}/paper?limit=3&after={papers[0]}",
        f"{API}/body/{body}/paper?limit=4&modified_since={SINCE}",
    ]
    cache: PublicCache = stored.app.state.cache  # type: ignore[attr-defined]
    streamed: list[str] = []
    compressor = caching._compressor

    def noted(encoding: str) -> Any:
        streamed.append(encoding)
        return compressor(encoding)

    monkeypatch.setattr(caching, "_compressor", noted)
    for url in urls:
        for encoding in ("gzip", "br", "identity"):  # each built anew: none is kept in another form
            ours = stored.get(url, headers={"Accept-Encoding": encoding})
            theirs = routes.get(url, headers={"Accept-Encoding": encoding})
            assert (url, ours.status_code, ours.content) == (url, theirs.status_code, theirs.content)
            assert ours.headers.get("content-encoding") == theirs.headers.get("content-encoding"), url
            assert ours.headers["etag"] == theirs.headers["etag"]
            # Again, with the cache's index of URLs emptied: the stored reads answer, from their
            # first chunk, with the answer kept, and with a 304; the routes are refused.
            stored.app.dependency_overrides[get_session] = _refused  # type: ignore[attr-defined]
            cache.entries.items.clear()
            again = stored.get(url, headers={"Accept-Encoding": encoding})
            assert (again.content, again.headers.get("content-encoding")) == (
                ours.content,
                ours.headers.get("content-encoding"),
            )
            cache.entries.items.clear()
            assert stored.get(url, headers={"If-None-Match": ours.headers["etag"]}).status_code == 304
            stored.app.dependency_overrides[get_session] = lambda: session  # type: ignore[attr-defined]
    # Every page over 2 KB (14 of the 18 URLs; persons' pages are smaller) compressed in parts,
    # in both encodings.
    assert streamed == ["gzip", "br"] * 14
    assert (
        routes.get(f"{API}/body/{body}/paper?limit=3", headers={"Accept-Encoding": "br"}).headers["content-encoding"]
        == "br"
    )


def test_a_stale_rendering_in_a_later_chunk_leaves_the_page_to_the_routes(
    pair: tuple[TestClient, TestClient], session: Session, council: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stored_reads, "CHUNK_ROWS", 2)
    stored, routes = pair
    papers = session.scalars(select(Paper).where(~Paper.deleted, ~Paper.nonpublic).order_by(Paper.id)).all()
    papers[3].rendered_key = "0" * 32  # in the second chunk of a page of 4
    session.flush()
    url = f"{API}/body/{council['body']}/paper?limit=4"
    reached = _reaching_routes(stored, session)
    ours = stored.get(url, headers={"Accept-Encoding": "gzip"})
    assert ours.content == routes.get(url, headers={"Accept-Encoding": "gzip"}).content
    assert reached == [1]  # once: the stored reads left it to them
