"""HTTP caching for public answers: validators, 304s, compression, and the in-process byte cache.

Validators are decided before anything is rendered: an object's ETag comes from its `revision`
(which every stamp moves), a list page's from the list generations of the tables it shows (which
every committed write moves, in the shared database). Cached bytes are keyed by those ETags, so
no worker, on any host, serves a page older than the last committed write.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Generic, Protocol, TypeVar

import brotli
from fastapi import Request, Response
from isal import isal_zlib
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from api.metrics import count_cache
from api.outage import Outage
from models import ListGeneration

JSON = "application/json; charset=utf-8"
# Below this, compressing costs more than it saves.
MIN_COMPRESS = 1024
# From this size on, answers are compressed at the lowest level.
BIG_ANSWER = 256 * 1024
# zlib's window bits for a gzip header and trailer.
GZIP_WBITS = 31
# The levels of big answers, which are mostly built once and sent once (`PublicCache._encoded`).
BR_QUICK, GZIP_QUICK = 1, 1
V = TypeVar("V")


class Lru(Generic[V]):
    """A thread-safe LRU with a fixed number of entries."""

    def __init__(self, entries: int = 4096) -> None:
        self.entries = entries
        self.items: OrderedDict[object, V] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: object) -> V | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def holds(self, key: object) -> bool:
        with self.lock:
            return key in self.items

    def put(self, key: object, value: V) -> None:
        with self.lock:
            self.items[key] = value
            if len(self.items) > self.entries:
                self.items.popitem(last=False)


class ByteCache(Lru[bytes]):
    """An LRU of byte strings bounded by their total size, not their number."""

    def __init__(self, budget: int, largest: int | None = None) -> None:
        super().__init__()
        self.budget, self.size = budget, 0
        self.largest = budget // 8 if largest is None else largest

    def put(self, key: object, value: bytes) -> None:
        if len(value) > self.largest:  # one huge page must not flush everything else
            return
        with self.lock:
            old = self.items.pop(key, None)
            self.size += len(value) - (len(old) if old is not None else 0)
            self.items[key] = value
            while self.size > self.budget:
                _, evicted = self.items.popitem(last=False)
                self.size -= len(evicted)


_GENERATIONS = select(ListGeneration.table_name, ListGeneration.value, ListGeneration.modified)


def generations(connection: Connection | Session, tables: Sequence[str]) -> tuple[tuple[int, ...], dt.datetime | None]:
    """The current generation of each table (in the given order) and the latest stamp among them."""
    rows = {row.table_name: row for row in connection.execute(_GENERATIONS)}
    values = tuple(rows[t].value if t in rows else -1 for t in tables)
    stamps = [rows[t].modified for t in tables if t in rows and rows[t].modified is not None]
    return values, max(stamps, default=None)


def count_key(generations: tuple[int, ...], list_url: str, canonical: dict[str, str]) -> tuple[object, ...]:
    """What a list's totalElements is kept under: its generations and filters (not its limit, so
    every page size and cursor of a list shares one count)."""
    return generations, list_url, tuple(sorted((k, v) for k, v in canonical.items() if k != "limit"))


@dataclass(frozen=True, slots=True)
class Validity:
    """What a cached answer was built from: the list generations of the tables it shows."""

    tables: tuple[str, ...]
    generations: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Entry:
    validity: Validity
    etag: str
    last_modified: dt.datetime | None
    media_type: str = JSON
    document: bool = False  # kept in `PublicCache.documents`


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
        # Objects and list pages under (etag, encoding), encoding None for the plain form: each kept
        # in the form it was sent, all forms in one budget (none is left idle by the clients' mix).
        self.answers = ByteCache(budget, largest=budget // 8)
        # Calendars, feeds and catalogues: few, but one may be megabytes (a Body's calendar), and
        # building it again per request would cost seconds. Beside the answers, up to the budget again.
        self.documents = ByteCache(budget, largest=budget)
        self.counts: Lru[int] = Lru()  # totalElements per list and filter, by generations
        self.entries: Lru[Entry] = Lru(20_000)  # (path, query) -> how its last answer can be reused
        self.cache_control = f"public, max-age={max_age}" if max_age > 0 else "public, no-cache"

    def headers(self, etag: str, last_modified: dt.datetime | None) -> dict[str, str]:
        headers = {"ETag": etag, "Cache-Control": self.cache_control, "Vary": "Accept-Encoding, Authorization"}
        if last_modified is not None:
            headers["Last-Modified"] = format_datetime(last_modified.astimezone(dt.UTC), usegmt=True)
        return headers

    def respond(
        self,
        request: Request,
        etag: str,
        last_modified: dt.datetime | None,
        body: Callable[[], bytes],
        validity: Validity | None = None,
        media_type: str = JSON,
        document: bool = False,
    ) -> Response:
        """304 when the client's copy is current (`body` is then never called), else the body.

        With `validity`, the answer is kept for `answer_cached` to give again while it holds."""
        ready = self.ready(request, etag, last_modified, validity, media_type, document)
        if ready is not None:
            return ready
        form = self._keep(etag, _encoding_of(request.scope), body(), document)
        return self._send(etag, last_modified, form, media_type)

    def ready(
        self,
        request: Request,
        etag: str,
        last_modified: dt.datetime | None,
        validity: Validity | None = None,
        media_type: str = JSON,
        document: bool = False,
    ) -> Response | None:
        """`respond`'s answer where it needs no body (a 304, a kept form); None: build the body."""
        if validity is not None:
            self.entries.put(_entry_key(request.scope), Entry(validity, etag, last_modified, media_type, document))
        if not_modified(request, etag, last_modified):
            return Response(status_code=304, headers=self.headers(etag, last_modified))
        form = self._stored(etag, _encoding_of(request.scope), document)
        return None if form is None else self._send(etag, last_modified, form, media_type)

    def packer(self, request: Request) -> Packer:
        """For a body built in parts, after `ready` said it is needed."""
        return Packer(_encoding_of(request.scope))

    def send_packed(self, etag: str, last_modified: dt.datetime | None, packer: Packer) -> Response:
        """The packer's body, kept as `respond` keeps a body."""
        packed = packer.packed()
        if packed is None:  # small: compressed (or not) whole, as any other answer
            form = self._keep(etag, packer.encoding, packer.plain(), False)
        else:
            form = packed, packer.encoding
            self.answers.put((etag, packer.encoding), packed)
        return self._send(etag, last_modified, form, JSON)

    def entry_for(self, scope: Scope) -> Entry | None:
        return self.entries.get(_entry_key(scope))

    def could_answer(self, scope: Scope, entry: Entry) -> bool:
        """Whether `answer_cached` could answer without the routes, should the generations hold:
        the bytes are still here, or the client revalidates (a 304 needs none). Otherwise the
        generations are not worth reading: the routes read them again anyway."""
        encoding = _encoding_of(scope)
        if encoding is not None and self.answers.holds((entry.etag, encoding)):
            return True
        if self.documents.holds(entry.etag) if entry.document else self.answers.holds((entry.etag, None)):
            return True
        return any(name in (b"if-none-match", b"if-modified-since") for name, _ in scope["headers"])

    def answer_cached(self, scope: Scope, entry: Entry, current: tuple[int, ...]) -> Response | None:
        """The answer to an anonymous GET from this worker's cache, if the list generations it was
        built at are `current` still; None otherwise."""
        if current != entry.validity.generations:
            return None
        request = Request(scope)
        if not_modified(request, entry.etag, entry.last_modified):
            return Response(status_code=304, headers=self.headers(entry.etag, entry.last_modified))
        form = self._stored(entry.etag, _encoding_of(scope), entry.document)
        if form is None:
            return None
        return self._send(entry.etag, entry.last_modified, form, entry.media_type)

    def _stored(self, etag: str, encoding: str | None, document: bool) -> tuple[bytes, str | None] | None:
        """The answer in the client's encoding (None: as it is), if either form of it is kept."""
        if encoding is not None:
            packed = self.answers.get((etag, encoding))
            if packed is not None:
                return packed, encoding
        plain = self.documents.get(etag) if document else self.answers.get((etag, None))
        return None if plain is None else self._encoded(plain, etag, encoding)

    def _keep(self, etag: str, encoding: str | None, content: bytes, document: bool) -> tuple[bytes, str | None]:
        """A new answer, kept in the form it is sent in: for a client that takes it compressed (nearly
        every one) the compressed form alone, a fifth to a tenth of the size, so the same budget holds
        five to ten times the answers (bench/RESULTS.md, issue 18). A document is kept as it is too:
        building a calendar again would cost seconds."""
        form = self._encoded(content, etag, encoding)
        if document:
            self.documents.put(etag, content)
        elif form[1] is None:
            self.answers.put((etag, None), content)
        return form

    def _encoded(self, body: bytes, etag: str, encoding: str | None) -> tuple[bytes, str | None]:
        if encoding is None or len(body) < MIN_COMPRESS:  # below that, compressing costs more than it saves
            return body, None
        key = (etag, encoding)
        packed = self.answers.get(key)
        if packed is None:
            # A big answer (a harvester's page of 1000) is mostly built once and sent once: the
            # lowest level costs a third of the time for a tenth more bytes (bench/RESULTS.md, issue 18).
            quick = len(body) >= BIG_ANSWER
            if encoding == "br":
                packed = brotli.compress(body, quality=BR_QUICK if quick else 4)
            else:  # ISA-L's gzip: 8-10x zlib's speed at a like size (bench/RESULTS.md, issue 18)
                packed = isal_zlib.compress(body, GZIP_QUICK if quick else 2, wbits=GZIP_WBITS)
            self.answers.put(key, packed)
        return packed, encoding

    def _send(
        self, etag: str, last_modified: dt.datetime | None, form: tuple[bytes, str | None], media_type: str
    ) -> Response:
        headers = self.headers(etag, last_modified)
        content, encoding = form
        if encoding is not None:
            headers["Content-Encoding"] = encoding
        return Response(content, media_type=media_type, headers=headers)


class Packer:
    """A big answer built from parts as they come: once BIG_ANSWER of it is held, what is held is
    compressed at the big answers' level and let go. A harvester's page of 1000 meetings is 10 MB
    of JSON and 1 MB compressed; built whole, it and its rows were 20-30 MB of a worker at once
    (bench/RESULTS.md, issue 18). For a client that takes no compression, it is joined whole."""

    def __init__(self, encoding: str | None) -> None:
        self.encoding = encoding
        self.parts: list[bytes] = []
        self.held = 0
        self.compressor: _Compressor | None = None
        self.done: list[bytes] = []

    def add(self, *parts: bytes) -> None:
        self.parts.extend(parts)
        self.held += sum(map(len, parts))
        if self.encoding is not None and self.held >= BIG_ANSWER:
            if self.compressor is None:
                self.compressor = _compressor(self.encoding)
            self.done.append(self.compressor.compress(b"".join(self.parts)))
            self.parts, self.held = [], 0

    def plain(self) -> bytes:
        """The answer as it is, when it was never compressed (`packed` is None)."""
        return b"".join(self.parts)

    def packed(self) -> bytes | None:
        """The compressed answer; None: it never grew big, and is compressed whole if at all."""
        if self.compressor is None:
            return None
        return b"".join([*self.done, self.compressor.compress(b"".join(self.parts)), self.compressor.flush()])


class _Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...

    def flush(self) -> bytes: ...


class _Brotli:
    """brotli's streaming compressor under zlib's method names."""

    def __init__(self) -> None:
        self.compressor = brotli.Compressor(quality=BR_QUICK)

    def compress(self, data: bytes) -> bytes:
        return bytes(self.compressor.process(data))

    def flush(self) -> bytes:
        return bytes(self.compressor.finish())


def _compressor(encoding: str) -> _Compressor:
    return _Brotli() if encoding == "br" else isal_zlib.compressobj(GZIP_QUICK, isal_zlib.DEFLATED, GZIP_WBITS)


def _encoding_of(scope: Scope) -> str | None:
    """The compression the client takes best (br, gzip), if any."""
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            return _pick_encoding(value.decode("latin-1"))
    return None


def _entry_key(scope: Scope) -> tuple[str, bytes]:
    return scope["path"], scope["query_string"]


class CachedAnswers:
    """ASGI middleware: anonymous GETs the worker has answered before, and whose tables have not
    moved since, are answered here, before routing, dependencies and the thread pool. The check
    is one query of a 12-row table; blocking the event loop for it costs less than a thread hop."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not _has_authorization(scope):
            state = scope["app"].state
            cache: PublicCache = state.cache
            entry = cache.entry_for(scope)
            outage: Outage = state.outage
            # While the database is down, the routes answer (503, in a thread): a cached answer is
            # not given, since nothing can tell whether it still holds (or still may be shown).
            if entry is not None and not outage.down and cache.could_answer(scope, entry):
                try:
                    current = state.read_generations(entry.validity.tables)
                    outage.succeeded()
                except Exception:  # the database is away: the routes answer (or say so) properly
                    current = None
                answer = None if current is None else cache.answer_cached(scope, entry, current)
                count_cache(answer is not None)
                if answer is not None:
                    await answer(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class GenerationReader:
    """The list generations, read on one autocommit connection of its own, from the event loop only:
    each read sees every commit before it, at the cost of one tiny query."""

    SQL = "SELECT table_name, value FROM list_generation"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Any = None

    def __call__(self, tables: Sequence[str]) -> tuple[int, ...]:
        try:
            if self.connection is None:
                pooled = self.engine.raw_connection()
                driver = pooled.driver_connection
                if self.engine.dialect.name == "postgresql":
                    driver.rollback()  # type: ignore[union-attr]  # the pool's ping left a transaction open
                    driver.autocommit = True  # type: ignore[union-attr]
                pooled.detach()  # kept for good, outside the pool
                self.connection = driver
            cursor = self.connection.cursor()
            cursor.execute(self.SQL)
            values = dict(cursor.fetchall())
            cursor.close()
        except Exception:  # a lost connection: the next read opens a new one
            self.close()
            raise
        return tuple(values.get(t, -1) for t in tables)

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.close()
            self.connection = None


def _has_authorization(scope: Scope) -> bool:
    return any(name == b"authorization" for name, _ in scope["headers"])


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
