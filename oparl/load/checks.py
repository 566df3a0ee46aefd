"""What a row needs before it is written: what the schema requires and the server cannot derive,
one System only, and a File's bytes (a path in the fixture folder, or bytes already stored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from models import BodyScoped, OParlObject
from oparl.content import ContentStore, Stored
from oparl.errors import RecordError, Where
from oparl.load.changelog import ChangeLog


def check_complete(session: Session, log: ChangeLog, obj: OParlObject, where: Where) -> None:
    """Refuses what could not be served: what the OParl schema requires and the server cannot
    derive, and a second System (clients reach only the one at /system)."""
    if isinstance(obj, models.System) and obj in log.created:
        # No name required: the OParl schema does not, and harvested Systems may lack one.
        other = session.scalar(select(models.System.key).where(models.System.key != obj.key).limit(1))
        if other is not None:
            problem = f"this server has the System {other!r} already; a second one would be unreachable"
            raise RecordError(where.at(".key"), problem)
    if isinstance(obj, BodyScoped) and obj.body_id is None:
        raise RecordError(where.at(".body"), "the record names no Body")
    if isinstance(obj, models.Body) and not obj.name:
        raise RecordError(where.at(".name"), "a Body needs a name")
    if isinstance(obj, models.Body) and obj.system_id is None:
        raise RecordError(where.at(".system"), "the record names no System")
    if isinstance(obj, models.AgendaItem) and obj.meeting_id is None:
        raise RecordError(where.at(".meeting"), "an AgendaItem needs its Meeting")
    if isinstance(obj, models.Membership) and obj.person_id is None:
        raise RecordError(where.at(".person"), "a Membership needs its Person")
    if isinstance(obj, models.File) and not obj.stored and not obj.access_url:
        raise RecordError(where.at(".accessUrl"), "a File needs content or an accessUrl")


def stored_content(
    session: Session, store: ContentStore, base_dir: Path | None, file: OParlObject, value: Any, where: Where
) -> list[tuple[str, Any]]:
    """`value`: a path in the fixture folder, or (the upload) bytes already in the store. Returns the
    File's attributes the bytes give."""
    assert isinstance(file, models.File)
    source: Path | None = None
    if isinstance(value, Stored):
        stored = value
    else:
        if not isinstance(value, str) or base_dir is None:
            raise RecordError(where, "expected a path relative to the fixture folder")
        source = (base_dir / value).resolve()
        if not source.is_relative_to(base_dir.resolve()) or not source.is_file():
            raise RecordError(where, f"no file {value!r} in the fixture folder")
        with source.open("rb") as handle:
            stored = store.put(session, handle, file.file_name or source.name)
    found = [("stored", True), ("size", stored.size), ("sha512_checksum", stored.sha512),
             ("sha1_checksum", stored.sha1), ("mime_type", stored.mime_type)]  # fmt: skip
    if file.file_name is None and source is not None:
        found.append(("file_name", source.name))
    return found
