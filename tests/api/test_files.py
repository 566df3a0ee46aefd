"""File contents (spec 8.11): inline at accessUrl, attachment at downloadUrl, metadata from the bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import File
from oparl.content import ContentStore
from oparl.urls import UrlBuilder
from tests.conftest import BASE_URL, write
from tests.factories import make_body, make_file

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def load_file(session: Session, urls: UrlBuilder, store: ContentStore, folder: Path, name: str, data: bytes) -> None:
    (folder / name).write_bytes(data)
    records = [
        {"type": "System", "key": "s", "name": "Ratsinformation"},
        {"type": "Body", "key": "b", "system": "s", "name": "Stadt"},
        {"type": "File", "key": "f", "body": "b", "name": "Beschluss", "fileName": name, "content": name},
    ]
    write(session, records, store=store, base_dir=folder)


def served_file(client: TestClient) -> dict[str, Any]:
    body = client.get("/oparl/v1.1/body").json()["data"][-1]
    file: dict[str, Any] = client.get(body["file"].removeprefix(BASE_URL)).json()["data"][0]
    return file


class TestStoredContent:
    def test_metadata_comes_from_the_bytes(self, client, session, urls, store, tmp_path) -> None:
        load_file(session, urls, store, tmp_path, "beschluss.pdf", PDF)
        file = served_file(client)
        assert (file["mimeType"], file["size"], file["sha512Checksum"], file["sha1Checksum"]) == (
            "application/pdf",
            len(PDF),
            hashlib.sha512(PDF).hexdigest(),
            hashlib.sha1(PDF).hexdigest(),
        )

    def test_access_is_inline_and_download_an_attachment(self, client, session, urls, store, tmp_path) -> None:
        load_file(session, urls, store, tmp_path, "Beschluss Ä.pdf", PDF)
        file = served_file(client)
        access = client.get(str(file["accessUrl"]).removeprefix(BASE_URL))
        download = client.get(str(file["downloadUrl"]).removeprefix(BASE_URL))
        assert access.content == download.content == PDF
        assert access.headers["content-type"] == download.headers["content-type"] == "application/pdf"
        assert access.headers["content-disposition"].startswith("inline;")
        assert download.headers["content-disposition"] == ("attachment; filename*=utf-8''Beschluss%20%C3%84.pdf")

    def test_a_deleted_file_is_gone(self, client, session, urls, store, tmp_path) -> None:
        load_file(session, urls, store, tmp_path, "a.pdf", PDF)
        file = served_file(client)
        for row in session.scalars(select(File)):
            row.deleted = True
        session.flush()
        response = client.get(str(file["accessUrl"]).removeprefix(BASE_URL))
        assert response.status_code == 410
        assert response.json()["type"] == "https://schema.oparl.org/1.1/Error"


class TestExternalContent:
    def test_access_url_of_a_file_held_elsewhere(self, client: TestClient, session: Session) -> None:
        body = make_body(session)
        file = make_file(session, body, download_url="https://files.example.org/anlage.pdf?download=1")
        served = client.get(f"/oparl/v1.1/file/{file.id}").json()
        assert (served["accessUrl"], served["downloadUrl"]) == (
            "https://files.example.org/anlage.pdf",
            "https://files.example.org/anlage.pdf?download=1",
        )
        assert client.get(f"/oparl/v1.1/file/{file.id}/access").status_code == 404
