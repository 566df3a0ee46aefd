"""The HTML pages against the JSON of the same objects: p50/p99 with wrk, cached and first-build.

    .venv/bin/python bench/pages.py --db postgresql+psycopg://postgres@127.0.0.1:5432/oparl_bench_100000_seed2 \\
        --base http://127.0.0.1:8791 --duration 10

The database is a synthetic set made with `oparl-server generate` (rendered with the same
OPARL_PUBLIC_BASE_URL as `--base`, so the stored renderings are current). It serves it with one
worker (access log off) and measures with `wrk -t2 -c16`: a Paper's page and JSON, the Body's page
and JSON, each once on one URL (answered from the answer cache after the first request) and once
on distinct URLs never asked before (first-build: distinct papers, or the Body with `?v=<n>`, which
the routes ignore but the answer cache keys on). The first-build runs alternate JSON and page for
`--rounds` rounds (the machine's load moves within minutes); every run has papers of its own, from
disjoint slices of a shuffled id list, so none warms another's rows.

`--render N` first stores the renderings of the Body and of N papers drawn by a fixed seed (on a
shared, loaded machine rendering all 1.3 million objects of the 100k set took hours); the runs
then use only papers with a current stored rendering, the state a served database is in.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.settings import Settings
from models import Body, Paper

BIN = Path(sys.executable).parent
LUA = """
local paths = {}
function init(args)
  for line in io.lines("%s") do paths[#paths + 1] = line end
  counter = 0
end
function setup(thread)
  thread:set("tid", threads_started or 0)
  threads_started = (threads_started or 0) + 1
end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[((counter * 2 + tid) %% #paths) + 1])
end
"""


def wrk(base: str, paths: list[str], *, duration: int, connections: int, warm: bool) -> tuple[float, float, float]:
    """requests/s, p50 ms, p99 ms over `paths` (each thread takes every other one)."""
    listing = Path(tempfile.mkstemp(suffix=".txt")[1])
    listing.write_text("\n".join(paths) + "\n")
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(LUA % listing)
    command = ["wrk", "-t2", f"-c{connections}", "--latency", "-s", str(script), base]
    if warm:
        subprocess.run([*command[:3], "-d2s", *command[3:]], check=True, capture_output=True)
    out = subprocess.run([*command[:3], f"-d{duration}s", *command[3:]], check=True, capture_output=True, text=True)
    found = out.stdout
    if "Non-2xx" in found:
        raise SystemExit(f"non-2xx answers:\n{found}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", found).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", found).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", found).group(1))  # type: ignore[union-attr]
    return rps, p50, p99


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def render(db: str, base: str, count: int) -> None:
    """Stores the current renderings of the Body and of `count` papers drawn by a fixed seed."""
    snapshots = Settings(database_url=db, public_base_url=base).snapshots
    engine = create_engine(db)
    with Session(engine) as session:
        ids = sorted(session.scalars(text("select id from paper where body_id = 1 order by id")))
        chosen = sorted(random.Random(2).sample(ids, min(count, len(ids))))
        snapshots.refresh(session, {Body: {1}})
        session.commit()
        started = time.monotonic()
        for start in range(0, len(chosen), 500):
            snapshots.refresh(session, {Paper: set(chosen[start : start + 500])})
            session.commit()
            print(f"rendered {start + 500} papers, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


def _report(name: str, round_no: str, figures: tuple[float, float, float]) -> None:
    rps, p50, p99 = figures
    print(f"| {name} | {round_no} | {rps:,.0f} | {p50:.2f} | {p99:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--base", default="http://127.0.0.1:8791")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="first-build rounds, JSON and page alternating")
    parser.add_argument("--render", type=int, default=0, help="first store the renderings of this many papers")
    args = parser.parse_args()
    if args.render:
        render(args.db, args.base, args.render)
    key = Settings(database_url=args.db, public_base_url=args.base).snapshots.key
    shown = "body_id = 1 and not deleted and not nonpublic and rendered_key = :key order by id"
    with create_engine(args.db).connect() as connection:
        ids = list(connection.scalars(text(f"select id from paper where {shown}"), {"key": key}))
    random.Random(2).shuffle(ids)
    port = args.base.rsplit(":", 1)[1]
    env = {**os.environ, "OPARL_DATABASE_URL": args.db, "OPARL_PUBLIC_BASE_URL": args.base, "OPARL_PORT": port,
           "OPARL_ACCESS_LOG": "false", "OPARL_WORKERS": "1", "OPARL_RATE_LIMIT": "",
           "OPARL_RATE_LIMIT_TOKEN": ""}  # fmt: skip
    server = subprocess.Popen([str(BIN / "oparl-server"), "serve"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{args.base}/oparl/v1.1/system", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        paper = ids[0]
        cached = {
            "Paper JSON, cached": [f"/oparl/v1.1/paper/{paper}"],
            "Paper page, cached": [f"/paper/{paper}"],
            "Body JSON, cached": ["/oparl/v1.1/body/1"],
            "Body page, cached": ["/body/1"],
        }
        print("| what | round | requests/s | p50 ms | p99 ms |\n|---|---|---|---|---|")
        for name, paths in cached.items():
            _report(name, "", wrk(args.base, paths, duration=args.duration, connections=args.connections, warm=True))
        # First-build, JSON and page alternating, each round on papers (and Body URLs) of its own.
        share = len(ids) // (2 * args.rounds)
        for n in range(args.rounds):
            json_ids, page_ids = (
                ids[2 * n * share : (2 * n + 1) * share],
                ids[(2 * n + 1) * share : (2 * n + 2) * share],
            )
            bodies = range(n * 100_000, (n + 1) * 100_000)
            first = {
                "Paper JSON, first-build": [f"/oparl/v1.1/paper/{i}" for i in json_ids],
                "Paper page, first-build": [f"/paper/{i}" for i in page_ids],
                "Body JSON, first-build": [f"/oparl/v1.1/body/1?v={v}" for v in bodies],
                "Body page, first-build": [f"/body/1?v={v}" for v in bodies],
            }
            for name, paths in first.items():
                figures = wrk(args.base, paths, duration=args.duration, connections=args.connections, warm=False)
                _report(name, str(n + 1), figures)
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
