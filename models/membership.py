"""Membership: a Person in an Organization, possibly time-bound, with a role."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BodyScoped, ObjectId

if TYPE_CHECKING:
    from models.organization import Organization
    from models.person import Person


class Membership(BodyScoped, Base):
    __tablename__ = "membership"

    person_id: Mapped[int] = mapped_column(ObjectId, ForeignKey("person.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("organization.id"), index=True)
    role: Mapped[str | None] = mapped_column(Text)
    voting_right: Mapped[bool | None] = mapped_column(Boolean)
    start_date: Mapped[dt.date | None]
    end_date: Mapped[dt.date | None]
    on_behalf_of_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("organization.id"), index=True)

    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="raise", viewonly=True)
    organization: Mapped[Organization | None] = relationship(
        foreign_keys=[organization_id], lazy="raise", viewonly=True
    )
    on_behalf_of: Mapped[Organization | None] = relationship(
        foreign_keys=[on_behalf_of_id], lazy="raise", viewonly=True
    )
