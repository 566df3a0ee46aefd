"""Membership: wire model and mapping."""

from __future__ import annotations

import datetime as dt

from models import Membership
from oparl.base import ObjectOut, Render, common
from oparl.kind import Kind


class MembershipOut(ObjectOut):
    person: str | None = None
    organization: str | None = None
    role: str | None = None
    voting_right: bool | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    on_behalf_of: str | None = None


def membership_out(m: Membership, render: Render, *, embedded: bool = False) -> MembershipOut:
    urls = render.urls
    return MembershipOut(
        **common(m, "Membership", urls.object("Membership", m.id)),
        person=None if embedded else urls.object("Person", m.person_id),
        organization=urls.ref("Organization", m.organization_id),
        role=m.role,
        voting_right=m.voting_right,
        start_date=m.start_date,
        end_date=m.end_date,
        on_behalf_of=urls.ref("Organization", m.on_behalf_of_id),
    )


KIND = Kind("Membership", Membership, membership_out, ())
