"""Request ids and log lines: the id taken from a plain X-Request-ID or made, returned, in every
line of the request; one JSON line per request and per error; no secrets in any of them."""

from __future__ import annotations

import contextvars
import logging
import logging.config
import os
import re

import orjson
import pytest
from fastapi import FastAPI

from api.logs import JsonFormatter, RequestIdFilter, log_config, safe_query
from api.settings import Settings
from tests.ops.conftest import MakeClient

SYSTEM = "/oparl/v1.1/system"
GENERATED = re.compile(r"[0-9a-f]{32}")


def lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    """The captured records as the JSON formatter writes them, each one line."""
    server = [r for r in caplog.records if not r.name.startswith("httpx")]  # the test's client logs too
    formatted = [JsonFormatter().format(record) for record in server]
    assert not any("\n" in line for line in formatted)
    return [orjson.loads(line) for line in formatted]


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestIdFilter())
    return caplog


def test_a_plain_incoming_id_is_kept_and_returned(make_client: MakeClient, logged: pytest.LogCaptureFixture) -> None:
    answer = make_client().get(SYSTEM, headers={"X-Request-ID": "harvest-2024.06:0001"})
    assert answer.headers["x-request-id"] == "harvest-2024.06:0001"
    access = [line for line in lines(logged) if line["logger"] == "oparl.access"]
    assert len(access) == 1
    assert access[0] == {
        "time": access[0]["time"],
        "level": "INFO",
        "logger": "oparl.access",
        "pid": os.getpid(),
        "message": access[0]["message"],
        "request_id": "harvest-2024.06:0001",
        "method": "GET",
        "path": SYSTEM,
        "status": 404,
        "duration_ms": access[0]["duration_ms"],
        "client": "203.0.113.5",
    }
    assert str(access[0]["message"]).startswith(f"GET {SYSTEM} 404 ")


@pytest.mark.parametrize(
    "hostile",
    [b"x" * 129, b"<script>alert(1)</script>", b"a b", "id\u00e4".encode(), b"", b"a\x00b", b"%0d%0aSet-Cookie"],
)
def test_a_hostile_incoming_id_is_replaced(make_client: MakeClient, hostile: bytes) -> None:
    returned = make_client().get(SYSTEM, headers={b"X-Request-ID": hostile}).headers["x-request-id"]
    assert GENERATED.fullmatch(returned)


def test_an_id_is_made_when_none_comes(make_client: MakeClient) -> None:
    client = make_client()
    first, second = (client.get(SYSTEM).headers["x-request-id"] for _ in range(2))
    assert GENERATED.fullmatch(first)
    assert first != second


def test_one_line_per_error_with_the_id_and_no_secrets(
    make_client: MakeClient, logged: pytest.LogCaptureFixture, tokens: dict[str, str]
) -> None:
    client = make_client()
    app: FastAPI = client.app  # type: ignore[assignment]

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("it broke")

    secret = tokens["insider"]
    answer = client.get("/boom?access_token=s3cr3t&page=2", headers={"Authorization": secret, "X-Request-ID": "r-1"})
    assert answer.status_code == 500
    assert answer.json()["type"] == "https://schema.oparl.org/1.1/Error"
    assert answer.headers["x-request-id"] == "r-1"
    assert answer.headers["access-control-allow-origin"] == "*"
    found = lines(logged)
    errors = [line for line in found if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == "r-1"
    assert "RuntimeError: it broke" in errors[0]["exception"]  # type: ignore[operator]
    access = [line for line in found if line["logger"] == "oparl.access"]
    assert [(a["path"], a["status"], a["request_id"]) for a in access] == [
        ("/boom?access_token=%2A%2A%2A&page=2", 500, "r-1")
    ]
    text = orjson.dumps(found).decode()
    assert "s3cr3t" not in text
    assert secret.split()[1] not in text
    assert "authorization" not in text.lower()


def test_safe_query_hides_secret_looking_values() -> None:
    assert (
        safe_query(b"api_key=1&token=2&password=3&limit=5")
        == "api_key=%2A%2A%2A&token=%2A%2A%2A&password=%2A%2A%2A&limit=5"
    )
    assert safe_query(b"") == ""


def test_outside_a_request_the_id_is_a_dash() -> None:
    def outside() -> str:
        record = logging.makeLogRecord({"msg": "started", "levelname": "INFO", "name": "x"})
        RequestIdFilter().filter(record)
        return str(orjson.loads(JsonFormatter().format(record))["request_id"])

    assert contextvars.Context().run(outside) == "-"


def test_log_config_for_serve() -> None:
    json_config = log_config(Settings(log_format="json", access_log=False))
    assert json_config["formatters"]["default"] == {"()": JsonFormatter}
    assert json_config["loggers"]["oparl.access"] == {"level": "WARNING"}
    assert json_config["loggers"]["uvicorn.access"]["propagate"] is False
    text_config = log_config(Settings())
    assert "%(request_id)s" in text_config["formatters"]["default"]["format"]
    logging.config.dictConfig(text_config)  # applies cleanly
