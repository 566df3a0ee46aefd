"""Consultation (Beratung): one row of a Paper's Beratungsfolge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BodyScoped
from models.links import consultation_organization

if TYPE_CHECKING:
    from models.organization import Organization


class Consultation(BodyScoped, Base):
    __tablename__ = "consultation"

    paper_id: Mapped[int | None] = mapped_column(ForeignKey("paper.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_item.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"), index=True)
    # Place in the paper's Beratungsfolge, as the paper lists it.
    position: Mapped[int] = mapped_column(Integer, default=0)
    authoritative: Mapped[bool | None] = mapped_column(Boolean)
    role: Mapped[str | None] = mapped_column(Text)

    organization: Mapped[list[Organization]] = relationship(
        secondary=consultation_organization,
        order_by=consultation_organization.c.position,
        viewonly=True,
        lazy="raise",
    )
