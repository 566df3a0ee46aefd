"""Body (Körperschaft): a municipality or county served by the System."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ObjectId, OParlObject
from models.links import referrers

if TYPE_CHECKING:
    from models.legislative_term import LegislativeTerm
    from models.location import Location
    from models.system import System


class Body(OParlObject, Base):
    __tablename__ = "body"

    system_id: Mapped[int] = mapped_column(ObjectId, ForeignKey("system.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    short_name: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)
    license_valid_since: Mapped[dt.datetime | None]
    oparl_since: Mapped[dt.datetime | None]
    ags: Mapped[str | None] = mapped_column(Text)
    rgs: Mapped[str | None] = mapped_column(Text)
    equivalent: Mapped[list[str] | None]
    contact_email: Mapped[str | None] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(Text)
    classification: Mapped[str | None] = mapped_column(Text)
    location_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("location.id", use_alter=True), index=True)

    system: Mapped[System] = relationship(lazy="raise")
    location: Mapped[Location | None] = relationship(foreign_keys=[location_id], lazy="raise")
    legislative_term: Mapped[list[LegislativeTerm]] = referrers(
        "LegislativeTerm.body_id == Body.id", "(LegislativeTerm.start_date, LegislativeTerm.id)"
    )
