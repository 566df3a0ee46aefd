"""Uploading a file's bytes through the write API: `PUT /write/v1/file/{key}/content` with the raw body.

The body is streamed into a spool file (memory up to one chunk, then disk) under its own limit,
OPARL_MAX_UPLOAD_BYTES, and answered 413 the moment it passes it; only then does the write begin,
so a slow client never holds the write transaction (on SQLite: the write lock). Size, checksums
and MIME type come from the bytes. The File is then written as a PATCH would write it, through the
one write path, and its `modified` moves like any write's.
"""

from __future__ import annotations

import email.message
import re
import tempfile
from pathlib import PurePosixPath
from typing import IO, Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from starlette.requests import ClientDisconnect
from starlette.types import Scope

from api.deps import WriteContext, WriteDep
from api.openapi import BODY_ERRORS, TOKEN, error, write_answers
from api.responses import OParlJSONResponse
from api.routes.write import KeyPath, _atomic, _commit, _result
from models import File
from oparl.content import CHUNK_SIZE, ContentStore, sniff_mime
from oparl.errors import BadRequest, NotFound, OParlError, Unprocessable
from oparl.load.loader import Loader
from oparl.text.extract import MAX_BYTES, Extracted, extract

router = APIRouter(prefix="/write/v1", tags=["write"])
PATH = re.compile(r"/write/v1/file/.+/content")
ANSWERS = write_answers(
    extra={
        **BODY_ERRORS,
        404: error("no File with this key, and no `body` to create one"),
        413: error("the content is larger than OPARL_MAX_UPLOAD_BYTES"),
        422: error("no bytes, or a value that cannot be stored"),
    }
)
BODY = {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}, "required": True}


def is_upload(scope: Scope) -> bool:
    """The requests whose body this route reads itself (the app's body limit leaves them alone)."""
    return scope["method"] == "PUT" and PATH.fullmatch(scope["path"]) is not None


class TooLarge(OParlError):
    status_code = 413


@router.put(
    "/file/{key:path}/content",
    operation_id="uploadFileContent",
    responses=ANSWERS,
    openapi_extra={**TOKEN, "requestBody": BODY},
)
async def upload_content(
    key: KeyPath,
    ctx: WriteDep,
    body: Annotated[str | None, Query(description="the File's Body (key or OParl URL); needed for a new File")] = None,
    non_public: Annotated[bool | None, Query(alias="nonPublic", description="write the File as non-public")] = None,
) -> Response:
    """Store the raw request body (any Content-Type) as the File's content; a new key creates the
    File. `Content-Disposition: attachment; filename="…"` sets its fileName. Size, sha512Checksum,
    sha1Checksum and mimeType come from the bytes; accessUrl and downloadUrl then point here."""
    spool = await _receive(ctx.request, ctx.settings.max_upload_bytes)
    if spool.tell() == 0:
        spool.close()
        raise Unprocessable(f"File {key!r}: the request carries no bytes")
    spool.seek(0)
    try:
        return await run_in_threadpool(_store, ctx, key, spool, body, non_public)
    finally:
        spool.close()


async def _receive(request: Request, limit: int) -> IO[bytes]:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise TooLarge(f"Der Inhalt ist größer als {limit} Bytes.")
    spool = tempfile.SpooledTemporaryFile(max_size=CHUNK_SIZE)  # the caller closes it
    size = 0
    try:
        async for piece in request.stream():
            size += len(piece)
            if size > limit:
                raise TooLarge(f"Der Inhalt ist größer als {limit} Bytes.")
            spool.write(piece)  # to memory or the page cache: too quick to hand to a thread
    except ClientDisconnect as exc:
        spool.close()
        raise BadRequest("Der Inhalt kam nicht vollständig an.") from exc
    except BaseException:
        spool.close()
        raise
    return spool


def _file_name(request: Request) -> str | None:
    """The name in `Content-Disposition` (`filename*=` or `filename=`), without any folder."""
    header = request.headers.get("content-disposition")
    if header is None:
        return None
    parsed = email.message.Message()
    parsed["content-disposition"] = header
    name = parsed.get_filename()
    name = PurePosixPath(name.replace("\\", "/")).name if name else None
    return name or None


def _text(spool: IO[bytes], file_name: str | None) -> Extracted:
    """The text of the uploaded bytes, extracted before the write's first statement (oparl/text)."""
    spool.seek(0)
    data = spool.read(MAX_BYTES + 1)
    spool.seek(0)
    return Extracted(None, "limit") if len(data) > MAX_BYTES else extract(data, sniff_mime(data, file_name))


def _store(ctx: WriteContext, key: str, spool: IO[bytes], body: str | None, non_public: bool | None) -> Response:
    session = ctx.session
    extracted = _text(spool, _file_name(ctx.request))
    row = session.execute(select(File.file_name, File.deleted).where(File.key == key)).first()
    live = row is not None and not row.deleted
    if not live and body is None:
        raise NotFound(f"Kein Objekt vom Typ File mit dem Schlüssel {key!r}; eine neue Datei braucht ?body=.")
    file_name = _file_name(ctx.request)
    record: dict[str, Any] = {"type": "File", "key": key}
    if body is not None:
        record["body"] = body
    if file_name is not None:
        record["fileName"] = file_name
    if non_public is not None:
        record["nonPublic"] = non_public
    loader = Loader(session, urls=ctx.urls, store=ContentStore())
    with _atomic(session):
        record["content"] = loader.store.put(session, spool, file_name or (row.file_name if row else None))
        loader.texts[record["content"]] = extracted
        # A live File keeps what the upload does not name; a new (or deleted) one is just this.
        loader.load([record], replace=not live)
        obj = session.scalar(select(File).where(File.key == key))
        assert obj is not None
    (outcome,) = _commit(ctx, loader, [("upload", obj)])
    result = _result(ctx.urls, outcome)
    status = 201 if outcome.action == "created" else 200
    return OParlJSONResponse(result, status_code=status, headers={"Location": result["id"]})
