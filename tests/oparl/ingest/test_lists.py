"""Reading a list page by page (oparl/ingest/lists.py), against an httpx mock of the source."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from oparl.ingest.client import Politeness, SourceClient
from oparl.ingest.lists import ListReader, Page, unencoded, with_query
from oparl.ingest.quirks import Normaliser
from oparl.ingest.summary import Summary

SOURCE = "https://ris.example.org/oparl"
PAPERS = f"{SOURCE}/body/1/paper"


def paper(n: int) -> dict[str, Any]:
    return {"id": f"{SOURCE}/paper/{n}", "type": "https://schema.oparl.org/1.1/Paper", "name": f"Vorlage {n}"}


def list_of(items: list[dict[str, Any]], next_url: str | None = None) -> httpx.Response:
    return httpx.Response(200, json={"data": items, "links": {"next": next_url} if next_url else {}})


@pytest.fixture
def reader() -> Iterator[Callable[[Callable[[httpx.Request], httpx.Response]], ListReader]]:
    clients: list[SourceClient] = []

    def make(handle: Callable[[httpx.Request], httpx.Response]) -> ListReader:
        client = SourceClient(Politeness(rate=0), transport=httpx.MockTransport(handle), sleep=lambda _s: None)
        clients.append(client)
        hosts = frozenset({"ris.example.org"})
        return ListReader(client, Normaliser(f"{SOURCE}/system", client.quirks), hosts, Summary(quirks=client.quirks))

    yield make
    for client in clients:
        client.close()


def test_pages_follow_next_links_and_each_id_comes_once(reader: Any) -> None:
    second = f"{PAPERS}?page=2"
    pages = {PAPERS: list_of([paper(1), paper(2)], second), second: list_of([paper(2), paper(3)])}
    lists = reader(lambda request: pages[str(request.url)])
    walked = list(lists.pages(PAPERS, "Paper", {}))
    assert [(p.url, [i["id"] for i in p.items or []], p.next) for p in walked] == [
        (PAPERS, [f"{SOURCE}/paper/1", f"{SOURCE}/paper/2"], f"{PAPERS}?page=2"),
        (f"{PAPERS}?page=2", [f"{SOURCE}/paper/2", f"{SOURCE}/paper/3"], None),
    ]
    assert lists.client.quirks["duplicate_id"] == 1


def test_a_failing_page_ends_the_list_where_it_resumes(reader: Any) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return list_of([paper(1)], f"{PAPERS}?page=2") if request.url.query == b"" else httpx.Response(410)

    lists = reader(handle)
    assert list(lists.pages(PAPERS, "Paper", {}))[1:] == [Page(f"{PAPERS}?page=2", None)]
    assert lists.summary.failures == [f"{PAPERS}?page=2: HTTP 410"]
    assert not lists.refused


def test_a_list_repeating_the_same_page_is_stopped(reader: Any) -> None:
    lists = reader(lambda request: list_of([paper(1)], f"{PAPERS}?page={int(request.url.params.get('page', 1)) + 1}"))
    walked = list(lists.pages(PAPERS, "Paper", {}))
    assert len(walked) == 4  # the first page, then three that brought nothing new
    assert walked[-1].next is None
    assert lists.client.quirks["list_without_end"] == 1


def test_an_empty_url_is_a_list_already_walked(reader: Any) -> None:
    lists = reader(lambda request: pytest.fail(f"asked {request.url}"))
    assert list(lists.pages("", "Paper", {})) == []


def test_filters_are_added_encoded_or_raw() -> None:
    since = {"modified_since": "2024-01-01T00:00:00+01:00"}
    assert with_query(f"{PAPERS}?page=2", since) == f"{PAPERS}?page=2&modified_since=2024-01-01T00%3A00%3A00%2B01%3A00"
    assert unencoded(f"{PAPERS}?page=2", since) == f"{PAPERS}?page=2&modified_since=2024-01-01T00:00:00+01:00"
    assert with_query(PAPERS, {}) == PAPERS
