"""`oparl-server`: demo, serve, migrate, load-fixtures, harvest, token, generate, render.

Wiring only: the work is in models/ and oparl/."""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TextIO

import uvicorn
from alembic import command
from sqlalchemy import Engine, select

from api import auth, logs, metrics
from api.app import create_app
from api.settings import Settings
from models import ApiToken, utcnow
from models.db import SchemaNotMigrated, alembic_config, check_schema, make_engine, make_sessionmaker
from oparl import write
from oparl.content import ContentStore
from oparl.errors import OParlError
from oparl.ingest.client import Politeness, SourceClient
from oparl.ingest.harvest import Harvester, Options, Summary
from oparl.load import Loader, read_directory
from oparl.snapshot import Snapshots
from oparl.synthetic import Generator
from oparl.urls import UrlBuilder

DEMO_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "luebeck"


def migrate(settings: Settings) -> None:
    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings.database_url), "head")


def load_fixtures(settings: Settings, folder: Path) -> None:
    engine = make_engine(url=settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            loader = Loader(
                session,
                urls=UrlBuilder(settings.public_base_url),
                store=ContentStore(settings.files_dir),
                base_dir=folder,
            )
            loader.load(read_directory(folder))
            snapshots = Snapshots(UrlBuilder(settings.public_base_url), settings.zone)
            report = write.commit(session, loader, utcnow, snapshots)
    finally:
        engine.dispose()
    print(
        f"loaded {folder}: {report.created} created, {report.changed} changed, "
        f"{report.unchanged} unchanged, {report.deleted} deleted"
    )


def token(settings: Settings, args: argparse.Namespace) -> None:
    engine = make_engine(url=settings.database_url)
    check_schema(engine)
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            if args.action == "create":
                row, secret = auth.create_token(session, args.name, args.scope or ["write"])
                print(f"token {row.id} ({row.name}, {' '.join(row.scopes)}):\n{secret}")
                print("It is shown this once; the server keeps only a hash of it.", file=sys.stderr)
            elif args.action == "revoke":
                if auth.revoke_token(session, args.id) is None:
                    raise SystemExit(f"oparl-server: no token {args.id}")
                print(f"token {args.id} revoked")
            else:
                for row in session.scalars(select(ApiToken).order_by(ApiToken.id)):
                    state = f"revoked {row.revoked.isoformat()}" if row.revoked else "active"
                    print(f"{row.id}\t{row.name}\t{' '.join(row.scopes)}\t{state}")
    finally:
        engine.dispose()


def harvest(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(url=settings.database_url)
    check_schema(engine)
    politeness = Politeness(rate=args.rate, concurrency=args.concurrency, timeout=args.timeout)
    client = SourceClient(politeness)
    options = Options(
        files=args.files, full=args.full, overlap=dt.timedelta(hours=args.overlap_hours), batch=args.batch
    )
    started = time.monotonic()
    try:
        summary = make_harvester(settings, engine, client, options, Progress(sys.stderr)).run(args.system_url)
    finally:
        client.close()
        engine.dispose()
    if settings.harvest_metrics_file is not None:
        metrics.write_harvest_metrics(settings.harvest_metrics_file, summary, time.monotonic() - started)
    print("\n".join(summary.lines()))
    return 0 if summary.usable else 3


def make_harvester(
    settings: Settings,
    engine: Engine,
    client: SourceClient,
    options: Options,
    progress: Callable[[Summary], None] = lambda _summary: None,
) -> Harvester:
    """The harvester as `oparl-server harvest` runs it (bench/harvest.py measures this one)."""
    # Writes take SQLite's write lock at their start, as the server's own do: a harvest may run
    # beside a serving app's writes, and a deferred transaction that read first could not write.
    writes = engine.execution_options(sqlite_immediate=True)
    return Harvester(
        make_sessionmaker(writes),
        client,
        urls=UrlBuilder(settings.public_base_url),
        store=ContentStore(settings.files_dir),
        clock=utcnow,
        tz=settings.zone,
        options=options,
        progress=progress,
        render=lambda summary: _render_harvested(settings, engine, summary),
    )


# Objects written from which rendering in one process per core pays for starting the processes.
PARALLEL_RENDER_FROM = 20_000


def _render_harvested(settings: Settings, engine: Engine, summary: Summary) -> None:
    written = sum((summary.created + summary.changed + summary.deleted).values())
    if written:
        newline = "\n" if sys.stderr.isatty() else ""  # after the progress line
        print(f"{newline}rendering what the harvest wrote ({written} objects and what embeds them)", file=sys.stderr)
    if written < PARALLEL_RENDER_FROM or (os.cpu_count() or 1) < 2:
        with make_sessionmaker(engine)() as session:
            Snapshots(UrlBuilder(settings.public_base_url), settings.zone).refresh_stale(session)
        return
    try:
        render(settings)
    except KeyboardInterrupt:
        print("interrupted while rendering: the harvest is stored; `oparl-server render` renders the rest",
              file=sys.stderr)  # fmt: skip
        raise


class Progress:
    """One updating line at a terminal; a plain log line per 20 pages otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.tty, self.started = stream, stream.isatty(), time.monotonic()

    def __call__(self, summary: Summary) -> None:
        rate = summary.objects / max(time.monotonic() - self.started, 1e-9)
        line = f"{summary.pages} pages, {summary.objects} objects, {rate:.0f} objects/s, {len(summary.failures)} errors"
        if self.tty:
            print(f"\r{line}", end="", file=self.stream, flush=True)
        elif summary.pages % 20 == 0:
            print(line, file=self.stream, flush=True)


def generate(settings: Settings, args: argparse.Namespace) -> None:
    """A synthetic council into an empty database, rendered and ready to serve."""
    engine = make_engine(url=settings.database_url)
    check_schema(engine)
    try:
        with make_sessionmaker(engine)() as session:
            started = time.monotonic()
            generator = Generator(
                session, ContentStore(settings.files_dir), papers=args.papers, seed=args.seed, tz=settings.zone
            )
            counts = generator.run()
            session.commit()
            took = time.monotonic() - started
            print(f"generated {counts.total} rows in {took:.1f} s ({counts.total / took:,.0f} rows/s)", flush=True)
            for table, rows in sorted(counts.rows.items()):
                print(f"  {table}: {rows}")
        if not args.no_render:
            render(settings, args.jobs)
    finally:
        engine.dispose()


def render(settings: Settings, jobs: int | None = None) -> None:
    """Stores the rendering of every object that has none or a stale one (after an upgrade, say),
    in one process per core: rendering is CPU-bound Python."""
    engine = make_engine(url=settings.database_url)
    try:
        check_schema(engine)
    finally:
        engine.dispose()
    jobs = jobs or os.cpu_count() or 1
    started = time.monotonic()
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        done = sum(pool.map(_render_part, [settings] * jobs, [(k, jobs) for k in range(jobs)]))
    took = time.monotonic() - started
    print(f"rendered {done} objects in {took:.1f} s ({done / took:,.0f}/s, {jobs} processes)", flush=True)


def bulk_gc() -> None:
    """Bulk work makes many objects that live for a batch: the default thresholds would run full
    collections over them again and again (about a fifth of the time of a render)."""
    gc.set_threshold(100_000, 50, 100)


def _render_part(settings: Settings, part: tuple[int, int]) -> int:
    bulk_gc()  # a spawned process starts with the defaults
    engine = make_engine(url=settings.database_url)
    snapshots = Snapshots(UrlBuilder(settings.public_base_url), settings.zone)
    started, last = time.monotonic(), [time.monotonic()]

    def progress(type_name: str, done: int) -> None:
        now = time.monotonic()
        if part[0] == 0 and now - last[0] >= 15:
            last[0] = now
            print(f"  process 1: {done} objects, now {type_name}, {done / (now - started):,.0f}/s", flush=True)

    try:
        with make_sessionmaker(engine)() as session:
            return snapshots.refresh_stale(session, part=part, progress=progress)
    finally:
        engine.dispose()


def serve(settings: Settings) -> None:
    engine = make_engine(url=settings.database_url)
    try:
        check_schema(engine)  # say so before uvicorn buries it in a start-up traceback
    finally:
        engine.dispose()
    print(f"OParl System: {settings.public_base_url}/oparl/v1.1/system", flush=True)
    print(f"API docs:     {settings.public_base_url}/docs", flush=True)
    if settings.workers > 1:  # each worker builds its app from the same OPARL_* environment
        os.environ.update({"OPARL_DATABASE_URL": settings.database_url, "OPARL_HOST": settings.host})
        os.environ.update({"OPARL_PORT": str(settings.port), "OPARL_PUBLIC_BASE_URL": settings.public_base_url})
        os.environ["OPARL_ACCESS_LOG"] = str(settings.access_log)
        with metrics.multiprocess_dir():  # before the workers start: they import prometheus_client
            # A worker that is slow to start on a busy host is not dead (uvicorn's 5 s killed them in a loop).
            uvicorn.run("api.app:create_app", factory=True, workers=settings.workers, timeout_worker_healthcheck=60,
                        **_uvicorn_options(settings))  # fmt: skip
    else:
        uvicorn.run(create_app(settings), **_uvicorn_options(settings))


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    # The app logs each request itself (with its id) and reads X-Forwarded-For only from
    # OPARL_TRUSTED_PROXIES: uvicorn's own access log and proxy handling are off.
    return {"host": settings.host, "port": settings.port, "log_config": logs.log_config(settings),
            "access_log": False, "proxy_headers": False}  # fmt: skip


def demo(settings: Settings) -> None:
    """A fresh SQLite database in the data folder with the Lübeck records, then serve it."""
    database = (settings.data_dir / "demo.sqlite3").resolve()
    for stale in (
        database,
        database.with_name(database.name + "-wal"),
        database.with_name(database.name + "-shm"),
    ):
        stale.unlink(missing_ok=True)
    settings = settings.model_copy(update={"database_url": f"sqlite:///{database}"})
    migrate(settings)
    load_fixtures(settings, DEMO_FIXTURES)
    serve(settings)


def _settings(args: argparse.Namespace) -> Settings:
    options = ("host", "port", "workers")
    overrides = {k: v for k in options if (v := getattr(args, k, None))}
    return Settings(**overrides)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oparl-server", description="OParl 1.1 server")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("demo", "fresh SQLite database with the Lübeck demo data, then serve"),
        ("serve", "serve the database in OPARL_DATABASE_URL"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--host", help="interface to listen on (OPARL_HOST, default 127.0.0.1)")
        sub.add_argument("--port", type=int, help="port to listen on (OPARL_PORT, default 8000)")
        sub.add_argument("--workers", type=int, help="worker processes (OPARL_WORKERS, default 1)")
    commands.add_parser("migrate", help="create or upgrade the database schema")
    load = commands.add_parser("load-fixtures", help="load a folder of OParl-shaped JSON records")
    load.add_argument("path", type=Path)
    harvest = commands.add_parser("harvest", help="mirror another OParl server into OPARL_DATABASE_URL")
    harvest.add_argument("system_url", help="the source's System URL")
    harvest.add_argument("--rate", type=float, default=2.0, help="requests per second per host (default 2)")
    harvest.add_argument("--concurrency", type=int, default=2, help="requests at a time per host (default 2)")
    harvest.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    harvest.add_argument("--files", action="store_true", help="download file contents too")
    harvest.add_argument("--full", action="store_true", help="walk everything, ignoring modified_since")
    harvest.add_argument("--overlap-hours", type=float, default=1.0, help="incremental overlap window (default 1)")
    harvest.add_argument(
        "--batch", type=int, default=1000, help="store pages together up to this many objects (default 1000)"
    )
    gen = commands.add_parser(
        "generate",
        help="a synthetic council of any size into an empty database (locked until done: generate, then serve)",
    )
    gen.add_argument("--papers", type=int, default=10_000, help="number of papers (default 10000)")
    gen.add_argument("--seed", type=int, default=1, help="random seed: the same seed gives the same data (default 1)")
    gen.add_argument("--no-render", action="store_true", help="skip storing renderings (see 'render')")
    gen.add_argument("--jobs", type=int, help="rendering processes (default: one per core)")
    rend = commands.add_parser("render", help="store renderings of objects that have none or a stale one")
    rend.add_argument("--jobs", type=int, help="processes (default: one per core)")
    tokens = commands.add_parser("token", help="API tokens for the write API and non-public records")
    actions = tokens.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a token and print it (once)")
    create.add_argument("name", help="who or what uses it, e.g. 'Sitzungsdienst'")
    create.add_argument("--scope", action="append", choices=auth.SCOPES, help="repeatable; default: write")
    actions.add_parser("list", help="list tokens (never their secrets)")
    revoke = actions.add_parser("revoke", help="revoke a token")
    revoke.add_argument("id", type=int)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("harvest", "generate", "render"):
        bulk_gc()
    try:
        settings = _settings(args)
        if args.command == "demo":
            demo(settings)
        elif args.command == "serve":
            serve(settings)
        elif args.command == "harvest":
            return harvest(settings, args)
        elif args.command == "token":
            token(settings, args)
        elif args.command == "generate":
            generate(settings, args)
        elif args.command == "render":
            render(settings, args.jobs)
        elif args.command == "migrate":
            migrate(settings)
            print(f"migrated {settings.database_url}")
        else:
            load_fixtures(settings, args.path)
    except (SchemaNotMigrated, OParlError) as exc:
        print(f"oparl-server: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
