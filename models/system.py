"""The System: the API's entry point (one per OParl version)."""

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, OParlObject


class System(OParlObject, Base):
    __tablename__ = "system"

    name: Mapped[str | None] = mapped_column(Text)
    other_oparl_versions: Mapped[list[str] | None]
    contact_email: Mapped[str | None] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)
    vendor: Mapped[str | None] = mapped_column(Text)
    product: Mapped[str | None] = mapped_column(Text)
