"""The image's entrypoint and migration lock, run outside Docker (no engine here): it migrates
before the command, under a lock replicas share, then execs the command so signals reach it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, inspect, select

from models import Base, Paper
from models.db import check_schema, make_engine
from models.search import ENGINE_TABLES
from tests.conftest import LUEBECK
from tests.servers import free_port, wait_until_answering
from tests.test_cli import pg_url  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The container's environment, `oparl-server` being this checkout's code."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "oparl-server"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m api.cli "$@"\n')
    shim.chmod(0o755)
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPARL_")}
    return {
        **base,
        "PATH": f"{bin_dir}:{base['PATH']}",
        "PYTHONPATH": str(ROOT),
        "OPARL_DATA_DIR": str(tmp_path / "data"),
    }


def entrypoint(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def papers(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(Paper))
    engine.dispose()
    return count or 0


def test_load_fixtures_into_a_fresh_sqlite_volume(env: dict[str, str], tmp_path: Path) -> None:
    """`docker run … load-fixtures` used to fail on the unmigrated database."""
    done = entrypoint(env, "load-fixtures", str(LUEBECK))
    assert done.returncode == 0, done.stderr
    database = tmp_path / "data" / "oparl.sqlite3"
    assert done.stderr == f"migrated sqlite:///{database}\n"
    assert done.stdout == f"loaded {LUEBECK}: 63 created, 0 changed, 0 unchanged, 0 deleted\n"
    assert papers(f"sqlite:///{database}") == 4


def test_load_fixtures_into_postgresql(env: dict[str, str], pg_url: str) -> None:  # noqa: F811
    env["OPARL_DATABASE_URL"] = pg_url
    done = entrypoint(env, "load-fixtures", str(LUEBECK))
    assert done.returncode == 0, done.stderr
    assert papers(pg_url) == 4


def test_migrate_false_skips_the_migration(env: dict[str, str]) -> None:
    env["OPARL_MIGRATE"] = "false"
    done = entrypoint(env, "token", "list")
    assert (done.returncode, done.stderr[:50]) == (
        2,
        "oparl-server: The database sqlite:///" + env["OPARL_DATA_DIR"][:13],
    )


def test_other_commands_run_as_given(env: dict[str, str]) -> None:
    done = entrypoint(env, "sh", "-c", "echo $OPARL_DATA_DIR")
    assert done.stdout == env["OPARL_DATA_DIR"] + "\n"
    # A leading `oparl-server` is allowed (the README's old form).
    assert entrypoint(env, "oparl-server", "--version").stdout.startswith("oparl-server ")


def migrate_together(env: dict[str, str], url: str, count: int = 3) -> list[tuple[int, str]]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "api.cli", "migrate"],
            cwd=ROOT,
            env={**env, "OPARL_DATABASE_URL": url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(count)
    ]
    return [(process.communicate(timeout=120)[1], process.returncode)[::-1] for process in processes]


def assert_migrated(url: str) -> None:
    engine = make_engine(url=url)
    try:
        check_schema(engine)
        # Besides the models' tables: SQLite's FTS5 search tables and their shadows (models/search.py).
        tables = {t for t in inspect(engine).get_table_names() if not t.startswith(ENGINE_TABLES)}
        assert tables == {*Base.metadata.tables, "alembic_version"}
    finally:
        engine.dispose()


def test_replicas_migrating_one_postgresql_take_turns(env: dict[str, str], pg_url: str) -> None:  # noqa: F811
    assert migrate_together(env, pg_url) == [(0, "")] * 3
    assert_migrated(pg_url)


def test_migrating_one_sqlite_file_together(env: dict[str, str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    assert migrate_together(env, url) == [(0, "")] * 3
    assert_migrated(url)


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    env.update(OPARL_HOST="0.0.0.0", OPARL_PORT=str(port), OPARL_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    process = subprocess.Popen(["sh", str(ENTRYPOINT)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:

        def output() -> str:
            return process.stdout.read() if process.stdout else ""

        wait_until_answering(f"http://127.0.0.1:{port}/docs", process, 60, "the server", output)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def test_the_server_is_execd_and_stops_on_sigterm(served: tuple[subprocess.Popen[str], int]) -> None:
    """The shell is gone: the process docker signals is the server itself."""
    process, port = served
    cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
    # `serve` with one worker executes the serving module in its own place (api/served.py).
    assert (cmdline[0], cmdline[-4:]) == (sys.executable.encode(), [b"-P", b"-m", b"api.served", b""])
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=15)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells it
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text()
    instructions = [line.split(None, 1) for line in re.sub(r"\\\n", " ", text).splitlines()
                    if line.strip() and not line.startswith("#")]  # fmt: skip
    words = [word for word, _ in instructions]
    # Dependencies are installed before the code is copied: a code change reuses that layer.
    assert words.index("COPY") < words.index("RUN", words.index("COPY"))
    first_copy, install = instructions[words.index("COPY")], instructions[words.index("RUN", words.index("COPY"))]
    assert first_copy[1] == "pyproject.toml ./"
    assert "-r /tmp/requirements.txt" in install[1]
    code_copies = [i for i, (word, rest) in enumerate(instructions) if word == "COPY" and rest.startswith("api ")]
    assert code_copies
    assert code_copies[0] > words.index("RUN", words.index("COPY"))
    last = dict(instructions)
    assert last["ENTRYPOINT"] == '["oparl-entrypoint"]'
    assert last["CMD"] == '["serve"]'
    assert last["VOLUME"] == "/data"
    assert "/readyz" in last["HEALTHCHECK"]
    assert "CMD [" in last["HEALTHCHECK"]
