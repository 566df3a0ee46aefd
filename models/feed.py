"""The change feed's storage (kommParl 0.1): one row per change of an object, and the feed's counter.

Positions come from `FeedState.position`, moved by the write that appends, in its own transaction:
the row lock of that UPDATE is held until the write commits, so positions follow commit order
(oparl/feed/record.py says why that is what a client needs).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, ObjectId

Position = BigInteger().with_variant(Integer, "sqlite")


class FeedState(Base):
    """One row (id 1): the last position given out, the last one pruned, and the database's epoch,
    a random value made by the migration that binds every cursor to this database."""

    __tablename__ = "feed_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Position, default=0)
    pruned_through: Mapped[int] = mapped_column(Position, default=0)  # entries up to it are gone
    pruned_at: Mapped[dt.datetime | None]
    epoch: Mapped[str] = mapped_column(String(32))


class FeedEntry(Base):
    """A change of one object, as the full feed (`entitled`) and the anonymous one (`public`) tell
    it: `upsert`, a delete's reason (`deleted`, `withdrawn`, `nonPublic`; `privacy` is a redact), or
    NULL where that feed leaves it out (oparl.visibility.FeedNote, feed_note)."""

    __tablename__ = "feed_entry"
    __table_args__ = (Index("ix_feed_entry_body_id_position", "body_id", "position"),)

    position: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)
    body_id: Mapped[int] = mapped_column(ObjectId)  # no foreign key: Bodies are never removed
    type_name: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(ObjectId)
    modified: Mapped[dt.datetime]  # the object's `modified` after the change
    entitled: Mapped[str | None] = mapped_column(String(16))
    public: Mapped[str | None] = mapped_column(String(16))
