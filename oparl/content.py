"""Content-addressed store for file bytes, and the metadata OParl derives from them."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Signatures checked before falling back to the file name: the bytes decide, not the label.
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"\xd0\xcf\x11\xe0", "application/msword"),
)
_ZIP_BASED = {".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp"}


@dataclass(frozen=True)
class Stored:
    sha512: str
    sha1: str
    size: int
    mime_type: str


def sniff_mime(data: bytes, file_name: str | None) -> str:
    guessed = mimetypes.guess_type(file_name or "")[0]
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            if mime == "application/zip" and file_name and Path(file_name).suffix.lower() in _ZIP_BASED:
                return guessed or mime
            return mime
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return guessed or "application/octet-stream"
    return guessed if guessed and guessed.startswith("text/") else "text/plain"


class ContentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha512: str) -> Path:
        return self.root / sha512[:2] / sha512

    def put(self, data: bytes, file_name: str | None) -> Stored:
        sha512 = hashlib.sha512(data).hexdigest()
        target = self.path(sha512)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a reader never sees half a file.
            fd, tmp = tempfile.mkstemp(dir=target.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        return Stored(sha512, hashlib.sha1(data).hexdigest(), len(data), sniff_mime(data, file_name))
