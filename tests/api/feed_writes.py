"""Writers for the feed's property test: random operations on a small council, committed through
the one write path (`oparl.write.commit`) on a session of their own, sent again on a conflict.

Run as a module (`python -m tests.api.feed_writes DATABASE_URL`) it is a writer in a process of its
own: one JSON operation per line on stdin, `ok` per line on stdout once committed.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.routes.write import is_conflict
from models import utcnow
from models.db import make_engine
from oparl.content import ContentStore
from oparl.errors import NotFound
from oparl.load.loader import Loader
from oparl.snapshot import Snapshots
from oparl.urls import UrlBuilder
from oparl.write import commit

BASE_URL = "https://oparl.example.org"  # tests.conftest.BASE_URL (not imported: a writer process needs no pytest)
URLS = UrlBuilder(BASE_URL)
SNAPSHOTS = Snapshots(URLS, ZoneInfo("Europe/Berlin"))


def seed() -> list[dict[str, Any]]:
    return [
        {"type": "System", "key": "s", "name": "System"},
        {"type": "Body", "key": "b", "system": "s", "name": "Stadt"},
        {"type": "Organization", "key": "o0", "body": "b", "name": "Rat"},
        {"type": "Organization", "key": "o1", "body": "b", "name": "Ausschuss"},
    ]


def records(op: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of a `paper` or `org` operation."""
    if op["kind"] == "org":
        return [{"type": "Organization", "key": op["key"], "body": "b", "name": op["name"], "nonPublic": op["hidden"]}]
    paper: dict[str, Any] = {
        "type": "Paper", "key": op["key"], "body": "b", "name": op["name"], "nonPublic": op["hidden"],
        "consultation": [{"key": f"{op['key']}-{c}", "organization": [c.split("-")[0]], "role": op["name"]}
                         for c in op["consultations"]],
    }  # fmt: skip
    if op["file"] is not None:  # a File shared by the papers naming it
        paper["mainFile"] = {"key": op["file"], "name": "Anlage", "accessUrl": "https://files.example.org/a.pdf"}
    return [paper]


def apply(engine: Engine, op: dict[str, Any], attempts: int = 50) -> None:
    """One operation in one transaction; a write losing a race (409 for an API client) is sent again."""
    for attempt in range(attempts):
        with Session(engine, expire_on_commit=False) as session:
            try:
                loader = Loader(session, urls=URLS, store=ContentStore(), sees_nonpublic=True)
                if op["kind"] == "delete":
                    loader.delete("Paper", op["key"])
                else:
                    loader.load(op.get("records") or records(op), replace=True)
                commit(session, loader, utcnow, SNAPSHOTS)
                return
            except NotFound:  # deleting what is not there (or deleted): nothing to do
                return
            except DBAPIError as exc:
                session.rollback()
                if not is_conflict(exc):
                    raise
                time.sleep(0.005 * (attempt + 1))
    raise AssertionError(f"no luck in {attempts} attempts: {op}")


def main() -> None:
    url = sys.argv[1]
    engine = make_engine(url=url).execution_options(sqlite_immediate=True)
    for line in sys.stdin:
        apply(engine, json.loads(line))
        sys.stdout.write("ok\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
