"""File: metadata of a document; the bytes live in the content store under `sha512_checksum`."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BodyScoped, ObjectId
from models.links import agenda_item_auxiliary_file, meeting_auxiliary_file, paper_auxiliary_file, referrers

if TYPE_CHECKING:
    from models.agenda_item import AgendaItem
    from models.meeting import Meeting
    from models.paper import Paper


class File(BodyScoped, Base):
    __tablename__ = "file"

    name: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(Text)
    mime_type: Mapped[str | None] = mapped_column(Text)
    date: Mapped[dt.date | None]
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha1_checksum: Mapped[str | None] = mapped_column(String(40))
    sha512_checksum: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str | None] = mapped_column(Text)
    # How `text` came about when the server extracted it from the bytes (oparl/text/extract.py):
    # extracted, empty, encrypted, broken, limit, unsupported; None when a writer gave it, or none.
    text_state: Mapped[str | None] = mapped_column(String(16))
    # True when this server holds the bytes; accessUrl/downloadUrl then point at this server.
    stored: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where the bytes live when this server does not hold them.
    access_url: Mapped[str | None] = mapped_column(Text)
    download_url: Mapped[str | None] = mapped_column(Text)
    external_service_url: Mapped[str | None] = mapped_column(Text)
    file_license: Mapped[str | None] = mapped_column(Text)
    master_file_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("file.id"), index=True)

    master_file: Mapped[File | None] = relationship(remote_side="File.id", lazy="raise")
    derivative_file: Mapped[list[File]] = relationship(
        primaryjoin="File.master_file_id == File.id",
        foreign_keys=[master_file_id],
        remote_side=[master_file_id],
        order_by="File.id",
        viewonly=True,
        lazy="raise",
    )

    # Back-references (File.meeting/agendaItem/paper): every place this file is attached to.
    paper_main: Mapped[list[Paper]] = referrers("Paper.main_file_id == File.id", "Paper.id")
    paper_auxiliary: Mapped[list[Paper]] = referrers(paper_auxiliary_file, "Paper.id")
    meeting_attached: Mapped[list[Meeting]] = referrers(
        "or_(Meeting.invitation_id == File.id, Meeting.results_protocol_id == File.id, "
        "Meeting.verbatim_protocol_id == File.id)",
        "Meeting.id",
    )
    meeting_auxiliary: Mapped[list[Meeting]] = referrers(meeting_auxiliary_file, "Meeting.id")
    agenda_item_resolution: Mapped[list[AgendaItem]] = referrers(
        "AgendaItem.resolution_file_id == File.id", "AgendaItem.id"
    )
    agenda_item_auxiliary: Mapped[list[AgendaItem]] = referrers(agenda_item_auxiliary_file, "AgendaItem.id")
