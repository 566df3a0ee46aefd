"""LegislativeTerm (Wahlperiode)."""

import datetime as dt

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BodyScoped


class LegislativeTerm(BodyScoped, Base):
    __tablename__ = "legislative_term"

    name: Mapped[str | None] = mapped_column(Text)
    start_date: Mapped[dt.date | None]
    end_date: Mapped[dt.date | None]
