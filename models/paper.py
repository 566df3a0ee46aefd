"""Paper (Drucksache)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BodyScoped, ObjectId
from models.links import (
    paper_auxiliary_file,
    paper_location,
    paper_originator_organization,
    paper_originator_person,
    paper_related_paper,
    paper_subordinated_paper,
    paper_under_direction_of,
)

if TYPE_CHECKING:
    from models.consultation import Consultation
    from models.file import File
    from models.location import Location
    from models.organization import Organization
    from models.person import Person


def _linked(table: Table, *, reverse: bool = False) -> Mapped[list[Paper]]:
    """A paper-to-paper link read in either direction (rows are written once, by the owner)."""
    here, there = ("target_id", "owner_id") if reverse else ("owner_id", "target_id")
    return relationship(
        "Paper",
        secondary=table,
        primaryjoin=f"Paper.id == {table.name}.c.{here}",
        secondaryjoin=f"Paper.id == {table.name}.c.{there}",
        order_by=f"{table.name}.c.position" if not reverse else "Paper.id",
        viewonly=True,
        lazy="raise",
        info={"reverse": reverse},
    )


class Paper(BodyScoped, Base):
    __tablename__ = "paper"

    name: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(Text, index=True)
    date: Mapped[dt.date | None]
    paper_type: Mapped[str | None] = mapped_column(Text)
    main_file_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("file.id"), index=True)

    main_file: Mapped[File | None] = relationship(lazy="raise")
    auxiliary_file: Mapped[list[File]] = relationship(
        secondary=paper_auxiliary_file, order_by=paper_auxiliary_file.c.position, viewonly=True, lazy="raise"
    )
    location: Mapped[list[Location]] = relationship(
        secondary=paper_location, order_by=paper_location.c.position, viewonly=True, lazy="raise"
    )
    originator_person: Mapped[list[Person]] = relationship(
        secondary=paper_originator_person,
        order_by=paper_originator_person.c.position,
        viewonly=True,
        lazy="raise",
    )
    originator_organization: Mapped[list[Organization]] = relationship(
        secondary=paper_originator_organization,
        order_by=paper_originator_organization.c.position,
        viewonly=True,
        lazy="raise",
    )
    under_direction_of: Mapped[list[Organization]] = relationship(
        secondary=paper_under_direction_of,
        order_by=paper_under_direction_of.c.position,
        viewonly=True,
        lazy="raise",
    )
    consultation: Mapped[list[Consultation]] = relationship(
        primaryjoin="Consultation.paper_id == Paper.id",
        order_by="(Consultation.position, Consultation.id)",
        viewonly=True,
        lazy="raise",
    )
    # relatedPaper has no direction: the output joins the rows this paper owns with those naming it.
    related_paper: Mapped[list[Paper]] = _linked(paper_related_paper)
    related_paper_of: Mapped[list[Paper]] = _linked(paper_related_paper, reverse=True)
    subordinated_paper: Mapped[list[Paper]] = _linked(paper_subordinated_paper)
    superordinated_paper: Mapped[list[Paper]] = _linked(paper_subordinated_paper, reverse=True)
