"""Meeting (Sitzung)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BodyScoped, ObjectId
from models.links import meeting_auxiliary_file, meeting_organization, meeting_participant, ordered_link, referrers

if TYPE_CHECKING:
    from models.agenda_item import AgendaItem
    from models.file import File
    from models.location import Location
    from models.organization import Organization
    from models.person import Person


class Meeting(BodyScoped, Base):
    __tablename__ = "meeting"

    name: Mapped[str | None] = mapped_column(Text)
    meeting_state: Mapped[str | None] = mapped_column(Text)
    cancelled: Mapped[bool | None] = mapped_column(Boolean)
    start: Mapped[dt.datetime | None]
    end: Mapped[dt.datetime | None]
    location_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("location.id"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("file.id"), index=True)
    results_protocol_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("file.id"), index=True)
    verbatim_protocol_id: Mapped[int | None] = mapped_column(ObjectId, ForeignKey("file.id"), index=True)

    location: Mapped[Location | None] = relationship(lazy="raise")
    invitation: Mapped[File | None] = relationship(foreign_keys=[invitation_id], lazy="raise")
    results_protocol: Mapped[File | None] = relationship(foreign_keys=[results_protocol_id], lazy="raise")
    verbatim_protocol: Mapped[File | None] = relationship(foreign_keys=[verbatim_protocol_id], lazy="raise")
    organization: Mapped[list[Organization]] = ordered_link(meeting_organization)
    participant: Mapped[list[Person]] = ordered_link(meeting_participant)
    auxiliary_file: Mapped[list[File]] = ordered_link(meeting_auxiliary_file)
    agenda_item: Mapped[list[AgendaItem]] = referrers(
        "AgendaItem.meeting_id == Meeting.id", "(AgendaItem.order, AgendaItem.id)"
    )


# A Body's next and last meetings (the Body's page, api/pages): a range of the index, not a sort.
Index("ix_meeting_body_id_start", Meeting.body_id, Meeting.start, Meeting.id)
