"""Paper: wire model, mapping, eager loads."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import selectinload

from models import Paper
from oparl import consultation
from oparl.base import ObjectOut, Render, common
from oparl.consultation import ConsultationOut, consultation_out
from oparl.file import FileOut, embedded_file, embedded_files, embedded_loads
from oparl.kind import Kind, ids_only, refs
from oparl.location import LocationOut, location_out


class PaperOut(ObjectOut):
    body: str | None = None
    name: str | None = None
    reference: str | None = None
    date: dt.date | None = None
    paper_type: str | None = None
    related_paper: list[str] | None = None
    superordinated_paper: list[str] | None = None
    subordinated_paper: list[str] | None = None
    main_file: FileOut | None = None
    auxiliary_file: list[FileOut] | None = None
    location: list[LocationOut] | None = None
    originator_person: list[str] | None = None
    under_direction_of: list[str] | None = None
    originator_organization: list[str] | None = None
    consultation: list[ConsultationOut] | None = None


def paper_out(paper: Paper, render: Render) -> PaperOut:
    urls = render.urls
    # relatedPaper has no direction: both ends list each other, however the link was written. The
    # paper's own list comes first, in its order; papers that name it follow.
    related = list({p.id: p for p in [*paper.related_paper, *sorted(paper.related_paper_of, key=_by_id)]}.values())
    return PaperOut(
        **common(paper, "Paper", urls),
        body=urls.object("Body", paper.body_id),
        name=paper.name,
        reference=paper.reference,
        date=paper.date,
        paper_type=paper.paper_type,
        related_paper=refs(render, "Paper", related),
        superordinated_paper=refs(render, "Paper", paper.superordinated_paper),
        subordinated_paper=refs(render, "Paper", paper.subordinated_paper),
        main_file=embedded_file(paper.main_file, render),
        auxiliary_file=None if render.omit_internal else embedded_files(paper.auxiliary_file, render),
        location=None
        if render.omit_internal
        else [location_out(loc, render, embedded=True) for loc in render.visible(paper.location)],
        originator_person=refs(render, "Person", paper.originator_person),
        under_direction_of=refs(render, "Organization", paper.under_direction_of),
        originator_organization=refs(render, "Organization", paper.originator_organization),
        consultation=[consultation_out(c, render, embedded=True) for c in render.visible(paper.consultation)],
    )


def _by_id(paper: Paper) -> int:
    return paper.id


LOAD_OPTIONS = (
    *embedded_loads(selectinload(Paper.main_file)),
    *embedded_loads(selectinload(Paper.auxiliary_file)),
    selectinload(Paper.location),
    ids_only(Paper.originator_person),
    ids_only(Paper.originator_organization),
    ids_only(Paper.under_direction_of),
    selectinload(Paper.consultation),
    *consultation.load_options(selectinload(Paper.consultation)),
    ids_only(Paper.related_paper),
    ids_only(Paper.related_paper_of),
    ids_only(Paper.superordinated_paper),
    ids_only(Paper.subordinated_paper),
)

KIND = Kind("Paper", paper_out, LOAD_OPTIONS)
