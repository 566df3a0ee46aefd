"""A database outage, in process on both engines: 503 with Retry-After and an OParl Error wherever
it is met, logged once when it begins and once when it ends, over without a restart.
(tests/test_fault.py stops a real PostgreSQL server under load.)"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy import exc as sa
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import get_session
from api.settings import Settings
from tests.conftest import Database

ERROR = "https://schema.oparl.org/1.1/Error"
MESSAGE = "Die Datenbank ist vorübergehend nicht erreichbar; bitte später erneut senden."


class Switch:
    """The app's database, made unreachable and reachable again: every new connection is refused
    the way the engine's driver refuses it, and the open ones are closed."""

    def __init__(self, client: TestClient, database: Database) -> None:
        self.app: Any = client.app
        self.error = (
            sqlite3.OperationalError("unable to open database file")
            if database.name == "sqlite"
            else psycopg.OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')
        )

    def _refuse(self, *_args: object) -> None:
        raise self.error

    def off(self) -> None:
        event.listen(self.app.state.engine, "do_connect", self._refuse)
        self.app.state.engine.dispose()
        self.app.state.read_generations.close()
        self.app.state.stored_reader.close()

    def on(self) -> None:
        event.remove(self.app.state.engine, "do_connect", self._refuse)


@pytest.fixture
def served(settings: Settings) -> Iterator[TestClient]:
    """The app on the test database with its own engine (no test session: connections must fail)."""
    with TestClient(create_app(settings)) as client:
        client.app.state.outage.quiet = 0  # type: ignore[attr-defined]  # an outage may end at once here
        yield client


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503
    assert response.json() == {"type": ERROR, "message": MESSAGE}
    assert response.headers["retry-after"] == "10"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_outage_is_a_503_and_is_logged_once_at_its_start_and_end(
    served: TestClient, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    switch = Switch(served, database)
    token = {"Authorization": f"Bearer oparl_{'0' * 16}_{'A' * 43}"}  # well formed
    assert served.get("/oparl/v1.1/body").status_code == 200
    assert served.get("/oparl/v1.1/body").status_code == 200  # now known to the answer cache
    caplog.set_level(logging.INFO)

    switch.off()
    answers = [
        served.get("/oparl/v1.1/body"),  # the cached answer's generation cannot be read
        served.get("/oparl/v1.1/body"),  # nor given while the database is down
        served.get("/oparl/v1.1/system"),
        served.get("/oparl/v1.1/paper/1", headers=token),  # the token cannot be checked
        served.put("/write/v1/paper/p1", json={"name": "x"}, headers=token),
        served.head("/oparl/v1.1/system"),
    ]
    for response in answers[:-1]:
        assert_unavailable(response)
    assert answers[-1].status_code == 503
    assert answers[-1].headers["retry-after"] == "10"

    switch.on()
    assert served.get("/oparl/v1.1/body").status_code == 200
    assert served.get("/oparl/v1.1/system").status_code == 404  # the test database has no System
    assert served.get("/oparl/v1.1/body").status_code == 200

    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "oparl.access"))]  # request lines aside
    logged = [(r.name, r.levelname, r.getMessage()) for r in ours]
    cause = type(switch.error).__name__
    assert logged == [
        ("api.outage", "ERROR", f"database unavailable, answering 503 until it is back: {cause}: {switch.error}"),
        ("api.outage", "WARNING", logged[1][2]),
    ]
    assert logged[1][2].startswith("database available again after ")
    assert logged[1][2].endswith(" s of outage (6 requests answered 503)")
    assert all(r.exc_info is None for r in ours)  # no traceback


def test_an_outage_met_in_middleware_is_a_503_too(served: TestClient, database: Database) -> None:
    lost = sa.OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed the connection unexpectedly"))

    def broken(_scope: object) -> None:
        raise lost

    served.app.state.cache.entry_for = broken  # type: ignore[attr-defined]
    assert_unavailable(served.get("/oparl/v1.1/body"))


@pytest.mark.parametrize(
    "failure",
    [
        sa.TimeoutError("QueuePool limit of size 8 overflow 10 reached, connection timed out, timeout 30.00"),
        sa.InterfaceError("SELECT 1", {}, psycopg.InterfaceError("the connection is closed")),
        sa.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True),
        sa.OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full")),
    ],
    ids=["pool-timeout", "interface", "invalidated", "disk-full"],
)
def test_every_kind_of_database_failure_is_an_outage(settings: Settings, failure: Exception) -> None:
    def failing() -> Session:
        raise failure

    app = create_app(settings)
    app.dependency_overrides[get_session] = failing
    with TestClient(app) as client:
        assert_unavailable(client.get("/oparl/v1.1/system"))


def test_another_database_error_is_a_500_answered_not_raised(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    def failing() -> Session:
        raise sa.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))

    app = create_app(settings)
    app.dependency_overrides[get_session] = failing
    with TestClient(app) as client:  # raises what the app re-raises
        response = client.get("/oparl/v1.1/system")
    assert response.status_code == 500
    assert response.json() == {"type": ERROR, "message": "Interner Fehler des Servers."}
    assert response.headers["access-control-allow-origin"] == "*"
    assert [r.levelname for r in caplog.records if r.name == "api.errors"] == ["ERROR"]


def test_a_connection_lost_after_the_answer_leaves_the_answer_whole(
    served: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request's session is closed after the answer went out; when the database dropped the
    connection meanwhile, the rollback fails. That must not break the answer (it reset the
    client's connection under load when an outage began)."""
    closed = Session.close

    def close_on_a_dead_connection(self: Session) -> None:
        closed(self)
        lost = psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")
        raise sa.OperationalError("ROLLBACK", {}, lost)

    monkeypatch.setattr(Session, "close", close_on_a_dead_connection)
    response = served.get("/oparl/v1.1/body?limit=3")
    assert response.status_code == 200
    assert response.json()["data"] == []
