"""HTTP caching of public answers: validators, 304s, compression, and no stale answer after a write."""

from __future__ import annotations

import datetime as dt
import gzip
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import brotli
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, update

from api.caching import GenerationReader, Lru
from models import ListGeneration
from tests.api.test_write import council, paper  # noqa: F401 - the fixture
from tests.conftest import Database, FakeClock

LIST = "/oparl/v1.1/body/{body}/paper"


@pytest.fixture
def written(client: TestClient, tokens: dict[str, str], council: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    response = client.put("/write/v1/paper/p1", json=paper(), headers={"Authorization": tokens["writer"]})
    assert response.status_code in (200, 201), response.text
    return {"paper": response.json()["id"], "body": council["stadt"], "writer": tokens["writer"]}


def rename(client: TestClient, written: dict[str, Any], name: str) -> None:
    response = client.put("/write/v1/paper/p1", json=paper(name=name), headers={"Authorization": written["writer"]})
    assert response.status_code == 200, response.text


def test_objects_carry_validators_and_answer_304(client: TestClient, written: dict[str, Any]) -> None:
    first = client.get(written["paper"])
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    assert first.headers["cache-control"] == "public, no-cache"
    assert first.headers["vary"] == "Accept-Encoding, Authorization"
    modified = parsedate_to_datetime(first.headers["last-modified"])
    assert format_datetime(modified, usegmt=True) == first.headers["last-modified"]
    assert modified == dt.datetime.fromisoformat(first.json()["modified"])  # the same instant

    again = client.get(written["paper"], headers={"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert client.get(written["paper"], headers={"If-None-Match": 'W/"other"'}).status_code == 200
    assert client.get(written["paper"], headers={"If-None-Match": f'"x", {etag}'}).status_code == 304
    since = first.headers["last-modified"]
    assert client.get(written["paper"], headers={"If-Modified-Since": since}).status_code == 304
    earlier = format_datetime(modified - dt.timedelta(seconds=1), usegmt=True)
    assert client.get(written["paper"], headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3).
    both = {"If-None-Match": 'W/"other"', "If-Modified-Since": since}
    assert client.get(written["paper"], headers=both).status_code == 200
    assert client.get(written["paper"], headers={"If-Modified-Since": "not a date"}).status_code == 200


def test_a_write_is_visible_at_once_and_moves_the_validators(
    client: TestClient, written: dict[str, Any], clock: FakeClock
) -> None:
    page_url = LIST.format(body=written["body"].rsplit("/", 1)[1])
    page = client.get(page_url)
    item = client.get(written["paper"])
    assert client.get(page_url).content == page.content  # the cached answer
    assert client.get(page_url, headers={"If-None-Match": page.headers["etag"]}).status_code == 304

    clock.advance(60)
    rename(client, written, "Umbenannte Vorlage")
    for url, before in ((page_url, page), (written["paper"], item)):
        after = client.get(url, headers={"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200
        assert after.headers["etag"] != before.headers["etag"]
        assert b"Umbenannte Vorlage" in after.content
        assert parsedate_to_datetime(after.headers["last-modified"]) > parsedate_to_datetime(
            before.headers["last-modified"]
        )


def test_two_workers_on_one_database_never_answer_stale(
    client: TestClient, written: dict[str, Any], clock: FakeClock
) -> None:
    """Each worker has its own cache; the shared database's list generations keep them honest."""
    page_url = LIST.format(body=written["body"].rsplit("/", 1)[1])
    other = TestClient(client.app)
    with other:
        other.app.state.read_generations = client.app.state.read_generations  # type: ignore[attr-defined]
        assert other.get(page_url).content == client.get(page_url).content
        clock.advance(60)
        rename(client, written, "Nach der Sitzung geändert")
        assert b"Nach der Sitzung" in other.get(page_url).content


def test_304_is_decided_without_rendering(
    client: TestClient, written: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    page_url = LIST.format(body=written["body"].rsplit("/", 1)[1])
    etags = {url: client.get(url).headers["etag"] for url in (page_url, written["paper"])}
    client.app.state.cache.entries = Lru()  # type: ignore[attr-defined]  # through the routes, not the cache

    def no_rendering(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("rendered for a 304")

    monkeypatch.setattr("api.routes.lists.rendered_page", no_rendering)
    monkeypatch.setattr("oparl.snapshot.Snapshots.dumps", no_rendering)
    for url, etag in etags.items():
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br", "br"), ("br;q=0, gzip", "gzip"), ("identity", None),
     ("gzip;q=0", None), ("*", "br")],
)  # fmt: skip
@pytest.mark.usefixtures("luebeck")
def test_compression_is_negotiated(client: TestClient, accept: str, encoding: str | None) -> None:
    page_url = client.get("/oparl/v1.1/body").json()["data"][0]["paper"]
    plain = client.get(page_url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    for _ in range(2):  # built, then from the cache of compressed answers
        response = client.get(page_url, headers={"Accept-Encoding": accept})
        assert response.headers.get("content-encoding") == encoding
        assert response.content == plain.content  # httpx decodes what it was sent
        assert response.headers["etag"] == plain.headers["etag"]
    with client.stream("GET", page_url, headers={"Accept-Encoding": accept}) as response:
        raw = b"".join(response.iter_raw())
    decode = {"gzip": gzip.decompress, "br": brotli.decompress, None: bytes}[encoding]
    assert decode(raw) == plain.content
    if encoding is not None:
        assert len(raw) < len(plain.content) / 3


@pytest.mark.usefixtures("luebeck")
def test_an_answer_is_kept_in_the_form_it_was_sent(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that takes compression gets the compressed form kept, not the plain one beside it;
    the cache answers it from that form, and a client wanting another form gets it built anew."""
    cache = client.app.state.cache  # type: ignore[attr-defined]
    page_url = client.get("/oparl/v1.1/body").json()["data"][0]["paper"]
    first = client.get(page_url, headers={"Accept-Encoding": "gzip"})
    etag = first.headers["etag"]
    assert (cache.answers.holds((etag, "gzip")), cache.answers.holds((etag, None))) == (True, False)

    def no_rendering(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("rendered again")

    monkeypatch.setattr("api.routes.lists.rendered_page", no_rendering)
    again = client.get(page_url, headers={"Accept-Encoding": "gzip"})
    assert (again.headers["content-encoding"], again.content) == ("gzip", first.content)
    monkeypatch.undo()
    plain = client.get(page_url, headers={"Accept-Encoding": "identity"})
    assert ("content-encoding" in plain.headers, plain.content) == (False, first.content)
    assert cache.answers.holds((etag, None))  # kept as it was sent, and now the source of any other form
    brotli_form = client.get(page_url, headers={"Accept-Encoding": "br"})
    assert (brotli_form.headers["content-encoding"], brotli_form.content) == ("br", first.content)
    assert cache.answers.holds((etag, "br"))


def test_small_answers_are_not_compressed(client: TestClient, written: dict[str, Any]) -> None:
    response = client.get("/oparl/v1.1/system", headers={"Accept-Encoding": "gzip"})
    assert len(response.content) < 1024
    assert "content-encoding" not in response.headers


def test_the_generation_reader_sees_every_commit(database: Database) -> None:
    """CachedAnswers' own connection, on both engines: autocommit, so no read is older than a commit."""
    reader = GenerationReader(database.engine)
    try:
        before = reader(("paper", "body"))
        with database.engine.begin() as connection:
            bump_generations_for(connection, "paper")
        assert reader(("paper", "body")) == (before[0] + 1, before[1])
        with database.engine.begin() as connection:
            bump_generations_for(connection, "paper")
        assert reader(("paper",)) == (before[0] + 2,)
    finally:
        with database.engine.begin() as connection:
            connection.execute(
                update(ListGeneration).where(ListGeneration.table_name == "paper").values(value=before[0])
            )
        reader.close()


def bump_generations_for(connection: Connection, table: str) -> None:
    gen = ListGeneration
    connection.execute(update(gen).where(gen.table_name == table).values(value=gen.value + 1))
