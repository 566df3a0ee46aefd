"""Organization: wire model, mapping, eager loads."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import selectinload

from models import Organization
from oparl.base import AgendaFeed, Calendar, ObjectOut, PapersFeed, Render, common
from oparl.kind import Kind, ids_only, refs
from oparl.location import LocationOut, embedded_location


class OrganizationOut(ObjectOut):
    body: str | None = None
    name: str | None = None
    membership: list[str] | None = None
    meeting: str | None = None
    consultation: str | None = None
    short_name: str | None = None
    post: list[str] | None = None
    sub_organization_of: str | None = None
    organization_type: str | None = None
    classification: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    website: str | None = None
    location: LocationOut | None = None
    external_body: str | None = None
    calendar: Calendar
    papers_feed: PapersFeed
    agenda_feed: AgendaFeed


def organization_out(org: Organization, render: Render) -> OrganizationOut:
    urls = render.urls
    return OrganizationOut(
        **common(org, "Organization", urls),
        body=urls.object("Body", org.body_id),
        name=org.name,
        membership=refs(render, "Membership", org.membership),
        meeting=urls.organization_list(org.id, "Meeting"),
        consultation=urls.organization_list(org.id, "Consultation"),
        short_name=org.short_name,
        post=org.post,
        sub_organization_of=render.ref("Organization", org.sub_organization_of),
        organization_type=org.organization_type,
        classification=org.classification,
        start_date=org.start_date,
        end_date=org.end_date,
        website=org.website,
        location=embedded_location(org.location, render),
        external_body=org.external_body,
        calendar=urls.calendar("Organization", org.id),
        papers_feed=urls.papers_feed("Organization", org.id),
        agenda_feed=urls.agenda_feed(org.id),
    )


LOAD_OPTIONS = (
    ids_only(Organization.sub_organization_of),
    ids_only(Organization.membership),
    selectinload(Organization.location),
)

KIND = Kind("Organization", organization_out, LOAD_OPTIONS)
