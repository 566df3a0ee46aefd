"""Prometheus metrics (prometheus-client): requests, latency, the answer cache, the pool, writes.

Labels are bounded: a request counts under its route template (`/oparl/v1.1/paper/{object_id}`),
never its raw path, and one that matches no route under `unmatched`. With `serve --workers N` the
workers share a folder of counter files (PROMETHEUS_MULTIPROC_DIR, set up by `serve`), and any
worker's /metrics adds them all up. /metrics answers only the addresses in OPARL_METRICS_ALLOW.
A harvest is a one-shot command: it writes its counts to OPARL_HARVEST_METRICS_FILE for
node_exporter's textfile collector, when set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    write_to_textfile,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import netaddr
from api.errors import error_response
from api.settings import Settings
from oparl.catalogue import TYPES

if TYPE_CHECKING:
    from oparl.ingest.harvest import Summary

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("oparl_http_requests", "HTTP requests by route template, method and status",
                   ["route", "method", "status"])  # fmt: skip
LATENCY = Histogram(
    "oparl_http_request_duration_seconds",
    "Time from the request's arrival to its answer's last byte, by route template",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ANSWER_CACHE = Counter("oparl_answer_cache", "Anonymous GETs of answers the worker had built before: "
                       "answered from its cache (hit) or built again as the tables moved (miss)",
                       ["result"])  # fmt: skip
POOL_CHECKED_OUT = Gauge("oparl_db_pool_checked_out", "Database connections in use (all workers)",
                         multiprocess_mode="livesum")  # fmt: skip
POOL_SIZE = Gauge("oparl_db_pool_size", "Database connections the pools keep (all workers)",
                  multiprocess_mode="livesum")  # fmt: skip
WRITES = Counter("oparl_writes", "Write API requests by OParl type (or batch), method and status",
                 ["type", "method", "status"])  # fmt: skip

UNMATCHED = "unmatched"
# Answered before routing (from the cache, refused by a limit) at a path this worker never routed.
UNROUTED = "unrouted"
_WRITE_TYPES = {t.segment: t.name for t in TYPES.values()} | {"batch": "batch"}

router = APIRouter(include_in_schema=False)


def count_cache(hit: bool) -> None:
    ANSWER_CACHE.labels("hit" if hit else "miss").inc()


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    allowed = netaddr.parse_networks(settings.metrics_allow)
    if not netaddr.contains(allowed, netaddr.client_address(request.scope, netaddr.parse_networks(
            settings.trusted_proxies))):  # fmt: skip
        return error_response(403, "Die Metriken sind nur für den Betrieb lesbar.", "see OPARL_METRICS_ALLOW")
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


class Metrics:
    """ASGI middleware counting every request under its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.templates: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            route = self.template(scope, status)
            REQUESTS.labels(route, scope["method"], str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)
            if scope["path"].startswith("/write/"):
                _count_write(scope, status)
            _pool(scope["app"])

    def template(self, scope: Scope, status: int) -> str:
        """The route template routing chose (it leaves the route in the scope), remembered per path
        for answers given before routing (cached, limited, HEAD); bounded, as raw paths are not."""
        path = scope["path"]
        route = scope.get("route")
        if route is None:
            return self.templates.get(path) or (UNMATCHED if status in (404, 405) else UNROUTED)
        template = f"{route.path}/{{path}}" if isinstance(route, Mount) else str(route.path)
        if path not in self.templates:
            if len(self.templates) >= 10_000:
                self.templates.clear()
            self.templates[path] = template
        return template


def _count_write(scope: Scope, status: int) -> None:
    # /write/v1/<segment>/<key> or /write/v1/batch: only known segments become labels.
    parts = scope["path"].split("/", 4)
    segment = parts[3] if len(parts) > 3 else ""
    WRITES.labels(_WRITE_TYPES.get(segment, "other"), scope["method"], str(status)).inc()


def _pool(app: Any) -> None:
    maker = getattr(app.state, "sessionmaker", None)
    pool = maker.kw["bind"].pool if maker is not None else None
    if pool is not None and hasattr(pool, "checkedout"):
        POOL_CHECKED_OUT.set(pool.checkedout())
        POOL_SIZE.set(pool.size())


@contextmanager
def multiprocess_dir() -> Iterator[Path]:
    """For `serve --workers N`: the workers' shared counter folder, emptied first (counters of an
    earlier run would be added in). Made and removed here unless PROMETHEUS_MULTIPROC_DIR names one."""
    given = os.environ.get(MULTIPROC_ENV)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="oparl-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        if not given:
            shutil.rmtree(path, ignore_errors=True)
            del os.environ[MULTIPROC_ENV]


def write_harvest_metrics(path: Path, summary: Summary, seconds: float) -> None:
    """A harvest's counts as a Prometheus text file (node_exporter's textfile collector), written
    whole and renamed into place so a scrape never reads half of it."""
    registry = CollectorRegistry()
    objects = Gauge("oparl_harvest_objects", "Objects the last harvest wrote, by type and change",
                    ["type", "change"], registry=registry)  # fmt: skip
    for change, counts in (("created", summary.created), ("changed", summary.changed), ("deleted", summary.deleted)):
        for type_name, count in counts.items():
            objects.labels(type_name, change).set(count)
    quirks = Gauge("oparl_harvest_quirks", "Vendor quirks the last harvest met", ["quirk"], registry=registry)
    for quirk, count in summary.quirks.items():
        quirks.labels(quirk).set(count)
    for name, text, value in (
        ("oparl_harvest_pages", "List pages the last harvest read", summary.pages),
        ("oparl_harvest_seen_objects", "Objects the last harvest read", summary.objects),
        ("oparl_harvest_failures", "Requests or records the last harvest could not use", len(summary.failures)),
        ("oparl_harvest_missing", "Referenced objects the source could not deliver", len(summary.missing)),
        ("oparl_harvest_usable", "1 when the source was usable", int(summary.usable)),
        ("oparl_harvest_duration_seconds", "How long the last harvest ran", seconds),
        ("oparl_harvest_last_run_timestamp_seconds", "When the last harvest ended", time.time()),
    ):
        Gauge(name, text, registry=registry).set(value)
    write_to_textfile(str(path), registry)
