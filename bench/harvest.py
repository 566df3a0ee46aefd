"""Harvest throughput: `oparl-server harvest` of the checkout given by `--code`, into a fresh SQLite file.

`--replay`: the recorded Hürtgenwald crawl (../shared/realworld/huertgenwald, an SD.NET 1.0
endpoint) answered from memory by a small HTTP server of this harness on loopback (the recording's
URLs rewritten to it), so the figure is the importer's own: parsing, normalising, converting and
storing, page by page.

`--papers N`: a real harvest over HTTP of a server (`python -m api.cli serve`, one worker, started
afresh for each run) serving a synthetic council of N papers on SQLite, generated once by the
checkout `--source-code` (default: `--code`) and kept in bench/data/. `--source SYSTEM_URL`
harvests any other server the same way.

The harvest runs as `oparl-server harvest … --rate 0 --concurrency 4` inside the checkout
measured (working directory and PYTHONPATH), so this harness imports none of the code it measures.
Each run reports objects, pages, the time of the list walk (fetch + store) and of the final
rendering of the changed objects separately, objects/s, and the CPU time of the harvest and its
rendering processes; all timed inside the process from the CLI's `main` on (bench/checkout.py).
"""

from __future__ import annotations

import argparse
import http.server
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkout import Checkout, Database, Timed, read_spent, timed

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
CRAWL = ROOT.parent / "shared" / "realworld" / "huertgenwald"
PATH = "/rim4220/webservice/oparl/v1.0/"
PREFIX = "https://sdnetrim.kdvz-frechen.de" + PATH
SOURCE_PORT = 8189
Figures = dict[str, float]


@contextmanager
def replay_server() -> Iterator[str]:
    """The recording served from memory on a free loopback port; yields its System URL."""
    answers: dict[str, bytes] = {}

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = answers.get(self.path.removesuffix("?page=1"))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            body = body if body is not None else b'{"error": "not recorded"}'
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    here = f"http://127.0.0.1:{server.server_address[1]}{PATH}"
    for file in CRAWL.rglob("*.json"):
        answers[PATH + str(file.relative_to(CRAWL).with_suffix(""))] = file.read_bytes().replace(
            PREFIX.encode(), here.encode()
        )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield here + "system"
    finally:
        server.shutdown()
        server.server_close()


def source_dataset(code: Checkout, papers: int, seed: int) -> Database:
    """The synthetic council, generated and rendered by `code` on first use, then reused."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=code.root, capture_output=True, text=True)
    folder = DATA / f"harvest-source-sqlite-{papers}-seed{seed}-{commit.stdout.strip() or 'unknown'}"
    db = Database(f"sqlite:///{folder / 'oparl.sqlite3'}", folder)
    if not (folder / "READY").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "oparl.sqlite3").unlink(missing_ok=True)
        code.cli(["migrate"], code.env(db))
        code.cli(["generate", "--papers", str(papers), "--seed", str(seed)], code.env(db))
        (folder / "READY").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return db


def timed_harvest(code: Checkout, db: Database, system_url: str) -> tuple[Timed, float | None]:
    """The harvest's seconds, CPU seconds (rendering processes included) and summary, and the
    seconds to the start of the rendering at the end (None if the harvest did not say so)."""
    args = [system_url, "--rate", "0", "--concurrency", "4", "--allow-network", "127.0.0.1"]  # sources on loopback
    rendering, errors = None, []
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile(suffix=".json") as spent:
        command = timed(spent.name, ["harvest", *args])
        process = subprocess.Popen(command, cwd=code.root, env=code.env(db), stdout=out, stderr=subprocess.PIPE)
        for line in process.stderr or ():
            errors.append(line)
            if rendering is None and line.startswith(b"rendering what the harvest wrote"):
                rendering = time.monotonic()
        process.wait()
        if process.returncode not in (0, 3):  # 3: done, with failures (the summary names them)
            raise SystemExit(f"harvest exited {process.returncode}:\n{b''.join(errors).decode()[-3000:]}")
        out.seek(0)
        run = read_spent(Path(spent.name), out.read().decode())
    return run, rendering - run.start if rendering is not None else None


def written(summary: str) -> tuple[int, int, int]:
    """Objects written (created, changed, deleted, by type), pages, failures, from the summary."""
    counts = re.findall(r"^  \w+: (\d+) created, (\d+) changed, (\d+) deleted$", summary, re.MULTILINE)
    pages = re.search(r"; (\d+) pages, ", summary)
    failures = len(re.findall(r"^  failed: ", summary, re.MULTILINE))
    more = re.search(r"… and (\d+) more failures", summary)
    objects = sum(int(n) for row in counts for n in row)
    return objects, int(pages.group(1)) if pages else 0, failures + (int(more.group(1)) if more else 0)


def harvest(code: Checkout, system_url: str, label: str) -> tuple[Figures, list[str]]:
    """One harvest into a fresh SQLite file: figures named after `label`, and lines to show."""
    with tempfile.TemporaryDirectory(prefix="oparl-bench-mirror-") as folder:
        db = Database(f"sqlite:///{folder}/mirror.sqlite3", Path(folder))
        code.cli(["migrate"], code.env(db))
        run, walk = timed_harvest(code, db, system_url)
    objects, pages, failures = written(run.out)
    render = run.wall - walk if walk is not None else 0.0
    walk = walk if walk is not None else run.wall
    figures = {
        f"{label} walk (objects/s)": objects / walk,
        f"{label} rendering at the end (s)": render,
        f"{label} total (s)": run.wall,
        f"{label} total, CPU (s)": run.cpu,
    }
    lines = [
        f"objects written {objects:,}, pages {pages:,}, failures {failures}",
        f"walk (fetch + store): {walk:.1f} s = {objects / walk:,.0f} objects/s",
        f"rendering at the end: {render:.1f} s" + ("" if render else " (not reported by the harvest)"),
        f"total: {run.wall:.1f} s = {objects / run.wall:,.0f} objects/s; CPU {run.cpu:.1f} s (rendering included)",
    ]
    return figures, lines


def replay(code: Checkout) -> tuple[Figures, list[str]]:
    with replay_server() as system_url:
        return harvest(code, system_url, "replay")


def synthetic(code: Checkout, source: Checkout, papers: int, seed: int) -> tuple[Figures, list[str]]:
    db = source_dataset(source, papers, seed)
    with source.serve(db, SOURCE_PORT) as server:
        return harvest(code, f"{server.base}/oparl/v1.1/system", f"{papers} papers over HTTP")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench/harvest.py", description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--replay", action="store_true", help="the recorded Hürtgenwald crawl, from memory")
    which.add_argument("--papers", type=int, help="serve a synthetic council of this size and harvest it")
    which.add_argument("--source", metavar="SYSTEM_URL", help="harvest this System over HTTP")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose harvest is measured")
    parser.add_argument("--source-code", type=Path, help="checkout serving the synthetic council (default: --code)")
    args = parser.parse_args(argv)
    code = Checkout(args.code.resolve())
    if args.replay:
        lines = replay(code)[1]
    elif args.papers:
        lines = synthetic(code, Checkout((args.source_code or args.code).resolve()), args.papers, args.seed)[1]
    else:
        lines = harvest(code, args.source, "source")[1]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
