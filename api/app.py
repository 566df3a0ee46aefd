"""The application factory: `uvicorn api.app:create_app --factory`."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, event

from api import health, metrics, openapi, tuning
from api.caching import CachedAnswers, GenerationReader, PublicCache
from api.errors import add_exception_handlers
from api.headers import Cors, SecurityHeaders
from api.logs import RequestLog
from api.metrics import Metrics
from api.middleware import BodyLimit, HeadAsGet
from api.outage import Outage, Unavailable
from api.pages.routes import router as pages_router
from api.ratelimit import RateLimit
from api.readers import make_reader
from api.render_check import warn_if_stale
from api.routes import ROUTERS
from api.settings import Settings
from api.snapshot_slots import make_slots
from api.stored_reads import StoredReads
from api.threads import Threads
from api.timeouts import BodyReadTimeout
from models import utcnow
from models.db import check_schema, head_revision, make_engine, make_sessionmaker
from oparl.write import Clock

if TYPE_CHECKING:
    from api import webhooks

DESCRIPTION = """An OParl 1.1 server: council papers, meetings, organizations, persons and their files.

Start at [/oparl/v1.1/system](/oparl/v1.1/system) and follow the links. Lists are paged by a cursor
in `links.next`; `created_since`, `created_until`, `modified_since`, `modified_until`,
`omit_internal` and `limit` work on every list.
"""


def create_app(
    settings: Settings | None = None, *, clock: Clock = utcnow, migration_head: str | None = None
) -> FastAPI:
    """`clock` stamps writes; tests pass a controllable one. `migration_head`: the revision the
    database must be at, when the caller knows it (else Alembic is asked). State, routers, middleware."""
    settings = settings or Settings()
    app = FastAPI(
        title="OParl server",
        version="1.1",
        description=DESCRIPTION,
        lifespan=_lifespan(settings),
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.migration_head = migration_head or head_revision()
    app.state.clock = clock
    app.state.snapshots = settings.snapshots
    app.state.cache = PublicCache(settings.cache_mb * 1024 * 1024, settings.cache_max_age)
    app.state.outage = Outage(settings.outage_retry_after)
    app.state.snapshot_slots = make_slots(settings.redis_url, settings.rate_limit_prefix, settings.snapshot_concurrency)
    add_exception_handlers(app)
    for router in (*ROUTERS, pages_router, health.router, metrics.router):
        app.include_router(router)
    openapi.install(app)
    _offline_docs(app)
    _middleware(app, settings)
    return app


def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A pooled connection for every thread, the readers' and the writes' (api/threads.py).
        engine = app.state.engine = make_engine(
            url=settings.database_url, pool_size=settings.threads + settings.write_threads
        )
        _watch(engine, app.state.outage)
        tuning.small_page_caches(engine)
        app.state.threads = Threads(settings.threads, settings.write_threads)
        reader = app.state.read_generations = GenerationReader(engine)  # for CachedAnswers; tests replace it
        # For StoredReads: as many connections as reader threads (tests replace it as well).
        stored_reader = app.state.stored_reader = make_reader(engine, settings.threads)
        trimming: asyncio.Future[None] | None = None
        try:
            check_schema(engine, app.state.migration_head)
            warn_if_stale(engine, settings.snapshots)
            app.state.sessionmaker = make_sessionmaker(engine)
            app.state.write_sessionmaker = make_sessionmaker(engine.execution_options(sqlite_immediate=True))
            tuning.settle()
            trimming = asyncio.ensure_future(tuning.return_free_heap())
            # Webhook delivery in this worker: only the lease holder of all workers delivers.
            delivery = _delivery(settings, engine) if settings.webhook_deliver_in_workers else None
            yield
            if delivery is not None:
                delivery.stop()
        finally:
            if trimming is not None:
                trimming.cancel()
            reader.close()
            stored_reader.close()
            engine.dispose()

    return lifespan


def _delivery(settings: Settings, engine: Engine) -> webhooks.Background:
    # Imported here: its HTTP client (httpx, 6 MB) is in a worker only where the worker delivers.
    from api import webhooks

    return webhooks.Background(settings, engine).start()


def _middleware(app: FastAPI, settings: Settings) -> None:
    """Added inside out: the last one added sees a request first."""
    app.add_middleware(StoredReads)
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
