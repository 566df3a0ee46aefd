"""The write API under attack and fault: scopes that leak nothing, sizes and surrogates, database
errors that are not conflicts, records that could not be served, and the audit of every write."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from api import auth as auth_module
from api.app import create_app
from api.auth import create_token
from api.caching import generations
from api.deps import get_session, get_write_session
from api.readers import SessionReader
from api.settings import Settings
from models import utcnow
from oparl import write
from tests.conftest import FakeClock

COUNCIL = [
    {"op": "put", "type": "System", "key": "sys", "record": {"name": "Ratsinformation"}},
    {"op": "put", "type": "Body", "key": "stadt", "record": {"system": "sys", "name": "Stadt"}},
]


@pytest.fixture
def auth(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": tokens["writer"]}


@pytest.fixture
def council(client: TestClient, auth: dict[str, str]) -> None:
    assert client.post("/write/v1/batch", json={"operations": COUNCIL}, headers=auth).status_code == 200


@pytest.fixture
def quiet_client(settings: Settings, session: Session, clock: FakeClock) -> Iterator[TestClient]:
    """A client that answers a server error as the server does instead of raising it in the test."""
    app = create_app(settings, clock=clock)
    app.dependency_overrides[get_session] = lambda: session
    app.dependency_overrides[get_write_session] = lambda: session
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as test_client:
        app.state.read_generations = lambda tables: generations(session, tables)[0]
        app.state.stored_reader = SessionReader(session)
        yield test_client


class TestDatabaseErrors:
    """Only a lost race is a 409 "send again"; a full disk is a fault of the server, and logged."""

    @staticmethod
    def failing_commit(orig: Exception) -> Any:
        def commit(*_args: Any, **_kwargs: Any) -> Any:
            raise OperationalError("COMMIT", {}, orig)

        return commit

    @pytest.mark.parametrize(
        "orig",
        [sqlite3.OperationalError("database is locked"), psycopg.errors.SerializationFailure("could not serialize"),
         psycopg.errors.DeadlockDetected("deadlock detected")],
        ids=["sqlite-busy", "pg-serialization", "pg-deadlock"],
    )  # fmt: skip
    def test_a_lost_race_is_a_409(
        self, quiet_client: TestClient, council: None, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        orig: Exception,
    ) -> None:  # fmt: skip
        monkeypatch.setattr(write, "commit", self.failing_commit(orig))
        response = quiet_client.put("/write/v1/paper/p", json={"body": "stadt"}, headers=auth)
        assert response.status_code == 409
        assert response.json()["message"] == "Ein gleichzeitiger Schreibvorgang kam zuvor; bitte erneut senden."

    @pytest.mark.parametrize(
        "orig",
        [sqlite3.OperationalError("database or disk is full"), sqlite3.OperationalError("disk I/O error"),
         psycopg.errors.DiskFull("could not extend file"), psycopg.OperationalError("server closed the connection")],
        ids=["sqlite-full", "sqlite-io", "pg-disk-full", "pg-connection"],
    )  # fmt: skip
    def test_a_full_disk_is_no_conflict_and_is_logged(
        self, quiet_client: TestClient, council: None, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, orig: Exception,
    ) -> None:  # fmt: skip
        monkeypatch.setattr(write, "commit", self.failing_commit(orig))
        with caplog.at_level(logging.ERROR):
            response = quiet_client.put("/write/v1/paper/p", json={"body": "stadt"}, headers=auth)
        # The app's handler of database faults (api/outage.py): 503, retry later, the fault logged.
        assert response.status_code == 503
        assert response.headers["retry-after"] == "10"
        assert response.json()["type"] == "https://schema.oparl.org/1.1/Error"
        assert [r for r in caplog.records if r.name == "api.outage" and str(orig) in r.getMessage()]


class TestUnservableRecords:
    def test_an_empty_second_system_is_refused(self, client: TestClient, auth: dict[str, str], council: None) -> None:
        response = client.put("/write/v1/system/0", json={}, headers=auth)
        assert response.status_code == 422
        assert response.json()["message"] == (
            "System '0'.key: this server has the System 'sys' already; a second one would be unreachable"
        )

    def test_a_second_system_is_refused(self, client: TestClient, auth: dict[str, str], council: None) -> None:
        response = client.put("/write/v1/system/0", json={"name": "Zweites System"}, headers=auth)
        assert response.status_code == 422
        assert response.json()["message"] == (
            "System '0'.key: this server has the System 'sys' already; a second one would be unreachable"
        )
        assert client.get("/oparl/v1.1/system").json()["name"] == "Ratsinformation"
        # The one System can still be replaced.
        assert client.put("/write/v1/system/sys", json={"name": "Neu"}, headers=auth).status_code == 200

    @pytest.mark.parametrize(
        ("path", "record", "message"),
        [
            ("body/b2", {"system": "sys"}, "Body 'b2'.name: a Body needs a name"),
            ("body/b2", {"name": "Stadt"}, "Body 'b2'.system: the record names no System"),
            ("paper/p", {"name": "Vorlage"}, "Paper 'p'.body: the record names no Body"),
            ("file/f", {"body": "stadt", "name": "Anlage"}, "File 'f'.accessUrl: a File needs content or an accessUrl"),
            ("agenda-item/a", {"body": "stadt"}, "AgendaItem 'a'.meeting: an AgendaItem needs its Meeting"),
            ("membership/m", {"body": "stadt"}, "Membership 'm'.person: a Membership needs its Person"),
        ],
    )
    def test_records_missing_what_the_schema_requires(
        self, client: TestClient, auth: dict[str, str], council: None, path: str, record: dict[str, Any], message: str
    ) -> None:
        response = client.put(f"/write/v1/{path}", json=record, headers=auth)
        assert (response.status_code, response.json()["message"]) == (422, message)


LONE = "\ud800"


def raw(record: Any) -> bytes:
    """JSON as a client may send it: json.dumps writes a lone surrogate as the escape \\ud800."""
    return json.dumps(record).encode()


class TestStrings:
    """No string of a write reaches the database unless every engine can store it and its property allows it."""

    @pytest.mark.parametrize(
        ("record", "message"),
        [
            ({"body": "stadt", "name": f"a{LONE}b"}, "Paper 'p'.name: expected Unicode text, got a lone surrogate"),
            ({"body": "stadt", "keyword": ["ok", LONE]}, "Paper 'p'.keyword[1]: expected Unicode text"),
            ({"body": "stadt", f"x{LONE}": 1}, "Paper 'p'.x\\ud800: expected Unicode text"),
            ({"body": LONE}, "Paper 'p'.body: expected Unicode text"),
            ({"body": "stadt", "underDirectionOf": [LONE]}, "Paper 'p'.underDirectionOf[0]: expected Unicode text"),
            ({"body": "stadt", "consultation": [{"key": "c", "role": LONE}]},
             "Paper 'p'.consultation[0].role: expected Unicode text"),
            ({"body": "stadt", "consultation": [{"key": LONE}]},
             "Paper 'p'.consultation[0].key: expected Unicode text"),
            ({"body": "stadt", "mainFile": {"key": "f", "accessUrl": "https://x.example/f", "name": LONE}},
             "Paper 'p'.mainFile.name: expected Unicode text"),
            ({"body": "stadt", "location": [{"key": "l", "geojson": {"type": "Feature", "geometry": {"type": LONE}}}]},
             "Paper 'p'.location[0].geojson.geometry.type: expected Unicode text"),
            ({"body": "stadt", "created": LONE}, "Paper 'p'.created: expected Unicode text"),
        ],
    )  # fmt: skip
    def test_a_lone_surrogate_anywhere_is_a_422_naming_the_field(
        self, client: TestClient, auth: dict[str, str], council: None, record: dict[str, Any], message: str
    ) -> None:
        headers = {**auth, "Content-Type": "application/json"}
        response = client.put("/write/v1/paper/p", content=raw(record), headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["message"].startswith(message)
        assert client.get("/oparl/v1.1/body").json()["data"][0]["name"] == "Stadt"  # still serving

    def test_a_lone_surrogate_in_keys_and_types_of_a_batch(
        self, client: TestClient, auth: dict[str, str], council: None
    ) -> None:
        headers = {**auth, "Content-Type": "application/json"}
        operations = [
            {"op": "put", "type": "Paper", "key": f"p{LONE}", "record": {"body": "stadt"}},
            {"op": "delete", "type": "Paper", "key": LONE},
            {"op": "patch", "type": "Paper", "key": LONE, "record": {}},
            {"op": "put", "type": f"Paper{LONE}", "key": "p", "record": {}},
        ]
        response = client.post("/write/v1/batch", content=raw({"operations": operations}), headers=headers)
        assert response.status_code == 422
        messages = [e["message"] for e in response.json()["oparl-server:errors"]]
        assert messages == [
            "Paper 'p\\ud800'.key: expected Unicode text, got a lone surrogate in 'p\\\\ud800'",
            "Paper '\\ud800'.key: expected Unicode text, got a lone surrogate in '\\\\ud800'",
            "Paper '\\ud800'.key: expected Unicode text, got a lone surrogate in '\\\\ud800'",
            "type: not an OParl type: 'Paper\\ud800'",
        ]
        unknown = client.post("/write/v1/batch", content=raw({"operations": [{f"op{LONE}": 1}]}), headers=headers)
        assert unknown.status_code == 400

    @pytest.mark.parametrize(
        ("record", "message"),
        [
            ({"name": "x" * 15_000_000}, "Paper 'p'.name: at most 4000 characters, got 15000000"),
            ({"name": "x" * 4_001}, "Paper 'p'.name: at most 4000 characters, got 4001"),
            ({"reference": "x" * 4_001}, "Paper 'p'.reference: at most 4000 characters, got 4001"),
            ({"paperType": "x" * 1_001}, "Paper 'p'.paperType: at most 1000 characters, got 1001"),
            ({"web": "https://x.example/" + "x" * 8_192}, "Paper 'p'.web: at most 8192 characters, got 8210"),
            ({"keyword": ["x" * 1_001]}, "Paper 'p'.keyword[0]: at most 1000 characters, got 1001"),
            ({"keyword": ["x"] * 1_001}, "Paper 'p'.keyword: at most 1000 entries, got 1001"),
            ({"relatedPaper": ["x"] * 10_001}, "Paper 'p'.relatedPaper: at most 10000 entries, got 10001"),
            ({"relatedPaper": ["x" * 2_049]}, "Paper 'p'.relatedPaper[0]: at most 2048 characters, got 2049"),
            ({"consultation": [{"key": "c", "role": "x" * 1_001}]},
             "Paper 'p'.consultation[0].role: at most 1000 characters, got 1001"),
        ],
    )  # fmt: skip
    def test_strings_longer_than_their_property_allows(
        self, client: TestClient, auth: dict[str, str], council: None, record: dict[str, Any], message: str
    ) -> None:
        response = client.put("/write/v1/paper/p", json={"body": "stadt", **record}, headers=auth)
        assert (response.status_code, response.json()["message"]) == (422, message)

    def test_the_largest_strings_allowed_are_stored(
        self, client: TestClient, auth: dict[str, str], council: None
    ) -> None:
        record = {"body": "stadt", "name": "ä" * 4_000, "keyword": ["k" * 1_000] * 1_000}
        response = client.put("/write/v1/paper/p", json=record, headers=auth)
        assert response.status_code == 201
        served = client.get(response.json()["id"].removeprefix("https://oparl.example.org")).json()
        assert (served["name"], len(served["keyword"])) == ("ä" * 4_000, 1_000)
        file = {"body": "stadt", "name": "Anlage", "accessUrl": "https://x.example/f", "text": "t" * 4_000_000}
        assert client.put("/write/v1/file/f", json=file, headers=auth).status_code == 201


class TestTokens:
    def test_an_expired_token_is_a_401(self, client: TestClient, session: Session, council: None) -> None:
        _, secret = create_token(session, "alt", ["write"], expires=utcnow() - dt.timedelta(seconds=1))
        response = client.put(
            "/write/v1/paper/p", json={"body": "stadt"}, headers={"Authorization": f"Bearer {secret}"}
        )
        assert (response.status_code, response.json()["message"]) == (401, "Dieser Zugangsschlüssel ist abgelaufen.")
        _, fresh = create_token(session, "neu", ["write"], expires=utcnow() + dt.timedelta(days=1))
        ok = client.put("/write/v1/paper/p", json={"body": "stadt"}, headers={"Authorization": f"Bearer {fresh}"})
        assert ok.status_code == 201

    def test_last_used_moves_at_most_once_a_minute(
        self, client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        row, secret = create_token(session, "leser", ["read-nonpublic"])
        now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
        monkeypatch.setattr(auth_module, "utcnow", lambda: now)
        updates: list[str] = []
        listener = lambda *args: updates.append(args[2]) if args[2].startswith("UPDATE api_token") else None  # noqa: E731
        event.listen(session.connection(), "before_cursor_execute", listener)
        for _ in range(5):
            assert client.get("/oparl/v1.1/body", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        assert len(updates) == 1
        now += dt.timedelta(seconds=61)
        client.get("/oparl/v1.1/body", headers={"Authorization": f"Bearer {secret}"})
        assert len(updates) == 2
        event.remove(session.connection(), "before_cursor_execute", listener)
        session.refresh(row)
        assert row.last_used == now
