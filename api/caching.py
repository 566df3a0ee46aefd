"""HTTP caching for public answers: validators, 304s, compression, and the in-process byte cache.

Validators are decided before anything is rendered: an object's ETag comes from its `revision`
(which every stamp moves), a list page's from the list generations of the tables it shows (which
every committed write moves, in the shared database). Cached bytes are keyed by those ETags, so
no worker, on any host, serves a page older than the last committed write.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from email.utils import format_datetime, parsedate_to_datetime

import brotli
from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ListGeneration

JSON = "application/json; charset=utf-8"
# Below this, compressing costs more than it saves.
MIN_COMPRESS = 1024


class ByteCache:
    """A thread-safe LRU of byte strings with a total size budget."""

    def __init__(self, budget: int) -> None:
        self.budget, self.size = budget, 0
        self.items: OrderedDict[object, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: object) -> bytes | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: object, value: bytes) -> None:
        if len(value) > self.budget // 8:  # one huge page must not flush everything else
            return
        with self.lock:
            old = self.items.pop(key, None)
            self.size += len(value) - (len(old) if old is not None else 0)
            self.items[key] = value
            while self.size > self.budget:
                _, evicted = self.items.popitem(last=False)
                self.size -= len(evicted)


class Counts:
    """totalElements per list and filter, valid while the list generations stay put."""

    def __init__(self, entries: int = 4096) -> None:
        self.entries = entries
        self.items: OrderedDict[object, int] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: object) -> int | None:
        with self.lock:
            return self.items.get(key)

    def put(self, key: object, value: int) -> None:
        with self.lock:
            self.items[key] = value
            if len(self.items) > self.entries:
                self.items.popitem(last=False)


def generations(session: Session, tables: list[str]) -> tuple[tuple[int, ...], dt.datetime | None]:
    """The current generation of each table (in the given order) and the latest stamp among them."""
    rows = {
        row.table_name: row
        for row in session.execute(
            select(ListGeneration.table_name, ListGeneration.value, ListGeneration.modified).where(
                ListGeneration.table_name.in_(tables)
            )
        )
    }
    values = tuple(rows[t].value if t in rows else -1 for t in tables)
    stamps = [rows[t].modified for t in tables if t in rows and rows[t].modified is not None]
    return values, max(stamps, default=None)


def etag_for(*parts: object) -> str:
    digest = hashlib.blake2b("\0".join(map(str, parts)).encode(), digest_size=12).hexdigest()
    # Weak: the gzip and brotli forms of a body carry the same tag.
    return f'W/"{digest}"'


def not_modified(request: Request, etag: str, last_modified: dt.datetime | None) -> bool:
    """RFC 9110 13.1: If-None-Match wins; If-Modified-Since counts only without it."""
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    ims = request.headers.get("if-modified-since")
    if ims is None or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return last_modified <= since


class PublicCache:
    """Per worker: list pages and counts by generation, and public answers with validators,
    Cache-Control and the encoding the client accepts."""

    def __init__(self, budget: int, max_age: int) -> None:
        self.pages = ByteCache(budget // 2)
        self.compressed = ByteCache(budget // 2)
        self.counts = Counts()
        self.cache_control = f"public, max-age={max_age}" if max_age > 0 else "public, no-cache"

    def headers(self, etag: str, last_modified: dt.datetime | None) -> dict[str, str]:
        headers = {"ETag": etag, "Cache-Control": self.cache_control, "Vary": "Accept-Encoding, Authorization"}
        if last_modified is not None:
            headers["Last-Modified"] = format_datetime(last_modified.astimezone(dt.UTC), usegmt=True)
        return headers

    def respond(
        self, request: Request, etag: str, last_modified: dt.datetime | None, body: Callable[[], bytes]
    ) -> Response:
        """304 when the client's copy is current (`body` is then never called), else the body."""
        headers = self.headers(etag, last_modified)
        if not_modified(request, etag, last_modified):
            return Response(status_code=304, headers=headers)
        content = body()
        encoding = _pick_encoding(request.headers.get("accept-encoding", "")) if len(content) >= MIN_COMPRESS else None
        if encoding is not None:
            content = self._compress(content, etag, encoding)
            headers["Content-Encoding"] = encoding
        return Response(content, media_type=JSON, headers=headers)

    def _compress(self, body: bytes, etag: str, encoding: str) -> bytes:
        key = (etag, encoding)
        packed = self.compressed.get(key)
        if packed is None:
            packed = brotli.compress(body, quality=4) if encoding == "br" else gzip.compress(body, 5, mtime=0)
            self.compressed.put(key, packed)
        return packed


def _pick_encoding(header: str) -> str | None:
    offered = {}
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        offered[name.strip()] = quality
    for name in ("br", "gzip"):
        if offered.get(name, offered.get("*", 0.0)) > 0:
            return name
    return None
