"""The write API: tokens, idempotent upserts, batches, deletes, and errors that name the field."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import TOKEN
from models import ApiToken
from tests.conftest import BASE_URL, FakeClock

API = f"{BASE_URL}/oparl/v1.1"
COUNCIL = [
    {"op": "put", "type": "System", "key": "sys", "record": {"name": "Ratsinformation"}},
    {"op": "put", "type": "Body", "key": "stadt", "record": {"system": "sys", "name": "Stadt Beispiel"}},
    {"op": "put", "type": "Organization", "key": "rat", "record": {"body": "stadt", "name": "Rat"}},
]


def local(url: str) -> str:
    return url.removeprefix(BASE_URL)


@pytest.fixture
def council(client: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    response = client.post("/write/v1/batch", json={"operations": COUNCIL}, headers={"Authorization": tokens["writer"]})
    assert response.status_code == 200, response.text
    return {r["key"]: r["id"] for r in response.json()["results"]}


def paper(**extra: Any) -> dict[str, Any]:
    return {"body": "stadt", "name": "Vorlage", "reference": "VO/1", "date": "2024-06-01",
            "consultation": [{"key": "b1", "organization": ["rat"], "role": "Entscheidung"}], **extra}  # fmt: skip


class TestAuthentication:
    @pytest.mark.parametrize(
        ("header", "status"),
        [(None, 401), ("Bearer nonsense", 401), ("Basic dXNlcjpwYXNz", 401), ("insider", 403), ("revoked", 401)],
    )
    def test_writes_need_a_write_token(
        self, client: TestClient, tokens: dict[str, str], header: str | None, status: int
    ) -> None:
        headers = {} if header is None else {"Authorization": tokens.get(header, header)}
        response = client.put("/write/v1/system/sys", json={"name": "X"}, headers=headers)
        assert response.status_code == status
        assert response.json()["type"] == "https://schema.oparl.org/1.1/Error"
        assert response.headers["access-control-allow-origin"] == "*"
        if status == 401:
            assert response.headers["www-authenticate"] == 'Bearer realm="oparl"'
        assert client.get("/oparl/v1.1/system").status_code == 404  # nothing was written

    def test_a_bad_token_is_refused_on_reads_too(self, client: TestClient, tokens: dict[str, str]) -> None:
        assert client.get("/oparl/v1.1/body", headers={"Authorization": tokens["revoked"]}).status_code == 401
        assert client.get("/oparl/v1.1/body").status_code == 200

    def test_the_token_table_holds_no_usable_secret(self, session: Session, tokens: dict[str, str]) -> None:
        rows = list(session.scalars(select(ApiToken)))
        stored = " ".join(f"{row.lookup} {row.secret_sha256} {row.name} {row.scopes}" for row in rows)
        for header in tokens.values():
            match = TOKEN.fullmatch(header.removeprefix("Bearer "))
            assert match is not None
            # The lookup part is public by design; the secret part is stored only as a SHA-256.
            assert match.group(2) not in stored
            assert hashlib.sha256(match.group(2).encode()).hexdigest() in stored


class TestRecords:
    def test_put_creates_then_is_idempotent(
        self, client: TestClient, tokens: dict[str, str], council: dict[str, Any], clock: FakeClock
    ) -> None:
        auth = {"Authorization": tokens["writer"]}
        first = client.put("/write/v1/paper/VO-1", json=paper(), headers=auth)
        assert (first.status_code, first.json()["result"]) == (201, "created")
        served = client.get(local(first.json()["id"])).json()
        clock.advance(3600)
        again = client.put("/write/v1/paper/VO-1", json=paper(), headers=auth)
        assert (again.status_code, again.json()["result"]) == (200, "unchanged")
        assert client.get(local(first.json()["id"])).json() == served
        assert served["modified"] == "2024-06-03T10:00:01+02:00"  # the write's clock plus the margin

    def test_patch_changes_only_what_it_names_and_moves_modified(
        self, client: TestClient, tokens: dict[str, str], council: dict[str, Any], clock: FakeClock
    ) -> None:
        auth = {"Authorization": tokens["writer"]}
        url = local(client.put("/write/v1/paper/VO-1", json=paper(), headers=auth).json()["id"])
        clock.advance(60)
        patched = client.patch("/write/v1/paper/VO-1", json={"name": "Vorlage (neu)"}, headers=auth)
        assert patched.json()["result"] == "changed"
        served = client.get(url).json()
        assert (served["name"], served["reference"], served["modified"]) == (
            "Vorlage (neu)", "VO/1", "2024-06-03T10:01:01+02:00")  # fmt: skip

    def test_references_by_oparl_url(self, client: TestClient, tokens: dict[str, str], council: dict[str, Any]) -> None:
        auth = {"Authorization": tokens["writer"]}
        record = paper(underDirectionOf=[council["rat"]])
        url = client.put("/write/v1/paper/VO-1", json=record, headers=auth).json()["id"]
        assert client.get(local(url)).json()["underDirectionOf"] == [council["rat"]]

    def test_delete_leaves_tombstones(
        self, client: TestClient, tokens: dict[str, str], council: dict[str, Any]
    ) -> None:
        auth = {"Authorization": tokens["writer"]}
        url = client.put("/write/v1/paper/VO-1", json=paper(), headers=auth).json()["id"]
        consultation = client.get(local(url)).json()["consultation"][0]["id"]
        assert client.delete("/write/v1/paper/VO-1", headers=auth).json()["result"] == "deleted"
        assert client.get(local(url)).json()["deleted"] is True
        assert client.get(local(consultation)).json()["deleted"] is True
        assert client.delete("/write/v1/paper/nope", headers=auth).status_code == 404

    def test_patch_of_a_missing_record_is_404(self, client: TestClient, tokens: dict[str, str]) -> None:
        response = client.patch("/write/v1/paper/nope", json={"name": "X"}, headers={"Authorization": tokens["writer"]})
        assert response.status_code == 404


class TestBadInput:
    @pytest.mark.parametrize(
        ("record", "message"),
        [
            (paper(date="1.6.2024"), "Paper 'VO-1'.date: expected a date yyyy-mm-dd, got '1.6.2024'"),
            (paper(colour="red"), "Paper 'VO-1'.colour: Paper has no such property"),
            (
                paper(originatorPerson=["nobody"]),
                "Paper 'VO-1'.originatorPerson[0]: no Person with key or URL 'nobody'",
            ),
            (paper(name=42), "Paper 'VO-1'.name: expected a string, got '42'"),
            (paper(key="other"), "Paper 'VO-1'.key: differs from the key in the address"),
        ],
    )
    def test_422_names_the_field_and_nothing_is_written(
        self, client: TestClient, tokens: dict[str, str], council: dict[str, Any], record: dict[str, Any], message: str
    ) -> None:
        response = client.put("/write/v1/paper/VO-1", json=record, headers={"Authorization": tokens["writer"]})
        assert (response.status_code, response.json()["message"]) == (422, message)
        assert client.get(f"/oparl/v1.1/body/{council['stadt'].rsplit('/', 1)[1]}/paper").json()["data"] == []
        assert client.get(f"/oparl/v1.1/body/{council['stadt'].rsplit('/', 1)[1]}/consultation").json()["data"] == []

    def test_malformed_json_is_a_400(self, client: TestClient, tokens: dict[str, str]) -> None:
        response = client.put("/write/v1/paper/VO-1", content=b"{nope", headers={
            "Authorization": tokens["writer"], "Content-Type": "application/json"})  # fmt: skip
        assert response.status_code == 400
        assert response.json()["type"] == "https://schema.oparl.org/1.1/Error"

    def test_bodies_have_a_size_limit(self, client: TestClient, tokens: dict[str, str], settings: Any) -> None:
        big = b'{"name": "' + b"x" * settings.max_body_bytes + b'"}'
        response = client.put("/write/v1/system/sys", content=big, headers={
            "Authorization": tokens["writer"], "Content-Type": "application/json"})  # fmt: skip
        assert response.status_code == 413
        assert response.json()["message"] == f"Der Inhalt der Anfrage ist größer als {settings.max_body_bytes} Bytes."

    def test_a_batch_is_all_or_nothing_with_an_error_per_operation(
        self, client: TestClient, tokens: dict[str, str], council: dict[str, Any]
    ) -> None:
        operations = [
            {"op": "put", "type": "Paper", "key": "ok", "record": paper(consultation=[])},
            {"op": "put", "type": "Paper", "key": "bad", "record": paper(consultation=[], date="gestern")},
            {"op": "delete", "type": "Paper", "key": "missing"},
        ]
        response = client.post("/write/v1/batch", json={"operations": operations},
                               headers={"Authorization": tokens["writer"]})  # fmt: skip
        assert response.status_code == 422
        bad_date = "Paper 'bad'.date: expected a date yyyy-mm-dd, got 'gestern'"
        missing = "Kein Objekt vom Typ Paper mit dem Schlüssel 'missing'."
        assert response.json()["oparl-server:errors"] == [
            {"index": 1, "key": "bad", "status": 422, "message": bad_date},
            {"index": 2, "key": "missing", "status": 404, "message": missing},
        ]
        assert client.get(f"/oparl/v1.1/body/{council['stadt'].rsplit('/', 1)[1]}/paper").json()["data"] == []


class TestEmbeddedWrites:
    def test_patching_a_consultation_moves_its_paper(
        self, client: TestClient, tokens: dict[str, str], council: dict[str, Any], clock: FakeClock
    ) -> None:
        auth = {"Authorization": tokens["writer"]}
        url = local(client.put("/write/v1/paper/VO-1", json=paper(), headers=auth).json()["id"])
        clock.advance(60)
        response = client.patch("/write/v1/consultation/b1", json={"role": "Anhörung"}, headers=auth)
        assert response.json()["result"] == "changed"
        served = client.get(url).json()
        assert (served["consultation"][0]["role"], served["modified"]) == ("Anhörung", "2024-06-03T10:01:01+02:00")
