"""A Python client generated from the served /openapi.json (openapi-python-client) walks the Lübeck
demo: System -> Bodies -> every list, page by page -> every object at its URL, each answer parsed
into the generated model of its type, and the model giving back exactly what the server sent. Then
the write API through the same client: every type's documented example stored, a delete, and the
tombstone it leaves, as a Tombstone."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from oparl.catalogue import BODY_LISTS, TYPES
from tests.conftest import BASE_URL

pytestmark = pytest.mark.usefixtures("luebeck")
PACKAGE = "oparl_client"
# The document names file bytes `*/*` (they come in the File's own type): read as bytes.
# Documents the generator has no parser for come to the client as bytes (Atom feeds, NDJSON snapshots).
CONFIG = (
    'post_hooks: []\ncontent_type_overrides:\n  "*/*": application/octet-stream\n'
    '  "application/atom+xml": application/octet-stream\n  "application/x-ndjson": application/octet-stream\n'
)


def generator() -> str:
    beside = Path(sys.executable).parent / "openapi-python-client"
    found = str(beside) if beside.exists() else shutil.which("openapi-python-client")
    if found is None:
        pytest.skip("openapi-python-client is not installed (pip install -e '.[test]')")
    return found


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package, generated offline from the document the app serves."""
    folder = tmp_path_factory.mktemp("client")
    app = create_app(Settings(database_url=f"sqlite:///{folder / 'unused.sqlite3'}", public_base_url=BASE_URL))
    document = TestClient(app).get("/openapi.json")
    assert document.status_code == 200
    (folder / "openapi.json").write_bytes(document.content)
    (folder / "config.yml").write_text(CONFIG)
    command = [generator(), "generate", "--path", str(folder / "openapi.json"), "--output-path",
               str(folder / PACKAGE), "--meta", "none", "--config", str(folder / "config.yml")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


class Walk:
    """Calls operations of the generated client by operationId, and records what went wrong."""

    def __init__(self, package: ModuleType, http: TestClient) -> None:
        self.package = package
        self.client = package.Client(base_url=str(http.base_url))
        self.client.set_httpx_client(http)
        self.failures: list[str] = []
        self.seen: dict[str, int] = {}
        self.nonpublic: dict[str, int] = {}  # objects marked oparl-server:nonPublic, by type

    def call(self, operation_id: str, tag: str, **arguments: Any) -> tuple[Any, Any]:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()
        module = importlib.import_module(f"{PACKAGE}.api.{tag}.{snake}")
        answer = module.sync_detailed(client=self.client, **arguments)
        return answer, json.loads(answer.content) if answer.content else None

    def typed(self, operation_id: str, tag: str, expected: tuple[str, ...], **arguments: Any) -> Any:
        """The parsed answer, which must be one of the `expected` models and say what the server said."""
        answer, sent = self.call(operation_id, tag, **arguments)
        parsed, where = answer.parsed, f"{operation_id}({arguments})"
        if answer.status_code != 200 or type(parsed).__name__ not in expected:
            self.failures.append(f"{where}: {answer.status_code} parsed as {type(parsed).__name__}")
            return None
        if parsed.to_dict() != sent:
            self.failures.append(f"{where}: the model does not give back what was sent")
        unknown = [key for key in parsed.additional_properties if ":" not in key]  # prefixed extensions may come
        if unknown:
            self.failures.append(f"{where}: undocumented properties {unknown}")
        self.seen[type(parsed).__name__] = self.seen.get(type(parsed).__name__, 0) + 1
        if sent.get("oparl-server:nonPublic") is True:
            self.nonpublic[type(parsed).__name__] = self.nonpublic.get(type(parsed).__name__, 0) + 1
        return parsed

    def pages(self, operation_id: str, type_name: str, **arguments: Any) -> Iterator[Any]:
        """Every object of a list, following links.next (with a small page, to page at all)."""
        after = None
        while True:
            page = self.typed(operation_id, "lists", (f"{type_name}List",), limit="2", after=after, **arguments)
            if page is None:
                return
            yield from page.data
            if not isinstance(page.links.next_, str):
                return
            after = parse_qs(urlsplit(page.links.next_).query)["after"][0]

    def objects(self, operation_id: str, type_name: str, **arguments: Any) -> list[Any]:
        """Every object of a list, each also fetched at its URL."""
        found = []
        for item in self.pages(operation_id, type_name, **arguments):
            expected = ("Tombstone", type_name) if type_name != "System" else ("System",)
            if type(item).__name__ not in expected:
                self.failures.append(f"{operation_id}: an item parsed as {type(item).__name__}")
            found.append(self.typed(f"get{type_name}", "objects", expected, object_id=ident(item.id)))
        return found


def ident(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


@pytest.mark.parametrize("who", ["anonymous", "insider"])
def test_the_generated_client_walks_the_demo_into_typed_models(
    generated: ModuleType, client: TestClient, tokens: dict[str, str], who: str
) -> None:
    if who == "insider":  # a read-nonpublic token: a non-public Paper too, marked oparl-server:nonPublic
        hidden = {"nonPublic": True}
        both = {"Authorization": tokens["both"]}
        assert client.patch("/write/v1/paper/luebeck/paper/vo-2023-11778", json=hidden, headers=both).status_code == 200
        client.headers["Authorization"] = tokens["insider"]
    walk = Walk(generated, client)
    system = walk.typed("getSystem", "objects", ("System",))
    assert system is not None
    assert system.body == f"{BASE_URL}/oparl/v1.1/body"
    for body in walk.objects("listBodies", "Body"):
        for t in BODY_LISTS.values():
            objects = walk.objects(f"listBody{t.name}s", t.name, object_id=ident(body.id))
            if t.name == "Organization":
                for organization in objects:
                    for listed in ("Meeting", "Consultation"):
                        walk.objects(f"listOrganization{listed}s", listed, object_id=ident(organization.id))
    assert walk.failures == []
    # Every object of the demo at its URL: what the fixtures hold; Meetings and Consultations twice
    # (the Body's list and their Organization's). Two per page: every list with more pages walked.
    fetched = {name: count for name, count in walk.seen.items() if not name.endswith("List")}
    assert fetched == {"System": 1, "Body": 1, "Organization": 12, "Person": 3, "Membership": 1, "Meeting": 10 + 10,
                       "AgendaItem": 9, "Paper": 4, "Consultation": 16 + 16, "File": 6}  # fmt: skip
    assert (walk.seen["OrganizationList"], walk.seen["PaperList"], walk.seen["LocationList"]) == (6, 2, 1)
    assert walk.nonpublic == ({"Paper": 1} if who == "insider" else {})


def test_the_write_examples_store_and_a_delete_reads_back_as_a_tombstone(
    generated: ModuleType, client: TestClient, tokens: dict[str, str]
) -> None:
    walk = Walk(generated, client)
    document = client.get("/openapi.json").json()
    client.headers["Authorization"] = tokens["writer"]
    for t in TYPES.values():
        operation = document["paths"][f"/write/v1/{t.segment}/{{key}}"]["put"]
        example = operation["requestBody"]["content"]["application/json"]["examples"]["luebeck"]["value"]
        record = importlib.import_module(f"{PACKAGE}.models").__dict__[f"Put{t.name}Record"].from_dict(example)
        key = "system" if t.name == "System" else f"example/{t.segment}"  # one System only
        answer, sent = walk.call(f"put{t.name}", "write", key=key, body=record)
        assert (answer.status_code, type(answer.parsed).__name__) == (200 if t.name == "System" else 201,
                                                                       "WriteResult"), sent  # fmt: skip
        assert answer.parsed.to_dict() == sent
    deleted, _ = walk.call("deletePaper", "write", key="example/paper")
    assert (deleted.status_code, deleted.parsed.result.value) == (200, "deleted")
    del client.headers["Authorization"]
    paper = ident(deleted.parsed.id)
    assert walk.typed("getPaper", "objects", ("Tombstone",), object_id=paper).deleted is True
    since = walk.typed("getPaper", "objects", ("Tombstone",), object_id=paper).modified.isoformat()
    luebeck = next(b for b in walk.pages("listBodies", "Body") if b.name == "Hansestadt Lübeck")
    listed = list(walk.pages("listBodyPapers", "Paper", object_id=ident(luebeck.id), modified_since=since))
    assert [type(item).__name__ for item in listed if ident(item.id) == paper] == ["Tombstone"]
    assert walk.failures == []
