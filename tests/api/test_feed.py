"""The change feed and snapshot over HTTP: discovery, pages, cursors, 400/404/410/304/429, gzip."""

from __future__ import annotations

import datetime as dt
import gzip

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.settings import Settings
from models import FeedState
from oparl.feed import cursor
from oparl.feed.prune import prune
from tests.api.kommparl import DRAFT, feed_page, local, read_feed, snapshot, valid
from tests.api.test_nonpublic import council  # noqa: F401  (a fixture)
from tests.conftest import BASE_URL, FakeClock
from tests.oparl_schema import errors

API = f"{BASE_URL}/oparl/v1.1"


@pytest.fixture
def auth(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": tokens["writer"]}


@pytest.fixture
def body(client: TestClient, council: None) -> dict[str, str]:  # noqa: F811
    found: dict[str, str] = client.get("/oparl/v1.1/body").json()["data"][0]
    return found


def epoch(session: Session) -> str:
    return session.execute(select(FeedState.epoch)).scalar_one()


class TestDiscovery:
    def test_the_system_lists_the_draft_and_both_profiles(self, client: TestClient, body: dict[str, str]) -> None:
        system = client.get("/oparl/v1.1/system").json()
        assert system["kommparl:conformsTo"] == [DRAFT, DRAFT + "profile/changes", DRAFT + "profile/snapshot"]
        assert system["oparlVersion"] == "https://schema.oparl.org/1.1/"
        assert errors(system) == []

    def test_every_body_names_its_feed_and_snapshot(self, client: TestClient, body: dict[str, str]) -> None:
        assert body["kommparl:changes"] == body["id"] + "/changes"
        assert body["kommparl:snapshot"] == body["id"] + "/snapshot"
        assert errors(body) == []


class TestFeed:
    def test_entries_carry_a_numeric_offset_and_the_object_as_served(
        self, client: TestClient, body: dict[str, str]
    ) -> None:
        entries, _ = read_feed(client, body["kommparl:changes"] + "?limit=3")
        # Europe/Berlin in June: +02:00, never Z.
        assert {e["modified"][-6:] for e in entries} == {"+02:00"}
        upserts = [e for e in entries if e["operation"] == "upsert"]
        fetched = client.get(local(upserts[0]["id"])).json()
        assert (fetched["type"], fetched["modified"]) == (upserts[0]["type"], upserts[0]["modified"])

    def test_a_page_returns_at_most_limit_and_next_until_the_end(
        self, client: TestClient, body: dict[str, str]
    ) -> None:
        feed = body["kommparl:changes"]
        first = feed_page(client, feed + "?limit=2")
        assert len(first["data"]) == 2
        assert first["links"]["next"] == f"{feed}?after={first['cursor']}&limit=2"
        assert first["cursor"] == first["data"][-1]["cursor"]
        everything, last = read_feed(client, feed + "?limit=1000")
        paged, paged_last = read_feed(client, feed + "?limit=2")
        assert paged == everything
        assert paged_last == last
        end = feed_page(client, f"{feed}?after={last}")
        assert (end["data"], end["cursor"], "next" in end["links"]) == ([], last, False)

    def test_a_limit_beyond_the_maximum_is_clamped(self, client: TestClient, body: dict[str, str]) -> None:
        page = feed_page(client, body["kommparl:changes"] + "?limit=999999999")
        assert page["links"]["self"].endswith("limit=1000")

    @pytest.mark.parametrize("query", ["limit=0", "limit=-1", "limit=abc", "limit=1.5", "limit=", "after=",
                                       "after=1.1.1.000000000000", "after=nonsense", "after=" + "a" * 600])  # fmt: skip
    def test_a_bad_cursor_or_limit_is_400(self, client: TestClient, body: dict[str, str], query: str) -> None:
        response = client.get(local(body["kommparl:changes"]) + "?" + query)
        assert response.status_code == 400
        assert response.json()["type"] == "https://schema.oparl.org/1.1/Error"

    def test_a_cursor_of_another_body_or_from_the_future_is_400(
        self, client: TestClient, body: dict[str, str], auth: dict[str, str], session: Session
    ) -> None:
        other = client.put("/write/v1/body/zweite", json={"system": "sys", "name": "Zweite"}, headers=auth)
        assert other.status_code == 201
        other_body = other.json()["id"]
        _, theirs = read_feed(client, other_body + "/changes")
        response = client.get(local(body["kommparl:changes"]) + f"?after={theirs}")
        assert (response.status_code, response.json()["message"]) == (
            400, "Dieser Cursor gehört zum Änderungsfeed einer anderen Körperschaft."
        )  # fmt: skip
        body_id = int(body["id"].rsplit("/", 1)[1])
        ahead = cursor.encode(epoch(session), body_id, 10**9)
        assert client.get(local(body["kommparl:changes"]) + f"?after={ahead}").status_code == 400

    def test_conditional_get_is_304_until_a_write(
        self, client: TestClient, body: dict[str, str], auth: dict[str, str]
    ) -> None:
        feed = local(body["kommparl:changes"])
        first = client.get(feed)
        assert client.get(feed, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
        client.patch("/write/v1/paper/vorlage", json={"name": "Neu"}, headers=auth)
        again = client.get(feed, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 200
        assert again.headers["etag"] != first.headers["etag"]

    def test_an_expired_cursor_is_410_naming_the_snapshot(
        self, client: TestClient, body: dict[str, str], auth: dict[str, str], session: Session, clock: FakeClock
    ) -> None:
        feed = body["kommparl:changes"]
        _, old = read_feed(client, feed)
        client.patch("/write/v1/paper/vorlage", json={"name": "Neu"}, headers=auth)
        _, middle = read_feed(client, feed + f"?after={old}")
        clock.advance(31 * 86400)
        client.patch("/write/v1/paper/vorlage", json={"name": "Neuer"}, headers=auth)
        assert prune(session, now=clock.now, retention=dt.timedelta(days=30)) > 0
        gone = client.get(local(feed) + f"?after={old}")
        assert gone.status_code == 410
        assert gone.json()["type"] == "https://schema.oparl.org/1.1/Error"
        assert gone.json()["kommparl:snapshot"] == body["kommparl:snapshot"]
        # Without a cursor the feed starts at the oldest entry kept: the last write's. A client
        # that had read up to the pruned part misses nothing: its cursor still works.
        kept, _ = read_feed(client, feed)
        assert {e["modified"] for e in kept} == {"2024-07-04T10:01:01+02:00"}
        assert read_feed(client, feed + f"?after={middle}")[0] == kept

    def test_pruning_keeps_entries_younger_than_the_retention(
        self, client: TestClient, body: dict[str, str], session: Session, clock: FakeClock
    ) -> None:
        before, _ = read_feed(client, body["kommparl:changes"])
        clock.advance(29 * 86400)
        assert prune(session, now=clock.now, retention=dt.timedelta(days=30)) == 0
        assert read_feed(client, body["kommparl:changes"])[0] == before

    def test_no_body_no_feed(self, client: TestClient, body: dict[str, str]) -> None:
        for path in (
            "/oparl/v1.1/body/999999/changes",
            "/oparl/v1.1/body/999999/snapshot",
            "/oparl/v1.1/body/x/changes",
        ):
            response = client.get(path)
            assert (response.status_code, response.json()["type"]) == (404, "https://schema.oparl.org/1.1/Error")

    def test_the_insiders_feed_is_private(
        self, client: TestClient, body: dict[str, str], tokens: dict[str, str]
    ) -> None:
        insider = client.get(local(body["kommparl:changes"]), headers={"Authorization": tokens["insider"]})
        assert insider.headers["cache-control"] == "private"
        valid("page", insider.json())


class TestSnapshot:
    def test_the_snapshot_holds_every_shown_object_once_and_a_cursor_to_continue(
        self, client: TestClient, body: dict[str, str], auth: dict[str, str]
    ) -> None:
        header, objects = snapshot(client, body["kommparl:snapshot"])
        assert header["body"] == body["id"]
        assert objects[0] == body
        for line in objects:
            assert client.get(local(line["id"])).json() == line
            assert errors(line) == []
        client.patch("/write/v1/paper/vorlage", json={"name": "Neu"}, headers=auth)
        entries, _ = read_feed(client, body["kommparl:changes"] + f"?after={header['cursor']}")
        assert f"{API}/paper/" in entries[0]["id"]

    def test_gzip_is_negotiated(self, client: TestClient, body: dict[str, str]) -> None:
        with client.stream("GET", local(body["kommparl:snapshot"]), headers={"Accept-Encoding": "gzip"}) as packed:
            assert packed.headers["content-encoding"] == "gzip"
            raw = b"".join(packed.iter_raw())
        plain = client.get(local(body["kommparl:snapshot"]), headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        # Equal but for the header's `generated`, which the test clock keeps still.
        assert gzip.decompress(raw) == plain.content

    def test_conditional_get_is_304(self, client: TestClient, body: dict[str, str], auth: dict[str, str]) -> None:
        first = client.get(local(body["kommparl:snapshot"]))
        etag = {"If-None-Match": first.headers["etag"]}
        assert client.get(local(body["kommparl:snapshot"]), headers=etag).status_code == 304
        client.patch("/write/v1/paper/vorlage", json={"name": "Neu"}, headers=auth)
        assert client.get(local(body["kommparl:snapshot"]), headers=etag).status_code == 200

    def test_too_many_at_once_is_429_with_retry_after(self, client: TestClient, body: dict[str, str]) -> None:
        slots = client.app.state.snapshot_slots  # type: ignore[attr-defined]
        held = [slots.take(), slots.take()]  # the default limit: 2
        refused = client.get(local(body["kommparl:snapshot"]))
        assert (refused.status_code, refused.headers["retry-after"]) == (429, "30")
        assert refused.json()["type"] == "https://schema.oparl.org/1.1/Error"
        held[0].release()
        assert client.get(local(body["kommparl:snapshot"])).status_code == 200
        held[1].release()


def test_retention_below_30_days_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(feed_retention_days=29)


def test_a_draft_conformant_client_can_use_httpx_too() -> None:
    assert httpx.URL(f"{API}/body/1/changes?after=1.1.0.abc").params["after"] == "1.1.0.abc"
