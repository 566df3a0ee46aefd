"""Retention of the change feed in a running server: each worker prunes about once an hour.

Pruning twice is harmless (the second finds nothing), so every worker, on every host, may run it;
it takes the feed's lock for the moment it deletes, like any write.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading

from sqlalchemy.orm import Session

from api.settings import Settings
from models import utcnow
from models.db import make_engine
from oparl.feed.prune import prune

log = logging.getLogger(__name__)
INTERVAL = 3600.0


def start_pruner(settings: Settings, stop: threading.Event | None = None) -> threading.Thread:
    """A daemon thread pruning every INTERVAL seconds (the first time within a few minutes)."""
    stop = stop or threading.Event()
    thread = threading.Thread(target=_run, args=(settings, stop), name="feed-pruner", daemon=True)
    thread.start()
    return thread


def _run(settings: Settings, stop: threading.Event) -> None:
    retention = dt.timedelta(days=settings.feed_retention_days)
    wait = random.uniform(30, 300)  # workers started together do not prune together
    while not stop.wait(wait):
        wait = INTERVAL
        try:
            engine = make_engine(url=settings.database_url, pool_size=1)
            try:
                with Session(engine) as session:
                    gone = prune(session, now=utcnow(), retention=retention)
            finally:
                engine.dispose()
            if gone:
                log.info("change feed: %d entries past %d days pruned", gone, settings.feed_retention_days)
        except Exception:  # the database may be away for a while: try again next time
            log.exception("change feed: pruning failed")
