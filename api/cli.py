"""`oparl-server`: demo, serve, migrate, load-fixtures, harvest, token, audit, generate, render.

Wiring only: the work is in models/ and oparl/."""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import gc
import importlib.metadata
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any, NoReturn

import uvicorn
from sqlalchemy import Engine, make_url, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api import auth, logs, metrics
from api.app import create_app
from api.progress import Progress
from api.settings import Settings, SettingsError, load_settings
from api.synthetic import Generator
from models import ApiToken, Body, WriteAudit, utcnow
from models.db import SchemaNotMigrated, check_schema, db_error_reason, make_engine, make_sessionmaker, upgrade
from oparl import write
from oparl.content import ContentStore, import_directory, missing_contents
from oparl.errors import OParlError
from oparl.ingest.client import Politeness, SourceClient
from oparl.ingest.guard import Network, Policy, parse_networks
from oparl.ingest.harvest import Harvester, Options, Summary
from oparl.load.loader import Loader
from oparl.records import read_directory
from oparl.snapshot import Snapshots
from oparl.urls import UrlBuilder


def demo_fixtures() -> Path:
    """The Lübeck records: package data of an installed wheel (fixtures/ mapped to api/fixtures,
    see pyproject.toml), or fixtures/ of a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "fixtures" / "luebeck"
    return installed if installed.is_dir() else here.parent / "fixtures" / "luebeck"


class Refused(Exception):
    """An operator's request the command cannot carry out: said in one line, exit status 2."""


def migrate(settings: Settings) -> None:
    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    import_contents(settings)


def import_contents(settings: Settings) -> None:
    """File contents that earlier versions kept in the data folder move into the database, each
    checked against its SHA-512; running it again imports nothing twice. The folder is left as it is."""
    engine = make_engine(url=settings.database_url)
    try:
        sessions = make_sessionmaker(engine)
        if settings.files_dir.is_dir():
            report = import_directory(sessions, settings.files_dir)
            if report.imported or report.refused:
                print(f"file contents from {settings.files_dir}: {report.imported} imported into the database, "
                      f"{report.present} there already, {len(report.refused)} refused")  # fmt: skip
            for refused in report.refused:
                print(f"oparl-server: refused {refused}", file=sys.stderr)
        with sessions() as session:
            missing = missing_contents(session)
    finally:
        engine.dispose()
    if missing:
        print(f"oparl-server: {missing} stored files have no content in the database; run `oparl-server migrate` "
              "with the OPARL_DATA_DIR of the host that holds them", file=sys.stderr)  # fmt: skip


def load_fixtures(settings: Settings, folder: Path) -> None:
    engine = make_engine(url=settings.database_url)
    try:
        check_schema(engine)
        with make_sessionmaker(engine)() as session:
            loader = Loader(
                session,
                urls=UrlBuilder(settings.public_base_url),
                store=ContentStore(),
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
    try:
        check_schema(engine)
        with make_sessionmaker(engine)() as session, session.begin():
            if args.action == "create":
                row, secret = auth.create_token(session, args.name, args.scope or ["write"], _expiry(args))
                print(f"token {row.id} ({row.name}, {' '.join(row.scopes)}):\n{secret}")
                print("It is shown this once; the server keeps only a hash of it.", file=sys.stderr)
            elif args.action == "revoke":
                if auth.revoke_token(session, args.id) is None:
                    raise Refused(f"no token {args.id}")
                print(f"token {args.id} revoked")
            else:
                print("id\tname\tscopes\tstate\tcreated\tlast used\texpires")
                now = utcnow()
                for row in session.scalars(select(ApiToken).order_by(ApiToken.id)):
                    expired = row.expires is not None and row.expires <= now
                    state = f"revoked {row.revoked.isoformat()}" if row.revoked else "expired" if expired else "active"
                    times = [t.isoformat() if t else "-" for t in (row.created, row.last_used, row.expires)]
                    print("\t".join([str(row.id), row.name, " ".join(row.scopes), state, *times]))
    finally:
        engine.dispose()


def audit(settings: Settings, args: argparse.Namespace) -> None:
    engine = make_engine(url=settings.database_url)
    try:
        check_schema(engine)
        with make_sessionmaker(engine)() as session:
            if args.token is not None and session.get(ApiToken, args.token) is None:
                raise Refused(f"no token {args.token}")
            print("time\ttoken\tname\top\ttype\tkey\tid\tresult")
            for line in audit_lines(session, args.token, _since(args.since), args.limit):
                print(line)
    finally:
        engine.dispose()


def audit_lines(session: Session, token_id: int | None, since: dt.datetime | None, limit: int) -> list[str]:
    """The write audit newest first, one tab-separated line per written object."""
    query = (
        select(WriteAudit, ApiToken.name)
        .join(ApiToken, WriteAudit.token_id == ApiToken.id)
        .order_by(WriteAudit.at.desc(), WriteAudit.id.desc())
        .limit(limit)
    )
    if token_id is not None:
        query = query.where(WriteAudit.token_id == token_id)
    if since is not None:
        query = query.where(WriteAudit.at >= since)
    lines = []
    for row, name in session.execute(query):
        cells = (row.at.isoformat(), str(row.token_id), name, row.op, row.type, row.key or "-", str(row.object_id))
        lines.append("\t".join(_cell(cell) for cell in (*cells, row.result)))
    return lines


def _cell(text: str) -> str:
    """Keys are the writers' strings: a tab or line break in one must not forge a column or line."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _since(text: str | None) -> dt.datetime | None:
    """`--since 2026-12-01` or `2026-12-01T08:00:00` (UTC unless it names its offset)."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Refused(f"--since: expected a date or time yyyy-mm-dd[Thh:mm[:ss]][+hh:mm], got {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _expiry(args: argparse.Namespace) -> dt.datetime | None:
    """`--expires 2027-01-31` (the token works through that day, UTC) or `--days N` from now."""
    if args.expires is not None:
        try:
            day = dt.date.fromisoformat(args.expires)
        except ValueError:
            raise OParlError(f"--expires: expected a date yyyy-mm-dd, got {args.expires!r}") from None
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    if args.days is not None:
        if args.days < 1:
            raise OParlError(f"--days: expected at least 1, got {args.days}")
        return utcnow() + dt.timedelta(days=args.days)
    return None


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
            Snapshots(UrlBuilder(settings.public_base_url), settings.zone).refresh_stale(session)
        return
    try:
        render(settings)
    except KeyboardInterrupt:
        print("interrupted while rendering: the harvest is stored; `oparl-server render` renders the rest",
              file=sys.stderr)  # fmt: skip
        raise


def generate(settings: Settings, args: argparse.Namespace) -> None:
    """A synthetic council into an empty database, rendered and ready to serve."""
    engine = make_engine(url=settings.database_url)
    try:
        check_schema(engine)
        with make_sessionmaker(engine)() as session:
            if session.scalar(select(Body.id).limit(1)) is not None:
                raise Refused(f"{where(settings)} holds records already: generate into an empty database")
            started = time.monotonic()
            with Progress("generate", "papers", sys.stderr, total=args.papers) as progress:
                generator = Generator(session, ContentStore(), papers=args.papers, seed=args.seed, tz=settings.zone)
                generator.progress = progress.update
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
        with make_sessionmaker(engine)() as session:
            total = Snapshots(UrlBuilder(settings.public_base_url), settings.zone).count_stale(session)
    finally:
        engine.dispose()
    jobs = jobs or os.cpu_count() or 1
    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    rendered: Synchronized[int] = context.Value("q", 0)  # by all processes, for the progress display
    with (
        Progress("render", "objects", sys.stderr, total=total) as progress,
        ProcessPoolExecutor(jobs, mp_context=context, initializer=_count_into, initargs=(rendered,)) as pool,
    ):
        parts = [pool.submit(_render_part, settings, (k, jobs)) for k in range(jobs)]
        while wait(parts, timeout=0.2).not_done:
            progress.update(rendered.value)
        done = sum(part.result() for part in parts)
        progress.update(done)
    took = time.monotonic() - started
    print(f"rendered {done} objects in {took:.1f} s ({done / took:,.0f}/s, {jobs} processes)", flush=True)


def bulk_gc() -> None:
    """Bulk work makes many objects that live for a batch: the default thresholds would run full
    collections over them again and again (about a fifth of the time of a render)."""
    gc.set_threshold(100_000, 50, 100)


_rendered: Synchronized[int] | None = None  # in a render process: the count shared with the parent


def _count_into(counter: Synchronized[int]) -> None:
    global _rendered
    _rendered = counter


def _render_part(settings: Settings, part: tuple[int, int]) -> int:
    bulk_gc()  # a spawned process starts with the defaults
    engine = make_engine(url=settings.database_url)
    snapshots = Snapshots(UrlBuilder(settings.public_base_url), settings.zone)
    counted = [0]

    def progress(_type_name: str, done: int) -> None:
        if _rendered is not None:
            with _rendered.get_lock():
                _rendered.value += done - counted[0]
            counted[0] = done

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
    # OPARL_TRUSTED_PROXIES: uvicorn's own access log and proxy handling are off. No `server`
    # header: nothing advertises the stack to scanners.
    return {"host": settings.host, "port": settings.port, "log_config": logs.log_config(settings),
            "access_log": False, "proxy_headers": False, "server_header": False}  # fmt: skip


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
        for stale in (
            database,
            database.with_name(database.name + "-wal"),
            database.with_name(database.name + "-shm"),
        ):
            stale.unlink(missing_ok=True)
        settings = settings.model_copy(update={"database_url": f"sqlite:///{database}"})
        migrate(settings)
        load_fixtures(settings, demo_fixtures())
        serve(settings)


def where(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)


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
    commands.add_parser("migrate", help="create or upgrade the database schema")
    load = commands.add_parser("load-fixtures", help="load a folder of OParl-shaped JSON records")
    load.add_argument("path", type=Path)
    harvest = commands.add_parser("harvest", help="mirror another OParl server into OPARL_DATABASE_URL")
    harvest.add_argument("system_url", help="the source's System URL")
    harvest.add_argument(
        "--rate", type=_rate, default=2.0, help="requests per second per host (default 2; 0: no pause between them)"
    )
    harvest.add_argument("--concurrency", type=_counted(1), default=2, help="requests at a time per host (default 2)")
    harvest.add_argument("--timeout", type=_positive, default=60.0, help="seconds per request (default 60)")
    harvest.add_argument("--files", action="store_true", help="download file contents too")
    harvest.add_argument("--full", action="store_true", help="walk everything, ignoring modified_since")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("harvest", "generate", "render"):
        bulk_gc()
    try:
        settings = _settings(args)
        return _run(settings, args)
    except (SettingsError, SchemaNotMigrated, OParlError, Refused) as exc:
        print(f"oparl-server: {exc}", file=sys.stderr)
    except DBAPIError as exc:  # unreachable server, missing database, no permission …
        print(f"oparl-server: {where(settings)}: {db_error_reason(exc)}", file=sys.stderr)
    except KeyboardInterrupt:
        print("oparl-server: interrupted", file=sys.stderr)
        return 130
    return 2


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "demo":
        demo(settings)
    elif args.command == "serve":
        serve(settings)
    elif args.command == "harvest":
        return harvest(settings, args)
    elif args.command == "token":
        token(settings, args)
    elif args.command == "audit":
        audit(settings, args)
    elif args.command == "generate":
        generate(settings, args)
    elif args.command == "render":
        render(settings, args.jobs)
    elif args.command == "migrate":
        migrate(settings)
        print(f"migrated {where(settings)}")
    else:
        load_fixtures(settings, args.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
