"""The OpenAPI document (/openapi.json): an operation per type and list, component schemas named by
OParl type, only statuses that occur, the bearer scheme, write examples; answers as documented."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from api import examples
from api.app import create_app
from api.settings import Settings
from oparl.catalogue import BODY_LISTS, TYPES
from tests.conftest import BASE_URL
from tests.oparl_schema import SCHEMA_DIR


@cache
def document() -> dict[str, Any]:
    app = create_app(Settings(database_url="sqlite:///unused.sqlite3", public_base_url=BASE_URL))
    answer = TestClient(app).get("/openapi.json")
    assert answer.status_code == 200
    return dict(answer.json())


def operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId -> (method, path, operation)."""
    found = {}
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            assert operation["operationId"] not in found
            found[operation["operationId"]] = (method, path, operation)
    return found


class TestOperations:
    def test_one_read_operation_per_type_and_list(self) -> None:
        reads = {op for op, (method, _, _) in operations().items() if method == "get"}
        assert reads == {
            *(f"get{name}" for name in TYPES),
            "listBodies",
            *(f"listBody{t.name}s" for t in BODY_LISTS.values()),
            "listOrganizationMeetings",
            "listOrganizationConsultations",
            "accessFile",
            "downloadFile",
            # kommParl 0.1 and the manifest (issue 14)
            "getBodyChanges", "getBodySnapshot", "getBodyManifest",
            # calendars, feeds and catalogues (issue 16)
            *(f"get{t}Calendar" for t in ("Body", "Organization", "Person", "Meeting")),
            "getBodyPapersFeed", "getOrganizationPapersFeed", "getOrganizationAgendaFeed",
            "findCatalog", "getCatalog", "findBodyCatalog", "getBodyCatalog",
            # the write API's webhook subscriptions (issue 14)
            "listWebhooks", "getWebhook", "listWebhookDeliveries",
            # full-text search (issue 15)
            "searchBody",
        }  # fmt: skip
        assert operations()["listBodyPapers"][1] == "/oparl/v1.1/body/{object_id}/paper"
        assert operations()["getAgendaItem"][1] == "/oparl/v1.1/agenda-item/{object_id}"

    def test_three_write_operations_per_type_the_batch_and_the_upload(self) -> None:
        writes = {op for op, (method, _, _) in operations().items() if method != "get"}
        assert writes == {f"{verb}{name}" for verb in ("put", "patch", "delete") for name in TYPES} | {
            "writeBatch",
            "uploadFileContent",
            "createWebhook",
            "enableWebhook",
            "deleteWebhook",
        }

    def test_reads_take_a_token_optionally_writes_need_one(self) -> None:
        assert document()["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        for method, path, operation in operations().values():
            expected: list[dict[str, list[str]]] = (
                [{"bearer": []}] if path.startswith("/write/") else [{}, {"bearer": []}]
            )
            assert operation["security"] == expected, (method, path)


class TestStatuses:
    def test_no_validation_error_of_fastapi_is_documented(self) -> None:
        """A bad parameter is a 400 OParl Error (api/errors.py), never FastAPI's 422 body."""
        assert "HTTPValidationError" not in json.dumps(document())
        assert "ValidationError" not in document()["components"]["schemas"]
        for _, path, operation in operations().values():
            assert ("422" in operation["responses"]) == path.startswith("/write/"), path

    def test_the_statuses_of_a_read(self) -> None:
        assert sorted(operations()["getPaper"][2]["responses"]) == ["200", "304", "401", "404", "429", "503"]
        assert sorted(operations()["listBodyPapers"][2]["responses"]) == [
            "200", "304", "400", "401", "404", "429", "503"
        ]  # fmt: skip
        assert sorted(operations()["listBodies"][2]["responses"]) == ["200", "304", "400", "401", "429", "503"]

    def test_every_answer_with_a_body_names_its_schema(self) -> None:
        for _, path, operation in operations().values():
            for status, answer in operation["responses"].items():
                if status not in ("204", "303", "304"):  # answers without a body
                    # one media type each, but the catalogue's (Turtle, RDF/XML, JSON-LD)
                    assert len(answer["content"]) == 1 or "/catalog." in path, (path, status)
                    for media in answer["content"].values():
                        assert media["schema"] not in ({}, None), (path, status)


class TestComponents:
    def test_named_by_type_with_the_exact_type(self) -> None:
        schemas = document()["components"]["schemas"]
        assert not [name for name in schemas if name.endswith("Out") or "__" in name]
        for name in TYPES:
            assert schemas[name]["properties"]["type"] == {
                "type": "string",
                "const": f"https://schema.oparl.org/1.1/{name}",
            }
            assert "additionalProperties" not in schemas[name]  # prefixed extensions may come
        assert schemas["PaperList"]["properties"]["data"]["items"] == {
            "anyOf": [{"$ref": "#/components/schemas/Tombstone"}, {"$ref": "#/components/schemas/Paper"}]
        }
        assert schemas["Tombstone"]["required"] == ["id", "type", "created", "modified", "deleted"]
        assert schemas["Error"]["required"] == ["type", "message"]

    def test_properties_are_those_of_the_oparl_schemas(self) -> None:
        if not SCHEMA_DIR.is_dir():
            pytest.skip(f"official OParl schemas not found at {SCHEMA_DIR}")
        schemas = document()["components"]["schemas"]
        for name in TYPES:
            official = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
            ours = set(schemas[name]["properties"])
            assert [p for p in ours - set(official["properties"]) if ":" not in p] == [], name
            # What the OParl schema requires is required here too (but Body.legislativeTerm: omit_internal).
            assert set(official["required"]) - set(schemas[name]["required"]) <= {"legislativeTerm"}, name

    def test_write_bodies_carry_luebeck_examples(self) -> None:
        for name in TYPES:
            for verb in ("put", "patch"):
                body = operations()[f"{verb}{name}"][2]["requestBody"]["content"]["application/json"]
                assert body["examples"]["luebeck"]["value"], (verb, name)
        paper = operations()["putPaper"][2]["requestBody"]["content"]["application/json"]["examples"]
        assert paper["luebeck"]["value"]["reference"] == "VO/2023/11779"
        batch = operations()["writeBatch"][2]["requestBody"]["content"]["application/json"]["examples"]
        assert [op["op"] for op in batch["luebeck"]["value"]["operations"]] == ["put", "patch"]


def documented(operation_id: str, answer: Any) -> list[str]:
    """What in the answer contradicts the schema documented for its status."""
    _, _, operation = operations()[operation_id]
    declared = operation["responses"].get(str(answer.status_code))
    if declared is None:
        return [f"status {answer.status_code} not documented"]
    if "content" not in declared:
        return [] if not answer.content else ["a body where none is documented"]
    (schema,) = [media["schema"] for media in declared["content"].values()]
    validator = Draft202012Validator({**schema, "components": document()["components"]})
    return [error.message for error in validator.iter_errors(answer.json())]


@pytest.mark.usefixtures("luebeck")
class TestAnswersAsDocumented:
    def test_objects_lists_and_errors(self, client: TestClient) -> None:
        body = client.get("/oparl/v1.1/body").json()["data"][0]["id"].removeprefix(BASE_URL)
        paper = client.get(f"{body}/paper").json()["data"][0]["id"].removeprefix(BASE_URL)
        cases = [
            ("getSystem", client.get("/oparl/v1.1/system"), 200),
            ("getPaper", client.get(paper), 200),
            ("listBodyPapers", client.get(f"{body}/paper"), 200),
            ("listBodyPapers", client.get(f"{body}/paper", params={"limit": "many"}), 400),
            ("listBodyPapers", client.get("/oparl/v1.1/body/987654/paper"), 404),
            ("getPaper", client.get("/oparl/v1.1/paper/987654"), 404),
            ("getPaper", client.get(paper, headers={"Authorization": "Bearer nonsense"}), 401),
        ]
        etag = client.get(paper).headers["etag"]
        cases.append(("getPaper", client.get(paper, headers={"If-None-Match": etag}), 304))
        assert [(op, answer.status_code, documented(op, answer)) for op, answer, _ in cases] == [
            (op, status, []) for op, _, status in cases
        ]

    def test_a_deleted_object_and_a_refused_write(self, client: TestClient, tokens: dict[str, str]) -> None:
        writer = {"Authorization": tokens["writer"]}
        deleted = client.delete("/write/v1/paper/luebeck/paper/vo-2023-11779", headers=writer)
        paper = deleted.json()["id"].removeprefix(BASE_URL)
        tombstone = client.get(paper)
        body = client.get("/oparl/v1.1/body").json()["data"][0]["id"].removeprefix(BASE_URL)
        changed = client.get(f"{body}/paper", params={"modified_since": tombstone.json()["modified"]})
        refused = client.put("/write/v1/paper/p-1", json={"body": "nowhere"}, headers=writer)
        batch = client.post("/write/v1/batch", json={"operations": [{"op": "delete", "type": "Paper", "key": "x"}]},
                            headers=writer)  # fmt: skip
        bad = client.post("/write/v1/batch", json={"operations": "all"}, headers=writer)
        cases = [("deletePaper", deleted, 200), ("getPaper", tombstone, 200), ("listBodyPapers", changed, 200),
                 ("putPaper", refused, 422), ("writeBatch", batch, 422), ("writeBatch", bad, 400)]  # fmt: skip
        assert [(op, answer.status_code, documented(op, answer)) for op, answer, _ in cases] == [
            (op, status, []) for op, _, status in cases
        ]
        assert tombstone.json()["deleted"] is True
        assert [p.get("deleted") for p in changed.json()["data"] if p["id"].endswith(paper)] == [True]


def test_without_the_demo_records_only_the_made_up_examples_remain(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A trimmed install without fixtures/ still starts; its document lacks the Lübeck examples."""
    monkeypatch.setattr(examples, "demo_fixtures", lambda: tmp_path / "absent")
    examples.first_records.cache_clear()
    try:
        assert (examples.put_example("Paper"), examples.batch_example()) == ({}, {})
        assert examples.put_example("Location")["luebeck"]["value"]["locality"] == "Lübeck"
    finally:
        examples.first_records.cache_clear()
