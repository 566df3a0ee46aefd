"""The write audit: one row per object a write operation named, in the transaction of the write.

A rolled-back write leaves no row and a committed one always has its rows. Nothing secret is kept:
the token is named by its id (its name and scopes are in api_token).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, ObjectId


class WriteAudit(Base):
    __tablename__ = "write_audit"
    __table_args__ = (Index("ix_write_audit_token_id_at", "token_id", "at"),)

    id: Mapped[int] = mapped_column(ObjectId, primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id"))
    at: Mapped[dt.datetime] = mapped_column(index=True)  # the server's clock when the write committed
    op: Mapped[str] = mapped_column(String(8))  # put, patch, delete, upload
    type: Mapped[str] = mapped_column(String(32))  # the OParl type, e.g. Paper
    key: Mapped[str | None] = mapped_column(String(255))
    object_id: Mapped[int] = mapped_column(ObjectId)  # no foreign key: object ids span tables
    result: Mapped[str] = mapped_column(String(16))  # created, changed, unchanged, deleted
