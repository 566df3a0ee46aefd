"""Erasing a deleted object for privacy: the write behind a kommParl `redact` entry.

A tombstone shows nothing of an object but its id and dates, so deletion alone hides it; an erasure
also removes what the server keeps of it. Every nullable column of the row that holds data (not its
identity, flags and dates, nor its references: ids say nothing once their targets are erased too)
is emptied through the change log, and a File's bytes go from the content store unless another
File still names them. The stored rendering becomes the tombstone's when the write commits.
"""

from __future__ import annotations

from sqlalchemy import delete, exists, inspect, select
from sqlalchemy.orm import Session

from models import File, FileChunk, FileContent, OParlObject
from oparl.load.changelog import ChangeLog
from oparl.records import INTERNAL


def erase(session: Session, log: ChangeLog, obj: OParlObject) -> None:
    """Empties the row's own data (the caller deleted it with reason privacy)."""
    held = obj.sha512_checksum if isinstance(obj, File) and obj.stored else None
    for column in inspect(type(obj)).columns:
        if column.key in INTERNAL or column.primary_key or column.foreign_keys or not column.nullable:
            continue
        log.set(obj, column.key, None)
    if isinstance(obj, File):
        log.set(obj, "stored", False)
    session.flush()
    if held is not None and not session.scalar(select(exists().where(File.sha512_checksum == held))):
        session.execute(delete(FileChunk).where(FileChunk.sha512 == held))
        session.execute(delete(FileContent).where(FileContent.sha512 == held))
