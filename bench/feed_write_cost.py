"""What the change feed costs the write path: concurrent writers committing new Papers, in process.

Usage: PYTHONPATH=CHECKOUT .venv/bin/python bench/feed_write_cost.py CHECKOUT DATABASE_URL [THREADS] [WRITES]

Run once with the checkout before the feed and once with this one, alternating (the machine is
shared): migrate a fresh database at DATABASE_URL (an empty SQLite path or PostgreSQL database),
load the Lübeck fixtures, then THREADS threads (default 4), each with a session of its own, write
WRITES (default 50) new Papers each (a main File and two Consultations apiece, i.e. four objects),
every Paper one transaction through `oparl.write.commit`, a conflict sent again. Prints the
writes per second and how many conflicts were sent again.
"""

import sys
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

root = Path(sys.argv[1])
url = sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 4
writes = int(sys.argv[4]) if len(sys.argv) > 4 else 50
sys.path.insert(0, str(root))

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.routes.write import is_conflict
from models import utcnow
from models.db import make_engine, upgrade
from oparl.content import ContentStore
from oparl.load.loader import Loader
from oparl.records import read_directory
from oparl.snapshot import Snapshots
from oparl.urls import UrlBuilder
from oparl.write import commit

upgrade(url)
engine = make_engine(url=url, pool_size=threads + 1).execution_options(sqlite_immediate=True)
urls = UrlBuilder("http://127.0.0.1:8000")
snapshots = Snapshots(urls, ZoneInfo("Europe/Berlin"))
retries = [0]


def write(records: list[dict[str, object]]) -> None:
    while True:
        with Session(engine, expire_on_commit=False) as session:
            try:
                loader = Loader(session, urls=urls, store=ContentStore(), base_dir=root / "fixtures" / "luebeck")
                loader.load(records)
                commit(session, loader, utcnow, snapshots)
                return
            except DBAPIError as exc:
                session.rollback()
                if not is_conflict(exc):
                    raise
                retries[0] += 1


write(read_directory(root / "fixtures" / "luebeck"))
body = next(r["key"] for r in read_directory(root / "fixtures" / "luebeck") if r.get("type", "").endswith("Body"))


def paper(t: int, i: int) -> list[dict[str, object]]:
    key = f"bench-{t}-{i}"
    return [{
        "type": "Paper", "key": key, "body": body, "name": f"Vorlage {key}",
        "mainFile": {"key": f"{key}-f", "name": "Vorlage", "accessUrl": "https://example.org/v.pdf"},
        "consultation": [{"key": f"{key}-c{n}", "role": "Beratung"} for n in range(2)],
    }]  # fmt: skip


def run(t: int) -> None:
    for i in range(writes):
        write(paper(t, i))


started = time.perf_counter()
workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
spent = time.perf_counter() - started
print(f"{root}: {threads * writes} writes by {threads} threads in {spent:.2f} s = {threads * writes / spent:.1f}/s, "
      f"{retries[0]} sent again")  # fmt: skip
