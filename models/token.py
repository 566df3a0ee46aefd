"""API tokens: only a hash of the secret is stored, so the table holds nothing an attacker can use."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Public part of the token, used to find the row; the secret part is compared in constant time.
    lookup: Mapped[str] = mapped_column(String(32), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]]
    created: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked: Mapped[dt.datetime | None]
    # Moved at most once a minute (api.auth.LAST_USED_STEP), not written on every request.
    last_used: Mapped[dt.datetime | None]
    expires: Mapped[dt.datetime | None]  # from then on the token is refused
