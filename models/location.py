"""Location (Ortsangabe)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BodyScoped
from models.links import paper_location, referrers

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
    bodies: Mapped[list[Body]] = referrers("Body.location_id == Location.id", "Body.id")
    organizations: Mapped[list[Organization]] = referrers("Organization.location_id == Location.id", "Organization.id")
    persons: Mapped[list[Person]] = referrers("Person.location_id == Location.id", "Person.id")
    meetings: Mapped[list[Meeting]] = referrers("Meeting.location_id == Location.id", "Meeting.id")
    papers: Mapped[list[Paper]] = referrers(paper_location, "Paper.id")
