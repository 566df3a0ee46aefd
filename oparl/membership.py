"""Membership: wire model and mapping."""

from __future__ import annotations

import datetime as dt
from typing import Any

from models import Membership
from oparl.base import ObjectOut, Render, common
from oparl.kind import Kind, ids_only


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
        **common(m, "Membership", urls),
        person=None if embedded else urls.object("Person", m.person_id),
        organization=render.ref("Organization", m.organization),
        role=m.role,
        voting_right=m.voting_right,
        start_date=m.start_date,
        end_date=m.end_date,
        on_behalf_of=render.ref("Organization", m.on_behalf_of),
    )


def load_options(path: Any = None) -> tuple[Any, ...]:
    """Eager loads for memberships, standalone or under `path` (the Person's relationship)."""
    return (
        ids_only(Membership.organization, path),
        ids_only(Membership.on_behalf_of, path),
    )


KIND = Kind("Membership", membership_out, load_options())
