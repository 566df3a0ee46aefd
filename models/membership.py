"""Membership: a Person in an Organization, possibly time-bound, with a role."""

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BodyScoped


class Membership(BodyScoped, Base):
    __tablename__ = "membership"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    role: Mapped[str | None] = mapped_column(Text)
    voting_right: Mapped[bool | None] = mapped_column(Boolean)
    start_date: Mapped[dt.date | None]
    end_date: Mapped[dt.date | None]
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
