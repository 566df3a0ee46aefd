"""Organization: Gremium, Fraktion, Verwaltungsbereich, …"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BodyScoped, ObjectId
from models.links import referrers

if TYPE_CHECKING:
    from models.location import Location
    from models.membership import Membership


class Organization(BodyScoped, Base):
    __tablename__ = "organization"

    name: Mapped[str | None] = mapped_column(Text)
    short_name: Mapped[str | None] = mapped_column(Text)
    post: Mapped[list[str] | None]
    sub_organization_of_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("organization.id"), index=True)
    organization_type: Mapped[str | None] = mapped_column(Text)
    classification: Mapped[str | None] = mapped_column(Text)
    start_date: Mapped[dt.date | None]
    end_date: Mapped[dt.date | None]
    website: Mapped[str | None] = mapped_column(Text)
    location_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("location.id"), index=True)
    # May name a Body of another OParl system, so it is kept as a URL.
    external_body: Mapped[str | None] = mapped_column(Text)

    sub_organization_of: Mapped[Organization | None] = relationship(remote_side="Organization.id", lazy="raise")
    location: Mapped[Location | None] = relationship(lazy="raise")
    membership: Mapped[list[Membership]] = referrers("Membership.organization_id == Organization.id", "Membership.id")
