"""Running the real server as a process, for tests that need one (concurrency, crawlers, the demo)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(
    command: list[str], env: dict[str, str], port: int, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`oparl-server <command>` until the block ends; waits until it answers on `port`. Its output
    goes to `log`, if given."""
    with log.open("wb") if log is not None else open(os.devnull, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "api.cli", *command], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, f"oparl-server {command[0]} exited with {process.returncode}"
                assert time.monotonic() < deadline, "the server did not start within 30 s"
                time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)
