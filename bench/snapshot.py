"""The snapshot of a Body against the full list walk it replaces, on one served database.

Usage: .venv/bin/python bench/snapshot.py --db sqlite:///bench/data/feed-100k/oparl.sqlite3 \\
           --base-url http://127.0.0.1:8190 [--rounds 2] [--encoding identity|gzip]

The database must be migrated and rendered with this checkout's code and `--base-url` (stored
renderings count only for the code, base URL and time zone they were made with). Each phase runs
against a fresh `python -m api.cli serve` (one worker, access log off), so the server's peak
resident memory (VmHWM) belongs to that phase alone; phases alternate (walk, snapshot, snapshot,
walk, ...) so drift of a shared machine hits both. The walk fetches the Body and follows
links.next through each of its ten lists with limit=1000; the snapshot is one streamed GET.
Both count objects (walk: list entries plus the Body; snapshot: its object lines).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
LISTS = ("organization", "person", "meeting", "paper", "legislativeTermList", "locationList", "agendaItem",
         "consultation", "file", "membership")  # fmt: skip


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


@contextmanager
def server(db: str, base_url: str) -> Iterator[subprocess.Popen[bytes]]:
    port = base_url.rsplit(":", 1)[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPARL_DATABASE_URL": db, "OPARL_PUBLIC_BASE_URL": base_url,
           "OPARL_PORT": port, "OPARL_ACCESS_LOG": "false", "OPARL_RATE_LIMIT": "", "OPARL_WORKERS": "1"}  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base_url}/oparl/v1.1/system", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def walk(client: httpx.Client, body: dict[str, object]) -> int:
    count = 1  # the Body
    for name in LISTS:
        url: str | None = f"{body[name]}?limit=1000"
        while url is not None:
            page = client.get(url).raise_for_status().json()
            count += len(page["data"])
            url = page["links"].get("next")
    return count


def snapshot(client: httpx.Client, body: dict[str, object]) -> int:
    lines, last = 0, b""
    with client.stream("GET", str(body["kommparl:snapshot"])) as answer:
        answer.raise_for_status()
        for chunk in answer.iter_bytes():
            lines += chunk.count(b"\n")
            last = (last + chunk)[-200:]
    end = orjson.loads(last.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    assert end["count"] == lines - 2, (end, lines)
    return int(end["count"])


def phase(name: str, run: Callable[[httpx.Client, dict[str, object]], int], db: str, base: str, enc: str) -> str:
    with server(db, base) as process:
        start_rss = rss_kib(process.pid, "VmRSS")
        headers = {"Accept-Encoding": enc}
        with httpx.Client(headers=headers, timeout=600) as client:
            body = client.get(f"{base}/oparl/v1.1/body").json()["data"][0]
            started, cpu = time.perf_counter(), _cpu(process.pid)
            peak = [0]
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(0.2):
                    peak[0] = max(peak[0], rss_kib(process.pid, "VmRSS"))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            objects = run(client, body)
            spent, server_cpu = time.perf_counter() - started, _cpu(process.pid) - cpu
            stop.set()
            sampler.join()
        hwm = rss_kib(process.pid, "VmHWM")
    return (f"| {name} | {enc} | {objects:,} | {spent:.1f} | {objects / spent:,.0f} | {server_cpu:.1f} | "
            f"{start_rss / 1024:.0f} | {max(peak[0], start_rss) / 1024:.0f} | {hwm / 1024:.0f} |")  # fmt: skip


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--base-url", default="http://127.0.0.1:8190")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--encoding", default="identity")
    args = parser.parse_args()
    print("| phase | encoding | objects | seconds | objects/s | server CPU s | RSS start MB | RSS peak MB (sampled) "
          "| VmHWM MB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for i in range(args.rounds):
        order = [("walk", walk), ("snapshot", snapshot)]
        for name, run in order if i % 2 == 0 else order[::-1]:
            print(phase(name, run, args.db, args.base_url, args.encoding), flush=True)


if __name__ == "__main__":
    main()
