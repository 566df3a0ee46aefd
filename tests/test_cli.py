"""The `oparl-server` command as a person uses it."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, delete, func, select, text

from api.cli import DEMO_LICENSE, main
from models import File, FileChunk, FileContent, Paper
from models.db import head_revision
from tests.conftest import LUEBECK, _postgres_database
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("OPARL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPARL_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def papers_in(data_dir: Path) -> int:
    engine = create_engine(f"sqlite:///{data_dir / 'oparl.sqlite3'}")
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(Paper))
    engine.dispose()
    return count or 0


def test_migrate_then_load_twice(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["load-fixtures", str(LUEBECK)]) == 0
    assert main(["load-fixtures", str(LUEBECK)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        f"loaded {LUEBECK}: 63 created, 0 changed, 0 unchanged, 0 deleted",
        f"loaded {LUEBECK}: 0 created, 0 changed, 63 unchanged, 0 deleted",
    ]
    assert papers_in(data_dir) == 4


def test_search_index_makes_the_index_anew(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["load-fixtures", str(LUEBECK)]) == 0
    engine = create_engine(f"sqlite:///{data_dir / 'oparl.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM search_entry"))
    assert main(["search-index"]) == 0
    assert re.match(r"indexed 44 objects in [0-9.]+ s", capsys.readouterr().out.splitlines()[-1])
    with engine.connect() as connection:
        hits = connection.scalar(text("SELECT count(*) FROM search_fts WHERE search_fts MATCH 'quartiersmanagement'"))
    engine.dispose()
    assert hits == 1


def test_a_bad_record_writes_nothing(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    records = [
        {"type": "System", "key": "s", "name": "Ratsinformation"},
        {"type": "Body", "key": "b", "system": "s", "name": "Stadt"},
        {"type": "Paper", "key": "p", "body": "b", "date": "gestern"},
    ]
    (folder / "records.json").write_text(json.dumps(records))
    assert main(["migrate"]) == 0
    assert main(["load-fixtures", str(folder)]) == 2
    assert capsys.readouterr().err == "oparl-server: Paper 'p'.date: expected a date yyyy-mm-dd, got 'gestern'\n"
    assert papers_in(data_dir) == 0


def test_serve_refuses_an_unmigrated_database(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir.mkdir()
    sqlite3.connect(data_dir / "oparl.sqlite3").close()  # there, but empty
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("oparl-server: The database sqlite:///")
    assert err.endswith("has no OParl schema. Run `oparl-server migrate` first.\n")


def test_a_database_a_newer_version_migrated_is_named_so_and_moved_back_by_that_version(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rollback: the earlier version refuses, with what to do, rather than "run migrate" (which
    would fail on the revision it does not know); the newer one moves the schema back with --to."""
    assert main(["migrate"]) == 0
    head, earlier = head_revision(), "a1b2c3d40012"
    database = data_dir / "oparl.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'f00dfacef00d'")  # a newer version's
    capsys.readouterr()
    for command in (["serve", "--port", "1"], ["migrate"]):
        assert main(command) == 2
        assert capsys.readouterr().err == (
            f"oparl-server: The database sqlite:///{database.resolve()} is at revision f00dfacef00d, which this "
            "version of oparl-server does not know: a newer version migrated it. Serve it with that version, or "
            f"move it back with that version first: `oparl-server migrate --to {head}`.\n"
        )
    with sqlite3.connect(database) as connection:
        connection.execute(f"UPDATE alembic_version SET version_num = '{head}'")
    assert main(["migrate", "--to", earlier]) == 0
    assert capsys.readouterr().out == f"migrated sqlite:///{database.resolve()} to revision {earlier}\n"
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(earlier,)]
    assert main(["migrate", "--to", "nonesuch"]) == 2
    assert capsys.readouterr().err == (
        f"oparl-server: Can't locate revision identified by 'nonesuch' (this version's newest is {head})\n"
    )
    assert main(["migrate", "--to", "base"]) == 2
    assert capsys.readouterr().err == "oparl-server: `--to base` would drop every table: drop the database instead.\n"
    assert main(["migrate"]) == 0
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]


def test_demo_serves_the_luebeck_records(data_dir: Path) -> None:
    port = free_port()
    env = {**os.environ, "OPARL_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    system_url = f"http://127.0.0.1:{port}/oparl/v1.1/system"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                system = httpx.get(system_url, timeout=2).json()
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "demo did not start within 30 s"
                time.sleep(0.2)
        body = httpx.get(system["body"]).json()["data"][0]
        papers = httpx.get(body["paper"]).json()["data"]
        assert system["id"] == system_url
        assert [p["reference"] for p in papers] == [
            "VO/2023/11779",
            "VO/2023/11778-01",
            "VO/2023/11778",
            "404",
        ]
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"OParl System: {system_url}" in output


def test_migrate_moves_contents_from_the_data_folder_into_the_database(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An upgrade from a version that kept contents in OPARL_DATA_DIR/files/<2 hex>/<sha512>."""
    assert main(["migrate"]) == 0
    assert main(["load-fixtures", str(LUEBECK)]) == 0
    engine = create_engine(f"sqlite:///{data_dir / 'oparl.sqlite3'}")
    with engine.begin() as connection:  # as an old version left it: the bytes on disk only
        connection.execute(delete(FileChunk))
        connection.execute(delete(FileContent))
    capsys.readouterr()
    assert main(["migrate"]) == 0
    assert capsys.readouterr().err == (
        "oparl-server: 6 stored files have no content in the database; run `oparl-server migrate` "
        "with the OPARL_DATA_DIR of the host that holds them\n"
    )
    for path in sorted((LUEBECK / "files").iterdir()):
        name = hashlib.sha512(path.read_bytes()).hexdigest()
        (data_dir / "files" / name[:2]).mkdir(parents=True, exist_ok=True)
        (data_dir / "files" / name[:2] / name).write_bytes(path.read_bytes())
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0
    out = capsys.readouterr()
    migrated = f"migrated sqlite:///{(data_dir / 'oparl.sqlite3').resolve()}"
    assert out.out.splitlines() == [
        f"file contents from {data_dir / 'files'}: 6 imported into the database, 0 there already, 0 refused",
        migrated,
        migrated,  # the second run: nothing to import, nothing to say
    ]
    assert out.err == ""
    with engine.connect() as connection:
        stored = connection.execute(select(File.file_name, File.sha512_checksum).where(File.stored)).all()
    engine.dispose()
    on_disk = {p.name: hashlib.sha512(p.read_bytes()).hexdigest() for p in (LUEBECK / "files").iterdir()}
    assert {row.file_name: row.sha512_checksum for row in stored} == on_disk


# -- operator mistakes: one line on stderr, exit status 2, nothing created ---------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (skipped with the reason where none answers)."""
    urls = _postgres_database()
    yield next(urls)
    next(urls, None)


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.rstrip("\n")


@pytest.mark.parametrize(
    "command",
    [["load-fixtures", str(LUEBECK)], ["serve"], ["token", "list"], ["render"], ["generate", "--papers", "1"]],
)
def test_a_mistyped_sqlite_path_creates_no_database(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command
) -> None:
    for typo in (tmp_path / "dat" / "oparl.sqlite3", tmp_path / "oparl.sqlite"):  # a folder, a file mistyped
        monkeypatch.setenv("OPARL_DATABASE_URL", f"sqlite:///{typo}")
        assert main(command) == 2
        assert one_line(capsys) == (
            f"oparl-server: The database sqlite:///{typo} does not exist (is the path right?). "
            "`oparl-server migrate` creates it."
        )
        assert not typo.exists()
    assert not (tmp_path / "dat").exists()


@pytest.mark.parametrize("command", [["migrate"], ["load-fixtures", str(LUEBECK)], ["token", "list"]])
def test_an_unreachable_postgresql(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command
) -> None:
    port = free_port()  # nothing listens there
    monkeypatch.setenv("OPARL_DATABASE_URL", f"postgresql://oparl:secret@127.0.0.1:{port}/oparl")
    assert main(command) == 2
    line = one_line(capsys)
    assert line.startswith("oparl-server: ")
    assert f"postgresql+psycopg://oparl:***@127.0.0.1:{port}/oparl" in line
    assert f'connection to server at "127.0.0.1", port {port} failed: Connection refused' in line
    assert "secret" not in line


def test_migrate_into_a_postgresql_database_not_created(
    data_dir: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/oparl_test_not_created"
    monkeypatch.setenv("OPARL_DATABASE_URL", missing)
    assert main(["migrate"]) == 2
    assert one_line(capsys).endswith(
        'FATAL:  database "oparl_test_not_created" does not exist '
        "(create it first: `createdb -O OWNER NAME`, see the README's PostgreSQL section)"
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OPARL_PORT", "abc", "OPARL_PORT: Input should be a valid integer, unable to parse string as an integer, "
                              "got 'abc'"),
        ("OPARL_DATABASE_URL", "mysql://oparl@db/oparl",
         "OPARL_DATABASE_URL: mysql is not supported; use sqlite:///PATH or postgresql://user@host:5432/dbname"),
        ("OPARL_DATABASE_URL", "postgresql+psycopg2://oparl@db/oparl",
         "OPARL_DATABASE_URL: postgresql+psycopg2 is not supported; use sqlite:///PATH or postgresql://user@host:5432/dbname"),
        ("OPARL_DATABASE_URL", "oparl:secret@db",
         "OPARL_DATABASE_URL is not a database URL; use sqlite:///PATH or postgresql://user@host:5432/dbname"),
        ("OPARL_TIMEZONE", "Europe/Lubeck", "OPARL_TIMEZONE: unknown time zone 'Europe/Lubeck', got 'Europe/Lubeck'"),
    ],
)  # fmt: skip
def test_a_bad_setting(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable, value, message
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["migrate"]) == 2
    assert one_line(capsys) == f"oparl-server: {message}"
    assert not data_dir.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate", "--papers", "-5"], "oparl-server generate: argument --papers: must be at least 1, got -5"),
        (["generate", "--papers", "x"], "oparl-server generate: argument --papers: expected a whole number, got 'x'"),
        (["render", "--jobs", "0"], "oparl-server render: argument --jobs: must be at least 1, got 0"),
        (["harvest", "https://x.example/", "--rate", "-1"], "oparl-server harvest: argument --rate: must be more"),
        (["serve", "--workers", "0"], "oparl-server serve: argument --workers: must be at least 1, got 0"),
        (["migrat"], "oparl-server: argument command: invalid choice: 'migrat'"),
    ],
)  # fmt: skip
def test_bad_arguments(data_dir: Path, capsys: pytest.CaptureFixture[str], argv, message) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert one_line(capsys).startswith(message)


def test_generate_refuses_a_database_with_records(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["load-fixtures", str(LUEBECK)]) == 0
    capsys.readouterr()
    assert main(["generate", "--papers", "1", "--no-render"]) == 2
    database = (data_dir / "oparl.sqlite3").resolve()
    assert one_line(capsys) == (
        f"oparl-server: sqlite:///{database} holds records already: generate into an empty database"
    )
    assert papers_in(data_dir) == 4


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"oparl-server {importlib.metadata.version('oparl-server')}\n"


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_serve_on_every_interface_needs_a_public_base_url(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], host: str
) -> None:
    """Ids are stored, harvested and linked for years: none may name http://0.0.0.0:8000."""
    assert main(["serve", "--host", host]) == 2
    assert one_line(capsys) == (
        f"oparl-server: listening on {host} needs OPARL_PUBLIC_BASE_URL (e.g. https://ratsinfo.example.org): "
        f"ids would name http://{host}:8000"
    )
    monkeypatch.setenv("OPARL_HOST", host)
    assert main(["demo"]) == 2
    assert "needs OPARL_PUBLIC_BASE_URL" in one_line(capsys)
    monkeypatch.setenv("OPARL_PUBLIC_BASE_URL", "https://ratsinfo.example.org")
    assert main(["serve"]) == 2  # past the check: refused for the missing database now
    assert "does not exist" in one_line(capsys)


def start_demo(data_dir: Path, port: int, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "OPARL_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "demo", "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(url: str, process: subprocess.Popen[str], seconds: float = 30) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, f"no answer from {url} within {seconds} s"
            time.sleep(0.2)


def test_a_second_demo_leaves_the_running_one_alone(data_dir: Path) -> None:
    port = free_port()
    first = start_demo(data_dir, port)
    try:
        system = wait_for(f"http://127.0.0.1:{port}/oparl/v1.1/system", first).json()
        second = subprocess.run(
            [sys.executable, "-m", "api.cli", "demo", "--port", str(free_port())],
            cwd=ROOT,
            env={**os.environ, "OPARL_DATA_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        database = (data_dir / "demo.sqlite3").resolve()
        assert (second.returncode, second.stdout, second.stderr) == (
            2,
            "",
            f"oparl-server: a demo is running on {database} already: "
            "stop it, or give this one another OPARL_DATA_DIR\n",
        )
        body = httpx.get(system["body"]).json()["data"][0]
        assert len(httpx.get(body["paper"]).json()["data"]) == 4
    finally:
        first.terminate()
        first.communicate(timeout=10)


def test_the_demo_with_two_workers_serves_its_own_settings_in_each(data_dir: Path) -> None:
    """The demo's licence and calendar window are its own, not the environment's: `serve` hands
    the settings it resolved to every worker."""
    env_free = {k: v for k, v in os.environ.items() if k in ("OPARL_LICENSE", "OPARL_CALENDAR_PAST_DAYS")}
    assert not env_free  # else the demo would take them, and this test would prove nothing
    port = free_port()
    demo = start_demo(data_dir, port, "--workers", "2")
    try:
        wait_for(f"http://127.0.0.1:{port}/oparl/v1.1/system", demo, 60)
        # A connection per request: both workers answer some.
        bodies = [httpx.get(f"http://127.0.0.1:{port}/oparl/v1.1/body/1").json() for _ in range(12)]
        assert {body["license"] for body in bodies} == {DEMO_LICENSE}
    finally:
        demo.terminate()
        demo.communicate(timeout=15)


def test_tokens_with_an_expiry_are_listed_with_created_and_last_used(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert main(["token", "create", "Sitzungsdienst", "--expires", "2027-01-31"]) == 0
    assert main(["token", "create", "Abgelaufen", "--expires", "2020-01-01"]) == 0
    assert main(["token", "create", "Kurz", "--days", "7"]) == 0
    assert main(["token", "create", "Falsch", "--expires", "31.1.2027"]) == 2
    capsys.readouterr()
    assert main(["token", "list"]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == ["id", "name", "scopes", "state", "created", "last used", "expires"]
    assert [(row[1], row[3], row[5], row[6][:10]) for row in lines[1:]] == [
        ("Sitzungsdienst", "active", "-", "2027-02-01"),
        ("Abgelaufen", "expired", "-", "2020-01-02"),
        ("Kurz", "active", "-", lines[3][6][:10]),
    ]
