"""Consultation: wire model, mapping, eager loads."""

from __future__ import annotations

from sqlalchemy.orm import selectinload

from models import Consultation, Organization
from oparl.base import ObjectOut, Render, common
from oparl.kind import Kind, refs


class ConsultationOut(ObjectOut):
    paper: str | None = None
    agenda_item: str | None = None
    meeting: str | None = None
    organization: list[str] | None = None
    authoritative: bool | None = None
    role: str | None = None


def consultation_out(c: Consultation, render: Render, *, embedded: bool = False) -> ConsultationOut:
    urls = render.urls
    return ConsultationOut(
        **common(c, "Consultation", urls.object("Consultation", c.id)),
        # Embedded in its Paper the back-reference is left out (spec 4).
        paper=None if embedded else urls.ref("Paper", c.paper_id),
        agenda_item=urls.ref("AgendaItem", c.agenda_item_id),
        meeting=urls.ref("Meeting", c.meeting_id),
        organization=refs(render, "Organization", c.organization),
        authoritative=c.authoritative,
        role=c.role,
    )


LOAD_OPTIONS = (selectinload(Consultation.organization).load_only(Organization.id, Organization.deleted),)

KIND = Kind("Consultation", Consultation, consultation_out, LOAD_OPTIONS)
