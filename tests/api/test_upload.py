"""Uploading a file's bytes through the write API: streamed, size-limited, metadata from the bytes."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.types import Message

from api.settings import Settings
from models import FileChunk, FileContent
from oparl.content import CHUNK_SIZE
from tests.conftest import BASE_URL, Database, FakeClock

LIMIT = 3 * CHUNK_SIZE
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
COUNCIL = [
    {"op": "put", "type": "System", "key": "sys", "record": {"name": "Ratsinformation"}},
    {"op": "put", "type": "Body", "key": "stadt", "record": {"system": "sys", "name": "Stadt Beispiel"}},
]


@pytest.fixture
def settings(database: Database, data_dir: Path) -> Settings:
    return Settings(database_url=database.url, public_base_url=BASE_URL, data_dir=data_dir, max_upload_bytes=LIMIT,
                    max_body_bytes=CHUNK_SIZE)  # fmt: skip


@pytest.fixture
def auth(client: TestClient, tokens: dict[str, str]) -> dict[str, str]:
    headers = {"Authorization": tokens["writer"]}
    assert client.post("/write/v1/batch", json={"operations": COUNCIL}, headers=headers).status_code == 200
    return headers


def local(url: str) -> str:
    return url.removeprefix(BASE_URL)


def contents(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(FileContent)) or 0,
        session.scalar(select(func.count()).select_from(FileChunk)) or 0,
    )


def upload(client: TestClient, key: str, data: Any, headers: dict[str, str], **params: str) -> Any:
    return client.put(f"/write/v1/file/{key}/content", content=data, headers=headers, params=params)


class TestUpload:
    def test_an_upload_creates_a_file_served_from_this_server(self, client: TestClient, auth: dict[str, str]) -> None:
        headers = {**auth, "Content-Type": "application/x-whatever",
                   "Content-Disposition": "attachment; filename*=utf-8''Anlage%20%C3%84.pdf"}  # fmt: skip
        response = upload(client, "VO-1/anlage", PDF, headers, body="stadt")
        assert (response.status_code, response.json()["result"]) == (201, "created")
        assert response.headers["location"] == response.json()["id"]
        file = client.get(local(response.json()["id"])).json()
        file_url = response.json()["id"]
        assert {
            k: file[k]
            for k in ("fileName", "mimeType", "size", "sha512Checksum", "sha1Checksum", "accessUrl", "downloadUrl")
        } == {  # fmt: skip
            "fileName": "Anlage Ä.pdf",
            "mimeType": "application/pdf",
            "size": len(PDF),
            "sha512Checksum": hashlib.sha512(PDF).hexdigest(),
            "sha1Checksum": hashlib.sha1(PDF).hexdigest(),
            "accessUrl": f"{file_url}/access",
            "downloadUrl": f"{file_url}/download",
        }
        assert client.get(local(file["accessUrl"])).content == PDF
        assert client.get(local(file["downloadUrl"])).content == PDF

    def test_new_bytes_move_modified_of_the_file_and_what_embeds_it(
        self, client: TestClient, auth: dict[str, str], clock: FakeClock
    ) -> None:
        file_id = upload(client, "f", PDF, auth, body="stadt").json()["id"]
        put = client.put("/write/v1/paper/VO-1", json={"body": "stadt", "name": "Vorlage", "mainFile": "f"},
                         headers=auth)  # fmt: skip
        paper_id = put.json()["id"]
        before = client.get(local(paper_id)).json()
        clock.advance(3600)
        again = upload(client, "f", PDF, auth)
        assert (again.status_code, again.json()["result"]) == (200, "unchanged")
        assert client.get(local(paper_id)).json()["modified"] == before["modified"]
        clock.advance(3600)
        changed = upload(client, "f", PDF + b"% zweite Fassung\n", auth)
        assert (changed.status_code, changed.json()["result"], changed.json()["id"]) == (200, "changed", file_id)
        after = client.get(local(paper_id)).json()
        assert after["modified"] > before["modified"]
        assert after["mainFile"]["modified"] == after["modified"]
        assert after["mainFile"]["size"] == len(PDF) + 17
        assert client.get(local(after["mainFile"]["accessUrl"])).content == PDF + b"% zweite Fassung\n"

    def test_the_upload_keeps_what_it_does_not_name(self, client: TestClient, auth: dict[str, str]) -> None:
        record = {"body": "stadt", "name": "Beschluss", "accessUrl": "https://elsewhere.example.org/b.pdf"}
        assert client.put("/write/v1/file/f", json=record, headers=auth).status_code == 201
        response = upload(client, "f", PDF, auth)
        assert (response.status_code, response.json()["result"]) == (200, "changed")
        file = client.get(local(response.json()["id"])).json()
        assert (file["name"], file["accessUrl"]) == ("Beschluss", f"{response.json()['id']}/access")

    def test_a_large_upload_is_stored_in_chunks(
        self, client: TestClient, auth: dict[str, str], session: Session
    ) -> None:
        data = random.Random(1).randbytes(2 * CHUNK_SIZE + 1000)

        def pieces() -> Iterator[bytes]:  # sent chunked, without a Content-Length
            for start in range(0, len(data), 65536):
                yield data[start : start + 65536]

        response = upload(client, "big", pieces(), auth, body="stadt")
        assert response.status_code == 201, response.text
        assert contents(session) == (1, 3)
        file = client.get(local(response.json()["id"])).json()
        assert (file["size"], file["mimeType"]) == (len(data), "application/octet-stream")
        assert client.get(local(file["accessUrl"])).content == data
        # Identical bytes for another file are stored once.
        assert upload(client, "big-copy", data, auth, body="stadt").status_code == 201
        assert contents(session) == (1, 3)

    def test_a_nonpublic_upload_is_hidden_from_anonymous_clients(
        self, client: TestClient, auth: dict[str, str], tokens: dict[str, str]
    ) -> None:
        response = upload(client, "geheim", PDF, auth, body="stadt", nonPublic="true")
        assert response.status_code == 201
        assert client.get(local(response.json()["id"]) + "/access").status_code == 404
        insider = client.get(local(response.json()["id"]) + "/access", headers={"Authorization": tokens["insider"]})
        assert (insider.status_code, insider.content) == (200, PDF)


class TestRefused:
    def expect_error(self, response: Any, status: int, message: str) -> None:
        assert response.status_code == status
        assert response.json() == {"type": "https://schema.oparl.org/1.1/Error", "message": message}
        assert response.headers["access-control-allow-origin"] == "*"

    @pytest.mark.parametrize(("who", "status"), [(None, 401), ("insider", 403), ("revoked", 401)])
    def test_an_upload_needs_a_write_token(
        self, client: TestClient, tokens: dict[str, str], session: Session, who: str | None, status: int
    ) -> None:
        headers = {} if who is None else {"Authorization": tokens[who]}
        response = upload(client, "f", PDF, headers, body="stadt")
        assert (response.status_code, response.json()["type"]) == (status, "https://schema.oparl.org/1.1/Error")
        assert contents(session) == (0, 0)

    def test_a_new_key_needs_its_body(self, client: TestClient, auth: dict[str, str], session: Session) -> None:
        message = "Kein Objekt vom Typ File mit dem Schlüssel 'f'; eine neue Datei braucht ?body=."
        self.expect_error(upload(client, "f", PDF, auth), 404, message)
        assert contents(session) == (0, 0)

    def test_an_unknown_body_stores_nothing(self, client: TestClient, auth: dict[str, str], session: Session) -> None:
        response = upload(client, "f", PDF, auth, body="nirgendwo")
        assert response.status_code == 422
        assert contents(session) == (0, 0)

    def test_no_bytes(self, client: TestClient, auth: dict[str, str]) -> None:
        self.expect_error(upload(client, "f", b"", auth, body="stadt"), 422, "File 'f': the request carries no bytes")

    def test_a_declared_size_over_the_limit(self, client: TestClient, auth: dict[str, str], session: Session) -> None:
        response = upload(client, "f", b"x" * (LIMIT + 1), auth, body="stadt")
        self.expect_error(response, 413, f"Der Inhalt ist größer als {LIMIT} Bytes.")
        assert contents(session) == (0, 0)

    def test_a_streamed_body_over_the_limit_is_cut_off(
        self, client: TestClient, auth: dict[str, str], session: Session
    ) -> None:
        """Sent straight to the app (the test client would read the whole body first): the answer
        comes as the limit passes, before the client has sent the rest."""
        received: list[int] = []
        answer: list[Message] = []

        async def receive() -> Message:
            received.append(65536)
            return {"type": "http.request", "body": b"x" * 65536, "more_body": len(received) < 100}

        async def send(message: Message) -> None:
            answer.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "PUT", "scheme": "http",
                 "path": "/write/v1/file/f/content", "raw_path": b"/write/v1/file/f/content", "root_path": "",
                 "query_string": b"body=stadt", "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
                 "headers": [(b"host", b"testserver"), (b"authorization", auth["Authorization"].encode())]}  # fmt: skip
        assert client.portal is not None
        client.portal.call(client.app, scope, receive, send)
        assert answer[0]["status"] == 413
        assert json.loads(b"".join(m.get("body", b"") for m in answer[1:]))["message"] == (
            f"Der Inhalt ist größer als {LIMIT} Bytes."
        )
        assert sum(received) == LIMIT + 65536  # the piece that passed the limit was the last one read
        assert contents(session) == (0, 0)

    def test_the_write_apis_own_body_limit_does_not_apply(
        self, client: TestClient, auth: dict[str, str], settings: Settings
    ) -> None:
        assert settings.max_body_bytes < LIMIT  # an upload may be larger than any record
        data = b"y" * (settings.max_body_bytes + 1)
        assert upload(client, "f", data, auth, body="stadt").status_code == 201
