"""Schemathesis against the OpenAPI of the app, anonymously and with a write token.

Every operation the schema documents, with generated parameters and bodies (valid and not), sent
to the whole ASGI app (middleware, lifespan, a real database holding the Lübeck records): never a
5xx, every answer with `Access-Control-Allow-Origin: *`, every 4xx an OParl Error object, and
every answer what the document says: a documented status, its content type, its headers, its schema.
Each engine gets a database of its own, since the writes here commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from alembic import command
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from api.app import create_app
from api.auth import create_token
from api.settings import Settings
from models.db import alembic_config, make_engine
from oparl.catalogue import BODY_LISTS, TYPES
from oparl.content import ContentStore
from oparl.errors import ERROR_TYPE
from oparl.records import read_directory
from oparl.urls import UrlBuilder
from tests.conftest import BASE_URL, LUEBECK, _postgres_database, write

# Bounded and repeatable: the same cases on every run, well under a minute per engine.
FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# The operations per type (getPaper, listBodyPapers, putPaper, ...) share one implementation each
# (api/routes/objects.py, lists.py, write.py): fewer cases for each, as many in all as before.
FUZZ_PER_TYPE = settings(FUZZ, max_examples=15)
PER_TYPE = re.compile(
    r"/oparl/v1\.1/[a-z-]+/\{object_id\}|/oparl/v1\.1/body/\{object_id\}/[a-z-]+|/write/v1/[a-z-]+/\{key\}"
)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]  # fmt: skip


@dataclass
class Served:
    app: FastAPI
    schema: Any
    writer: str
    known: dict[str, list[dict[str, str]]]  # by operation: path parameters naming stored records and lists


# The Body's lists, not its feed, snapshot, manifest, calendar, feeds or catalogue beside them.
LIST_SEGMENTS = frozenset(url.rsplit("/", 1)[1] for url in (UrlBuilder(BASE_URL).body_list(1, t.name)
                                                             for t in BODY_LISTS.values()))  # fmt: skip


def known_parameters(schema: Any, records: list[Any]) -> dict[str, list[dict[str, str]]]:
    """Path parameters of records that exist, so that cases reach past the 404 of a random id: every
    object and list that the body list and the first page of each of the body's lists link to, and
    the write keys of the fixtures; by operation (`GET /oparl/v1.1/paper/{object_id}`)."""
    prefix = f"{BASE_URL}/oparl/v1.1/"

    def linked(text: str) -> list[str]:
        return sorted({url.removeprefix(BASE_URL) for url in re.findall(re.escape(prefix) + r"[^\"?#]+", text)})

    first = linked(schema["/oparl/v1.1/body"]["GET"].Case().call().text)
    pages = [
        _list_page(schema, path) for path in first if path.startswith("/oparl/v1.1/body/") and path.count("/") == 5
        and path.rsplit("/", 1)[1] in LIST_SEGMENTS
    ]  # fmt: skip
    paths = sorted(set(first + [p for text in pages for p in linked(text)]))
    known: dict[str, list[dict[str, str]]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith("/write/v1/"):
            segment = operation.path.split("/")[3]
            found = [{"key": r["key"]} for r in records if TYPES.get(r.get("type", "")) is not None
                     and TYPES[r["type"]].segment == segment]  # fmt: skip
        else:
            template = re.compile(re.sub(r"\\{([a-z_]+)\\}", _group, re.escape(operation.path)))
            found = [m.groupdict() for m in map(template.fullmatch, paths) if m is not None]
        if found:
            known[operation.label] = found
    return known


def _group(parameter: re.Match[str]) -> str:
    """A path parameter as a named group: ids are numbers, others (a catalogue's extension) words."""
    name = parameter.group(1)
    return f"(?P<{name}>[0-9]+)" if name.endswith("id") else f"(?P<{name}>[a-z]+)"


def _list_page(schema: Any, path: str) -> str:
    """The first page of one of the body's lists, by its path (`/oparl/v1.1/body/1/paper`)."""
    parts = path.split("/")
    operation = schema["/".join([*parts[:4], "{object_id}", parts[5]])]["GET"]
    return str(operation.Case(path_parameters={"object_id": parts[4]}).call().text)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("schemathesis")
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{data_dir / 'fuzz.sqlite3'}"])
    else:
        urls = _postgres_database()
    url = next(urls)
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url=url)
    with Session(engine, expire_on_commit=False) as session:
        records = read_directory(LUEBECK)
        write(session, records, store=ContentStore())
        _row, secret = create_token(session, "schemathesis", ["write"])
        session.commit()
    engine.dispose()
    app = create_app(Settings(database_url=url, public_base_url=BASE_URL, data_dir=data_dir))
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        yield Served(app, schema, f"Bearer {secret}", known_parameters(schema, records))
    finally:
        asgi.shutdown_lifespans()  # the app's lifespan, which schemathesis started: engine disposed
        next(urls, None)


def check(case: Any, headers: dict[str, str]) -> None:
    response = case.call(headers=headers)
    where = f"{case.method} {case.formatted_path} -> {response.status_code} {response.text[:120]!r}"
    case.validate_response(response, checks=CHECKS)
    # schemathesis keeps every header as the list of its values
    assert response.headers.get("access-control-allow-origin") == ["*"], f"no CORS: {where}"
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        assert isinstance(body, dict), f"not JSON: {where}"
        assert body.get("type") == ERROR_TYPE, f"not an OParl Error: {where}"
        assert isinstance(body.get("message"), str), f"no message: {where}"


def aimed(case: Any, known: dict[str, str] | None) -> Any:
    """The case, or the case with the path parameters of a record that exists."""
    if known and case.path_parameters:
        case.path_parameters.update({k: v for k, v in known.items() if k in case.path_parameters})
    return case


def describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe(inner) for inner in exc.exceptions)
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def fuzz(
    schema: Any,
    headers: dict[str, str],
    known: dict[str, list[dict[str, str]]],
    only: str | None = None,
    budget: settings | None = None,
) -> list[str]:
    """Every operation (or the one whose operationId is `only`, with the `budget` settings), valid and
    invalid inputs: what failed, one line per operation."""
    failures, ran = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if only is not None and operation.definition.raw.get("operationId") != only:
            continue
        ran += 1
        aimed_at = known.get(operation.label)
        aims = st.none() | st.sampled_from(aimed_at) if aimed_at else st.none()
        generated = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        )
        cases = st.builds(aimed, generated, aims)
        per_type = PER_TYPE.fullmatch(operation.path) is not None

        @(budget or (FUZZ_PER_TYPE if per_type else FUZZ))
        @given(case=cases)
        def run(case: Any) -> None:
            check(case, headers)  # run() is called before the loop moves on

        try:
            run()
        # hypothesis re-raises the smallest failing example's error; schemathesis' FailureGroup of
        # failed checks is a BaseExceptionGroup, which `except Exception` would let through
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {describe(exc)}")
    return failures if ran else [f"no operation {only}"]


@pytest.mark.parametrize("who", ["anonymous", "writer"])
def test_no_server_error_and_every_error_an_oparl_error_with_cors(served: Served, who: str) -> None:
    headers = {"Authorization": served.writer} if who == "writer" else {}
    assert fuzz(served.schema, headers, served.known) == []


@pytest.mark.parametrize("who", ["anonymous", "writer"])
def test_the_search_with_many_more_cases(served: Served, who: str) -> None:
    """The search takes free text, the one parameter most likely to reach an engine's syntax."""
    headers = {"Authorization": served.writer} if who == "writer" else {}
    assert fuzz(served.schema, headers, served.known, only="searchBody", budget=settings(FUZZ, max_examples=300)) == []


def test_the_check_flags_a_server_error_a_bare_error_a_missing_cors_header_and_an_undocumented_answer() -> None:
    """The fuzzing above can fail: routes that answer 500, a plain-text 404, no CORS, a status or a
    body the document does not name, or without a header it promises are reported."""
    broken = FastAPI()
    cors = {"Access-Control-Allow-Origin": "*"}
    error = {"type": ERROR_TYPE, "message": "x"}
    documented_error: dict[int | str, dict[str, Any]] = {
        404: {"content": {"application/json": {"schema": {"type": "object", "required": ["type"]}}}}
    }

    @broken.get("/crash")
    def crash() -> PlainTextResponse:
        return PlainTextResponse("boom", status_code=500, headers=cors)

    @broken.get("/bare", responses={404: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
    def bare() -> PlainTextResponse:
        return PlainTextResponse("not here", status_code=404, headers=cors)

    @broken.get("/nocors")
    def nocors() -> dict[str, str]:
        return {}

    @broken.get("/undocumented")
    def undocumented() -> JSONResponse:
        return JSONResponse(error, 404, cors)

    contradicting: dict[int | str, dict[str, Any]] = {
        200: {"content": {"application/json": {"schema": {"required": ["id"]}}}}
    }

    @broken.get("/contradicted", responses=contradicting)
    def contradicted() -> JSONResponse:
        return JSONResponse({"name": "no id"}, 200, cors)

    header: dict[int | str, dict[str, Any]] = {200: {"headers": {"Location": {"required": True, "schema": {}}}}}

    @broken.get("/headless", responses=header)
    def headless() -> JSONResponse:
        return JSONResponse({}, 200, cors)

    @broken.get("/fine", responses=documented_error)
    def fine() -> JSONResponse:
        return JSONResponse(error, 404, cors)

    failures = fuzz(schemathesis.openapi.from_asgi("/openapi.json", broken), {}, {})
    assert [line.split(":", 1)[0] for line in failures] == [
        "GET /crash", "GET /bare", "GET /nocors", "GET /undocumented", "GET /contradicted", "GET /headless"
    ]  # fmt: skip
    assert "Server error" in failures[0]
    assert "not JSON" in failures[1]
    assert "no CORS" in failures[2]
    assert "Undocumented status code" in failures[3]
    assert "Response violates schema" in failures[4]
    assert "Missing required response headers" in failures[5]
