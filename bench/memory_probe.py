"""Where a worker's memory goes (issue 18): the misses workloads one by one against a server run in
this process, with its resident size and the answer cache's parts after each.

Usage: .venv/bin/python bench/memory_probe.py --db sqlite [--walk-pages 20] [--passes 1] [--trace]
           [--accept-encoding gzip] [OPARL_CACHE_MB=8 ...]

The server is the app `serve` runs (one worker, the bench set of bench/bench.py, which must be
built); the workloads are bench/misses.py's. This process also holds the probe's own URL lists:
the line "urls drawn" shows what they add, to subtract from the figures after it. --trace starts
tracemalloc and prints the biggest allocation sites at the end (slow).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sqlite3
import sys
import threading
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import misses
import uvicorn
from fastapi import FastAPI

from bench import Dataset


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


# SQLite's own heap (page caches, statements) in this process: the library _sqlite3 links.
SQLITE = ctypes.CDLL("libsqlite3.so.0")
SQLITE.sqlite3_memory_used.restype = ctypes.c_int64


def report(app: FastAPI, label: str) -> None:
    cache = app.state.cache
    print(
        f"{label:26} rss {rss_mb():6.1f} MB | sqlite {SQLITE.sqlite3_memory_used() / 2**20:5.1f} MB | "
        f"answers {cache.answers.size / 2**20:5.1f} MB ({len(cache.answers.items)}) | "
        f"documents {cache.documents.size / 2**20:5.1f} MB | entries {len(cache.entries.items)} | "
        f"counts {len(cache.counts.items)}",
        flush=True,
    )


def drive(app: FastAPI, server: uvicorn.Server, dataset: Dataset, args: argparse.Namespace) -> None:
    try:
        workloads(app, server, dataset, args)
    finally:  # a failed workload (wrk missing, say) ends the run, not this thread alone
        server.should_exit = True


def workloads(app: FastAPI, server: uvicorn.Server, dataset: Dataset, args: argparse.Namespace) -> None:
    walk_pages, trace, accept_encoding, passes = args.walk_pages, args.trace, args.accept_encoding, args.passes
    while not server.started:
        time.sleep(0.1)
    report(app, "started")
    print(f"alembic imported: {any(m.partition('.')[0] == 'alembic' for m in sys.modules)}", flush=True)
    # Each pass asks URLs of its own (flat: the passes end alike), all drawn before the first.
    drawn = [misses.Urls(dataset, run, 60_000) for run in range(1, passes + 1)]
    report(app, "urls drawn (the probe's)")
    for run, urls in enumerate(drawn, 1):
        for name, paths in misses.distinct(urls):
            misses.wrk(paths, misses.HERE, 32, 8, accept_encoding)
            report(app, f"pass {run}: {name}")
        for limit, harvesters in misses.WALKS:
            misses.walk(limit, harvesters, walk_pages)
            report(app, f"pass {run}: walk limit={limit} x{harvesters}")
        gc.collect()
        report(app, f"pass {run}: after gc.collect()")
    connections = sum(isinstance(o, sqlite3.Connection) for o in gc.get_objects())
    print(f"SQLite connections open: {connections}", flush=True)
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # what the heap holds free: given back, then not resident
    report(app, "after malloc_trim(0)")
    if trace:
        for stat in tracemalloc.take_snapshot().statistics("traceback")[:12]:
            print(f"{stat.size / 2**20:7.1f} MB in {stat.count} blocks")
            print("   " + "\n   ".join(stat.traceback.format()[-8:]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--walk-pages", type=int, default=20)
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--passes", type=int, default=1, help="the workloads again, on new URLs, this often")
    parser.add_argument("--accept-encoding", default="", help="sent by wrk's distinct URLs (e.g. gzip)")
    parser.add_argument("settings", nargs="*", help="NAME=VALUE environment for the server")
    args = parser.parse_args()
    dataset = Dataset(args.db, 100_000, 1)
    if not dataset.ready():
        raise SystemExit(f"build the bench set first (bench/bench.py): {dataset.folder}")
    os.environ.update(dataset.env(OPARL_PORT=str(misses.PORT)))
    # As `serve` does: the migration head read in a child, handed to the app (api/served.py).
    from api.cli import handed_head_apart

    os.environ["OPARL_SERVE_MIGRATION_HEAD"] = handed_head_apart()
    os.environ.update(dict(setting.split("=", 1) for setting in args.settings))
    if args.trace:
        tracemalloc.start(8)
    from api.served import create_served_app
    from api.settings import Settings

    app = create_served_app(Settings())
    config = uvicorn.Config(app, host="127.0.0.1", port=misses.PORT, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    threading.Thread(target=drive, args=(app, server, dataset, args), daemon=True).start()
    server.run()


if __name__ == "__main__":  # the walks' harvesters are spawned processes that import this module
    main()
