"""The code a benchmark measures: a checkout, run only through its CLI and its HTTP API.

The write-path and harvest benchmarks import nothing of the product. Every figure comes from
`python -m api.cli …` or from a server started with `python -m api.cli serve`, each a subprocess
with its working directory and PYTHONPATH set to the checkout (the shared .venv's editable install
points at another one), so one harness measures the code before and after a change alike.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

PG_ADMIN = os.environ.get("OPARL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Database:
    """A database URL for the server and a data folder beside it."""

    url: str
    folder: Path


@dataclass(frozen=True)
class Checkout:
    root: Path

    def env(self, db: Database, base_url: str = "http://127.0.0.1:8000", **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(self.root),
            "OPARL_DATABASE_URL": db.url,
            "OPARL_DATA_DIR": str(db.folder),
            "OPARL_PUBLIC_BASE_URL": base_url,
            "OPARL_ACCESS_LOG": "false",
            **extra,
        }

    def cli(self, args: Sequence[str], env: dict[str, str]) -> str:
        """Runs `python -m api.cli ARGS` in the checkout; its stdout, or SystemExit with its stderr."""
        return self._run([sys.executable, "-m", "api.cli", *args], env)

    def timed_cli(self, args: Sequence[str], env: dict[str, str]) -> Timed:
        """`cli`, timed inside the process from the CLI's `main` on (see TIMED)."""
        with tempfile.NamedTemporaryFile(prefix="oparl-bench-spent-", suffix=".json") as spent:
            out = self._run(timed(spent.name, args), env)
            return read_spent(Path(spent.name), out)

    def _run(self, command: list[str], env: dict[str, str]) -> str:
        done = subprocess.run(command, cwd=self.root, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{self.root}: {command[3:]} exited {done.returncode}:\n{done.stderr[-3000:]}")
        return done.stdout

    def compile(self) -> None:
        """Bytecode written before anything is timed, so no first run pays for it."""
        for package in ("api", "models", "oparl"):
            subprocess.run([sys.executable, "-m", "compileall", "-q", package], cwd=self.root, check=True)

    @contextmanager
    def serve(self, db: Database, port: int, **extra: str) -> Iterator[Server]:
        """A server of this checkout on 127.0.0.1:PORT (one worker, in its own process) until the block ends."""
        base = f"http://127.0.0.1:{port}"
        env = self.env(db, base, OPARL_PORT=str(port), OPARL_WORKERS="1", **extra)
        with tempfile.NamedTemporaryFile(prefix="oparl-bench-serve-", suffix=".log", delete=False) as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve"], cwd=self.root, env=env, stdout=log, stderr=log
            )
        try:
            _wait_answering(base, process, Path(log.name))
            yield Server(base, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        Path(log.name).unlink(missing_ok=True)


# Runs the CLI's `main` (the console script's entry point) and writes, to the file named first,
# when it started (CLOCK_MONOTONIC, shared by all processes), its wall-clock seconds and the CPU
# seconds of the process and of its children (rendering processes): the interpreter's start and
# the imports, a second or two and noisy, are not what a benchmark of the write path is after.
TIMED = """\
import json, resource, sys, time
from api.cli import main
start, cpu, code = time.monotonic(), time.process_time(), 1
try:
    code = main(sys.argv[2:])
finally:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - cpu + children.ru_utime + children.ru_stime
    with open(sys.argv[1], "w") as spent:
        json.dump({"start": start, "wall": time.monotonic() - start, "cpu": cpu}, spent)
sys.exit(code)
"""


def timed(spent: str, args: Sequence[str]) -> list[str]:
    """The command running `python -m api.cli ARGS` timed by TIMED into the file `spent`."""
    return [sys.executable, "-c", TIMED, spent, *args]


@dataclass(frozen=True)
class Timed:
    """A command's start (time.monotonic), wall-clock and CPU seconds from its `main` on, and stdout."""

    start: float
    wall: float
    cpu: float
    out: str


def read_spent(path: Path, out: str) -> Timed:
    spent = json.loads(path.read_text())
    return Timed(spent["start"], spent["wall"], spent["cpu"], out)


@dataclass(frozen=True)
class Server:
    base: str
    pid: int

    def cpu(self) -> float:
        """CPU seconds the server process has used so far, all its threads (not PostgreSQL's backends)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _wait_answering(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"{base}/oparl/v1.1/system", timeout=5)  # any answer: an empty database has no System
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not start; {log}:\n{log.read_text()[-3000:]}")


def sqlalchemy_url(libpq_url: str) -> str:
    return "postgresql+psycopg://" + libpq_url.split("://", 1)[1]


@contextmanager
def fresh_database(kind: str, name: str) -> Iterator[Database]:
    """An empty SQLite file or PostgreSQL database (not migrated), removed when the block ends."""
    with tempfile.TemporaryDirectory(prefix=f"oparl-bench-{name}-") as folder:
        if kind == "sqlite":
            yield Database(f"sqlite:///{folder}/oparl.sqlite3", Path(folder))
            return
        if kind != "postgresql":
            raise SystemExit(f"unknown database {kind!r}: sqlite or postgresql")
        pg_name = f"oparl_bench_{name}_{os.getpid()}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{pg_name}"')
        try:
            yield Database(sqlalchemy_url(PG_ADMIN.rsplit("/", 1)[0] + "/" + pg_name), Path(folder))
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (`share` 0.5 for p50, 0.99 for p99)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]
