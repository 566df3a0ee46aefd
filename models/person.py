"""Person."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BodyScoped, ObjectId
from models.links import referrers

if TYPE_CHECKING:
    from models.location import Location
    from models.membership import Membership


class Person(BodyScoped, Base):
    __tablename__ = "person"

    name: Mapped[str | None] = mapped_column(Text)
    family_name: Mapped[str | None] = mapped_column(Text)
    given_name: Mapped[str | None] = mapped_column(Text)
    form_of_address: Mapped[str | None] = mapped_column(Text)
    affix: Mapped[str | None] = mapped_column(Text)
    title: Mapped[list[str] | None]
    gender: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[list[str] | None]
    email: Mapped[list[str] | None]
    status: Mapped[list[str] | None]
    location_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("location.id"), index=True)
    life: Mapped[str | None] = mapped_column(Text)
    life_source: Mapped[str | None] = mapped_column(Text)

    location: Mapped[Location | None] = relationship(lazy="raise")
    membership: Mapped[list[Membership]] = referrers("Membership.person_id == Person.id", "Membership.id")
