"""The commands' work on the database: migrate, load fixtures, generate, render (api/cli.py wires them)."""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, wait
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

from sqlalchemy import make_url, select

from api.migrating import is_head, migrate_to
from api.progress import Progress
from api.settings import Settings
from api.synthetic import Generator
from models import Body, utcnow
from models.db import check_schema, make_engine, make_sessionmaker
from oparl import write
from oparl.content import ContentStore, import_directory, missing_contents
from oparl.load.loader import Loader
from oparl.records import read_directory
from oparl.search.index import rebuild
from oparl.urls import UrlBuilder


class Refused(Exception):
    """An operator's request the command cannot carry out: said in one line, exit status 2."""


def migrate(settings: Settings, to: str = "head") -> str:
    """The revision the database is at now."""
    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    revision = migrate_to(settings.database_url, to)
    if is_head(revision):  # an earlier schema is left to an earlier version, which imports what it knows
        import_contents(settings)
    return revision


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
            snapshots = settings.snapshots
            report = write.commit(session, loader, utcnow, snapshots)
    finally:
        engine.dispose()
    print(
        f"loaded {folder}: {report.created} created, {report.changed} changed, "
        f"{report.unchanged} unchanged, {report.deleted} deleted"
    )


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
        search_index(settings)  # the bulk insert bypasses the write path, which keeps the index
    finally:
        engine.dispose()


def search_index(settings: Settings) -> None:
    """Makes the search index anew from the stored objects (oparl/search/index.py)."""
    engine = make_engine(url=settings.database_url)
    try:
        check_schema(engine)
        started = time.monotonic()
        with make_sessionmaker(engine)() as session, Progress("search-index", "objects", sys.stderr) as progress:
            done = rebuild(session, progress=lambda _type, count: progress.update(count))
        took = time.monotonic() - started
        print(f"indexed {done} objects in {took:.1f} s ({done / max(took, 1e-9):,.0f}/s)", flush=True)
    finally:
        engine.dispose()


def render(settings: Settings, jobs: int | None = None) -> None:
    """Stores the rendering of every object that has none or a stale one (after an upgrade, say),
    in one process per core: rendering is CPU-bound Python."""
    engine = make_engine(url=settings.database_url)
    try:
        check_schema(engine)
        with make_sessionmaker(engine)() as session:
            total = settings.snapshots.count_stale(session)
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
    snapshots = settings.snapshots
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


def where(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)
