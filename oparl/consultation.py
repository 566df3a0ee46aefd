"""Consultation: wire model, mapping, eager loads."""

from __future__ import annotations

from typing import Any

from models import Consultation
from oparl.base import ObjectOut, Render, common
from oparl.kind import Kind, ids_only, refs


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
        **common(c, "Consultation", urls),
        # Embedded in its Paper the back-reference is left out (spec 4).
        paper=None if embedded else urls.ref("Paper", c.paper_id),
        agenda_item=render.ref("AgendaItem", c.agenda_item),
        meeting=render.ref("Meeting", c.meeting),
        organization=refs(render, "Organization", c.organization),
        authoritative=c.authoritative,
        role=c.role,
    )


def load_options(path: Any = None) -> tuple[Any, ...]:
    """Eager loads for consultations, standalone or under `path` (the Paper's relationship)."""
    return (
        ids_only(Consultation.organization, path),
        ids_only(Consultation.agenda_item, path),
        ids_only(Consultation.meeting, path),
    )


LOAD_OPTIONS = load_options()

KIND = Kind("Consultation", consultation_out, LOAD_OPTIONS)
