"""The application factory: `uvicorn api.app:create_app --factory`."""

from __future__ import annotations

import contextlib
import ctypes
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui_bundle
from anyio import to_thread
from fastapi import FastAPI, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import health, metrics
from api.caching import JSON, CachedAnswers, GenerationReader, PublicCache
from api.errors import add_exception_handlers, error_response
from api.logs import RequestLog
from api.metrics import Metrics
from api.ratelimit import RateLimit
from api.routes import ROUTERS
from api.settings import Settings
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


class CORSEverywhere:
    """`Access-Control-Allow-Origin: *` on every response, errors included (spec: all JSON answers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"access-control-allow-origin"]
                message["headers"] = [*headers, (b"access-control-allow-origin", b"*")]
            await send(message)

        await self.app(scope, receive, send_with_cors)


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
        engine = make_engine(url=settings.database_url, pool_size=settings.threads)
        to_thread.current_default_thread_limiter().total_tokens = settings.threads
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
    app.add_middleware(CORSEverywhere)
    app.add_middleware(Metrics)  # outside CORS and limits: every answer counted and logged
    app.add_middleware(RequestLog, settings=settings)
    return app


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

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="OParl server – API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )
