"""Where the CPU of distinct paper pages of 100 goes: the server's processes against PostgreSQL's.

    .venv/bin/python bench/cpu_split.py --code /work/wt-before --workers 2 --accept-encoding gzip

Starts `serve` of the checkout on the `postgresql-100000-seed1` set (bench/bench.py; with `--copy`,
bench/after_copy.py's copy of it, for code whose renderings' key differs), asks 10 s of
distinct pages of 100 papers with wrk (32 connections, as bench/misses.py), and divides the CPU
time each side spent (/proc/<pid>/stat) by the pages answered.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("OPARL_MISSES_PORT", "8131")  # beside a running bench/misses.py
import misses
from after_copy import Copy
from sqlalchemy import create_engine, text

from bench import Dataset

SECONDS = 10  # of distinct pages, after the warm-up


def cpu_seconds(matches: bytes) -> float:
    """CPU seconds of every process whose command line holds `matches`."""
    total = 0
    for process in Path("/proc").iterdir():
        if process.name.isdigit():
            try:
                if matches in (process / "cmdline").read_bytes():
                    fields = (process / "stat").read_text().rsplit(")", 1)[1].split()
                    total += int(fields[11]) + int(fields[12])  # utime, stime
            except OSError:
                pass
    return total / os.sysconf("SC_CLK_TCK")


def served_cpu() -> float:
    """The serving processes': `serve` (one worker: executed as api.served) and its workers."""
    return sum(cpu_seconds(name) for name in (b"api.cli", b"api.served", b"multiprocessing"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, default=Path("."))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--accept-encoding", default="")
    parser.add_argument("--copy", action="store_true", help="serve bench/after_copy.py's copy of the set")
    args = parser.parse_args()
    dataset = (Copy if args.copy else Dataset)("postgresql", 100_000, 1)
    ceiling = Path("/tmp/oparl-cpu-split-ceiling.json")
    ceiling.write_bytes(b"{}")
    with create_engine(dataset.url).connect() as connection:
        ids = list(connection.scalars(text("select id from paper where nonpublic = false")))
    paths = [f"{misses.API}/body/1/paper?after={i}" for i in random.Random(7).sample(ids, 60_000)]
    server = misses.Server(args.code.resolve(), dataset, args.workers, ceiling)
    try:
        misses.wrk(paths[:5000], misses.HERE, 32, 2, args.accept_encoding)  # warm-up, on URLs of its own
        postgres, served = cpu_seconds(b"postgres: "), served_cpu()
        got = misses.wrk(paths[5000:], misses.HERE, 32, SECONDS, args.accept_encoding)
        postgres = cpu_seconds(b"postgres: ") - postgres
        served = served_cpu() - served
        pages = got["rps"] * SECONDS
        label = f"{args.code} {args.workers} worker(s) {args.accept_encoding or 'plain'}"
        print(f"{label}: {got['rps']:.0f} pages/s; CPU per page: PostgreSQL {1e3 * postgres / pages:.2f} ms, "
              f"server {1e3 * served / pages:.2f} ms")  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    main()
