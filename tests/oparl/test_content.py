"""The content store in the database: chunks in and out, metadata from the bytes, the import of old stores."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import FileChunk, FileContent
from oparl.content import ContentMismatch, ContentStore, import_directory, sniff_mime

DATA = random.Random(3).randbytes(10_000)


class TestStore:
    def test_bytes_go_in_and_come_out_in_chunks(self, session: Session) -> None:
        store = ContentStore(chunk_size=1024)
        stored = store.put(session, io.BytesIO(DATA), "x.bin")
        assert (stored.sha512, stored.sha1, stored.size) == (
            hashlib.sha512(DATA).hexdigest(), hashlib.sha1(DATA).hexdigest(), len(DATA))  # fmt: skip
        sizes = session.execute(select(func.length(FileChunk.data)).order_by(FileChunk.seq)).scalars().all()
        assert sizes == [1024] * 9 + [784]
        content = store.find(session, stored.sha512)
        assert content is not None
        pieces = list(store.read(session, content))
        assert max(len(p) for p in pieces) == 1024
        assert b"".join(pieces) == DATA
        for start, stop in ((0, 1), (1000, 1100), (1023, 1025), (2048, 10_000), (9_999, 10_000)):
            assert b"".join(store.read(session, content, start, stop)) == DATA[start:stop]

    def test_storing_the_same_bytes_again_writes_nothing(self, session: Session) -> None:
        store = ContentStore(chunk_size=1024)
        store.put_bytes(session, DATA, None)
        store.put_bytes(session, DATA, "other-name.bin")
        assert session.scalar(select(func.count()).select_from(FileContent)) == 1
        assert session.scalar(select(func.count()).select_from(FileChunk)) == 10

    def test_bytes_that_are_not_the_expected_ones_are_refused(self, session: Session) -> None:
        with pytest.raises(ContentMismatch, match="not 00"):
            ContentStore().put(session, io.BytesIO(DATA), None, expect_sha512="00" * 64)
        assert session.scalar(select(func.count()).select_from(FileContent)) == 0


@pytest.mark.parametrize(
    ("data", "name", "mime"),
    [
        ("Grüße aus Lübeck".encode() * 1000, None, "text/plain"),
        (b"%PDF-1.7 ...", "x.txt", "application/pdf"),
        (b"<svg/>", "a.svg", "image/svg+xml"),
        (b"<html/>", "a.html", "text/html"),
        (b"\xff\xfe not utf-8", "a.html", "text/html"),
        (b"\xff\xfe not utf-8", None, "application/octet-stream"),
        (b"PK\x03\x04...", "a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ],
)
def test_the_bytes_decide_the_type(data: bytes, name: str | None, mime: str) -> None:
    assert sniff_mime(data, name) == mime


def test_a_character_split_between_chunks_is_still_text(session: Session) -> None:
    data = "ä".encode() * 1000  # two bytes each: every odd chunk boundary splits one
    assert ContentStore(chunk_size=1023).put_bytes(session, data, None).mime_type == "text/plain"


def legacy_store(root: Path, contents: list[bytes]) -> list[str]:
    names = []
    for data in contents:
        name = hashlib.sha512(data).hexdigest()
        (root / name[:2]).mkdir(parents=True, exist_ok=True)
        (root / name[:2] / name).write_bytes(data)
        names.append(name)
    return names


class TestImport:
    def test_an_old_store_is_imported_once_and_checked(self, session: Session, tmp_path: Path) -> None:
        root = tmp_path / "files"
        good = legacy_store(root, [DATA, b"%PDF-1.4 zwei"])
        bad = hashlib.sha512(b"original").hexdigest()
        (root / bad[:2]).mkdir(exist_ok=True)
        (root / bad[:2] / bad).write_bytes(b"altered on disk")
        (root / good[0][:2] / "tmpab12cd").write_bytes(b"half a write")  # an interrupted write of old versions

        first = import_directory(lambda: session, root)
        assert (first.imported, first.present) == (2, 0)
        assert len(first.refused) == 1
        assert first.refused[0].startswith(f"{root / bad[:2] / bad}: the bytes have the SHA-512 ")
        second = import_directory(lambda: session, root)
        assert (second.imported, second.present, len(second.refused)) == (0, 2, 1)

        store = ContentStore()
        assert sorted(session.scalars(select(FileContent.sha512))) == sorted(good)
        for name, data in zip(good, [DATA, b"%PDF-1.4 zwei"], strict=True):
            content = store.find(session, name)
            assert content is not None
            assert b"".join(store.read(session, content)) == data
