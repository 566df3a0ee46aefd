"""Write latency under read load: PUTs at a steady rate while 64 readers miss the cache.

Serves a synthetic data set (built on first use into bench/data/, as bench.py names them) with
`python -m api.cli serve` from the checkout given by `--code` (default: this one, so an older
checkout can be measured with the same harness), then for each round:

- 64 wrk connections request distinct URLs, none of them asked for before in this server's life:
  objects of every type, and list pages with varying `limit`, `after` and `modified_since`, so
  every answer is built from the database rather than from the answer cache;
- meanwhile one PUT of a Paper every `1 / --rate` seconds for `--seconds`, each in its own
  thread on its schedule (a slow PUT does not delay the next: no coordinated omission); its
  latency counts from the scheduled moment to the answer.

Reported: PUT p50/p95/p99/max, readers' requests/s and p99 (wrk), and the PUT latency with no
readers for reference. Loopback only; the rounds are bounded in number and time.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import PG_ADMIN, Dataset, _ms

ROOT = Path(__file__).resolve().parent.parent
PORT = 8187  # not bench.py's port: both may run on one machine
BASE = f"http://127.0.0.1:{PORT}"
API = f"{BASE}/oparl/v1.1"
READERS = 64
# Object types whose pages a reader asks for, and the Body's lists it pages through.
OBJECTS = {"paper": "paper", "meeting": "meeting", "person": "person", "agenda_item": "agenda-item",
           "consultation": "consultation", "file": "file", "organization": "organization"}  # fmt: skip
LISTS = ("paper", "meeting", "person", "agenda-item", "consultation", "file", "membership", "organization")


class WriteDataset(Dataset):
    """bench.py's data sets, under names of their own: the PUTs change them."""

    @property
    def folder(self) -> Path:
        return super().folder.with_name(f"write-{super().folder.name}")

    @property
    def pg_name(self) -> str:
        return f"oparl_write_bench_{self.papers}_seed{self.seed}"

    def env(self, **extra: str) -> dict[str, str]:
        return super().env(OPARL_PORT=str(PORT), OPARL_PUBLIC_BASE_URL=BASE, **extra)


def build(dataset: Dataset, code: Path) -> None:
    """The data set, generated and rendered by this checkout's CLI (not the installed script's)."""
    dataset.folder.mkdir(parents=True, exist_ok=True)
    if dataset.db == "postgresql":
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dataset.pg_name}"')
            admin.execute(f'CREATE DATABASE "{dataset.pg_name}"')
    cli = [sys.executable, "-m", "api.cli"]
    for args in (["migrate"], ["generate", "--papers", str(dataset.papers), "--seed", str(dataset.seed)]):
        subprocess.run([*cli, *args], check=True, cwd=code, env=dataset.env())
    (dataset.folder / "READY").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def reader_paths(dataset: Dataset, count: int, rng: random.Random) -> list[str]:
    """`count` distinct paths (no repeats), shuffled: half objects, half list pages."""
    with create_engine(dataset.url).connect() as connection:
        objects = [
            f"/oparl/v1.1/{segment}/{object_id}"
            for table, segment in OBJECTS.items()
            for object_id in connection.scalars(text(f"select id from {table} where not deleted and not nonpublic"))
        ]
        afters = list(connection.scalars(text("select id from paper where not deleted order by id")))
    rng.shuffle(objects)
    pages = []
    for i in range(count - count // 2):
        segment = LISTS[i % len(LISTS)]
        query = f"limit={10 + i % 90}&after={afters[rng.randrange(len(afters))]}"
        if i % 3 == 0:
            query += f"&modified_since=20{10 + i % 16}-{1 + i % 12:02d}-01T00:00:00Z"
        pages.append(f"/oparl/v1.1/body/1/{segment}?{query}")
    paths = objects[: count // 2] + pages
    rng.shuffle(paths)
    return list(dict.fromkeys(paths))


def wrk_script(paths: list[str]) -> Path:
    """Each wrk thread walks its own slice of `paths` once; past its end it would repeat (reported)."""
    listing = Path(tempfile.mkstemp(prefix="oparl-write-bench-", suffix=".txt")[1])
    listing.write_text("\n".join(paths) + "\n")
    script = Path(tempfile.mkstemp(prefix="oparl-write-bench-", suffix=".lua")[1])
    script.write_text(
        "local n = 0\n"
        "function setup(thread) thread:set('id', n); n = n + 1 end\n"
        "function init(args)\n"
        "  paths, i, k = {}, 0, 0\n"
        f"  for line in io.lines('{listing}') do\n"
        "    if k % 2 == id then paths[#paths + 1] = line end\n"
        "    k = k + 1\n"
        "  end\n"
        "end\n"
        "function request()\n"
        "  i = i + 1\n"
        "  return wrk.format('GET', paths[((i - 1) % #paths) + 1])\n"
        "end\n"
    )
    return script


class Server:
    def __init__(self, dataset: Dataset, code: Path, threads: int | None) -> None:
        extra = {"OPARL_WORKERS": "1"} | ({"OPARL_THREADS": str(threads)} if threads else {})
        self.log = tempfile.NamedTemporaryFile(prefix="oparl-write-bench-server-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve"],
            cwd=code,
            env=dataset.env(**extra),
            stdout=self.log,
            stderr=subprocess.STDOUT,
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

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def make_token(dataset: Dataset, code: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "api.cli", "token", "create", "bench-writer", "--scope", "write"],
        check=True, cwd=code, env=dataset.env(), capture_output=True, text=True,
    ).stdout  # fmt: skip
    return out.strip().splitlines()[-1]


def put_round(token: str, rate: float, seconds: float, tag: str) -> tuple[list[float], int, list[str]]:
    """PUT latencies in ms, each from its scheduled start to its answer; the number of 409s sent
    again (as the API asks); the other failures (counted in the latencies too)."""
    body_url = f"{API}/body/1"
    client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    conflicts, failed = 0, []

    def one(i: int, due: float) -> float:
        nonlocal conflicts
        time.sleep(max(0.0, due - time.monotonic()))
        record = {"body": body_url, "name": f"Schreiblast {tag} {i}", "reference": f"BENCH/{tag}/{i % 25}"}
        while (answer := client.put(f"{BASE}/write/v1/paper/bench-{tag}-{i % 25}", json=record)).status_code == 409:
            conflicts += 1
        if answer.status_code not in (200, 201):
            failed.append(f"{answer.status_code} {answer.text[:200]}")
        return (time.monotonic() - due) * 1000

    count = int(rate * seconds)
    start = time.monotonic() + 0.1
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(count, 64)) as pool:
        futures = [pool.submit(one, i, start + i / rate) for i in range(count)]
        latencies = [f.result() for f in futures]
    client.close()
    return latencies, conflicts, failed


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": ordered[-1]}


def loaded_round(token: str, paths: list[str], args: argparse.Namespace, tag: str) -> dict[str, Any]:
    script = wrk_script(paths)
    duration = int(args.seconds + 4)
    readers = subprocess.Popen(
        ["wrk", "-t2", f"-c{READERS}", f"-d{duration}s", "--timeout", "30s", "--latency", "-s", str(script), BASE],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)  # the readers fill the server's threads first
    latencies, conflicts, failed = put_round(token, args.rate, args.seconds, tag)
    out, _ = readers.communicate(timeout=duration + 60)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        **percentiles(latencies),
        "puts": len(latencies),
        "conflicts": conflicts,
        "failed": failed,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "read_p99": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "requests": requests,
        "repeated": max(0, requests - len(paths)),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "timeouts": re.search(r"timeout (\d+)", out).group(1) if "timeout" in out else "0",  # type: ignore[union-attr]
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench/write_latency.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=5.0, help="PUTs per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the PUT series per round")
    parser.add_argument("--rounds", type=int, default=1, help="loaded rounds per database (each a fresh server)")
    parser.add_argument("--paths", type=int, default=60_000, help="distinct reader URLs per round")
    parser.add_argument("--threads", type=int, help="OPARL_THREADS for the server (default: the server's)")
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose server is measured")
    parser.add_argument("--label", default="", help="name of the code in the report (e.g. before, after)")
    args = parser.parse_args(argv)
    label = args.label or str(args.code)
    for db in args.db.split(","):
        dataset = WriteDataset(db, args.papers, args.seed)
        if not dataset.ready():
            build(dataset, args.code)
        token = make_token(dataset, args.code)
        for round_no in range(args.rounds):
            rng = random.Random(f"{db}-{round_no}-{time.time_ns()}")
            paths = reader_paths(dataset, args.paths, rng)
            server = Server(dataset, args.code.resolve(), args.threads)
            try:
                tag = f"{os.getpid()}-{round_no}"
                idle = percentiles(put_round(token, args.rate, 4, f"{tag}-idle")[0])
                r = loaded_round(token, paths, args, tag)
            finally:
                server.stop()
            print(
                f"{label} | {db} | round {round_no + 1} | idle PUT p50 {idle['p50']:.0f} p99 {idle['p99']:.0f} ms | "
                f"loaded PUT ({r['puts']}, {len(r['failed'])} failed, {r['conflicts']} sent again after 409) "
                f"p50 {r['p50']:.0f} p95 {r['p95']:.0f} p99 {r['p99']:.0f} "
                f"max {r['max']:.0f} ms | readers {r['rps']:.0f} req/s, p99 {r['read_p99']:.0f} ms, "
                f"{r['requests']} requests ({r['repeated']} repeated URLs, {r['non2xx']} non-2xx, "
                f"{r['timeouts']} timeouts)",
                flush=True,
            )
            for failure in sorted(set(r["failed"])):
                print(f"    failed: {failure}", flush=True)


if __name__ == "__main__":
    main()
