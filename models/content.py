"""File contents, content-addressed by SHA-512 and kept in pieces, so every host serving the
database serves every file, and no file is ever held whole in memory on the way in or out."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class FileContent(Base):
    """One stored content; written with all its chunks in one transaction, so a reader that finds
    the row finds every chunk. Files refer to it by `File.sha512_checksum` (identical bytes are
    stored once, whichever files carry them)."""

    __tablename__ = "file_content"

    sha512: Mapped[str] = mapped_column(String(128), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    # Every chunk but the last holds exactly this many bytes: a byte range maps to chunk numbers.
    chunk_size: Mapped[int] = mapped_column(Integer)


class FileChunk(Base):
    __tablename__ = "file_chunk"

    sha512: Mapped[str] = mapped_column(
        String(128), ForeignKey("file_content.sha512", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
