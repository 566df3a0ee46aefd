"""File contents stored by this server: accessUrl inline, downloadUrl as an attachment (spec 8.11)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse
from sqlalchemy import select

from api.deps import IdDep, NonPublicDep, SessionDep, SettingsDep
from models import File
from oparl.content import ContentStore
from oparl.errors import NotFound, OParlError
from oparl.urls import API_PATH

router = APIRouter(prefix=API_PATH, tags=["files"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no stored content"},
    410: {"description": "the file was deleted"},
}


class Gone(OParlError):
    status_code = 410


def _content(
    session: SessionDep, settings: SettingsDep, file_id: int, disposition: str, nonpublic: bool
) -> FileResponse:
    file = session.scalar(select(File).where(File.id == file_id))
    hidden = file is not None and file.nonpublic and not nonpublic
    known = file is not None and (nonpublic or file.ever_public)  # never published: does not exist here
    if file is not None and known and (file.deleted or hidden):
        raise Gone(f"Die Datei {file_id} wurde gelöscht.")
    if file is None or hidden or not file.stored or file.sha512_checksum is None:
        raise NotFound(f"Zur Datei {file_id} liegt auf diesem Server kein Inhalt vor.")
    path = ContentStore(settings.files_dir).path(file.sha512_checksum)
    if not path.is_file():
        raise NotFound(f"Der Inhalt der Datei {file_id} fehlt im Dateispeicher.", str(path))
    return FileResponse(
        path,
        media_type=file.mime_type or "application/octet-stream",
        filename=file.file_name or f"file-{file.id}",
        content_disposition_type=disposition,
        headers={"Cache-Control": "private"} if file.nonpublic else None,
    )


@router.get("/file/{object_id}/access", responses=ERRORS, response_class=FileResponse)
def access_file(object_id: IdDep, session: SessionDep, settings: SettingsDep, nonpublic: NonPublicDep) -> FileResponse:
    """The file's bytes, to be shown inline."""
    return _content(session, settings, object_id, "inline", nonpublic)


@router.get("/file/{object_id}/download", responses=ERRORS, response_class=FileResponse)
def download_file(
    object_id: IdDep, session: SessionDep, settings: SettingsDep, nonpublic: NonPublicDep
) -> FileResponse:
    """The file's bytes as an attachment with its file name."""
    return _content(session, settings, object_id, "attachment", nonpublic)
