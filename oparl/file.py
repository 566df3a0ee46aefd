"""File: wire model, mapping, eager loads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from models import File
from oparl.base import ObjectOut, Render, common
from oparl.kind import Kind, ids_only, refs


class FileOut(ObjectOut):
    name: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    date: dt.date | None = None
    size: int | None = None
    sha1_checksum: str | None = None
    sha512_checksum: str | None = None
    text: str | None = None
    access_url: str
    download_url: str | None = None
    external_service_url: str | None = None
    master_file: str | None = None
    derivative_file: list[str] | None = None
    file_license: str | None = None
    meeting: list[str] | None = None
    agenda_item: list[str] | None = None
    paper: list[str] | None = None


def _dedupe(urls: list[str]) -> list[str]:
    return list(dict.fromkeys(urls))


def file_out(file: File, render: Render, *, embedded: bool = False) -> FileOut:
    urls = render.urls
    back: dict[str, Any] = {}
    if not embedded:
        # Back-references are output only when the file is not embedded (spec 8.11).
        back = {
            "meeting": _dedupe(refs(render, "Meeting", [*file.meeting_attached, *file.meeting_auxiliary])),
            "agenda_item": _dedupe(
                refs(render, "AgendaItem", [*file.agenda_item_resolution, *file.agenda_item_auxiliary])
            ),
            "paper": _dedupe(refs(render, "Paper", [*file.paper_main, *file.paper_auxiliary])),
            "derivative_file": refs(render, "File", file.derivative_file),
        }
    return FileOut(
        **common(file, "File", urls),
        name=file.name,
        file_name=file.file_name,
        mime_type=file.mime_type,
        date=file.date,
        size=file.size,
        sha1_checksum=file.sha1_checksum,
        sha512_checksum=file.sha512_checksum,
        # The document text only at the File's own URL (and in the file list): a Paper or Meeting
        # embeds its files, and their texts would make every paper list page megabytes.
        text=None if embedded else file.text,
        access_url=urls.file_access(file.id) if file.stored else file.access_url or urls.file_access(file.id),
        download_url=urls.file_download(file.id) if file.stored else file.download_url,
        external_service_url=file.external_service_url,
        master_file=render.ref("File", file.master_file),
        file_license=file.file_license,
        **back,
    )


def embedded_file(file: File | None, render: Render) -> FileOut | None:
    return file_out(file, render, embedded=True) if file is not None and render.shows(file) else None


def embedded_files(files: list[File], render: Render) -> list[FileOut]:
    return [file_out(f, render, embedded=True) for f in render.visible(files)]


def embedded_loads(path: Any) -> tuple[Any, ...]:
    """Eager loads for files embedded under `path`: the files and what their references need."""
    return (path, ids_only(File.master_file, path))


LOAD_OPTIONS = (
    ids_only(File.master_file),
    ids_only(File.derivative_file),
    ids_only(File.paper_main),
    ids_only(File.paper_auxiliary),
    ids_only(File.meeting_attached),
    ids_only(File.meeting_auxiliary),
    ids_only(File.agenda_item_resolution),
    ids_only(File.agenda_item_auxiliary),
)

KIND = Kind("File", file_out, LOAD_OPTIONS)
