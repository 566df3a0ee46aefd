"""Read latency of two checkouts on one database, alternately: an object and a list page, answered
from the answer cache (hot) and built (cold: URLs neither server was asked before).

    bench/reads_alternate.py --before /work/main --after . --database /tmp/b.sqlite3 --rounds 5

Both servers (`python -m api.cli serve` inside each checkout, its folder as PYTHONPATH, one worker,
access log off) serve the same database, which neither writes; one client asks them in turn, one
request at a time, the same URLs in the same order, so the machine's drift reaches both alike.
Prints per kind and side the median latency and the server's CPU time per request (from
/proc/<pid>/stat: less disturbed by other load on a shared machine than wall time), and
after/before. Loopback only; bounded in count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

PORTS = {"before": 8191, "after": 8192}
API = "/oparl/v1.1"


def serve(side: str, code: Path, database: str) -> subprocess.Popen[bytes]:
    port = PORTS[side]
    env = {**os.environ, "PYTHONPATH": str(code), "OPARL_DATABASE_URL": database, "OPARL_ACCESS_LOG": "false",
           "OPARL_PUBLIC_BASE_URL": "http://127.0.0.1:8190", "OPARL_PORT": str(port)}  # fmt: skip
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(command, cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.terminate()
    raise SystemExit(f"{side}: the server did not start")


def cpu_seconds(server: subprocess.Popen[bytes]) -> float:
    """User and system time of the server process so far."""
    fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path)
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, (path, answer.status_code)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--database", required=True, help="a SQLite file with a rendered synthetic council")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hot", type=int, default=300, help="requests of one URL per kind and round")
    args = parser.parse_args()
    database = f"sqlite:///{Path(args.database).resolve()}"
    servers = {side: serve(side, getattr(args, side).resolve(), database) for side in PORTS}
    clients = {side: httpx.Client(base_url=f"http://127.0.0.1:{port}") for side, port in PORTS.items()}
    try:
        first = clients["before"].get(f"{API}/body/1/paper", params={"limit": "1000"}).json()["data"]
        ids = [paper["id"].rsplit("/", 1)[1] for paper in first]
        results: dict[str, dict[str, list[float]]] = {}
        for round_ in range(args.rounds):
            cold = ids[round_ * 40 : (round_ + 1) * 40]  # asked once per side: built, not cached
            kinds = {
                "object, hot": [f"{API}/paper/{ids[0]}"] * args.hot,
                "list page, hot": [f"{API}/body/1/paper"] * args.hot,
                "object, cold": [f"{API}/paper/{i}" for i in cold],
                "list page, cold": [f"{API}/body/1/paper?after={i}&limit=100" for i in cold],
            }
            order = list(PORTS) if round_ % 2 == 0 else list(reversed(PORTS))
            for kind, paths in kinds.items():
                for side in order:
                    cpu = cpu_seconds(servers[side])
                    times = [timed(clients[side], path) for path in paths]
                    cpu = (cpu_seconds(servers[side]) - cpu) / len(paths)
                    results.setdefault(kind, {}).setdefault(side, []).append(statistics.median(times))
                    results.setdefault(f"{kind}, server CPU", {}).setdefault(side, []).append(cpu)
        report(results)
    finally:
        for client in clients.values():
            client.close()
        for server in servers.values():
            server.terminate()
            server.wait(timeout=30)


def report(results: dict[str, dict[str, list[float]]]) -> None:
    print("| kind (ms per request) | before | after | after / before | per round |")
    print("| --- | --- | --- | --- | --- |")
    for kind, sides in results.items():
        before, after = statistics.median(sides["before"]), statistics.median(sides["after"])
        rounds = ", ".join(f"{a / b:.2f}" if b else "-" for a, b in zip(sides["after"], sides["before"], strict=True))
        ratio = f"{after / before:.2f}" if before else "-"
        print(f"| {kind} | {before * 1000:.2f} | {after * 1000:.2f} | {ratio} | {rounds} |")


if __name__ == "__main__":
    main()
