"""The write path alone: fixture loads, single PUTs and batches, with nobody reading.

On a fresh database (SQLite file or PostgreSQL database) of the checkout given by `--code`:

1. `load-fixtures` of `--copies` copies of the Lübeck fixtures (every key but the System's
   prefixed `c<i>/`, so each copy is a Body of its own): once into the empty database (everything
   created), once more (everything unchanged), once with every name changed (the records with a
   name changed). Records/s counts the keyed records of the files, nested ones included; wall-clock
   and CPU time are taken inside the process from the CLI's `main` on (bench/checkout.py), so the
   interpreter's start and the imports are not counted, nor PostgreSQL's own processes.
2. A server of the checkout (`python -m api.cli serve`, one worker), a few writes to warm it up,
   and one client sending `--puts` PUTs of new Papers one after another (each with a main File and
   two Consultations, related to the Paper before it), then the same PUTs with changes: per-PUT
   p50/p99, and the server process's CPU time per PUT.
3. `--batches` POSTs to /write/v1/batch of `--batch-size` such Papers each (4 records a Paper),
   created, then changed: records/s and the server's CPU time per record.

Only public entry points are used (the CLI, the HTTP write API), so the harness survives
restructuring of the code it measures.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkout import Checkout, Database, Server, fresh_database, percentile

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "luebeck"
PORT = 8188  # not bench.py's (8100) nor write_latency.py's (8187)
Figures = dict[str, float]


def keyed(value: Any) -> Iterator[dict[str, Any]]:
    """Every record in `value` with a key, nested ones included."""
    if isinstance(value, dict):
        if "key" in value:
            yield value
        for item in value.values():
            yield from keyed(item)
    elif isinstance(value, list):
        for item in value:
            yield from keyed(item)


def _rewrite(value: Any, rename: Callable[[str], str], keys: frozenset[str], suffix: str) -> Any:
    if isinstance(value, dict):
        out = {k: _rewrite(v, rename, keys, suffix) for k, v in value.items()}
        if suffix and isinstance(out.get("name"), str):
            out["name"] += suffix
        return out
    if isinstance(value, list):
        return [_rewrite(item, rename, keys, suffix) for item in value]
    return rename(value) if isinstance(value, str) and value in keys else value


def copies(target: Path, count: int, suffix: str = "") -> int:
    """`count` copies of the fixtures into `target`, in their files' order; the number of records."""
    files = {path.name: json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))}
    system = {r["key"] for records in files.values() for r in records if r["type"] == "System"}
    keys = frozenset(r["key"] for records in files.values() for r in keyed(records)) - system
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(FIXTURES / "files", target / "files", dirs_exist_ok=True)
    total = 0
    for name, records in files.items():
        out = [r for r in records if r["type"] == "System"]
        for i in range(count):
            rename = prefixed(i)
            out += [_rewrite(r, rename, keys, suffix) for r in records if r["type"] != "System"]
        total += sum(1 for _ in keyed(out))
        (target / name).write_text(json.dumps(out, ensure_ascii=False))
    return total


def prefixed(copy: int) -> Callable[[str], str]:
    return lambda key: f"c{copy}/{key}"


def load_figures(code: Checkout, db: Database, count: int) -> tuple[Figures, list[str]]:
    """Records/s and CPU seconds of the three loads; the loader's own summaries, to compare."""
    env = code.env(db)
    work = Path(tempfile.mkdtemp(prefix="oparl-bench-fixtures-"))
    try:
        records = copies(work / "same", count)
        copies(work / "changed", count, suffix=" (geändert)")
        figures, summaries = {}, []
        for label, folder in (("create", "same"), ("unchanged", "same"), ("change", "changed")):
            load = code.timed_cli(["load-fixtures", str(work / folder)], env)
            figures[f"load-fixtures {label} (rec/s)"] = records / load.wall
            figures[f"load-fixtures {label}, CPU (s)"] = load.cpu
            summaries.append(f"load {label}: " + re.sub(r"^loaded \S+: ", "", load.out.strip()))
    finally:
        shutil.rmtree(work)
    return figures, summaries


@functools.cache
def _references() -> tuple[list[str], list[str], list[str]]:
    """Keys of copy 0's Meetings, their Organizations, and its Persons."""
    c0 = prefixed(0)
    meetings = json.loads((FIXTURES / "30_meetings.json").read_text())
    persons = json.loads((FIXTURES / "20_persons.json").read_text())
    organizations = [c0(m["organization"][0]) for m in meetings]
    return [c0(m["key"]) for m in meetings], organizations, [c0(p["key"]) for p in persons]


def paper(tag: str, j: int, version: int) -> dict[str, Any]:
    """A Paper record of copy 0, with a main File and two Consultations, related to Paper j - 1."""
    c0 = prefixed(0)
    meetings, organizations, persons = _references()
    key = f"bench/{tag}/{j}"
    return {
        "body": c0("luebeck"),
        "name": f"Benchmark {tag} {j}, Fassung {version}",
        "reference": f"BENCH/{tag}/{j}",
        "date": "2024-06-01",
        "paperType": "Vorlage" if version == 1 else "Bericht",
        "underDirectionOf": [organizations[j % len(organizations)]],
        "originatorPerson": [persons[j % len(persons)]],
        "relatedPaper": [f"bench/{tag}/{j - 1}"] if j else [],
        "mainFile": {"key": f"{key}/file", "name": f"Vorlage {j}.{version}", "accessUrl": f"https://example.org/{j}"},
        "consultation": [
            {
                "key": f"{key}/consultation/{k}",
                "meeting": meetings[(j + k) % len(meetings)],
                "organization": [organizations[(j + k) % len(organizations)]],
                "role": "zur Entscheidung" if k else f"zur Vorberatung ({version})",
                "authoritative": bool(k),
            }
            for k in range(2)
        ],
    }


RECORDS_PER_PAPER = 4  # the Paper, its main File, two Consultations


def _send(client: httpx.Client, method: str, url: str, body: dict[str, Any], expect: set[int]) -> None:
    for _ in range(10):  # a 409 asks to send it again; with one writer there should be none
        if (answer := client.request(method, url, json=body)).status_code != 409:
            break
    if answer.status_code not in expect:
        raise SystemExit(f"{method} {url}: {answer.status_code} {answer.text[:500]}")


def put_figures(client: httpx.Client, server: Server, puts: int) -> Figures:
    figures = {}
    for version, label, expect in ((1, "create", {201}), (2, "change", {200})):
        latencies, cpu = [], server.cpu()
        for j in range(puts):
            record = paper("put", j, version)
            start = time.perf_counter()
            _send(client, "PUT", f"{server.base}/write/v1/paper/bench/put/{j}", record, expect)
            latencies.append((time.perf_counter() - start) * 1000)
        figures[f"PUT {label} p50 (ms)"] = percentile(latencies, 0.50)
        figures[f"PUT {label} p99 (ms)"] = percentile(latencies, 0.99)
        figures[f"PUT {label}, server CPU per PUT (ms)"] = (server.cpu() - cpu) * 1000 / puts
    return figures


def batch_figures(client: httpx.Client, server: Server, batches: int, size: int) -> Figures:
    figures, records = {}, size * RECORDS_PER_PAPER
    for version, label in ((1, "create"), (2, "change")):
        seconds, cpu = 0.0, server.cpu()
        for b in range(batches):
            ops = [
                {"op": "put", "type": "Paper", "key": f"bench/batch/{j}", "record": paper("batch", j, version)}
                for j in range(b * size, (b + 1) * size)
            ]
            start = time.perf_counter()
            _send(client, "POST", f"{server.base}/write/v1/batch", {"operations": ops}, {200})
            seconds += time.perf_counter() - start
        figures[f"batch of {records} records {label} (rec/s)"] = batches * records / seconds
        figures[f"batch of {records} records {label}, server CPU per record (ms)"] = (
            (server.cpu() - cpu) * 1000 / (batches * records)
        )
    return figures


def warm_up(client: httpx.Client, server: Server) -> None:
    """A few writes of each kind first, not measured: a new process's first requests pay for
    lazy imports and caches filling, which is not what these figures are about."""
    for version, expect in ((1, {201}), (2, {200})):
        for j in range(3):
            _send(client, "PUT", f"{server.base}/write/v1/paper/bench/warm/{j}", paper("warm", j, version), expect)
        ops = [{"op": "put", "type": "Paper", "key": "bench/warm-batch/0", "record": paper("warm-batch", 0, version)}]
        _send(client, "POST", f"{server.base}/write/v1/batch", {"operations": ops}, {200})


def http_figures(code: Checkout, db: Database, args: argparse.Namespace) -> Figures:
    token = code.cli(["token", "create", "bench-writer", "--scope", "write"], code.env(db)).strip().splitlines()[-1]
    with code.serve(db, args.port) as server:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            warm_up(client, server)
            figures = put_figures(client, server, args.puts)
            figures |= batch_figures(client, server, args.batches, args.batch_size)
    return figures


def run(code: Checkout, kind: str, args: argparse.Namespace) -> tuple[Figures, list[str]]:
    """One database's figures (name -> value) and the loader's summaries."""
    with fresh_database(kind, "write") as db:
        code.cli(["migrate"], code.env(db))
        figures, summaries = load_figures(code, db, args.copies)
        figures |= http_figures(code, db, args)
    return figures, summaries


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--copies", type=int, default=60, help="copies of the Lübeck fixtures per load")
    parser.add_argument("--puts", type=int, default=100, help="PUTs of single Papers, created then changed")
    parser.add_argument("--batches", type=int, default=4, help="batch writes, created then changed")
    parser.add_argument("--batch-size", type=int, default=50, help="Papers per batch (4 records each)")
    parser.add_argument("--port", type=int, default=PORT)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench/write_path.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose code is measured")
    parser.add_argument("--db", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    add_arguments(parser)
    args = parser.parse_args(argv)
    code = Checkout(args.code.resolve())
    for kind in args.db.split(","):
        figures, summaries = run(code, kind, args)
        lines = [f"{kind}: {name} {value:,.1f}" for name, value in figures.items()] + summaries
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
