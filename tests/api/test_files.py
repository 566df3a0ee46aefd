"""File contents (spec 8.11): inline at accessUrl, attachment at downloadUrl, metadata from the bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import File, FileChunk, FileContent
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


class TestContentIsSandboxed:
    """Stored files are someone else's bytes served from this API's origin (which has CORS *)."""

    def test_an_html_file_is_never_shown_inline(self, client, session, urls, store, tmp_path) -> None:
        evil = b"<html><script>fetch('/write/v1/batch', {method: 'POST'})</script></html>"
        load_file(session, urls, store, tmp_path, "evil.html", evil)
        file = served_file(client)
        for url in (file["accessUrl"], file["downloadUrl"]):
            response = client.get(str(url).removeprefix(BASE_URL))
            assert response.content == evil
            assert response.headers["content-type"].startswith("text/html")
            assert response.headers["content-disposition"] == 'attachment; filename="evil.html"'
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["content-security-policy"] == "sandbox; default-src 'none'"

    @pytest.mark.parametrize(
        ("name", "data", "disposition", "policy"),
        [
            ("a.pdf", PDF, "inline", "default-src 'none'; style-src 'unsafe-inline'"),
            ("a.png", b"\x89PNG\r\n\x1a\n....", "inline", "sandbox; default-src 'none'"),
            ("a.txt", "Grüße".encode(), "inline", "sandbox; default-src 'none'"),
            ("a.js", b"alert(1)", "attachment", "sandbox; default-src 'none'"),
            ("a.xhtml", b"<html xmlns='http://www.w3.org/1999/xhtml'/>", "attachment", "sandbox; default-src 'none'"),
            (
                "a.svg",
                b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
                "attachment",
                "sandbox; default-src 'none'",
            ),
            ("a.xml", b"<?xml version='1.0'?><a/>", "attachment", "sandbox; default-src 'none'"),
            ("a.md", b"# Vorlage\n", "inline", "sandbox; default-src 'none'"),  # the Lübeck Anlage
            ("a.zip", b"PK\x03\x04....", "inline", "sandbox; default-src 'none'"),
        ],
    )
    def test_only_types_that_cannot_run_script_are_inline(self, client, session, urls, store, tmp_path, name, data,
                                                          disposition, policy) -> None:  # fmt: skip
        load_file(session, urls, store, tmp_path, name, data)
        response = client.get(str(served_file(client)["accessUrl"]).removeprefix(BASE_URL))
        assert response.headers["content-disposition"] == f'{disposition}; filename="{name}"'
        assert response.headers["content-security-policy"] == policy
        assert response.headers["x-content-type-options"] == "nosniff"


class TestContentFromTheDatabase:
    def test_missing_content_is_a_404_that_names_no_store(self, client, session, urls, store, tmp_path) -> None:
        load_file(session, urls, store, tmp_path, "a.pdf", PDF)
        file = served_file(client)
        session.execute(delete(FileChunk))
        session.execute(delete(FileContent))
        session.flush()
        response = client.get(str(file["accessUrl"]).removeprefix(BASE_URL))
        assert response.status_code == 404
        file_id = file["id"].rsplit("/", 1)[1]
        assert response.json() == {
            "type": "https://schema.oparl.org/1.1/Error",
            "message": f"Zur Datei {file_id} liegt auf diesem Server kein Inhalt vor.",
        }

    def test_identical_bytes_are_stored_once(self, session, urls, store, tmp_path) -> None:
        load_file(session, urls, store, tmp_path, "a.pdf", PDF)
        (tmp_path / "b.pdf").write_bytes(PDF)
        write(session, [{"type": "File", "key": "g", "body": "b", "content": "b.pdf"}], store=store, base_dir=tmp_path)
        assert session.scalar(select(func.count()).select_from(File)) == 2
        assert session.scalar(select(func.count()).select_from(FileContent)) == 1

    @pytest.mark.parametrize(
        ("header", "status", "part"),
        [
            ("bytes=0-3", 206, slice(0, 4)),
            ("bytes=5-", 206, slice(5, None)),
            ("bytes=-6", 206, slice(-6, None)),
            ("bytes=10-100000", 206, slice(10, None)),
            ("bytes=0-1,5-6", 200, slice(None)),  # several ranges: the whole content
            ("items=0-1", 200, slice(None)),
        ],
    )
    def test_byte_ranges(self, client, session, urls, store, tmp_path, header, status, part) -> None:
        load_file(session, urls, store, tmp_path, "a.pdf", PDF)
        response = client.get(str(served_file(client)["accessUrl"]).removeprefix(BASE_URL), headers={"Range": header})
        assert (response.status_code, response.content) == (status, PDF[part])
        assert response.headers["content-length"] == str(len(PDF[part]))
        if status == 206:
            start = PDF.index(PDF[part])
            assert response.headers["content-range"] == f"bytes {start}-{start + len(PDF[part]) - 1}/{len(PDF)}"

    def test_a_range_beyond_the_content(self, client, session, urls, store, tmp_path) -> None:
        load_file(session, urls, store, tmp_path, "a.pdf", PDF)
        url = str(served_file(client)["accessUrl"]).removeprefix(BASE_URL)
        response = client.get(url, headers={"Range": f"bytes={len(PDF)}-"})
        assert response.status_code == 416
        assert response.headers["content-range"] == f"bytes */{len(PDF)}"
        assert response.json()["type"] == "https://schema.oparl.org/1.1/Error"
        assert response.headers["access-control-allow-origin"] == "*"

    def test_validators(self, client, session, urls, store, tmp_path) -> None:
        load_file(session, urls, store, tmp_path, "a.pdf", PDF)
        url = str(served_file(client)["accessUrl"]).removeprefix(BASE_URL)
        etag = client.get(url).headers["etag"]
        assert etag == f'"{hashlib.sha512(PDF).hexdigest()[:32]}"'
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
        stale = client.get(url, headers={"Range": "bytes=0-3", "If-Range": '"other"'})
        assert (stale.status_code, stale.content) == (200, PDF)
        head = client.head(url)
        assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", str(len(PDF)))


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
