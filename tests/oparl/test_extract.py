"""Document text from a file's bytes: PDF in a limited child process, HTML, text and Markdown; a
broken, encrypted, oversized or endless file is recorded as such, never raised; uploads and
fixture files get their text before the write."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.synthetic.shape import pdf
from models import File
from oparl.text import extract as extract_module
from oparl.text.extract import Extracted, extract
from tests.conftest import BASE_URL


def encrypted_pdf(password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf(1, 2))))
    writer.encrypt(user_password=password, owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "mime", "expected"),
    [
        (pdf(3, 7), "application/pdf", Extracted("Synthetisches Dokument 7 (seed 3)", "extracted")),
        (encrypted_pdf(""), "application/pdf", Extracted("Synthetisches Dokument 2 (seed 1)", "extracted")),
        (encrypted_pdf("geheim"), "application/pdf", Extracted(None, "encrypted")),
        (b"%PDF-1.4\n1 0 obj <<>> garbage", "application/pdf", Extracted(None, "broken")),
        (pdf(3, 7)[:200], "application/pdf", Extracted(None, "broken")),
        (b"%PDF-1.4\n% no objects\n%%EOF\n", "application/pdf", Extracted(None, "broken")),
        (b"<html><head><title>T</title><style>p{}</style></head><body><p>Hallo &amp; <b>Welt</b></p>"
         b"<script>alert(1)</script></body></html>", "text/html", Extracted("Hallo & Welt", "extracted")),
        ("Straße\x00 und Plätze".encode(), "text/plain", Extracted("Straße und Plätze", "extracted")),
        ("Gr\xfc\xdfe".encode("cp1252"), "text/plain", Extracted("Grüße", "extracted")),
        (b"# Titel\n\n*Text*", "text/markdown", Extracted("# Titel\n\n*Text*", "extracted")),
        (b"   \n", "text/plain", Extracted(None, "empty")),
        (b"\x89PNG\r\n\x1a\n", "image/png", Extracted(None, "unsupported")),
    ],
)  # fmt: skip
def test_extraction(data: bytes, mime: str, expected: Extracted) -> None:
    assert extract(data, mime) == expected


def test_a_pdf_over_its_time_or_memory_is_recorded_as_over_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_module, "SECONDS", 0.0)
    assert extract(pdf(3, 7), "application/pdf") == Extracted(None, "limit")
    monkeypatch.setattr(extract_module, "MAX_BYTES", 10)
    assert extract(b"0123456789ABC", "text/plain") == Extracted(None, "limit")


def test_fixture_files_get_their_text(session: Session, luebeck: None) -> None:
    texts = {row.file_name: row.text_state for row in session.execute(select(File.file_name, File.text_state))}
    assert set(texts.values()) == {"extracted"}
    text = session.scalar(select(File.text).where(File.file_name == "VO-2023-11778-01.txt"))
    assert text is not None
    assert "Quartiersmanagements empfohlen" in text


def test_an_upload_gets_its_text_and_the_search_finds_it(
    client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    writer = {"Authorization": tokens["writer"]}
    council = [{"op": "put", "type": "System", "key": "sys", "record": {"name": "Rat"}},
               {"op": "put", "type": "Body", "key": "stadt", "record": {"system": "sys", "name": "Stadt"}}]  # fmt: skip
    assert client.post("/write/v1/batch", json={"operations": council}, headers=writer).status_code == 200
    answer = client.put("/write/v1/file/f/content", content=pdf(3, 9), params={"body": "stadt"}, headers=writer)
    assert answer.status_code == 201, answer.text
    served = client.get(answer.json()["id"].removeprefix(BASE_URL)).json()
    assert served["text"] == "Synthetisches Dokument 9 (seed 3)"
    search = client.get("/oparl/v1.1/body").json()["data"][0]["oparl-server:search"].removeprefix(BASE_URL)
    assert [h["id"] for h in client.get(search, params={"q": "synthetisch Dokument"}).json()["data"]] == [served["id"]]
    broken = client.put(
        "/write/v1/file/g/content", content=b"%PDF-1.4 kaputt", params={"body": "stadt"}, headers=writer
    )
    assert broken.status_code == 201
    assert "text" not in client.get(broken.json()["id"].removeprefix(BASE_URL)).json()
