"""Running the real server as a process, for tests that need one (concurrency, crawlers, the demo)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_answering(
    url: str, process: subprocess.Popen[Any], seconds: float, what: str, output: Callable[[], str] | None = None
) -> None:
    """Until `url` answers at all; fails at once if `process` exits, or after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            assert process.poll() is None, output() if output else f"{what} exited with {process.returncode}"
            assert time.monotonic() < deadline, f"{what} did not start within {seconds:g} s"
            time.sleep(0.1)


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
        wait_until_answering(f"http://127.0.0.1:{port}/docs", process, 30, f"oparl-server {command[0]}")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)
