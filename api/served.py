"""The app as `oparl-server serve` runs it, and uvicorn builds it in each worker: `create_app`'s,
plus the benchmark's ceiling route when OPARL_BENCH_CEILING_FILE names a file (bench/bench.py).

`python -m api.served` is the one serving process of `serve` with one worker: `serve` checks the
database, hands the settings over and executes it in its own place, so the process that serves
holds what a worker holds, not the command line's harvester, webhook and token commands.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import uvicorn
from fastapi import FastAPI, Response

from api import logs
from api.app import create_app
from api.caching import JSON
from api.feed_pruner import start_pruner
from api.settings import Settings
from models.db import trusted_head

# The migration head, handed by `serve` to the workers it starts with the digest of the scripts it
# was read from: they need not import Alembic (10 MB a worker) to know it.
MIGRATION_HEAD_ENV = "OPARL_SERVE_MIGRATION_HEAD"
# The settings `serve` resolved (its command line's and the demo's over the environment), as JSON:
# every serving process builds its app from these.
SETTINGS_ENV = "OPARL_SERVE_SETTINGS"


def hand_settings(settings: Settings) -> None:
    """For the serving processes `serve` starts: they read them in `handed_settings`."""
    os.environ[SETTINGS_ENV] = settings.model_dump_json()


def handed_settings() -> Settings:
    handed = os.environ.get(SETTINGS_ENV)
    return Settings() if handed is None else Settings.model_validate_json(handed)


def create_served_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or handed_settings()
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


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    # The app logs each request itself (with its id) and reads X-Forwarded-For only from
    # OPARL_TRUSTED_PROXIES: uvicorn's own access log and proxy handling are off. No `server`
    # header: nothing advertises the stack to scanners.
    return {"host": settings.host, "port": settings.port, "log_config": logs.log_config(settings),
            "access_log": False, "proxy_headers": False, "server_header": False}  # fmt: skip


def serve_here() -> NoReturn:
    """Replaces this process (the same pid, so a supervisor's signals reach the server) with the
    one serving process, on the settings handed to it."""
    # This code, not whatever `api` the working directory holds (`-m` would put it first on the
    # path); and the interpreter's own options (-X, -W), as multiprocessing gives the workers.
    here = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join([here, *filter(None, [os.environ.get("PYTHONPATH")])])
    options = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
    sys.stdout.flush()
    sys.stderr.flush()
    command = [sys.executable, *options, "-P", "-m", "api.served"]
    os.execve(sys.executable, command, {**os.environ, "PYTHONPATH": path})


if __name__ == "__main__":
    settings = handed_settings()
    uvicorn.run(create_served_app(settings), **uvicorn_options(settings))
