"""Fault test: a private PostgreSQL server is stopped under load and started again. Every answer is
a success or a 503 with Retry-After and an OParl Error (with CORS), no connection is dropped, and
the same server process answers again once the database is back, without a restart."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers import ROOT, free_port, running

PG_BIN = Path(os.environ.get("OPARL_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
THREADS = 8
ORIGIN = {"Origin": "https://ratsinfo.example.net"}


class PrivatePostgres:
    """A throw-away cluster in a temporary folder, on loopback only. PostgreSQL refuses to run as
    root, so under root its commands run as the `postgres` user."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="oparl-fault-"))
        self.data = self.root / "data"
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            self.prefix = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")

    def _pg(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self.prefix, str(PG_BIN / tool), *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {(done.stderr or done.stdout).strip()[:300]}")

    def init(self) -> None:
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "-t", "30", "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        # Unchecked: the cluster may be stopped already.
        subprocess.run([*self.prefix, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


def _why_not() -> str | None:
    if not (PG_BIN / "initdb").exists():
        return f"no PostgreSQL binaries in {PG_BIN} (set OPARL_TEST_PG_BIN)"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root and no runuser to start PostgreSQL as another user"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to start PostgreSQL as"
    return None


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    reason = _why_not()
    if reason is not None:
        pytest.skip(reason)
    cluster = PrivatePostgres(free_port())
    try:
        try:
            cluster.init()
            cluster.start()
        except RuntimeError as exc:
            pytest.skip(f"a private PostgreSQL server could not be started: {exc}")
        yield cluster
    finally:
        cluster.remove()


@dataclass
class Answer:
    sent: float  # time.monotonic() when the request was sent
    method: str
    path: str
    status: int | None = None
    headers: httpx.Headers | None = None
    body: bytes = b""
    failure: str | None = None
    done: float = 0.0  # and when its answer had come


def _load(base: str, paths: list[str], etags: dict[str, str], stop: threading.Event) -> list[Answer]:
    """One client on one keep-alive connection, round and round the paths: plain GETs (answered
    from the worker's cache while the database is up), conditional GETs, HEADs, and GETs whose
    query misses the cache."""
    answers: list[Answer] = []
    with httpx.Client(base_url=base, headers=ORIGIN, timeout=20) as client:
        turn = 0
        while not stop.is_set():
            path = paths[turn % len(paths)]
            kind = turn % 4
            turn += 1
            headers = {"If-None-Match": etags[path]} if kind == 1 and path in etags else {}
            method = "HEAD" if kind == 2 else "GET"
            if kind == 3:
                path = f"{path}{'&' if '?' in path else '?'}limit={1 + turn % 50}"
            answer = Answer(time.monotonic(), method, path)
            try:
                response = client.request(method, path, headers=headers)
                answer.status, answer.headers, answer.body = response.status_code, response.headers, response.content
            except httpx.HTTPError as exc:
                answer.failure = f"{type(exc).__name__}: {exc}"
            answer.done = time.monotonic()
            answers.append(answer)
    return answers


def test_stopping_the_database_under_load_answers_503_and_recovers_without_restart(
    postgres: PrivatePostgres, tmp_path: Path
) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/postgres"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPARL_")}
    env |= {"OPARL_DATABASE_URL": url, "OPARL_DATA_DIR": str(tmp_path / "data"), "OPARL_PORT": str(port),
            "OPARL_ACCESS_LOG": "false"}  # fmt: skip
    cli = [sys.executable, "-m", "api.cli"]
    subprocess.run([*cli, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([*cli, "load-fixtures", str(ROOT / "fixtures" / "luebeck")], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"

    with running(["serve"], env, port, log=log) as server:
        body = httpx.get(f"{base}/oparl/v1.1/body").json()["data"][0]
        urls = [body["id"], body["organization"], body["paper"]]
        paths = ["/oparl/v1.1/system", "/oparl/v1.1/body", *(httpx.URL(u).raw_path.decode() for u in urls)]
        etags = {p: httpx.get(f"{base}{p}").headers["etag"] for p in paths}

        stop = threading.Event()
        results: list[list[Answer]] = []
        workers = [threading.Thread(target=lambda: results.append(_load(base, paths, etags, stop)))
                   for _ in range(THREADS)]  # fmt: skip
        for worker in workers:
            worker.start()
        try:
            time.sleep(1.5)
            stopping = time.monotonic()
            postgres.stop()
            stopped = time.monotonic()
            time.sleep(3)
            restarting = time.monotonic()
            postgres.start()
            started = time.monotonic()
            time.sleep(3)
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=30)
        answers = [a for thread in results for a in thread]
        assert server.poll() is None  # the same process throughout

    assert len(results) == THREADS
    failures = [f"{a.method} {a.path}: {a.failure}" for a in answers if a.failure is not None]
    assert failures == [], (failures[:5], log.read_text(errors="replace")[-4000:])  # none dropped or timed out
    statuses = {a.status for a in answers}
    assert statuses <= {200, 304, 503}, statuses

    unavailable = [a for a in answers if a.status == 503]
    assert unavailable, "the outage was never seen"
    for answer in unavailable:
        assert answer.headers is not None
        assert answer.headers["retry-after"] == "10"
        assert answer.headers["access-control-allow-origin"] == "*"
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        if answer.method == "GET":
            assert answer.body.startswith(b'{"type":"https://schema.oparl.org/1.1/Error","message":"Die Datenbank')

    before = [a.status for a in answers if a.done < stopping]
    during = [a.status for a in answers if stopped < a.sent < restarting]
    after = [a.status for a in answers if a.sent > started + 1]
    assert set(before) == {200, 304}
    assert set(during) == {503}  # no cached answer given while nothing can confirm it
    assert set(after) == {200, 304}

    lines = log.read_text(errors="replace").splitlines()
    assert "Traceback (most recent call last):" not in lines
    # Log lines read "<time> <LEVEL> [<request id>] api.outage: <message>" (api/logs.py).
    outage = [line.split(" api.outage: ", 1)[1] for line in lines if " api.outage: database " in line]
    assert len(outage) == 2, outage
    assert outage[0].startswith("database unavailable, answering 503 until it is back: ")
    assert outage[1].startswith("database available again after ")
