"""One counter per OParl table that moves with every write to it: list pages are cached on it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class ListGeneration(Base):
    """`value` grows with each committed stamp of the table's rows; `modified` is the latest stamp.

    A cached list page or count is valid while the generations it was built at are current, in
    every worker process and on every host, since the counter lives in the shared database.
    """

    __tablename__ = "list_generation"

    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    modified: Mapped[dt.datetime | None]
