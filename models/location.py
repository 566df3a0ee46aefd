"""Location (Ortsangabe)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BodyScoped
from models.links import paper_location

if TYPE_CHECKING:
    from models.body import Body
    from models.meeting import Meeting
    from models.organization import Organization
    from models.paper import Paper
    from models.person import Person


class Location(BodyScoped, Base):
    __tablename__ = "location"

    description: Mapped[str | None] = mapped_column(Text)
    geojson: Mapped[dict[str, Any] | None]
    street_address: Mapped[str | None] = mapped_column(Text)
    room: Mapped[str | None] = mapped_column(Text)
    postal_code: Mapped[str | None] = mapped_column(Text)
    sub_locality: Mapped[str | None] = mapped_column(Text)
    locality: Mapped[str | None] = mapped_column(Text)

    # Back-references (1.1 names: bodies, organizations, persons, meetings, papers).
    bodies: Mapped[list[Body]] = relationship(
        primaryjoin="Body.location_id == Location.id", order_by="Body.id", viewonly=True, lazy="raise"
    )
    organizations: Mapped[list[Organization]] = relationship(
        primaryjoin="Organization.location_id == Location.id",
        order_by="Organization.id",
        viewonly=True,
        lazy="raise",
    )
    persons: Mapped[list[Person]] = relationship(
        primaryjoin="Person.location_id == Location.id", order_by="Person.id", viewonly=True, lazy="raise"
    )
    meetings: Mapped[list[Meeting]] = relationship(
        primaryjoin="Meeting.location_id == Location.id", order_by="Meeting.id", viewonly=True, lazy="raise"
    )
    papers: Mapped[list[Paper]] = relationship(
        secondary=paper_location, order_by="Paper.id", viewonly=True, lazy="raise"
    )
