"""Bookkeeping of harvests from other OParl servers, so an interrupted run resumes where it stopped."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class HarvestSource(Base):
    __tablename__ = "harvest_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_url: Mapped[str] = mapped_column(String(1000), unique=True)
    # Start of the run in progress (None when none is), and of the last complete one.
    run_started: Mapped[dt.datetime | None]
    last_complete: Mapped[dt.datetime | None]
    # Whether the source's `modified` and filters can be trusted for incremental runs.
    trusted: Mapped[bool | None]
    # The run in progress: its `modified_since` (None for a full run), kept so a resumed run keeps its mode.
    run_since: Mapped[dt.datetime | None]
    # List URL -> the page to fetch next in the run in progress ("" once the list is done).
    cursors: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Body URL -> its kommParl feed cursor, kept across runs: a later run reads the feed from there.
    feeds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class HarvestPending(Base):
    """A record stored without some references (their objects were not there yet), to store again."""

    __tablename__ = "harvest_pending"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("harvest_source.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(Text)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)


class HarvestSeen(Base):
    """Keys seen in the run in progress: a full run deletes what it did not see."""

    __tablename__ = "harvest_seen"

    source_id: Mapped[int] = mapped_column(ForeignKey("harvest_source.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(1000), primary_key=True)
