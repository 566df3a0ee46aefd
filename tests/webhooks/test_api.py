"""Subscriptions through the write API: the scope webhooks, only one's own, targets checked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from api.auth import create_token
from api.caching import generations
from api.deps import get_session, get_write_session
from api.readers import SessionReader
from api.settings import Settings
from models import Body
from tests.conftest import BASE_URL, Database, FakeClock


@pytest.fixture
def api(database: Database, data_dir: Path, session: Session, clock: FakeClock, luebeck: None) -> Iterator[TestClient]:
    settings = Settings(database_url=database.url, public_base_url=BASE_URL, data_dir=data_dir, rate_limit="",
                        rate_limit_token="", webhook_allow_networks="127.0.0.0/8")  # fmt: skip
    app = create_app(settings, clock=clock)
    app.dependency_overrides[get_session] = lambda: session
    app.dependency_overrides[get_write_session] = lambda: session
    with TestClient(app, base_url="http://testserver") as test_client:
        app.state.read_generations = lambda tables: generations(session, tables)[0]
        app.state.stored_reader = SessionReader(session)
        yield test_client


def bearer(session: Session, *scopes: str) -> dict[str, str]:
    _row, secret = create_token(session, "t", list(scopes))
    session.flush()
    return {"Authorization": f"Bearer {secret}"}


def test_create_list_read_log_and_remove(api: TestClient, session: Session) -> None:
    owner = bearer(session, "webhooks")
    body_id = session.scalars(select(Body.id)).one()
    body = f"{BASE_URL}/oparl/v1.1/body/{body_id}"
    made = api.post("/write/v1/webhooks", headers=owner,
                    json={"url": "http://127.0.0.1:9/in", "body": body, "types": ["Paper", "File"]})  # fmt: skip
    assert made.status_code == 201, made.text
    sub = made.json()
    assert sub["secret"].startswith("whsec_")
    assert made.headers["location"] == f"/write/v1/webhooks/{sub['id']}"
    assert (sub["body"], sub["url"], sub["types"], sub["active"], sub["failures"]) == (
        body, "http://127.0.0.1:9/in", ["File", "Paper"], True, 0)  # fmt: skip
    listed = api.get("/write/v1/webhooks", headers=owner).json()["data"]
    assert [s["id"] for s in listed] == [sub["id"]]
    assert "secret" not in listed[0]
    assert api.get(f"/write/v1/webhooks/{sub['id']}", headers=owner).json() == listed[0]
    assert api.get(f"/write/v1/webhooks/{sub['id']}/deliveries", headers=owner).json() == {"data": []}
    other = bearer(session, "webhooks")
    assert api.get("/write/v1/webhooks", headers=other).json() == {"data": []}
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/deliveries"), ("POST", "/enable")):
        assert api.request(method, f"/write/v1/webhooks/{sub['id']}{path}", headers=other).status_code == 404
    assert api.delete(f"/write/v1/webhooks/{sub['id']}", headers=owner).status_code == 204
    assert api.get(f"/write/v1/webhooks/{sub['id']}", headers=owner).status_code == 404


def test_scope_webhooks_is_needed(api: TestClient, session: Session) -> None:
    assert api.get("/write/v1/webhooks").status_code == 401
    writer = bearer(session, "write", "read-nonpublic")
    refused = api.get("/write/v1/webhooks", headers=writer)
    assert refused.status_code == 403
    assert refused.json()["debug"] == "the token lacks the scope webhooks"


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"url": "http://10.0.0.1/in"}, 422, "url: dieses Ziel ist nicht erlaubt (10.0.0.1 is not a public address)."),
        ({"url": "http://[::1]/in"}, 422, "url: dieses Ziel ist nicht erlaubt (::1 is not a public address)."),
        ({"types": ["Gremium"]}, 422, "types: keine OParl-Typen: 'Gremium'"),
        (
            {"body": "https://elsewhere.example/body/1"},
            422,
            "body: erwartet die Kennung (URL) einer Körperschaft dieses Servers.",
        ),  # fmt: skip
        ({"body": 999}, 404, "Kein Objekt vom Typ Body mit der Kennung 999."),
        ({"after": "nonsense"}, 400, "Ungültiger Cursor (after)."),
    ],
)
def test_bad_subscriptions_are_refused(
    api: TestClient, session: Session, change: dict[str, object], status: int, message: str
) -> None:
    body_id = session.scalars(select(Body.id)).one()
    request = {"url": "http://127.0.0.1:9/in", "body": body_id, **change}
    answer = api.post("/write/v1/webhooks", headers=bearer(session, "webhooks"), json=request)
    assert (answer.status_code, answer.json()["message"]) == (status, message)
