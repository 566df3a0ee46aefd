"""One harvester's full walk at limit=1000, the two checkouts' servers alternated (issue 18): a
quick check of whether a walk's speed moved, without the rest of bench/misses.py's workloads.

    .venv/bin/python bench/walk_alternate.py --before /work/wt-before --after . --db postgresql \
        --workers 2 --order after,before,before,after,after,before

With --memory it reads the serving process's resident MB after start and after 5 s of distinct
paper pages of 100 (gzip) instead of walking (`serve` with 1 worker: the process `serve` started).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import misses

from bench import Dataset


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=Path("."))
    parser.add_argument("--db", default="postgresql")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--order", default="after,before,before,after")
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    dataset = Dataset(args.db, 100_000, 1)
    ceiling = Path("/tmp/oparl-walk-alternate-ceiling.json")
    ceiling.write_bytes(b"{}")
    sides = {"before": args.before.resolve(), "after": args.after.resolve()}
    pages = [f"{misses.API}/body/1/paper?after={i}" for i in range(1, 200_000, 7)]
    for name in args.order.split(","):
        server = misses.Server(sides[name], dataset, args.workers, ceiling)
        try:
            if args.memory:
                started = server.rss_mb()
                misses.wrk(pages, misses.HERE, 32, 5, "gzip")
                print(f"{name}: start {max(started):.1f} MB, after 5 s of pages of 100 {max(server.rss_mb()):.1f} MB")
            else:
                got = misses.walk(1000, 1, 0)
                print(f"{name}: {got['objects/s']:,.0f} objects/s, CPU ms per 1000 "
                      f"{got['CPU ms per 1000 objects']:.1f}, p99 {got['p99']:.0f} ms", flush=True)  # fmt: skip
        finally:
            server.stop()


if __name__ == "__main__":  # the harvesters are spawned processes that import this module
    main()
