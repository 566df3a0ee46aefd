"""Harvest throughput: the importer alone, and a harvest of this server over HTTP.

`--replay`: the recorded Hürtgenwald crawl (../shared/realworld/huertgenwald, an SD.NET 1.0
endpoint) answered from memory by an httpx MockTransport, so the figure is the importer's own:
parsing, normalising, converting and storing, page by page, into a fresh SQLite file.

`--papers N`: a real harvest over HTTP, with no rate limit, of this server (`oparl-server serve`,
one worker) serving a synthetic council of N papers on SQLite (the data set `bench/run` builds and
reuses), into a fresh SQLite file. `--source SYSTEM_URL` harvests any other server the same way.

Each run reports objects, pages, the time of the list walk (fetch + store) and of the final
rendering of the changed objects separately, and objects/s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from alembic import command

from api.cli import bulk_gc, make_harvester
from api.settings import Settings
from bench import API, Dataset, Server  # bench/bench.py, beside this file
from models.db import alembic_config, make_engine
from oparl.ingest.client import Politeness, SourceClient
from oparl.ingest.guard import LOOPBACK, Policy
from oparl.ingest.harvest import Options, Summary

ROOT = Path(__file__).resolve().parent.parent
CRAWL = ROOT.parent / "shared" / "realworld" / "huertgenwald"
PREFIX = "https://sdnetrim.kdvz-frechen.de/rim4220/webservice/oparl/v1.0/"


def replay_transport() -> httpx.MockTransport:
    """The recording, read into memory first so that disk reads are not timed."""
    answers = {PREFIX + str(p.relative_to(CRAWL).with_suffix("")): p.read_bytes() for p in CRAWL.rglob("*.json")}

    def answer(request: httpx.Request) -> httpx.Response:
        url = str(request.url).removesuffix("?page=1")
        if url in answers:
            return httpx.Response(200, content=answers[url], headers={"content-type": "application/json"})
        return httpx.Response(404, json={"error": "not recorded"})

    return httpx.MockTransport(answer)


def harvest(system_url: str, transport: httpx.BaseTransport | None, folder: Path) -> list[str]:
    """`oparl-server harvest` as the CLI builds it, with no rate limit, into a fresh SQLite file."""
    settings = Settings(database_url=f"sqlite:///{folder / 'mirror.sqlite3'}", data_dir=folder,
                        public_base_url="http://127.0.0.1:8000")  # fmt: skip
    command.upgrade(alembic_config(settings.database_url), "head")
    engine = make_engine(url=settings.database_url)
    # The synthetic council is served on loopback, which the harvester refuses unless allowed.
    client = SourceClient(Politeness(rate=0, concurrency=4), policy=Policy(networks=LOOPBACK), transport=transport)
    harvester = make_harvester(settings, engine, client, Options(files=False))
    rendering = [0.0]
    render: Callable[[Summary], object] = harvester.render

    def timed_render(summary: Summary) -> None:
        start = time.perf_counter()
        try:
            render(summary)
        finally:
            rendering[0] += time.perf_counter() - start

    harvester.render = timed_render
    start = time.perf_counter()
    summary = harvester.run(system_url)
    total = time.perf_counter() - start
    engine.dispose()
    walk = total - rendering[0]
    # Every object written, embedded ones too (a first harvest creates them all).
    objects = sum(summary.created.values()) + sum(summary.changed.values()) + sum(summary.deleted.values())
    return [
        f"objects written {objects:,} ({summary.objects:,} list items), pages {summary.pages:,}, "
        f"requests {client.requests:,}, failures {len(summary.failures)}",
        f"walk (fetch + store): {walk:.1f} s = {objects / walk:,.0f} objects/s",
        f"rendering at the end: {rendering[0]:.1f} s",
        f"total: {total:.1f} s = {objects / total:,.0f} objects/s",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench/harvest.py", description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--replay", action="store_true", help="the recorded Hürtgenwald crawl, from memory")
    which.add_argument("--papers", type=int, help="serve a synthetic council of this size and harvest it")
    which.add_argument("--source", metavar="SYSTEM_URL", help="harvest this System over HTTP")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    bulk_gc()  # as `oparl-server harvest` does
    with tempfile.TemporaryDirectory() as folder:
        if args.replay:
            lines = harvest(PREFIX + "system", replay_transport(), Path(folder))
        elif args.papers:
            dataset = Dataset("sqlite", args.papers, args.seed)
            if not dataset.ready():
                dataset.build(render=True)
            ceiling = Path(folder) / "ceiling.json"
            ceiling.write_bytes(b"{}")
            server = Server(dataset, workers=1, ceiling=ceiling, cache_mb=None)
            try:
                lines = harvest(f"{API}/system", None, Path(folder))
            finally:
                server.stop()
        else:
            lines = harvest(args.source, None, Path(folder))
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
