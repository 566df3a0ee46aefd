"""The application factory: `uvicorn api.app:create_app --factory`."""

from __future__ import annotations

import base64
import contextlib
import ctypes
import gc
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, event
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import health, metrics
from api.caching import JSON, CachedAnswers, GenerationReader, PublicCache
from api.errors import add_exception_handlers, error_response
from api.headers import Cors, SecurityHeaders
from api.logs import RequestLog
from api.metrics import Metrics
from api.outage import Outage, Unavailable
from api.ratelimit import RateLimit
from api.routes import ROUTERS
from api.routes.upload import is_upload
from api.settings import Settings
from api.threads import Threads
from api.timeouts import BodyReadTimeout
from models import utcnow
from models.db import check_schema, make_engine, make_sessionmaker
from oparl.snapshot import Snapshots
from oparl.urls import UrlBuilder
from oparl.write import Clock

DESCRIPTION = """An OParl 1.1 server: council papers, meetings, organizations, persons and their files.

Start at [/oparl/v1.1/system](/oparl/v1.1/system) and follow the links. Lists are paged by a cursor
in `links.next`; `created_since`, `created_until`, `modified_since`, `modified_until`,
`omit_internal` and `limit` work on every list.
"""


class HeadAsGet:
    """HEAD answers what GET would, without the body (validators probe the System with HEAD)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class BodyLimit:
    """Request bodies: at most `limit` bytes (413 beyond), and none read for a write without a token.

    The body is read here in full before the app sees it, so an oversized one, declared or chunked,
    is refused before anything parses it.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if scope["path"].startswith("/write/") and not headers.get(b"authorization", b"").lower().startswith(
            b"bearer "
        ):
            refused = error_response(401, "Schreiben erfordert einen Zugangsschlüssel.")
            refused.headers["WWW-Authenticate"] = 'Bearer realm="oparl"'
            await refused(scope, receive, send)
            return
        if is_upload(scope):  # streamed to the store, under its own limit, by the upload route
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.limit:
                await self._too_large(scope, receive, send)
                return
        body = b"".join(chunks)

        async def replay() -> Message:
            nonlocal body
            message: Message = {"type": "http.request", "body": body, "more_body": False}
            body = b""
            return message

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(413, f"Der Inhalt der Anfrage ist größer als {self.limit} Bytes.")(scope, receive, send)


def create_app(settings: Settings | None = None, *, clock: Clock = utcnow) -> FastAPI:
    """`clock` stamps writes; tests pass a controllable one."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A pooled connection for every thread, the readers' and the writes' (api/threads.py).
        engine = app.state.engine = make_engine(
            url=settings.database_url, pool_size=settings.threads + settings.write_threads
        )
        _watch(engine, app.state.outage)
        app.state.threads = Threads(settings.threads, settings.write_threads)
        reader = app.state.read_generations = GenerationReader(engine)  # for CachedAnswers; tests replace it
        try:
            check_schema(engine)
            app.state.sessionmaker = make_sessionmaker(engine)
            app.state.write_sessionmaker = make_sessionmaker(engine.execution_options(sqlite_immediate=True))
            # What start-up built lives as long as the process: keep the collector from walking it.
            gc.freeze()
            _return_big_blocks()
            yield
        finally:
            reader.close()
            engine.dispose()

    app = FastAPI(
        title="OParl server",
        version="1.1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.snapshots = Snapshots(UrlBuilder(settings.public_base_url), settings.zone)
    app.state.cache = PublicCache(settings.cache_mb * 1024 * 1024, settings.cache_max_age)
    app.state.outage = Outage(settings.outage_retry_after)
    add_exception_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    _offline_docs(app)
    if settings.bench_ceiling_file is not None:
        _bench_ceiling(app, settings.bench_ceiling_file)
    app.add_middleware(CachedAnswers)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(BodyReadTimeout, seconds=settings.body_read_timeout)
    app.add_middleware(HeadAsGet)
    app.add_middleware(RateLimit, settings=settings)
    app.add_middleware(Unavailable)
    app.add_middleware(Cors)
    app.add_middleware(Metrics)  # outside CORS and limits: every answer counted and logged
    app.add_middleware(RequestLog, settings=settings)
    app.add_middleware(SecurityHeaders)
    return app


# Seconds to wait for a PostgreSQL connection: without a limit, a host that drops packets holds a
# request (and the event loop, for the generation reader) for minutes before it can answer 503.
CONNECT_TIMEOUT = 5


def _watch(engine: Engine, outage: Outage) -> None:
    """Every statement that succeeds may end an outage; connecting gives up in time."""
    event.listen(engine, "after_cursor_execute", lambda *_: outage.succeeded())
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "do_connect")
        def _timeout(_dialect: object, _record: object, _args: object, params: dict[str, object]) -> None:
            params.setdefault("connect_timeout", CONNECT_TIMEOUT)


def _return_big_blocks() -> None:
    """glibc: serve blocks over 256 KB (list pages) from mmap always, so freeing one returns it to
    the system. By default glibc raises that threshold after the first such free, and pages of a
    few MB then fragment the heap: resident memory creeps up although the caches are bounded."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 256 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-8, 2)  # M_ARENA_MAX: threads share two arenas, not one each


def _bench_ceiling(app: FastAPI, path: Path) -> None:
    """The benchmark's ceiling: the same bytes as a real page, through the same middleware, from
    memory. Read on first use, so the benchmark can write the file after the server started."""
    held: list[bytes] = []

    @app.get("/bench/ceiling", include_in_schema=False)
    async def ceiling() -> Response:
        if not held:
            held.append(path.read_bytes())
        return Response(held[0], media_type=JSON)


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI from assets this app serves itself, so /docs works without internet access."""
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="OParl server – API",
        swagger_js_url="/docs-assets/swagger-ui-bundle.js",
        swagger_css_url="/docs-assets/swagger-ui.css",
        swagger_favicon_url="/docs-assets/favicon-32x32.png",
    )
    # Its own scripts and styles, the inline script that starts Swagger UI by its hash, the API
    # by fetch; Swagger UI's icons are data: URIs and it sets styles inline.
    inline = [
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in re.findall(rb"<script>(.*?)</script>", bytes(page.body), re.DOTALL)
    ]
    policy = (
        f"default-src 'none'; script-src 'self' {' '.join(inline)}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page.body, headers={"Content-Security-Policy": policy})
