"""Cache misses, the traffic users make (issue 18): no URL is asked twice of one server.

    .venv/bin/python bench/misses.py --before /work/wt-perf-before --after . --rounds 2
    .venv/bin/python bench/misses.py --after . --rounds 1 --walk-pages 0    # one side, full walks

Per database (the synthetic sets of bench/bench.py, generated on first use) and worker count, it
starts `python -m api.cli serve` of each checkout (its folder as working directory and PYTHONPATH,
answer cache on, access log off) and measures, after a warm-up on URLs of their own:

- the ceiling: `GET /bench/ceiling`, the first paper page's bytes from memory (wrk);
- random distinct objects of every type (wrk over a shuffled list of object URLs, each asked once);
- random distinct paper pages of 100 (random cursors);
- random distinct pages of every list of the Body (random cursors, limits 1-200, and a filter drawn
  from a few values per filter, so counts are shared as a harvester's repeated filters share them);
- walks of every list of the Body following links.next, with limit=100 and limit=1000, by 1 and by
  4 concurrent harvesters (processes; harvester i asks limit-i, so they never share a URL), each
  capped at --walk-pages pages per list (0: the whole list).

With --before and --after it alternates the sides pair by pair (ABBA over rounds) so the drift of
a shared machine reaches both, and prints each figure per round, the medians and after/before.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from after_copy import Copy

from bench import BASE, Dataset

# The renderings name BASE (port 8100); this server listens here, links are rewritten.
PORT = int(os.environ.get("OPARL_MISSES_PORT", "8117"))
HERE = f"http://127.0.0.1:{PORT}"
API = "/oparl/v1.1"
# URL segment by table (oparl/catalogue.py), every type but the System; the Body's lists are all but the Body.
OBJECTS = {"body": "body", "legislative_term": "legislative-term", "organization": "organization", "person": "person",
           "membership": "membership", "meeting": "meeting", "agenda_item": "agenda-item", "paper": "paper",
           "consultation": "consultation", "file": "file", "location": "location"}  # fmt: skip
LISTS = {segment: table for table, segment in OBJECTS.items() if table != "body"}
FILTERS = {
    "created_since": ["2010-01-01T00:00:00%2B01:00", "2020-06-01T00:00:00%2B02:00"],
    "modified_since": ["2015-01-01T00:00:00%2B01:00", "2025-01-01T00:00:00%2B01:00"],
    "modified_until": ["2018-01-01T00:00:00%2B01:00", "2026-12-31T00:00:00%2B01:00"],
}
WRK_SCRIPT = """
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  paths = {}
  for line in io.lines("%s") do paths[#paths + 1] = line end
  i = tid + 1
end
request = function()
  local path = paths[i]
  i = i + %d
  if i > #paths then i = (i - 1) %% #paths + 1 end
  return wrk.format("GET", path)
end
"""


class Urls:
    """The distinct URLs of one round, drawn from the database."""

    def __init__(self, dataset: Dataset, seed: int, count: int) -> None:
        draw = random.Random(seed)
        ids: dict[str, list[int]] = {}
        with create_engine(dataset.url).connect() as connection:
            for table in OBJECTS:
                shown = f"select id from {table} where nonpublic = false"
                ids[table] = list(connection.scalars(text(shown)))
        per_type = count // 5
        objects = [f"{API}/{OBJECTS[t]}/{i}" for t, found in ids.items()
                   for i in draw.sample(found, min(per_type, len(found)))]  # fmt: skip
        draw.shuffle(objects)
        self.objects = objects
        papers = draw.sample(ids["paper"], min(count, len(ids["paper"])))
        self.paper_pages = [f"{API}/body/1/paper?after={i}" for i in papers]
        mixed: set[str] = set()
        while len(mixed) < count:
            segment = draw.choice(list(LISTS))
            after = draw.choice(ids[LISTS[segment]])
            query = f"after={after}&limit={draw.randint(1, 200)}"
            name = draw.choice([None, *FILTERS])
            if name is not None:
                query += f"&{name}={draw.choice(FILTERS[name])}"
            mixed.add(f"{API}/body/1/{segment}?{query}")
        self.mixed_pages = sorted(mixed)
        draw.shuffle(self.mixed_pages)


def distinct(urls: Urls) -> tuple[tuple[str, list[str]], ...]:
    """The workloads of distinct URLs, by name."""
    return (("objects", urls.objects), ("paper pages of 100", urls.paper_pages),
            ("pages of every list", urls.mixed_pages))  # fmt: skip


# The walks: (limit, concurrent harvesters).
WALKS = tuple((limit, harvesters) for limit in (100, 1000) for harvesters in (1, 4))


def wrk(
    paths: list[str] | None, url: str, connections: int, duration: int, accept_encoding: str = ""
) -> dict[str, float]:
    """wrk on `url`, or over `paths` each asked once (a warm-up on the first fifth, then the rest);
    with `accept_encoding`, the requests carry that header (wrk sends none by itself)."""
    base = ["wrk", "-t2", f"-c{connections}", "--latency"]
    if accept_encoding:
        base += ["-H", f"Accept-Encoding: {accept_encoding}"]
    if paths is None:
        subprocess.run([*base, "-d2s", url], check=True, capture_output=True)
        out = subprocess.run([*base, f"-d{duration}s", url], check=True, capture_output=True, text=True).stdout
        return _wrk_figures(out, None)
    split = len(paths) // 5
    files = []
    for part in (paths[:split], paths[split:]):
        listed = Path(tempfile.mkstemp(suffix=".txt")[1])
        listed.write_text("\n".join(part) + "\n")
        script = Path(tempfile.mkstemp(suffix=".lua")[1])
        script.write_text(WRK_SCRIPT % (listed, 2))
        files += [listed, script]
    try:
        subprocess.run([*base, "-d2s", "-s", str(files[1]), url], check=True, capture_output=True)
        out = subprocess.run(
            [*base, f"-d{duration}s", "-s", str(files[3]), url], check=True, capture_output=True, text=True
        ).stdout
        return _wrk_figures(out, len(paths) - split)
    finally:
        for file in files:
            file.unlink()


def _wrk_figures(out: str, distinct: int | None) -> dict[str, float]:
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise SystemExit(f"wrk: {bad.group(0)}\n{out}")
    if distinct is not None and requests > distinct:
        raise SystemExit(f"wrk asked {requests} URLs of {distinct}: some twice (use a larger --urls)")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
    }


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def harvester(job: tuple[int, int]) -> tuple[int, float, list[float]]:
    """Every list of Body 1 with `limit`, following links.next (at most `pages` per list, 0: all):
    the objects, the harvester's own CPU seconds and each page's latency."""
    limit, pages_per_list = job
    objects, latencies, cpu = 0, [], time.process_time()
    with httpx.Client(timeout=300) as client:  # default Accept-Encoding, as a harvester sends it
        for segment in LISTS:
            url: str | None = f"{HERE}{API}/body/1/{segment}?limit={limit}"
            seen = 0
            while url and (not pages_per_list or seen < pages_per_list):
                started = time.perf_counter()
                answer = client.get(url)
                answer.raise_for_status()
                page = orjson.loads(answer.content)
                latencies.append(time.perf_counter() - started)
                objects, seen = objects + len(page["data"]), seen + 1
                url = page["links"].get("next")
                url = url.replace(BASE, HERE) if url else None
    return objects, time.process_time() - cpu, latencies


def busy_seconds() -> float:
    """CPU seconds all cores of the machine have spent busy since boot (/proc/stat): every process,
    the server's, the harvesters', PostgreSQL's and anything else's."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def walk(limit: int, harvesters: int, pages_per_list: int) -> dict[str, float]:
    jobs = [(limit - i, pages_per_list) for i in range(harvesters)]
    with multiprocessing.get_context("spawn").Pool(harvesters) as pool:
        pool.map(time.sleep, [0.0] * harvesters)  # the harvesters' interpreters start outside the clock
        busy, started = busy_seconds(), time.perf_counter()
        done = pool.map(harvester, jobs)
        seconds, busy = time.perf_counter() - started, busy_seconds() - busy
    latencies = sorted(t for _, _, times in done for t in times)
    objects, client = sum(n for n, _, _ in done), sum(cpu for _, cpu, _ in done)
    return {"objects/s": objects / seconds, "objects": objects, "p99": latencies[int(len(latencies) * 0.99)] * 1000,
            "cores busy": busy / seconds, "CPU ms per 1000 objects": 1e6 * busy / objects,
            "harvesters' CPU ms per 1000 objects": 1e6 * client / objects}  # fmt: skip


class Server:
    def __init__(self, code: Path, dataset: Dataset, workers: int, ceiling: Path) -> None:
        env = dataset.env(OPARL_WORKERS=str(workers), OPARL_BENCH_CEILING_FILE=str(ceiling), OPARL_PORT=str(PORT),
                          PYTHONPATH=str(code))  # fmt: skip
        self.log = tempfile.NamedTemporaryFile(prefix="oparl-misses-", suffix=".log", delete=False)
        command = [sys.executable, "-m", "api.cli", "serve", "--port", str(PORT)]
        self.process = subprocess.Popen(command, cwd=code, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(600):
            try:
                if httpx.get(f"{HERE}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"the server did not start; see {self.log.name}")

    def rss_mb(self, field: str = "VmRSS") -> list[float]:
        """Each worker's resident MB (VmHWM: its peak since it started)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        kids = [int(p) for p in children.read_text().split()] if children.exists() else []
        pids = [p for p in kids if "resource_tracker" not in Path(f"/proc/{p}/cmdline").read_text()] or [
            self.process.pid
        ]
        sizes = []
        for pid in pids:
            match = re.search(rf"{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
            sizes.append(int(match.group(1)) / 1024 if match else float("nan"))
        return sizes

    def reset_peak(self) -> None:
        """Each worker's VmHWM starts again from its present size (Linux: clear_refs 5)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        kids = [int(p) for p in children.read_text().split()] if children.exists() else []
        for pid in kids or [self.process.pid]:
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError as exc:  # each workload's peak would then be the run's peak so far
                print(f"cannot reset the peak of {pid}: {exc}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def measure(args: argparse.Namespace, code: Path, dataset: Dataset, workers: int, urls: Urls) -> dict[str, float]:
    ceiling = Path(tempfile.mkstemp(suffix=".json")[1])
    server = Server(code, dataset, workers, ceiling)
    try:
        ceiling.write_bytes(httpx.get(f"{HERE}{API}/body/1/paper", headers={"accept-encoding": "identity"}).content)
        figures: dict[str, float] = {"memory MB, start": max(server.rss_mb())}
        c, d = args.connections, args.duration
        top = wrk(None, f"{HERE}/bench/ceiling", c, d)
        figures["ceiling requests/s"] = top["rps"]
        # The peak of each workload apart (which one drives a worker's peak), and of the whole run.
        peaks = [max(server.rss_mb("VmHWM"))]
        for name, paths in distinct(urls):
            server.reset_peak()
            got = wrk(paths, HERE, c, d, args.accept_encoding)
            peaks.append(max(server.rss_mb("VmHWM")))
            figures[f"{name}: memory MB, peak"] = peaks[-1]
            figures[f"{name}: requests/s"] = got["rps"]
            figures[f"{name}: of ceiling %"] = 100 * got["rps"] / top["rps"]
            figures[f"{name}: p99 ms"] = got["p99"]
        for limit, harvesters in WALKS:
            server.reset_peak()
            got = walk(limit, harvesters, args.walk_pages)
            peaks.append(max(server.rss_mb("VmHWM")))
            figures[f"walk limit={limit}, {harvesters} harvester(s): memory MB, peak"] = peaks[-1]
            figures[f"walk limit={limit}, {harvesters} harvester(s): objects/s"] = got["objects/s"]
            figures[f"walk limit={limit}, {harvesters} harvester(s): page p99 ms"] = got["p99"]
            # What bounds 4 harvesters against one on this machine: the cores left idle by one.
            figures[f"walk limit={limit}, {harvesters} harvester(s): cores busy"] = got["cores busy"]
            for cpu in ("CPU ms per 1000 objects", "harvesters' CPU ms per 1000 objects"):
                figures[f"walk limit={limit}, {harvesters} harvester(s): {cpu}"] = got[cpu]
        figures["memory MB, end"] = max(server.rss_mb())
        time.sleep(6)  # a worker gives free heap back every 5 s (api/tuning.py)
        figures["memory MB, 6 s after"] = max(server.rss_mb())
        figures["memory MB, peak"] = max([*peaks, *server.rss_mb("VmHWM")])
        return figures
    finally:
        server.stop()
        ceiling.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="the checkout before the change (optional)")
    parser.add_argument("--after", type=Path, default=Path("."))
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk workload, after a 2 s warm-up")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--urls", type=int, default=60_000, help="distinct URLs drawn per workload and round")
    parser.add_argument("--walk-pages", type=int, default=20, help="pages per list and walk; 0: every page")
    parser.add_argument("--accept-encoding", default="", help="sent by wrk's distinct URLs (e.g. gzip)")
    parser.add_argument("--after-copy", action="store_true", help="serve the after side bench/after_copy.py's copy")
    parser.add_argument("--before-copy", action="store_true", help="... or the before side (the set keyed for after)")
    args = parser.parse_args()
    sides = {"before": args.before, "after": args.after} if args.before else {"after": args.after}
    for code in sides.values():
        for package in ("api", "models", "oparl"):
            subprocess.run([sys.executable, "-m", "compileall", "-q", package], cwd=code, check=True)
    command = " ".join(sys.argv)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"## {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load {load}: `{command}`\n")
    for db in args.db.split(","):
        dataset = Dataset(db, args.papers, args.seed)
        if not dataset.ready():
            dataset.build(render=True)
        for workers in map(int, args.workers.split(",")):
            results: dict[str, dict[str, list[float]]] = {}
            for round_ in range(args.rounds):
                urls = Urls(dataset, args.seed * 1000 + round_, args.urls)
                order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
                for side in order:
                    copied = args.after_copy if side == "after" else args.before_copy
                    served = Copy(db, args.papers, args.seed) if copied else dataset
                    for name, value in measure(args, sides[side].resolve(), served, workers, urls).items():
                        results.setdefault(name, {}).setdefault(side, []).append(value)
                        print(f"<!-- {db} {workers}w round {round_ + 1} {side}: {name} = {value:,.1f} -->", flush=True)
            report(f"{db}, {args.papers:,} papers, {workers} worker(s), {args.connections} connections", results)


def report(title: str, results: dict[str, dict[str, list[float]]]) -> None:
    sides = list(next(iter(results.values())))
    print(f"### {title}\n")
    head = " | ".join(f"{s} (median) | {s} per round" for s in sides)
    print(f"| figure | {head} |" + (" after / before |" if len(sides) == 2 else ""))
    print("|---" * (1 + 2 * len(sides) + (len(sides) == 2)) + "|")
    for name, by_side in results.items():
        cells = " | ".join(
            f"{statistics.median(v):,.1f} | {', '.join(f'{x:,.0f}' for x in v)}" for v in by_side.values()
        )
        ratio = ""
        if len(sides) == 2:
            before = statistics.median(by_side["before"])
            ratio = f" {statistics.median(by_side['after']) / before:.2f} |" if before else " - |"
        print(f"| {name} | {cells} |{ratio}")
    print(flush=True)


if __name__ == "__main__":
    main()
