"""Calendars, feeds and catalogues of a synthetic Body against a list page, in one run.

    .venv/bin/python bench/distribution.py --data bench/data/dist-100k/oparl.sqlite3 [--duration 10]

Serves the SQLite file given (`python -m api.cli serve` from this checkout, a licence set, port
8189), times the first answer of each document (built from the database: the cold path), then
measures each with wrk (-t2 -c32, as bench/bench.py) beside the first paper list page of the
same Body, and validates the Body's catalogue with pyshacl against tests/distribution's shapes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from pyshacl import validate
from rdflib import Graph

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import wrk  # bench/bench.py

ROOT = Path(__file__).resolve().parent.parent
PORT = 8189
API = f"http://127.0.0.1:{PORT}/oparl/v1.1"
SHAPES = ROOT / "tests" / "distribution" / "dcat_ap_de_shapes.ttl"


def serve(database: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPARL_DATABASE_URL": f"sqlite:///{database}",
           "OPARL_PORT": str(PORT), "OPARL_ACCESS_LOG": "false", "OPARL_RATE_LIMIT": "",
           "OPARL_LICENSE": "http://dcat-ap.de/def/licenses/dl-by-de/2.0",
           "OPARL_LICENSE_ATTRIBUTION": "Bench"}  # fmt: skip
    process = subprocess.Popen([str(ROOT / ".venv/bin/python"), "-m", "api.cli", "serve"], cwd=ROOT, env=env)
    for _ in range(300):
        try:
            if httpx.get(f"{API}/system", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args()
    server = serve(args.data.resolve())
    try:
        organization = httpx.get(f"{API}/body/1/organization", timeout=60).json()["data"][0]["id"]
        documents = {
            "paper list, first page (JSON)": f"{API}/body/1/paper",
            "Body calendar (ICS)": f"{API}/body/1/calendar.ics",
            "Organization calendar (ICS)": f"{organization}/calendar.ics",
            "Body papers feed (Atom)": f"{API}/body/1/papers.atom",
            "Organization papers feed (Atom)": f"{organization}/papers.atom",
            "Organization agenda feed (Atom)": f"{organization}/agenda.atom",
            "Body catalogue (Turtle)": f"{API}/body/1/catalog.ttl",
        }
        print(
            f"data: {args.data}\n\n| document | first answer (built) | requests/s | p50 | p99 | bytes | vs list page |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        cold = {}
        for name, url in documents.items():
            started = time.perf_counter()
            answer = httpx.get(url, timeout=600)
            cold[name] = (time.perf_counter() - started, answer.status_code)
        baseline = None
        for name, url in documents.items():
            figures = wrk(name, url, connections=32, duration=args.duration, headers={"Accept-Encoding": "gzip"})
            baseline = baseline or figures.rps
            seconds, status = cold[name]
            print(f"| {name} | {seconds * 1000:,.0f} ms ({status}) | {figures.rps:,.0f} | {figures.p50_ms:.1f} ms "
                  f"| {figures.p99_ms:.1f} ms | {figures.size:,} | {figures.rps / baseline:.2f} |",
                  flush=True)  # fmt: skip
        turtle = httpx.get(documents["Body catalogue (Turtle)"], timeout=60).content
        graph = Graph().parse(data=turtle, format="turtle")
        conforms, _, report = validate(graph, shacl_graph=Graph().parse(SHAPES), advanced=True)
        print(f"\npyshacl on the Body catalogue ({len(graph)} triples): conforms={conforms}")
        if not conforms:
            print(report)
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
