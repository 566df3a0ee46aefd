"""AgendaItem: wire model, mapping, eager loads."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import selectinload

from models import AgendaItem, Meeting
from oparl.base import DateTime, ObjectOut, Render, common
from oparl.file import FileOut, embedded_file, embedded_files, embedded_loads
from oparl.kind import Kind, ids_only, refs, under


class AgendaItemOut(ObjectOut):
    meeting: str | None = None
    number: str | None = None
    order: int
    name: str | None = None
    public: bool | None = None
    consultation: str | None = None
    result: str | None = None
    resolution_text: str | None = None
    resolution_file: FileOut | None = None
    auxiliary_file: list[FileOut] | None = None
    start: DateTime | None = None
    end: DateTime | None = None


def agenda_item_out(
    item: AgendaItem, render: Render, *, embedded: bool = False, order: int | None = None
) -> AgendaItemOut:
    urls = render.urls
    consultations = refs(render, "Consultation", item.consultation)
    return AgendaItemOut(
        **common(item, "AgendaItem", urls),
        # Embedded in its Meeting the back-reference is left out (spec 4).
        meeting=None if embedded else urls.object("Meeting", item.meeting_id),
        number=item.number,
        order=_position(item, render) if order is None else order,
        name=item.name,
        public=item.public,
        # OParl allows one; several papers under one item keep the first (all link back to it).
        consultation=consultations[0] if consultations else None,
        result=item.result,
        resolution_text=item.resolution_text,
        resolution_file=embedded_file(item.resolution_file, render),
        auxiliary_file=None if render.omit_internal else embedded_files(item.auxiliary_file, render),
        start=item.start,
        end=item.end,
    )


def _position(item: AgendaItem, render: Render) -> int:
    """0-based among the items this client sees, as in the Meeting (spec 8.8): no hidden item shows through."""
    siblings = [s.id for s in render.visible(item.meeting.agenda_item)]
    return siblings.index(item.id) if item.id in siblings else item.order


def load_options(path: Any = None) -> tuple[Any, ...]:
    """Eager loads for agenda items, standalone or under `path` (the Meeting's relationship)."""
    return (
        *embedded_loads(under(path, AgendaItem.resolution_file)),
        *embedded_loads(under(path, AgendaItem.auxiliary_file)),
        ids_only(AgendaItem.consultation, path),
    )


SIBLINGS = selectinload(AgendaItem.meeting).selectinload(Meeting.agenda_item)
KIND = Kind(
    "AgendaItem",
    agenda_item_out,
    (*load_options(), SIBLINGS.load_only(AgendaItem.id, AgendaItem.order, AgendaItem.deleted, AgendaItem.nonpublic)),
)
