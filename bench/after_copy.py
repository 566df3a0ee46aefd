"""A copy of a bench data set for code whose renderings' key differs but whose bytes do not.

    .venv/bin/python bench/after_copy.py --before /work/wt-perf-before --after . --db sqlite,postgresql

The stored renderings are keyed by a digest of oparl/*.py and models/*.py (oparl/snapshot.py): a
change there that renders nothing differently (an index declared in models/base.py) still makes
every rendering stale, and rendering 1.3 million objects again takes 5-25 minutes on the shared
machine. This copies the data set (`<name>_after`), migrates the copy with the after checkout,
and re-keys its renderings from the before key to the after key, after checking that claim: a
sample of objects of every type is rendered by the after checkout (`render`) and must equal the
before checkout's bytes. bench/misses.py --after-copy serves the copy to the after side.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy import Connection, create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import DATA, PG_ADMIN, Dataset

TABLES = ("system", "body", "legislative_term", "organization", "person", "membership", "meeting", "agenda_item",
          "paper", "consultation", "file", "location")  # fmt: skip
SAMPLE = 200


class Copy(Dataset):
    @property
    def folder(self) -> Path:
        return DATA / f"{self.db}-{self.papers}-seed{self.seed}-after"

    @property
    def pg_name(self) -> str:
        return f"oparl_bench_{self.papers}_seed{self.seed}_after"


def cli(code: Path, dataset: Dataset, *args: str) -> str:
    env = {**dataset.env(), "PYTHONPATH": str(code)}
    command = [sys.executable, "-m", "api.cli", *args]
    return subprocess.run(command, cwd=code, env=env, check=True, capture_output=True, text=True).stdout


def key_of(code: Path, dataset: Dataset) -> str:
    env = {**dataset.env(), "PYTHONPATH": str(code)}
    script = "from api.settings import Settings; print(Settings().snapshots.key)"
    return subprocess.run([sys.executable, "-c", script], cwd=code, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()  # fmt: skip


def copy(source: Dataset, target: Copy) -> None:
    shutil.rmtree(target.folder, ignore_errors=True)
    if source.db == "sqlite":
        target.folder.mkdir(parents=True)
        with create_engine(source.url).connect() as connection:  # a consistent copy (WAL checkpointed)
            connection.exec_driver_sql(f"VACUUM INTO '{target.folder / 'oparl.sqlite3'}'")
        return
    target.folder.mkdir(parents=True)
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{target.pg_name}"')
        admin.execute(f'CREATE DATABASE "{target.pg_name}" TEMPLATE "{source.pg_name}"')


def check(connection: Connection, original: Connection, table: str, new: str) -> None:
    """The sample rendered by the after checkout equals the before checkout's bytes."""
    sample = f"select id, rendered, rendered_key from {table} order by id limit {SAMPLE}"
    ours = {row.id: bytes(row.rendered) for row in connection.execute(text(sample)) if row.rendered_key == new}
    theirs = {row.id: bytes(row.rendered) for row in original.execute(text(sample))}
    differ = [i for i in theirs if ours.get(i) != theirs[i]]
    if differ or not ours:
        raise SystemExit(f"{table}: the after checkout renders {len(differ)} of {len(ours)} differently")
    print(f"  {table}: {len(ours)} rendered by the after checkout, byte-identical", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="re-key an earlier copy instead of copying again")
    args = parser.parse_args()
    before, after = args.before.resolve(), args.after.resolve()
    for db in args.db.split(","):
        source, target = Dataset(db, args.papers, args.seed), Copy(db, args.papers, args.seed)
        old, new = key_of(before, source), key_of(after, source)
        print(f"{db}: copying; renderings keyed {old} (before), {new} (after)", flush=True)
        if not (args.reuse and target.folder.exists()):
            copy(source, target)
        started = time.perf_counter()
        cli(after, target, "migrate")
        print(f"{db}: migrated by the after checkout in {time.perf_counter() - started:.1f} s", flush=True)
        engine = create_engine(target.url)
        with engine.begin() as connection:  # a sample left to the after checkout, the rest re-keyed
            for table in TABLES:
                sample = f"select id from {table} order by id limit {SAMPLE}"
                connection.execute(
                    text(f"update {table} set rendered = null, rendered_key = null where id in ({sample})")
                )
                # Every other row was rendered by the before checkout (the copy of a rendered set).
                update = text(f"update {table} set rendered_key = :new where rendered_key is not null")
                connection.execute(update, {"new": new})
        cli(after, target, "render")  # renders the sample only: everything else holds the after key now
        with engine.connect() as connection, create_engine(source.url).connect() as original:
            for table in TABLES:
                check(connection, original, table, new)
        if db == "postgresql":
            with psycopg.connect(target.url.replace("+psycopg", ""), autocommit=True) as connection:
                # Re-keying rewrote every row, which left the tables twice the set's size: written
                # anew, compact, as bench/bench.py leaves the set.
                connection.execute("VACUUM FULL ANALYZE")
        (target.folder / "READY").write_text(os.environ.get("USER", "") + " " + old + " -> " + new)
        print(f"{db}: ready at {target.url}", flush=True)


if __name__ == "__main__":
    main()
