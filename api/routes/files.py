"""File contents stored by this server: accessUrl inline, downloadUrl as an attachment (spec 8.11).

The bytes come from the database chunk by chunk, so every host serves every file. They are
someone else's bytes on this API's origin: never sniffed, sandboxed, and shown inline only when
their type cannot run script (an HTML, SVG, XML or JavaScript file is always a download).
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import IdDep, NonPublicDep, SessionDep
from api.errors import error_response
from api.openapi import BAD_TOKEN, COMMON, NOT_MODIFIED, OPTIONAL_TOKEN, Answers, error
from models import File
from oparl.content import ContentStore
from oparl.errors import Gone, NotFound
from oparl.urls import API_PATH
from oparl.visibility import Seen, seen

router = APIRouter(prefix=API_PATH, tags=["files"])
BYTES = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
ANSWERS: Answers = {
    200: {"description": "The bytes, with the File's mimeType", "content": BYTES},
    206: {"description": "The bytes of the Range asked for", "content": BYTES},
    **NOT_MODIFIED,
    **BAD_TOKEN,
    404: error("no stored content"),
    410: error("the file was deleted"),
    416: error("the Range lies beyond the content"),
    **COMMON,
}
# Types a browser renders as a document that can run script in this origin (HTML, SVG, XML with
# its stylesheets, JavaScript): always an attachment, even at accessUrl. Every other type is served
# inline as OParl asks (a browser downloads what it cannot show; nosniff keeps it from guessing).
ACTIVE = frozenset({"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
                    "text/xsl", "application/xslt+xml", "text/vnd.wap.wml", "application/x-shockwave-flash",
                    "multipart/x-mixed-replace"})  # fmt: skip


def is_active(mime: str) -> bool:
    subtype = mime.partition("/")[2]
    return mime in ACTIVE or subtype.endswith("+xml") or "script" in subtype


SANDBOX = "sandbox; default-src 'none'"
# Browsers' PDF viewers refuse to run in a sandboxed document (Chrome, Safari) and need inline styles
# (Chrome); a PDF's own scripts run in the viewer, never in this origin.
PDF_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _content(session: Session, request: Request, file_id: int, disposition: str, nonpublic: bool) -> Response:
    file = session.scalar(select(File).where(File.id == file_id))
    decision = Seen.ABSENT if file is None else seen(file, entitled=nonpublic)
    if decision is Seen.TOMBSTONE:
        raise Gone(f"Die Datei {file_id} wurde gelöscht.")
    store = ContentStore()
    content = None
    if file is not None and decision is Seen.SHOWN and file.stored and file.sha512_checksum is not None:
        content = store.find(session, file.sha512_checksum)
    if file is None or content is None:
        raise NotFound(f"Zur Datei {file_id} liegt auf diesem Server kein Inhalt vor.")
    mime = (file.mime_type or "").lower()
    mime = mime if MIME.fullmatch(mime) else "application/octet-stream"
    if is_active(mime):
        disposition = "attachment"
    etag = f'"{content.sha512[:32]}"'
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": _disposition(disposition, file.file_name or f"file-{file.id}"),
        "Content-Security-Policy": PDF_POLICY if mime == "application/pdf" and disposition == "inline" else SANDBOX,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    if file.nonpublic:
        headers["Cache-Control"] = "private"
    if etag in request.headers.get("if-none-match", "") or request.headers.get("if-none-match") == "*":
        return Response(status_code=304, headers=headers)
    start, stop, status = 0, content.size, 200
    wanted = request.headers.get("range")
    if wanted is not None and request.headers.get("if-range", etag) == etag:
        picked = _byte_range(wanted, content.size)
        if picked == "beyond":
            refused = error_response(416, f"Der Inhalt hat {content.size} Bytes; der erbetene Bereich liegt dahinter.")
            refused.headers["Content-Range"] = f"bytes */{content.size}"
            return refused
        if isinstance(picked, tuple):
            start, stop, status = *picked, 206
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{content.size}"
    headers["Content-Length"] = str(stop - start)
    return StreamingResponse(store.read(session, content, start, stop), status, headers, media_type=mime)


def _disposition(kind: str, file_name: str) -> str:
    quoted = quote(file_name)  # also what keeps quotes and line breaks of a stored name out of the header
    return f"{kind}; filename*=utf-8''{quoted}" if quoted != file_name else f'{kind}; filename="{file_name}"'


def _byte_range(header: str, size: int) -> tuple[int, int] | Literal["beyond"] | None:
    """One range of `bytes=a-b`, `a-` or `-n` as (start, stop); None for what is served whole
    (several ranges, another unit, nonsense); "beyond" for a range wholly beyond the content."""
    match = RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        start, stop = max(size - int(last), 0), size
    else:
        start, stop = int(first), size if last == "" else min(int(last) + 1, size)
        if last != "" and int(last) < start:
            return None
    return "beyond" if start >= stop else (start, stop)


@router.get(
    "/file/{object_id}/access",
    operation_id="accessFile",
    responses=ANSWERS,
    response_class=StreamingResponse,
    openapi_extra=OPTIONAL_TOKEN,
)
def access_file(object_id: IdDep, session: SessionDep, request: Request, nonpublic: NonPublicDep) -> Response:
    """The file's bytes, shown inline when their type is passive (PDF, images, plain text)."""
    return _content(session, request, object_id, "inline", nonpublic)


@router.get(
    "/file/{object_id}/download",
    operation_id="downloadFile",
    responses=ANSWERS,
    response_class=StreamingResponse,
    openapi_extra=OPTIONAL_TOKEN,
)
def download_file(object_id: IdDep, session: SessionDep, request: Request, nonpublic: NonPublicDep) -> Response:
    """The file's bytes as an attachment with its file name."""
    return _content(session, request, object_id, "attachment", nonpublic)
