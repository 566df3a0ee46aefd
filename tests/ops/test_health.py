"""/healthz and /readyz: outside the OParl paths and the OpenAPI, never cached."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from models.db import head_revision, make_engine, make_sessionmaker
from tests.ops.conftest import MakeClient

ERROR = "https://schema.oparl.org/1.1/Error"


def test_healthz_answers_without_the_database(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    assert answer.headers["cache-control"] == "no-store"


def test_readyz_at_the_migration_head(client: TestClient) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "migration": head_revision()}
    assert answer.headers["cache-control"] == "no-store"


def test_readyz_is_503_when_the_database_is_unreachable(make_client: MakeClient) -> None:
    client = make_client()
    client.app.state.sessionmaker = make_sessionmaker(  # type: ignore[attr-defined]
        make_engine(url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    )
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {
        "type": ERROR,
        "message": "Der Server ist nicht bereit.",
        "debug": "database unreachable (OperationalError)",
    }
    assert answer.headers["retry-after"] == "5"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["access-control-allow-origin"] == "*"


def test_readyz_is_503_when_the_database_is_behind_the_code(make_client: MakeClient, tmp_path: Path) -> None:
    client = make_client()
    # A database of its own whose alembic_version names another revision (as after a rollback of the code).
    engine = make_engine(url=f"sqlite:///{tmp_path / 'other.sqlite3'}", create=True)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('0123456789ab')"))
    client.app.state.sessionmaker = make_sessionmaker(engine)  # type: ignore[attr-defined]
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["debug"] == f"database at migration 0123456789ab, the code expects {head_revision()}"


def test_operations_endpoints_are_not_in_the_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/healthz", "/readyz", "/metrics"} & set(paths)
