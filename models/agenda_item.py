"""AgendaItem (Tagesordnungspunkt)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BodyScoped, ObjectId
from models.links import agenda_item_auxiliary_file, ordered_link, referrers

if TYPE_CHECKING:
    from models.consultation import Consultation
    from models.file import File
    from models.meeting import Meeting


class AgendaItem(BodyScoped, Base):
    __tablename__ = "agenda_item"

    meeting_id: Mapped[int] = mapped_column(ObjectId, ForeignKey("meeting.id"), index=True)
    number: Mapped[str | None] = mapped_column(Text)
    # Stored position; OParl's 0-based consecutive `order` is derived from it among live items.
    order: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool | None] = mapped_column(Boolean)
    result: Mapped[str | None] = mapped_column(Text)
    resolution_text: Mapped[str | None] = mapped_column(Text)
    resolution_file_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("file.id"), index=True)
    start: Mapped[dt.datetime | None]
    end: Mapped[dt.datetime | None]

    meeting: Mapped[Meeting] = relationship(foreign_keys=[meeting_id], lazy="raise", viewonly=True)
    resolution_file: Mapped[File | None] = relationship(lazy="raise")
    auxiliary_file: Mapped[list[File]] = ordered_link(agenda_item_auxiliary_file)
    # The link lives on Consultation.agenda_item_id; AgendaItem.consultation is its inverse.
    consultation: Mapped[list[Consultation]] = referrers(
        "Consultation.agenda_item_id == AgendaItem.id", "Consultation.id"
    )
