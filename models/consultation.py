"""Consultation (Beratung): one row of a Paper's Beratungsfolge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BodyScoped, ObjectId
from models.links import consultation_organization, ordered_link

if TYPE_CHECKING:
    from models.agenda_item import AgendaItem
    from models.meeting import Meeting
    from models.organization import Organization
    from models.paper import Paper


class Consultation(BodyScoped, Base):
    __tablename__ = "consultation"

    paper_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("paper.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("agenda_item.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("meeting.id"), index=True)
    # Place in the paper's Beratungsfolge, as the paper lists it.
    position: Mapped[int] = mapped_column(Integer, default=0)
    authoritative: Mapped[bool | None] = mapped_column(Boolean)
    role: Mapped[str | None] = mapped_column(Text)

    paper: Mapped[Paper | None] = relationship(foreign_keys=[paper_id], lazy="raise", viewonly=True)
    agenda_item: Mapped[AgendaItem | None] = relationship(foreign_keys=[agenda_item_id], lazy="raise", viewonly=True)
    meeting: Mapped[Meeting | None] = relationship(foreign_keys=[meeting_id], lazy="raise", viewonly=True)
    organization: Mapped[list[Organization]] = ordered_link(consultation_organization)
