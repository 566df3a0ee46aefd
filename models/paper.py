"""Paper (Drucksache)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, Table, Text
from sqlalchemy.orm import Mapped, Relationship, mapped_column, relationship

from models.base import Base, BodyScoped, ObjectId
from models.links import (
    ordered_link,
    paper_auxiliary_file,
    paper_location,
    paper_originator_organization,
    paper_originator_person,
    paper_related_paper,
    paper_subordinated_paper,
    paper_under_direction_of,
    referrers,
)

if TYPE_CHECKING:
    from models.consultation import Consultation
    from models.file import File
    from models.location import Location
    from models.organization import Organization
    from models.person import Person


def _linked(table: Table, *, reverse: bool = False) -> Relationship[Any]:
    """A paper-to-paper link read in either direction (rows are written once, by the owner)."""
    here, there = ("target_id", "owner_id") if reverse else ("owner_id", "target_id")
    joins = {
        "primaryjoin": f"Paper.id == {table.name}.c.{here}",
        "secondaryjoin": f"Paper.id == {table.name}.c.{there}",
        "info": {"reverse": reverse},
    }
    return referrers(table, "Paper.id", **joins) if reverse else ordered_link(table, **joins)


class Paper(BodyScoped, Base):
    __tablename__ = "paper"

    name: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(Text, index=True)
    date: Mapped[dt.date | None]
    paper_type: Mapped[str | None] = mapped_column(Text)
    main_file_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("file.id"), index=True)

    main_file: Mapped[File | None] = relationship(lazy="raise")
    auxiliary_file: Mapped[list[File]] = ordered_link(paper_auxiliary_file)
    location: Mapped[list[Location]] = ordered_link(paper_location)
    originator_person: Mapped[list[Person]] = ordered_link(paper_originator_person)
    originator_organization: Mapped[list[Organization]] = ordered_link(paper_originator_organization)
    under_direction_of: Mapped[list[Organization]] = ordered_link(paper_under_direction_of)
    consultation: Mapped[list[Consultation]] = referrers(
        "Consultation.paper_id == Paper.id", "(Consultation.position, Consultation.id)"
    )
    # relatedPaper has no direction: the output joins the rows this paper owns with those naming it.
    related_paper: Mapped[list[Paper]] = _linked(paper_related_paper)
    related_paper_of: Mapped[list[Paper]] = _linked(paper_related_paper, reverse=True)
    subordinated_paper: Mapped[list[Paper]] = _linked(paper_subordinated_paper)
    superordinated_paper: Mapped[list[Paper]] = _linked(paper_subordinated_paper, reverse=True)


# A Body's newest papers by date (the Body's page, api/pages): read off the index's end, not sorted.
Index("ix_paper_body_id_date", Paper.body_id, Paper.date, Paper.id)
