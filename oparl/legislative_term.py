"""LegislativeTerm: wire model and mapping."""

from __future__ import annotations

import datetime as dt

from models import LegislativeTerm
from oparl.base import ObjectOut, Render, common
from oparl.kind import Kind


class LegislativeTermOut(ObjectOut):
    body: str | None = None
    name: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None


def legislative_term_out(term: LegislativeTerm, render: Render, *, embedded: bool = False) -> LegislativeTermOut:
    return LegislativeTermOut(
        **common(term, "LegislativeTerm", render.urls),
        # Embedded in its Body the back-reference is left out (spec 4).
        body=None if embedded else render.urls.object("Body", term.body_id),
        name=term.name,
        start_date=term.start_date,
        end_date=term.end_date,
    )


KIND = Kind("LegislativeTerm", legislative_term_out, ())
