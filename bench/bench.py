"""The benchmark: throughput and latency of the public API against a synthetic council.

Run by `bench/run` (see bench/README.md). For each database it prepares (once, then reuses) a
synthetic data set with `oparl-server generate`, starts `oparl-server serve` with the requested
worker count, and measures each endpoint with wrk at a fixed connection count after a warm-up:
requests/s, p50 and p99 latency and response size, next to the ceiling, a trivial route of the
same app stack that answers the first paper page's bytes from memory. Then, optionally, a full
sequential walk of every list of the Body (`limit=1000`, following `links.next`) and a soak run
that samples each worker's resident memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
PORT = 8100
BASE = f"http://127.0.0.1:{PORT}"
API = f"{BASE}/oparl/v1.1"
PG_ADMIN = os.environ.get("OPARL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MODIFIED_SINCE = "2026-03-01T00:00:00+01:00"


@dataclass
class Dataset:
    db: str
    papers: int
    seed: int

    @property
    def folder(self) -> Path:
        return DATA / f"{self.db}-{self.papers}-seed{self.seed}"

    @property
    def url(self) -> str:
        if self.db == "sqlite":
            return f"sqlite:///{self.folder / 'oparl.sqlite3'}"
        return f"postgresql+psycopg://{PG_ADMIN.split('://', 1)[1].rsplit('/', 1)[0]}/{self.pg_name}"

    @property
    def pg_name(self) -> str:
        return f"oparl_bench_{self.papers}_seed{self.seed}"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "OPARL_DATABASE_URL": self.url,
            "OPARL_DATA_DIR": str(self.folder),
            "OPARL_PUBLIC_BASE_URL": BASE,
            "OPARL_PORT": str(PORT),
            "OPARL_ACCESS_LOG": "false",
            **extra,
        }

    def ready(self) -> bool:
        if not (self.folder / "READY").exists():
            return False
        try:
            with create_engine(self.url).connect() as connection:
                return bool(connection.scalar(text("select count(*) from paper")))
        except Exception:  # any failure means: build it again
            return False

    def build(self, render: bool) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        if self.db == "postgresql":
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}"')
                admin.execute(f'CREATE DATABASE "{self.pg_name}"')
        run([BIN / "oparl-server", "migrate"], env=self.env())
        generate = [BIN / "oparl-server", "generate", "--papers", str(self.papers), "--seed", str(self.seed)]
        run([*generate, *([] if render else ["--no-render"])], env=self.env())
        if self.db == "postgresql":
            with psycopg.connect(PG_ADMIN.rsplit("/", 1)[0] + "/" + self.pg_name, autocommit=True) as connection:
                # Compact, as bench/after_copy.py leaves its copies: both sides of a comparison
                # read tables of one layout.
                connection.execute("VACUUM FULL ANALYZE")
        (self.folder / "READY").write_text(dt.datetime.now(dt.UTC).isoformat())


def run(command: list[Any], **kwargs: Any) -> None:
    print("$", " ".join(map(str, command)), flush=True)
    subprocess.run([str(c) for c in command], check=True, **kwargs)


class Server:
    def __init__(self, dataset: Dataset, workers: int, ceiling: Path, cache_mb: int | None) -> None:
        extra = {"OPARL_WORKERS": str(workers), "OPARL_BENCH_CEILING_FILE": str(ceiling)}
        if cache_mb is not None:
            extra["OPARL_CACHE_MB"] = str(cache_mb)
        self.log = tempfile.NamedTemporaryFile(prefix="oparl-bench-server-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [str(BIN / "oparl-server"), "serve"], env=dataset.env(**extra), stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{API}/system", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"the server did not start; see {self.log.name}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        kids = [int(p) for p in children.read_text().split()] if children.exists() else []
        # uvicorn with workers: a supervisor, its workers (and a multiprocessing helper we skip).
        workers = [pid for pid in kids if "multiprocessing" not in Path(f"/proc/{pid}/cmdline").read_text()]
        return workers or [self.process.pid]

    def rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            match = re.search(r"VmRSS:\s+(\d+) kB", status)
            sizes.append(int(match.group(1)) / 1024 if match else float("nan"))
        return sizes

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class Figures:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    size: int
    status: int
    errors: str


def wrk(name: str, url: str, *, connections: int, duration: int, headers: dict[str, str]) -> Figures:
    head = [a for k, v in headers.items() for a in ("-H", f"{k}: {v}")]
    base = ["wrk", "-t2", f"-c{connections}", *head, "--latency"]
    subprocess.run([*base, "-d3s", url], check=True, capture_output=True)  # warm-up
    out = subprocess.run([*base, f"-d{duration}s", url], check=True, capture_output=True, text=True).stdout
    answer = httpx.get(url, headers={"accept-encoding": "identity", **headers}, timeout=60)
    errors = ", ".join(line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line)
    return Figures(
        name,
        float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        len(answer.content),
        answer.status_code,
        errors,
    )


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def endpoints(dataset: Dataset) -> dict[str, tuple[str, dict[str, str]]]:
    with create_engine(dataset.url).connect() as connection:
        live = "from paper where body_id = 1 and not deleted and not nonpublic"
        total = connection.scalar(text(f"select count(*) {live}"))
        deep_after = connection.scalar(
            text(f"select id {live} order by id limit 1 offset :n"), {"n": total * 91 // 100}
        )
        paper = connection.scalar(text(f"select id {live} order by id limit 1 offset :n"), {"n": total // 2})
    first = f"{API}/body/1/paper"
    etag = httpx.get(first, timeout=60).headers["etag"]
    return {
        "System": (f"{API}/system", {}),
        "Body": (f"{API}/body/1", {}),
        "one Paper": (f"{API}/paper/{paper}", {}),
        "paper list, first page": (first, {}),
        "paper list, page at 91 %": (f"{first}?after={deep_after}", {}),
        "paper list, modified_since": (f"{first}?modified_since={MODIFIED_SINCE.replace('+', '%2B')}", {}),
        "304 revalidation of the first page": (first, {"If-None-Match": etag}),
    }


def walk(client: httpx.Client) -> tuple[float, int, int]:
    """Every list of Body 1, limit=1000, following links.next: seconds, pages, objects."""
    started, pages, objects = time.monotonic(), 0, 0
    body = client.get(f"{API}/body/1").json()
    lists = [v for k, v in body.items() if isinstance(v, str) and v.startswith(f"{API}/body/1/")]
    for url in lists:
        next_url: str | None = f"{url}?limit=1000"
        while next_url:
            answer = client.get(next_url)
            answer.raise_for_status()
            page = answer.json()
            pages, objects = pages + 1, objects + len(page["data"])
            next_url = page["links"].get("next")
    return time.monotonic() - started, pages, objects


def soak(server: Server, urls: list[str], seconds: int, connections: int) -> list[tuple[int, list[float]]]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    paths = ", ".join(f'"{u.removeprefix(BASE)}"' for u in urls)
    script.write_text(
        f"paths = {{{paths}}}\ncounter = 0\n"
        "request = function()\n  counter = counter + 1\n"
        "  return wrk.format('GET', paths[(counter % #paths) + 1])\nend\n"
    )
    load = subprocess.Popen(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), BASE],
        stdout=subprocess.DEVNULL,
    )
    samples, started = [], time.monotonic()
    while load.poll() is None:
        samples.append((round(time.monotonic() - started), server.rss_mb()))
        time.sleep(min(30, max(1, seconds // 20)))
    samples.append((round(time.monotonic() - started), server.rss_mb()))
    return samples


def bench(args: argparse.Namespace, dataset: Dataset, workers: int) -> list[str]:
    lines = [f"### {dataset.db}, {dataset.papers:,} papers, {workers} worker(s), {args.connections} connections", ""]
    ceiling = Path(tempfile.mkstemp(suffix=".json")[1])
    server = Server(dataset, workers, ceiling, args.cache_mb)
    try:
        urls = endpoints(dataset)
        first_url = urls["paper list, first page"][0]
        ceiling.write_bytes(httpx.get(first_url, headers={"accept-encoding": "identity"}, timeout=60).content)
        rss_before = server.rss_mb()
        results = [
            wrk(name, url, connections=args.connections, duration=args.duration, headers=headers)
            for name, (url, headers) in urls.items()
            if not args.only or any(word in name for word in args.only)
        ]
        top = wrk(
            "ceiling: first page's bytes from memory",
            f"{BASE}/bench/ceiling",
            connections=args.connections,
            duration=args.duration,
            headers={},
        )
        lines += [
            "| endpoint | status | bytes | requests/s | p50 ms | p99 ms | of ceiling |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in [*results, top]:
            ratio = f"{f.rps / top.rps:.0%}"
            note = f" ({f.errors})" if f.errors else ""
            figures = f"{f.rps:,.0f} | {f.p50_ms:.2f} | {f.p99_ms:.2f} | {ratio}"
            lines.append(f"| {f.name}{note} | {f.status} | {f.size:,} | {figures} |")
        lines += ["", f"Resident memory per worker before the run: {_mb(rss_before)}; after: {_mb(server.rss_mb())}."]
        if args.walk:
            with httpx.Client(timeout=120) as client:
                seconds, pages, objects = walk(client)
            lines.append(
                f"Full walk of every list of the Body (limit=1000, links.next): {objects:,} objects in {pages:,} "
                f"pages, {seconds:.1f} s ({objects / seconds:,.0f} objects/s); memory after: {_mb(server.rss_mb())}."
            )
        if args.soak:
            mix = [url for url, headers in urls.values() if not headers]
            samples = soak(server, mix, args.soak, args.connections)
            lines.append(f"Soak, {args.soak} s of mixed requests: resident memory per worker (MB) over time:")
            lines += [f"- {t:>4} s: {_mb(sizes)}" for t, sizes in samples]
    finally:
        server.stop()
        ceiling.unlink(missing_ok=True)
    return [*lines, ""]


def _mb(sizes: list[float]) -> str:
    return ", ".join(f"{s:.0f} MB" for s in sizes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts to run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint, after a 3 s warm-up")
    parser.add_argument("--walk", action="store_true", help="also time a full walk of every list")
    parser.add_argument("--soak", type=int, default=0, help="seconds of mixed load while sampling memory")
    parser.add_argument("--only", action="append", help="endpoints whose name contains this (repeatable)")
    parser.add_argument("--cache-mb", type=int, help="OPARL_CACHE_MB for the server (0 turns the page cache off)")
    parser.add_argument("--no-render", action="store_true", help="generate without stored renderings")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (bench/run does this)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = [
        f"## {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores: "
        f"`bench/run {' '.join(argv if argv is not None else sys.argv[1:])}`",
        "",
    ]
    for db in args.db.split(","):
        dataset = Dataset(db, args.papers, args.seed)
        if not dataset.ready():
            dataset.build(render=not args.no_render)
        for workers in map(int, args.workers.split(",")):
            report += bench(args, dataset, workers)
            print("\n".join(report), flush=True)
    out = RESULTS / f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.md"
    out.write_text("\n".join(report))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
