"""/healthz and /readyz: outside the OParl paths and the OpenAPI, never cached."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from api.served import MIGRATION_HEAD_ENV
from models.db import handed_head, head_revision, make_engine, make_sessionmaker
from tests.conftest import Database
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


def test_readyz_is_503_when_the_database_has_several_revisions(make_client: MakeClient, tmp_path: Path) -> None:
    client = make_client()
    engine = make_engine(url=f"sqlite:///{tmp_path / 'branched.sqlite3'}", create=True)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        several = text("INSERT INTO alembic_version VALUES (:head), ('0123456789ab')")
        connection.execute(several, {"head": head_revision()})
    client.app.state.sessionmaker = make_sessionmaker(engine)  # type: ignore[attr-defined]
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["debug"] == (
        f"database at migration {','.join(sorted([str(head_revision()), '0123456789ab']))}, "
        f"the code expects {head_revision()}"
    )


def test_operations_endpoints_are_not_in_the_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/healthz", "/readyz", "/metrics"} & set(paths)


WORKER = """
import sys
from fastapi.testclient import TestClient
from api.served import create_served_app
with TestClient(create_served_app()) as client:
    answer = client.get("/readyz")
print(answer.status_code, answer.json()["migration"], any(m.partition(".")[0] == "alembic" for m in sys.modules))
"""


def test_a_worker_of_serve_checks_the_migration_without_importing_alembic(database: Database, data_dir: Path) -> None:
    """`serve` hands its workers the migration head (api/served.py): a worker checks the database
    at start and in /readyz without Alembic (10 MB a worker), and refuses a database at another."""
    env = {**os.environ, "OPARL_DATABASE_URL": database.url, "OPARL_DATA_DIR": str(data_dir), "OPARL_RATE_LIMIT": ""}
    root = Path(__file__).resolve().parents[2]
    run = [sys.executable, "-c", WORKER]
    handed = handed_head()
    worker = subprocess.run(run, env={**env, MIGRATION_HEAD_ENV: handed}, cwd=root, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert worker.stdout.split() == ["200", head_revision(), "False"], worker.stderr
    other = handed.replace(str(head_revision()), "0123456789ab")
    behind = subprocess.run(run, env={**env, MIGRATION_HEAD_ENV: other}, cwd=root, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert behind.returncode != 0
    assert f"is at revision {head_revision()}, not 0123456789ab. Run `oparl-server migrate` first." in behind.stderr
    # Scripts other than those the head was read from (code upgraded under `serve`): Alembic is asked.
    stale = subprocess.run(run, env={**env, MIGRATION_HEAD_ENV: "0123456789ab 000000"}, cwd=root,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert stale.stdout.split() == ["200", head_revision(), "True"], stale.stderr


SERVE_ONE = """
import sys
from fastapi.testclient import TestClient
from api.cli import ready_to_serve
from api.served import create_served_app
from api.settings import Settings
ready_to_serve(Settings())
with TestClient(create_served_app()) as client:
    answer = client.get("/readyz")
print(answer.status_code, answer.json()["migration"], any(m.partition(".")[0] == "alembic" for m in sys.modules))
"""


def test_serve_with_one_worker_serves_without_alembic(database: Database, data_dir: Path) -> None:
    """`serve` with one worker serves in its own process: it reads the head in a child, so that
    process never holds Alembic either."""
    env = {**os.environ, "OPARL_DATABASE_URL": database.url, "OPARL_DATA_DIR": str(data_dir), "OPARL_RATE_LIMIT": ""}
    env.pop(MIGRATION_HEAD_ENV, None)
    root = Path(__file__).resolve().parents[2]
    served = subprocess.run([sys.executable, "-c", SERVE_ONE], env=env, cwd=root, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert served.stdout.split()[-3:] == ["200", head_revision(), "False"], served.stderr


STARTED = """
import asyncio, sys
from api.served import create_served_app

async def main() -> None:
    app = create_served_app()
    async with app.router.lifespan_context(app):
        print(any(m.partition(".")[0] in ("httpx", "httpcore") for m in sys.modules),
              any(m.partition(".")[0] == "rich" or m in ("api.commands", "api.synthetic") for m in sys.modules))

asyncio.run(main())
"""


def test_a_worker_holds_an_http_client_only_where_it_delivers_webhooks(database: Database, data_dir: Path) -> None:
    """httpx (6 MB a worker) is for the harvester and webhook delivery: a worker that serves reads
    and delivers nothing starts without it; one that delivers in the worker has it. No worker
    holds the commands' generator and progress display (rich)."""
    env = {**os.environ, "OPARL_DATABASE_URL": database.url, "OPARL_DATA_DIR": str(data_dir), "OPARL_RATE_LIMIT": "",
           MIGRATION_HEAD_ENV: handed_head()}  # fmt: skip
    root = Path(__file__).resolve().parents[2]
    answers = []
    for delivers in ("false", "true"):
        started = subprocess.run([sys.executable, "-c", STARTED], cwd=root, capture_output=True, text=True,
                                 env={**env, "OPARL_WEBHOOK_DELIVER_IN_WORKERS": delivers}, timeout=120)  # fmt: skip
        answers.append(started.stdout.split())
        assert started.returncode == 0, started.stderr
    assert answers[0] == ["False", "False"]
    assert answers[1][0] == "True"  # (httpx brings rich along where it is installed)
