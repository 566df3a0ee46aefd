"""Content-addressed store for file bytes in the database, and the metadata OParl derives from them.

Every host serving the database serves every file. Contents go in and out in chunks of
`CHUNK_SIZE` bytes: no file is ever whole in memory, however large. Identical bytes are stored once.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import mimetypes
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import exists, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from models import File, FileChunk, FileContent

# Large enough that a file costs few rows and queries, small enough to be nothing in memory.
CHUNK_SIZE = 512 * 1024
SHA512 = re.compile(r"[0-9a-f]{128}")

# Signatures checked before falling back to the file name: the bytes decide, not the label.
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"\xd0\xcf\x11\xe0", "application/msword"),
)
_HEAD = max(len(magic) for magic, _ in _MAGIC)
_TEXT_BASED = {"application/xml", "application/json", "application/javascript", "application/x-javascript"}
_ZIP_BASED = {".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp"}


@dataclass(frozen=True)
class Stored:
    sha512: str
    sha1: str
    size: int
    mime_type: str


class ContentMismatch(ValueError):
    """The bytes are not the ones expected (a checksum named them otherwise, or they changed while read)."""


def sniff_mime(data: bytes, file_name: str | None) -> str:
    digest = _Digest()
    digest.update(data)
    return digest.mime_type(file_name)


def _mime(head: bytes, utf8: bool, file_name: str | None) -> str:
    guessed = mimetypes.guess_type(file_name or "")[0]
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            if mime == "application/zip" and file_name and Path(file_name).suffix.lower() in _ZIP_BASED:
                return guessed or mime
            return mime
    if not utf8:
        return guessed or "application/octet-stream"
    # Text: the name tells which kind (HTML, SVG, XML, JavaScript, JSON), an unknown one is plain text.
    textual = guessed is not None and (guessed.startswith("text/") or guessed.endswith(("+xml", "+json"))
                                        or guessed in _TEXT_BASED)  # fmt: skip
    return guessed if guessed is not None and textual else "text/plain"


@dataclass
class _Digest:
    """Checksums, size and MIME type of bytes that arrive piece by piece."""

    sha512: hashlib._Hash = field(default_factory=hashlib.sha512)
    sha1: hashlib._Hash = field(default_factory=hashlib.sha1)
    size: int = 0
    head: bytes = b""
    utf8: codecs.IncrementalDecoder | None = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")())

    def update(self, chunk: bytes) -> None:
        self.sha512.update(chunk)
        self.sha1.update(chunk)
        self.size += len(chunk)
        if len(self.head) < _HEAD:
            self.head += chunk[: _HEAD - len(self.head)]
        self._decode(chunk)

    def _decode(self, chunk: bytes, final: bool = False) -> None:
        if self.utf8 is not None:
            try:
                self.utf8.decode(chunk, final)
            except UnicodeDecodeError:
                self.utf8 = None

    def mime_type(self, file_name: str | None) -> str:
        self._decode(b"", final=True)
        return _mime(self.head, self.utf8 is not None, file_name)

    def stored(self, file_name: str | None) -> Stored:
        return Stored(self.sha512.hexdigest(), self.sha1.hexdigest(), self.size, self.mime_type(file_name))


def _pieces(source: IO[bytes], size: int) -> Iterator[bytes]:
    while piece := source.read(size):
        yield piece


class ContentStore:
    """File bytes in the tables `file_content` and `file_chunk`, in the caller's transaction."""

    def __init__(self, chunk_size: int = CHUNK_SIZE) -> None:
        self.chunk_size = chunk_size

    def put(
        self, session: Session, source: IO[bytes], file_name: str | None, *, expect_sha512: str | None = None
    ) -> Stored:
        """Stores the bytes of a seekable `source` (read twice: to name them, then to store them) unless
        they are stored already. Raises ContentMismatch, storing nothing, when they are not `expect_sha512`."""
        digest = _Digest()
        for piece in _pieces(source, self.chunk_size):
            digest.update(piece)
        stored = digest.stored(file_name)
        if expect_sha512 is not None and stored.sha512 != expect_sha512:
            raise ContentMismatch(f"the bytes have the SHA-512 {stored.sha512}, not {expect_sha512}")
        if not _claim(session, stored, self.chunk_size):
            return stored
        source.seek(0)
        again = hashlib.sha512()
        for seq, piece in enumerate(_pieces(source, self.chunk_size)):
            again.update(piece)
            session.execute(insert(FileChunk).values(sha512=stored.sha512, seq=seq, data=piece))
        if again.hexdigest() != stored.sha512:
            raise ContentMismatch("the bytes changed while they were stored")
        return stored

    def put_bytes(self, session: Session, data: bytes, file_name: str | None) -> Stored:
        return self.put(session, io.BytesIO(data), file_name)

    def find(self, session: Session, sha512: str) -> FileContent | None:
        return session.get(FileContent, sha512)

    def has(self, session: Session, sha512: str) -> bool:
        return session.scalar(select(FileContent.sha512).where(FileContent.sha512 == sha512)) is not None

    def read(self, session: Session, content: FileContent, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """Bytes `start` to `stop` (exclusive) chunk by chunk. The transaction ends after each chunk,
        so a slow client holds no pooled connection between them; contents never change under a name."""
        sha512, chunk_size = content.sha512, content.chunk_size
        stop = content.size if stop is None else stop
        if start >= stop:
            return
        for seq in range(start // chunk_size, (stop - 1) // chunk_size + 1):
            data = session.scalar(select(FileChunk.data).where(FileChunk.sha512 == sha512, FileChunk.seq == seq))
            session.commit()
            if data is None:
                raise ContentMismatch(f"chunk {seq} of content {sha512[:16]}… is missing")
            offset = seq * chunk_size
            yield data[max(start - offset, 0) : stop - offset]


def _claim(session: Session, stored: Stored, chunk_size: int) -> bool:
    """Inserts the content's row; False when it is there already. Against a concurrent writer of the
    same bytes, PostgreSQL waits for that one's commit and then inserts nothing (SQLite has one writer)."""
    insert_ = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert_(FileContent).values(sha512=stored.sha512, size=stored.size, chunk_size=chunk_size)
    return session.scalar(statement.on_conflict_do_nothing().returning(FileContent.sha512)) is not None


@dataclass
class ImportReport:
    imported: int = 0
    present: int = 0
    refused: list[str] = field(default_factory=list)


def import_directory(sessions: Callable[[], Session], root: Path, store: ContentStore | None = None) -> ImportReport:
    """Moves a content folder of earlier versions (`<root>/<2 hex>/<sha512>`) into the database, one
    transaction per file, each checked against its name. Running it again imports nothing twice."""
    store = store or ContentStore()
    report = ImportReport()
    for path in sorted(root.glob("*/*")):
        name = path.name
        if not (path.is_file() and SHA512.fullmatch(name) and path.parent.name == name[:2]):
            continue  # not a stored content (a temporary file of an interrupted write, say)
        with sessions() as session:
            if store.has(session, name):
                report.present += 1
                continue
            try:
                with path.open("rb") as source:
                    store.put(session, source, None, expect_sha512=name)
            except ContentMismatch as exc:
                session.rollback()
                report.refused.append(f"{path}: {exc}")
                continue
            session.commit()
            report.imported += 1
    return report


def missing_contents(session: Session) -> int:
    """Live files this server says it holds whose bytes are not in the database (still on some
    host's disk, from before contents moved into the database)."""
    held = exists().where(FileContent.sha512 == File.sha512_checksum)
    return session.scalar(select(func.count()).where(File.stored, ~File.deleted, ~held)) or 0
