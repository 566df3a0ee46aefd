"""`oparl-server`: demo, serve, migrate, load-fixtures, harvest, token, audit, webhook, deliver, generate, render.

Wiring only: the work is in models/ and oparl/."""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import importlib.metadata
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

import uvicorn
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from api import auth, metrics
from api.commands import (
    Refused,
    bulk_gc,
    generate,
    load_fixtures,
    migrate,
    render,
    search_index,
    where,
)
from api.demo_records import demo_fixtures
from api.manifest_commands import add_command as add_verify_command
from api.manifest_commands import verify_mirror
from api.migrating import explained, is_head
from api.progress import Progress
from api.render_check import stale_warning
from api.served import MIGRATION_HEAD_ENV, hand_settings, serve_here, uvicorn_options
from api.settings import Settings, SettingsError, load_settings
from api.token_commands import audit, token
from api.webhook_commands import add_commands as add_webhook_commands
from api.webhook_commands import deliver, webhook
from models import utcnow
from models.db import (
    SchemaNotMigrated,
    check_schema,
    db_error_reason,
    handed_head,
    make_engine,
    make_sessionmaker,
    trusted_head,
)
from oparl.content import ContentStore
from oparl.errors import OParlError
from oparl.ingest.client import Politeness, SourceClient
from oparl.ingest.guard import Network, Policy, parse_networks
from oparl.ingest.harvest import Harvester, Options, Summary
from oparl.urls import UrlBuilder


def harvest(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(url=settings.database_url)
    politeness = Politeness(rate=args.rate, concurrency=args.concurrency, timeout=args.timeout)
    client = SourceClient(politeness, policy=harvest_policy(settings, args.allow_network or []))
    options = Options(
        files=args.files,
        full=args.full,
        overlap=dt.timedelta(hours=args.overlap_hours),
        batch=args.batch,
        allow_hosts=frozenset(host.lower() for host in args.allow_host or []),
        kommparl=not args.no_kommparl,
    )
    progress = Progress("harvest", "objects", sys.stderr)

    def show(summary: Summary) -> None:
        progress.update(summary.objects, pages=summary.pages, errors=len(summary.failures))

    started = time.monotonic()
    try:
        check_schema(engine)
        summary = make_harvester(settings, engine, client, options, show, progress.close).run(args.system_url)
    finally:
        progress.close()
        client.close()
        engine.dispose()
    if settings.harvest_metrics_file is not None:
        metrics.write_harvest_metrics(settings.harvest_metrics_file, summary, time.monotonic() - started)
    print("\n".join(summary.lines()))
    return 0 if summary.usable else 3


def harvest_policy(settings: Settings, networks: Sequence[Network] = ()) -> Policy:
    return Policy(
        networks=settings.harvest_networks + tuple(networks),
        max_file_bytes=settings.harvest_max_file_bytes,
        max_page_bytes=settings.harvest_max_page_bytes,
        max_seconds=settings.harvest_max_seconds,
    )


def _network(text: str) -> Network:
    try:
        return parse_networks([text])[0]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def make_harvester(
    settings: Settings,
    engine: Engine,
    client: SourceClient,
    options: Options,
    progress: Callable[[Summary], None] = lambda _summary: None,
    progress_done: Callable[[], None] = lambda: None,
) -> Harvester:
    """The harvester as `oparl-server harvest` runs it (bench/harvest.py measures this one).
    `progress_done` ends the progress display before the rendering at the end says so."""
    # Writes take SQLite's write lock at their start, as the server's own do: a harvest may run
    # beside a serving app's writes, and a deferred transaction that read first could not write.
    writes = engine.execution_options(sqlite_immediate=True)

    def render_harvested(summary: Summary) -> None:
        progress_done()
        _render_harvested(settings, engine, summary)

    return Harvester(
        make_sessionmaker(writes),
        client,
        urls=UrlBuilder(settings.public_base_url),
        store=ContentStore(),
        clock=utcnow,
        tz=settings.zone,
        publisher=settings.publisher,
        options=options,
        progress=progress,
        render=render_harvested,
    )


# Objects written from which rendering in one process per core pays for starting the processes.
PARALLEL_RENDER_FROM = 20_000


def _render_harvested(settings: Settings, engine: Engine, summary: Summary) -> None:
    written = sum((summary.created + summary.changed + summary.deleted).values())
    if written:
        print(f"rendering what the harvest wrote ({written} objects and what embeds them)", file=sys.stderr)
    if written < PARALLEL_RENDER_FROM or (os.cpu_count() or 1) < 2:
        with make_sessionmaker(engine)() as session:
            settings.snapshots.refresh_stale(session)
        return
    try:
        render(settings)
    except KeyboardInterrupt:
        print("interrupted while rendering: the harvest is stored; `oparl-server render` renders the rest",
              file=sys.stderr)  # fmt: skip
        raise


def serve(settings: Settings) -> None:
    ready_to_serve(settings)
    hand_settings(settings)  # the serving processes build their apps from these
    if settings.workers == 1:
        serve_here()
    with metrics.multiprocess_dir():  # before the workers start: they import prometheus_client
        # A worker that is slow to start on a busy host is not dead (uvicorn's 5 s killed them in a loop).
        uvicorn.run("api.served:create_served_app", factory=True, workers=settings.workers,
                    timeout_worker_healthcheck=60, **uvicorn_options(settings))  # fmt: skip


def handed_head_apart() -> str:
    """`handed_head`, read in a forked child: `serve`'s own process (the workers' supervisor, or
    the one server it executes in its place) never holds Alembic's 10 MB."""
    # A child that dies (killed, out of memory) raises BrokenProcessPool here, not a wait for ever.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        return pool.submit(handed_head).result()


def ready_to_serve(settings: Settings) -> None:
    """What `serve` checks and says before it serves; it hands the serving processes the migration
    head, read apart so that none of them holds Alembic."""
    engine = make_engine(url=settings.database_url)
    handed = os.environ[MIGRATION_HEAD_ENV] = handed_head_apart()
    try:
        check_schema(engine, trusted_head(handed))  # say so before uvicorn buries it in a start-up traceback
        with engine.connect() as connection:
            stale = stale_warning(connection, settings.snapshots)
    finally:
        engine.dispose()
    if stale is not None:
        print(f"oparl-server: warning: {stale}", file=sys.stderr, flush=True)
    print(f"OParl System: {settings.public_base_url}/oparl/v1.1/system", flush=True)
    print(f"API docs:     {settings.public_base_url}/docs", flush=True)


DEMO_LICENSE = "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
DEMO_ATTRIBUTION = "Hansestadt Lübeck (Demodaten des OParl-Servers)"
DEMO_PAST_DAYS = 10_000


def demo(settings: Settings) -> None:
    """A fresh SQLite database in the data folder with the Lübeck records, then serve it."""
    database = (settings.data_dir / "demo.sqlite3").resolve()
    database.parent.mkdir(parents=True, exist_ok=True)
    # Held while this demo runs (the kernel drops it when the process ends, however it ends): a
    # second demo on the same folder would delete the database the first one serves.
    with open(database.with_name(database.name + ".lock"), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Refused(
                f"a demo is running on {database} already: stop it, or give this one another OPARL_DATA_DIR"
            ) from None
        os.set_inheritable(lock.fileno(), True)  # held on by the server `serve` executes in this process
        for stale in (
            database,
            database.with_name(database.name + "-wal"),
            database.with_name(database.name + "-shm"),
        ):
            stale.unlink(missing_ok=True)
        # The demo publishes under a licence (the catalogue lists no dataset without one).
        licence = {} if settings.license else {"license": DEMO_LICENSE, "license_attribution": DEMO_ATTRIBUTION}
        # The seed meetings are of 2003-2024: the demo's calendars reach back far enough to hold them.
        window = {} if "OPARL_CALENDAR_PAST_DAYS" in os.environ else {"calendar_past_days": DEMO_PAST_DAYS}
        settings = settings.model_copy(update={"database_url": f"sqlite:///{database}", **licence, **window})
        migrate(settings)
        load_fixtures(settings, demo_fixtures())
        serve(settings)


def _settings(args: argparse.Namespace) -> Settings:
    options = ("host", "port", "workers")
    overrides = {k: v for k in options if (v := getattr(args, k, None)) is not None}
    return load_settings(**overrides)


class _Parser(argparse.ArgumentParser):
    """Mistakes in one line (argparse's default repeats the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _counted(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:  # NaN too
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def _rate(text: str) -> float:
    """Requests per second; 0 asks as fast as the concurrency allows (a source of one's own)."""
    if text.strip() in ("0", "0.0"):
        return 0.0
    return _positive(text)


def _version() -> str:
    try:
        return importlib.metadata.version("oparl-server")
    except importlib.metadata.PackageNotFoundError:  # a source checkout run without installing
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="oparl-server", description="OParl 1.1 server")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("demo", "fresh SQLite database with the Lübeck demo data, then serve"),
        ("serve", "serve the database in OPARL_DATABASE_URL"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--host", help="interface to listen on (OPARL_HOST, default 127.0.0.1)")
        sub.add_argument("--port", type=_counted(0), help="port to listen on (OPARL_PORT, default 8000)")
        sub.add_argument("--workers", type=_counted(1), help="worker processes (OPARL_WORKERS, default 1)")
    migrating = commands.add_parser("migrate", help="create or upgrade the database schema, or move it back (--to)")
    earlier = "move the schema to this revision (an earlier one: before running an earlier version)"
    migrating.add_argument("--to", default="head", metavar="REVISION", help=earlier)
    load = commands.add_parser("load-fixtures", help="load a folder of OParl-shaped JSON records")
    load.add_argument("path", type=Path)
    _harvest_arguments(commands.add_parser("harvest", help="mirror another OParl server into OPARL_DATABASE_URL"))
    _bulk_commands(commands)
    _token_commands(commands)
    add_webhook_commands(commands)
    add_verify_command(commands, _network)
    return parser


def _harvest_arguments(harvest: argparse.ArgumentParser) -> None:
    harvest.add_argument("system_url", help="the source's System URL")
    harvest.add_argument(
        "--rate", type=_rate, default=2.0, help="requests per second per host (default 2; 0: no pause between them)"
    )
    harvest.add_argument("--concurrency", type=_counted(1), default=2, help="requests at a time per host (default 2)")
    harvest.add_argument("--timeout", type=_positive, default=60.0, help="seconds per request (default 60)")
    harvest.add_argument("--files", action="store_true", help="download file contents too")
    harvest.add_argument("--full", action="store_true", help="walk everything, ignoring modified_since")
    harvest.add_argument(
        "--no-kommparl",
        action="store_true",
        help="walk the lists even where the source offers a kommParl snapshot and feed",
    )
    harvest.add_argument("--overlap-hours", type=float, default=1.0, help="incremental overlap window (default 1)")
    harvest.add_argument(
        "--batch", type=_counted(1), default=1000, help="store pages together up to this many objects (default 1000)"
    )
    harvest.add_argument(
        "--allow-host",
        action="append",
        metavar="HOST",
        help="repeatable: a host besides the System URL's whose lists and objects may be walked",
    )
    harvest.add_argument(
        "--allow-network",
        action="append",
        type=_network,
        metavar="CIDR",
        help="repeatable: a non-public network the harvest may connect to (adds to OPARL_HARVEST_ALLOW_NETWORKS)",
    )


def _bulk_commands(commands: Any) -> None:
    gen = commands.add_parser(
        "generate",
        help="a synthetic council of any size into an empty database (locked until done: generate, then serve)",
    )
    gen.add_argument("--papers", type=_counted(1), default=10_000, help="number of papers (default 10000)")
    gen.add_argument("--seed", type=int, default=1, help="random seed: the same seed gives the same data (default 1)")
    gen.add_argument("--no-render", action="store_true", help="skip storing renderings (see 'render')")
    gen.add_argument("--jobs", type=_counted(1), help="rendering processes (default: one per core)")
    rend = commands.add_parser("render", help="store renderings of objects that have none or a stale one")
    rend.add_argument("--jobs", type=_counted(1), help="processes (default: one per core)")
    commands.add_parser("search-index", help="make the full-text search index anew (after a restore or an upgrade)")


def _token_commands(commands: Any) -> None:
    tokens = commands.add_parser("token", help="API tokens for the write API and non-public records")
    actions = tokens.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a token and print it (once)")
    create.add_argument("name", help="who or what uses it, e.g. 'Sitzungsdienst'")
    create.add_argument("--scope", action="append", choices=auth.SCOPES, help="repeatable; default: write")
    expiry = create.add_mutually_exclusive_group()
    expiry.add_argument(
        "--expires", metavar="YYYY-MM-DD", help="last day the token works (UTC); default: never expires"
    )
    expiry.add_argument("--days", type=int, help="the token works for this many days")
    actions.add_parser("list", help="list tokens with created, last used and expiry (never their secrets)")
    revoke = actions.add_parser("revoke", help="revoke a token")
    revoke.add_argument("id", type=int)
    audits = commands.add_parser("audit", help="the write audit, newest first: which token wrote what and when")
    audits.add_argument("--token", type=_counted(1), metavar="ID", help="only this token's writes")
    audits.add_argument(
        "--since", metavar="DATETIME", help="only from then on (ISO 8601; UTC unless an offset is given)"
    )
    audits.add_argument("--limit", type=_counted(1), default=100, help="at most this many lines (default 100)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("harvest", "generate", "render", "search-index"):
        bulk_gc()
    try:
        settings = _settings(args)
        return _run(settings, args)
    except SchemaNotMigrated as exc:
        print(f"oparl-server: {explained(settings.database_url, exc)}", file=sys.stderr)
    except (SettingsError, OParlError, Refused) as exc:
        print(f"oparl-server: {exc}", file=sys.stderr)
    except DBAPIError as exc:  # unreachable server, missing database, no permission …
        print(f"oparl-server: {where(settings)}: {db_error_reason(exc)}", file=sys.stderr)
    except KeyboardInterrupt:
        print("oparl-server: interrupted", file=sys.stderr)
        return 130
    return 2


RETURNING: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "harvest": harvest, "verify-mirror": verify_mirror,
}  # fmt: skip
WITH_ARGUMENTS: dict[str, Callable[[Settings, argparse.Namespace], None]] = {
    "token": token, "audit": audit, "webhook": webhook, "deliver": deliver,
}  # fmt: skip


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "demo":
        demo(settings)
    elif args.command == "serve":
        serve(settings)
    elif args.command in RETURNING:
        return RETURNING[args.command](settings, args)
    elif args.command in WITH_ARGUMENTS:
        WITH_ARGUMENTS[args.command](settings, args)
    elif args.command == "generate":
        generate(settings, args)
    elif args.command == "render":
        render(settings, args.jobs)
    elif args.command == "search-index":
        search_index(settings)
    elif args.command == "migrate":
        revision = migrate(settings, args.to)
        print(f"migrated {where(settings)}" + ("" if is_head(revision) else f" to revision {revision}"))
    else:
        load_fixtures(settings, args.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
