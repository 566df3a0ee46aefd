"""Issue 14: harvesting this server by its kommParl snapshot + feed against the list walk, in the same
run, alternating, into fresh SQLite mirrors; then the mirrors compared list by list (count and
digest of the source ids, oparl/manifest.py), and a second (incremental) run of each mode.

    PYTHONPATH=$PWD .venv/bin/python bench/kommparl_harvest.py --papers 2000 --rounds 2

The source is `oparl-server serve` (one worker) over a synthetic council generated once into
bench/data/kommparl-<papers>/; every harvest is `oparl-server harvest --rate R --concurrency N` (default 0 and 4)
(with `--no-kommparl` for the walk) in a process of its own, timed from outside (wall clock,
interpreter start included: the same for both modes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
PORT = 8193
BASE = f"http://127.0.0.1:{PORT}"


def cli(*args: str, env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "api.cli", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return time.monotonic() - started


def environment(database: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OPARL_DATABASE_URL": f"sqlite:///{database}",
            "OPARL_RATE_LIMIT": "", "OPARL_RATE_LIMIT_TOKEN": "", "OPARL_ACCESS_LOG": "false", **extra}  # fmt: skip


def source(papers: int) -> Path:
    folder = ROOT / "bench" / "data" / f"kommparl-{papers}"
    database = folder / "source.sqlite3"
    if not (folder / "READY").exists():
        folder.mkdir(parents=True, exist_ok=True)
        database.unlink(missing_ok=True)
        env = environment(database)
        cli("migrate", env=env)
        cli("generate", "--papers", str(papers), env=env)
        (folder / "READY").touch()
    return database


def digests(database: Path) -> dict[str, tuple[int, str]]:
    sys.path.insert(0, str(ROOT))
    from oparl.manifest import mirror_digests

    engine = create_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        found = mirror_digests(session, f"{BASE}/oparl/v1.1/body/1")
    engine.dispose()
    return {name: (d.count, d.ids) for name, d in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate", default="0", help="harvest --rate (0: no pause; 2: the default politeness)")
    parser.add_argument("--concurrency", default="4")
    args = parser.parse_args()
    database = source(args.papers)
    env = environment(database, OPARL_PORT=str(PORT))
    server = subprocess.Popen([str(ROOT / ".venv/bin/python"), "-m", "api.cli", "serve"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(100):
            try:
                httpx.get(f"{BASE}/oparl/v1.1/system", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        modes = {"list walk": ["--no-kommparl"], "snapshot + feed": []}
        times: dict[str, list[float]] = {mode: [] for mode in modes}
        again: dict[str, list[float]] = {mode: [] for mode in modes}
        mirrors: dict[str, Path] = {}
        with tempfile.TemporaryDirectory() as folder:
            for n in range(args.rounds):
                for mode, flags in modes.items() if n % 2 == 0 else reversed(modes.items()):
                    mirror = Path(folder) / f"{mode.replace(' ', '_')}-{n}.sqlite3"
                    menv = environment(mirror, OPARL_HARVEST_ALLOW_NETWORKS="127.0.0.0/8")
                    cli("migrate", env=menv)
                    harvest = ["harvest", f"{BASE}/oparl/v1.1/system", "--rate", args.rate, "--concurrency",
                               args.concurrency, *flags]  # fmt: skip
                    times[mode].append(cli(*harvest, env=menv))
                    again[mode].append(cli(*harvest, env=menv))
                    mirrors[mode] = mirror
            same = digests(mirrors["list walk"]) == digests(mirrors["snapshot + feed"])
            objects = sum(count for count, _ in digests(mirrors["snapshot + feed"]).values())
    finally:
        server.terminate()
        server.wait()
    print(f"synthetic council of {args.papers} papers ({objects} objects in the Body's lists), {args.rounds} rounds, "
          f"--rate {args.rate} --concurrency {args.concurrency}")  # fmt: skip
    for mode in modes:
        first, second = times[mode], again[mode]
        runs, reruns = " ".join(f"{t:.1f}" for t in first), " ".join(f"{t:.1f}" for t in second)
        print(f"{mode}: first harvest {runs} s (best {objects / min(first):,.0f} objects/s); second {reruns} s")
    ratio = min(times["list walk"]) / min(times["snapshot + feed"])
    print(f"first harvest, walk / snapshot+feed (best of each): {ratio:.2f}")
    ratio2 = min(again["list walk"]) / min(again["snapshot + feed"])
    print(f"second harvest, incremental walk / feed only (best of each): {ratio2:.2f}")
    print(f"mirrors equal list by list (count and digest of the ids): {same}")


if __name__ == "__main__":
    main()
