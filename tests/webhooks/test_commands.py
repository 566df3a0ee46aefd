"""`oparl-server webhook …` and `deliver`, and delivery from a serving worker's background thread."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api import cli
from api.app import create_app
from api.auth import create_token
from api.settings import Settings
from models import Body, WebhookLease
from models.db import make_sessionmaker
from oparl.content import ContentStore
from oparl.ingest.guard import LOOPBACK
from oparl.records import read_directory
from oparl.urls import UrlBuilder
from oparl.webhooks import subscriptions
from tests.conftest import BASE_URL, LUEBECK, FakeClock, fresh_database, write
from tests.webhooks.receiver import receiving
from tests.webhooks.test_delivery import PAPER


@pytest.fixture
def council(tmp_path: Path) -> Iterator[tuple[Engine, int, int]]:
    with fresh_database("sqlite", tmp_path, "hooks") as engine:
        with make_sessionmaker(engine)() as session:
            write(session, read_directory(LUEBECK), store=ContentStore(), clock=FakeClock())
            token, _ = create_token(session, "hooks", ["webhooks"])
            body_id = session.scalars(select(Body.id)).one()
            session.commit()
            yield engine, token.id, body_id


def change(engine: Engine, name: str) -> None:
    clock = FakeClock()
    clock.advance(3600)
    # As the server's writes do: SQLite's write lock taken at the start (the deliverer writes too).
    with make_sessionmaker(engine.execution_options(sqlite_immediate=True))() as session:
        write(session, [{"type": "Paper", "key": PAPER, "name": name}], store=ContentStore(), clock=clock,
              replace=False)  # fmt: skip


def test_webhook_commands_and_deliver_once(
    council: tuple[Engine, int, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine, token_id, body_id = council
    monkeypatch.setenv("OPARL_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OPARL_PUBLIC_BASE_URL", BASE_URL)
    monkeypatch.setenv("OPARL_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")
    with receiving() as receiver:
        assert cli.main(["webhook", "create", receiver.url, "--token", str(token_id), "--body", str(body_id)]) == 0
        made = capsys.readouterr().out.splitlines()
        assert made[0] == f"subscription 1 to {BASE_URL}/oparl/v1.1/body/{body_id} -> {receiver.url}"
        assert made[1].startswith("whsec_")
        change(engine, "Per Kommandozeile")
        assert cli.main(["deliver", "--once"]) == 0
        assert capsys.readouterr().out == "1 deliveries\n"
    assert receiver.entries()[0]["id"].startswith(f"{BASE_URL}/oparl/v1.1/paper/")
    assert cli.main(["webhook", "log", "1"]) == 0
    log = capsys.readouterr().out.splitlines()
    assert log[0] == "at\tattempt\tentries\tstatus\terror\tmessage id"
    assert log[1].split("\t")[1:5] == ["1", str(len(receiver.entries())), "204", "-"]
    assert cli.main(["webhook", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split("\t")[5] == "active"
    assert cli.main(["webhook", "remove", "1"]) == 0
    assert cli.main(["webhook", "remove", "1"]) == 2  # no longer there
    assert "Kein Webhook-Abonnement mit der Kennung 1." in capsys.readouterr().err
    assert cli.main(["webhook", "create", "http://10.0.0.1/", "--token", str(token_id), "--body", str(body_id)]) == 2
    assert "10.0.0.1 is not a public address" in capsys.readouterr().err


def test_a_serving_worker_delivers_in_the_background_and_gives_the_lease_up(
    council: tuple[Engine, int, int], tmp_path: Path
) -> None:
    engine, token_id, body_id = council
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, public_base_url=BASE_URL, data_dir=tmp_path, webhook_deliver_in_workers=True,
                        webhook_interval=0.05, webhook_allow_networks="127.0.0.0/8", rate_limit="")  # fmt: skip
    with receiving() as receiver, TestClient(create_app(settings)) as client:
        with make_sessionmaker(engine.execution_options(sqlite_immediate=True))() as session:
            subscriptions.create(session, UrlBuilder(BASE_URL), token_id=token_id, body=body_id, url=receiver.url,
                                 networks=LOOPBACK)  # fmt: skip
            session.commit()
        change(engine, "Im Hintergrund")
        deadline = time.monotonic() + 20
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.requests
        assert client.get("/oparl/v1.1/system").status_code == 200
        with Session(engine) as session:
            assert session.get_one(WebhookLease, "deliver").owner is not None
    with Session(engine) as session:
        assert session.get_one(WebhookLease, "deliver").owner is None  # released at shutdown
