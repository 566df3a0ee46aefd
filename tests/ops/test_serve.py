"""`oparl-server serve` as operators run it: several workers, JSON logs, one /metrics for all,
the counter folder cleaned, and a body that stalls cut off by the read timeout."""

from __future__ import annotations

import glob
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import pytest

from tests.servers import ROOT, free_port


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPARL_", "PROMETHEUS_"))}
    env = {**clean, "OPARL_DATA_DIR": str(tmp_path / "data")}
    subprocess.run([sys.executable, "-m", "api.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    return env


@contextmanager
def serving(
    env: dict[str, str], port: int, log: Path, *args: str, python: tuple[str, ...] = (), cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, *python, "-m", "api.cli", "serve", "--port", str(port), *args],
                                   cwd=cwd, env=env, stdout=out, stderr=out)  # fmt: skip
        try:
            deadline = time.monotonic() + 90  # the machine is shared: starting can take long
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    assert process.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "the server did not start within 90 s"
                    time.sleep(0.1)
            yield process
        finally:
            process.terminate()
            process.wait(timeout=15)


def test_one_worker_serves_in_the_process_serve_started_as_a_worker_would(env: dict[str, str], tmp_path: Path) -> None:
    """`serve` with one worker checks the database, then executes `python -m api.served` in its
    own place: the same pid (a supervisor's signals reach the server), the interpreter's options,
    this code even where the working directory holds another `api`, and without the command
    line's harvester and webhook commands (httpx among them)."""
    port, log, elsewhere = free_port(), tmp_path / "serve.log", tmp_path / "elsewhere"
    (elsewhere / "api").mkdir(parents=True)
    (elsewhere / "api" / "__init__.py").write_text("raise ImportError('not this api')\n")
    env = {**env, "PYTHONPATH": str(ROOT)}
    with serving(env, port, log, python=("-X", "faulthandler", "-P"), cwd=elsewhere) as process:
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
        # The options as the interpreter reads them back (-B, say, from PYTHONDONTWRITEBYTECODE).
        assert (cmdline[0], cmdline[-4:]) == (sys.executable.encode(), [b"-P", b"-m", b"api.served", b""])
        assert b"faulthandler" in cmdline[cmdline.index(b"-X") + 1 : -4]
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    assert "OParl System: " in log.read_text()  # said by `serve` before it executed the server


def test_two_workers_share_metrics_and_log_json_lines(env: dict[str, str], tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "oparl-metrics-*")))
    with serving({**env, "OPARL_LOG_FORMAT": "json"}, port, log, "--workers", "2"):
        made = set(glob.glob(os.path.join(tempfile.gettempdir(), "oparl-metrics-*"))) - before
        assert len(made) == 1
        folder = made.pop()
        deadline = time.monotonic() + 90
        while len(glob.glob(os.path.join(folder, "gauge_livesum_*.db"))) < 2:  # both workers imported
            assert time.monotonic() < deadline, "the second worker did not start"
            time.sleep(0.1)
        ids: list[str] = []
        while len(ids) < 200 and len(_pids(log)) < 2:  # new connections until both workers answered
            answer = httpx.get(f"http://127.0.0.1:{port}/oparl/v1.1/system", headers={"X-Request-ID": f"t-{len(ids)}"})
            assert answer.status_code == 404
            ids.append(answer.headers["x-request-id"])
            time.sleep(0.01)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert len(_pids(log)) == 2
    assert ids == [f"t-{n}" for n in range(len(ids))]
    route = 'route="/oparl/v1.1/system"'
    assert f'oparl_http_requests_total{{method="GET",{route},status="404"}} {len(ids)}.0' in metrics
    lines = _lines(log)
    access = [line for line in lines if line["logger"] == "oparl.access" and line["path"] == "/oparl/v1.1/system"]
    assert sorted(str(line["request_id"]) for line in access) == sorted(ids)
    assert any(str(line["logger"]).startswith("uvicorn") for line in lines)  # uvicorn's own lines are JSON too
    after = set(glob.glob(os.path.join(tempfile.gettempdir(), "oparl-metrics-*")))
    assert after == before  # removed at exit


def _lines(log: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def _pids(log: Path) -> set[object]:
    return {line["pid"] for line in _lines(log) if line["logger"] == "oparl.access"}


def test_a_given_multiprocess_folder_is_emptied_first(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "prom"
    folder.mkdir()
    (folder / "counter_99999.db").write_bytes(b"stale counts of an earlier run")
    port = free_port()
    with serving({**env, "PROMETHEUS_MULTIPROC_DIR": str(folder)}, port, tmp_path / "log", "--workers", "2"):
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
        assert not (folder / "counter_99999.db").exists()


def test_a_stalled_body_is_cut_off_with_408(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    with serving({**env, "OPARL_BODY_READ_TIMEOUT": "1"}, port, tmp_path / "log"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(
                b"PUT /write/v1/paper/P-1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer oparl_x\r\n"
                b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na'
            )
            started = time.monotonic()
            answer = conn.recv(65536)
            took = time.monotonic() - started
            while b"Error" not in answer and (more := conn.recv(65536)):
                answer += more
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"Der Inhalt der Anfrage kam nicht binnen 1 s." in answer
    assert 0.9 <= took < 5
