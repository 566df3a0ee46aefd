"""The app as `oparl-server serve` runs it, and uvicorn builds it in each worker: `create_app`'s,
plus the benchmark's ceiling route when OPARL_BENCH_CEILING_FILE names a file (bench/bench.py)."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Response

from api.app import create_app
from api.caching import JSON
from api.feed_pruner import start_pruner
from api.settings import Settings
from models.db import trusted_head

# The migration head, handed by `serve` to the workers it starts with the digest of the scripts it
# was read from: they need not import Alembic (10 MB a worker) to know it.
MIGRATION_HEAD_ENV = "OPARL_SERVE_MIGRATION_HEAD"


def create_served_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_app(settings, migration_head=trusted_head(os.environ.get(MIGRATION_HEAD_ENV)))
    start_pruner(settings)  # the change feed's retention (not in tests' apps, which prune themselves)
    if settings.bench_ceiling_file is not None:
        _mount_ceiling(app, settings.bench_ceiling_file)
    return app


def _mount_ceiling(app: FastAPI, path: Path) -> None:
    """The benchmark's ceiling: the same bytes as a real page, through the same middleware, from
    memory. Read on first use, so the benchmark can write the file after the server started."""
    held: list[bytes] = []

    @app.get("/bench/ceiling", include_in_schema=False)
    async def ceiling() -> Response:
        if not held:
            held.append(path.read_bytes())
        return Response(held[0], media_type=JSON)
