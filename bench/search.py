"""Full-text search (issue 15) against the substring match peers use, on one generated data set.

Usage: .venv/bin/python bench/search.py --db sqlite:///bench/data/search-100k.sqlite3 [--seconds 20]
           [--clients 8] [--rebuild] [--api] [--profile]

For one migrated database holding a generated council (`oparl-server generate --seed S`, rendered
and indexed), in one run: the index size; with --rebuild the index build rate (`search-index` done
in this process, timed); then query latency p50/p99 with `--clients` threads (each its own
connection) over a fixed mix of one-word, two-word, prefix and reference queries drawn from the
data (seeded), for
  search    the statement a search page runs (oparl.search.engines: ranked, limited to 21 rows)
  page      the whole page as the API builds it (renderings of the page's hits, snippets)
  like      the peers' substring match: papers whose name or reference holds the word
            (`LIKE '%word%'`, case-insensitive: ILIKE on PostgreSQL, LIKE on SQLite), newest 20
and with --api the HTTP answer of `GET /body/1/search` from `oparl-server serve` (one worker).
Each phase runs `--seconds`; phases alternate search/like twice so drift on a shared machine hits
both. --profile runs pyinstrument over 200 page builds and prints where the time goes.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.settings import Settings
from models import File, Paper
from models.db import make_engine
from models.search import ENGINE_TABLES
from oparl.search.analysis import words
from oparl.search.index import rebuild
from oparl.search.page import search_page
from oparl.search.request import parse_search

Run = Callable[[Session, str], object]


def query_mix(session: Session, count: int, seed: int) -> list[str]:
    """A quarter each: one word, two words, a prefix (word*), a reference; words from paper names and file texts."""
    rng = random.Random(seed)
    names = [n for n in session.scalars(select(Paper.name).where(Paper.name.is_not(None)).limit(5000)) if n]
    texts = [t for t in session.scalars(select(File.text).where(File.text.is_not(None)).limit(2000)) if t]
    vocabulary = sorted({w for t in names + texts for _s, _e, w in words(t) if len(w) >= 5 and not w.isdigit()})
    references = [
        r for r in session.scalars(select(Paper.reference).where(Paper.reference.is_not(None)).limit(20000)) if r
    ]
    mix = []
    for n in range(count):
        kind = n % 4
        if kind == 0:
            mix.append(rng.choice(vocabulary))
        elif kind == 1:
            mix.append(f"{rng.choice(vocabulary)} {rng.choice(vocabulary)}")
        elif kind == 2:
            mix.append(rng.choice(vocabulary)[: rng.randint(4, 6)] + "*")
        else:
            mix.append(rng.choice(references))
    return mix


def like(session: Session, q: str) -> object:
    word = q.rstrip("*").split(" ")[0]
    op = "ILIKE" if session.get_bind().dialect.name == "postgresql" else "LIKE"
    sql = (f"SELECT id FROM paper WHERE body_id = 1 AND deleted = false AND nonpublic = false AND "
           f"(name {op} :w OR reference {op} :w) ORDER BY date DESC, id DESC LIMIT 20")  # fmt: skip
    return session.execute(text(sql), {"w": f"%{word}%"}).all()


def make_page(settings: Settings) -> Run:
    render = settings.snapshots.render

    def page(session: Session, q: str) -> object:
        params = parse_search({"q": q, "limit": "20"})
        return search_page(session, 1, params, render=render, snapshots=settings.snapshots, list_url="x")

    return page


def statement(session: Session, q: str) -> object:
    from oparl.search.engines import Filters, search

    return search(session, parse_search({"q": q}).query, Filters(body_id=1, entitled=False), None, 21)


KINDS = ("one word", "two words", "prefix*", "reference")
SEARCH = "/oparl/v1.1/body/1/search"


def together(client: Callable[[int], None], clients: int) -> None:
    """Runs `client(k)` for k in 0..clients-1 in threads at once, until all return."""
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def load(engine: Engine, run: Run, mix: list[str], clients: int, seconds: float) -> list[tuple[int, float]]:
    """(kind of query, latency in ms) of `run` over `mix`, `clients` threads at once for `seconds`."""
    latencies: list[tuple[int, float]] = []
    lock, stop = threading.Lock(), time.monotonic() + seconds

    def client(offset: int) -> None:
        mine: list[tuple[int, float]] = []
        with Session(engine) as session:
            n = offset
            while time.monotonic() < stop:
                q = mix[n % len(mix)]
                started = time.perf_counter()
                run(session, q)
                mine.append((n % len(mix) % 4, (time.perf_counter() - started) * 1000))
                session.rollback()  # a fresh snapshot per query, as a request gets
                n += clients
        with lock:
            latencies.extend(mine)

    together(client, clients)
    return latencies


def api_load(base: str, mix: list[str], clients: int, seconds: float, path: str = SEARCH) -> list[float]:
    latencies: list[float] = []
    lock, stop = threading.Lock(), time.monotonic() + seconds

    def client(offset: int) -> None:
        mine: list[float] = []
        with httpx.Client(base_url=base, timeout=30) as http:
            n = offset
            while time.monotonic() < stop:
                started = time.perf_counter()
                params = {"q": mix[n % len(mix)]} if path == SEARCH else {"limit": "20", "after": str(n % 5000)}
                answer = http.get(path, params=params)
                answer.raise_for_status()
                mine.append((time.perf_counter() - started) * 1000)
                n += clients
        with lock:
            latencies.extend(mine)

    together(client, clients)
    return latencies


def figures(name: str, ms: list[float], seconds: float) -> str:
    ms = sorted(ms)
    p50, p99 = statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"| {name} | {len(ms) / seconds:,.0f} | {p50:.1f} | {p99:.1f} |"


def index_size(session: Session) -> str:
    if session.get_bind().dialect.name == "postgresql":
        size = session.scalar(text("SELECT pg_total_relation_size('search_entry')")) or 0
        return f"{size / 2**20:,.0f} MB (search_entry with its tsvector columns, GIN and b-tree indexes)"
    where = "name LIKE 'search%' OR name LIKE 'ix_search%'"
    pages = session.execute(text(f"SELECT name, SUM(pgsize) FROM dbstat WHERE {where} GROUP BY name"))
    sizes: dict[str, int] = {str(row[0]): int(row[1]) for row in pages}
    fts = sum(v for k, v in sizes.items() if k.startswith(ENGINE_TABLES))
    rows = sum(v for k, v in sizes.items() if not k.startswith(ENGINE_TABLES))
    mb = 2**20
    parts = f"FTS5 tables {fts / mb:,.0f} MB, search_entry rows and b-trees {rows / mb:,.0f} MB"
    return f"{(fts + rows) / mb:,.0f} MB ({parts})"


def serve(db: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPARL_DATABASE_URL": db, "OPARL_PORT": str(port),
           "OPARL_ACCESS_LOG": "false", "OPARL_RATE_LIMIT": "", "OPARL_WORKERS": "1"}  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/oparl/v1.1/system", timeout=2).raise_for_status()
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def profile(engine: Engine, settings: Settings, mix: list[str]) -> None:
    from pyinstrument import Profiler

    page = make_page(settings)
    with Session(engine) as session, Profiler() as profiler:
        for q in mix[:200]:
            page(session, q)
            session.rollback()
    print(profiler.output_text(unicode=True, color=False, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--api", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--port", type=int, default=8193)
    args = parser.parse_args()
    settings = Settings(database_url=args.db)
    engine = make_engine(url=settings.database_url, pool_size=args.clients + 2)
    with Session(engine) as session:
        papers = session.scalar(select(func.count()).select_from(Paper)) or 0
        files = session.scalar(select(func.count()).select_from(File).where(File.text.is_not(None))) or 0
        if args.rebuild:
            started = time.monotonic()
            done = rebuild(session)
            took = time.monotonic() - started
            print(f"index build: {done:,} objects in {took:.1f} s, {done / took:,.0f} objects/s")
        print(f"{engine.dialect.name}: {papers:,} papers, {files:,} files with text; index {index_size(session)}")
        mix = query_mix(session, args.queries, args.seed)
    if args.profile:
        profile(engine, settings, mix)
        return
    runs: dict[str, list[tuple[int, float]]] = {"search": [], "page": [], "like": []}
    for _round in range(2):
        for name, run in (("search", statement), ("like", like), ("page", make_page(settings))):
            runs[name] += load(engine, run, mix, args.clients, args.seconds / 2)
    print(
        f"\n{args.clients} clients, {args.seconds:.0f} s per kind, {len(mix)} queries (¼ each one word, two words, "
        "prefix, reference)\n"
    )
    print("| kind | queries/s | p50 ms | p99 ms |\n|---|---|---|---|")
    for name, timed in runs.items():
        print(figures(name, [ms for _k, ms in timed], args.seconds))
        for k, kind in enumerate(KINDS):
            print(figures(f"{name}: {kind}", [ms for n, ms in timed if n == k], args.seconds))
    if args.api:
        server = serve(settings.database_url, args.port)
        try:
            api_load(f"http://127.0.0.1:{args.port}", mix, args.clients, 3)  # warm-up
            base = f"http://127.0.0.1:{args.port}"
            print(figures("API GET /body/1/search", api_load(base, mix, args.clients, args.seconds), args.seconds))
            # The same server's plain list page of 20 papers, as a yardstick of what the machine allows.
            lists = api_load(base, mix, args.clients, args.seconds, "/oparl/v1.1/body/1/paper")
            print(figures("API GET /body/1/paper?limit=20 (yardstick)", lists, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=30)
    ratio = statistics.median(ms for _k, ms in runs["like"]) / statistics.median(ms for _k, ms in runs["search"])
    print(f"\nsubstring match p50 / search statement p50: {ratio:.1f}x")
    engine.dispose()


if __name__ == "__main__":
    main()
