"""Whether the stored renderings are this configuration's: a server whose renderings were made for
another base URL (port, proxy, https), time zone, publisher or version renders every object on
every read, pages 13-26 times slower (issue 18). `serve` and each worker say so at start-up."""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from oparl.registry import KINDS
from oparl.snapshot import Snapshots

log = logging.getLogger(__name__)
SAMPLE = 50  # the newest objects of each type


def stale_sample(connection: Connection | Session, snapshots: Snapshots) -> tuple[int, int]:
    """(stale, sampled): how many of the newest objects of each type have no current rendering."""
    stale = sampled = 0
    for kind in KINDS.values():
        model = kind.model
        keys = connection.scalars(select(model.rendered_key).order_by(model.id.desc()).limit(SAMPLE)).all()
        sampled += len(keys)
        stale += sum(key != snapshots.key for key in keys)
    return stale, sampled


def stale_warning(connection: Connection | Session, snapshots: Snapshots) -> str | None:
    stale, sampled = stale_sample(connection, snapshots)
    if stale * 10 <= sampled:  # a few: written meanwhile, rendered on read until `render` runs
        return None
    return (
        f"{stale} of {sampled} objects sampled have no stored rendering for these settings "
        f"(public base URL {snapshots.urls.api.removesuffix('/oparl/v1.1')}, time zone {snapshots.tz.key}, "
        "publisher, server version): each is rendered on every read, many times slower. "
        "Run `oparl-server render` with these settings once."
    )


def warn_if_stale(engine: Engine, snapshots: Snapshots) -> None:
    with engine.connect() as connection:
        message = stale_warning(connection, snapshots)
    if message is not None:
        log.warning(message)
