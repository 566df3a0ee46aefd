"""Body: wire model, mapping, eager loads."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from sqlalchemy.orm import selectinload

from models import Body
from oparl.base import Calendar, Catalog, DateTime, ObjectOut, PapersFeed, Render, common
from oparl.catalogue import BODY_LISTS
from oparl.kind import Kind
from oparl.legislative_term import LegislativeTermOut, legislative_term_out
from oparl.location import LocationOut, embedded_location
from oparl.manifest import manifest_url


class BodyOut(ObjectOut):
    KEEP_EMPTY: ClassVar[frozenset[str]] = frozenset({"legislativeTerm"})

    system: str | None = None
    short_name: str | None = None
    name: str
    website: str | None = None
    license_valid_since: DateTime | None = None
    oparl_since: DateTime | None = None
    ags: str | None = None
    rgs: str | None = None
    equivalent: list[str] | None = None
    contact_email: str | None = None
    contact_name: str | None = None
    organization: str
    person: str
    meeting: str
    paper: str
    legislative_term: list[LegislativeTermOut] | None
    agenda_item: str
    consultation: str
    file: str
    location_list: str
    legislative_term_list: str
    membership: str
    classification: str | None = None
    location: LocationOut | None = None
    # kommParl 0.1 discovery: the Body's change feed and snapshot (oparl/feed).
    changes: str = Field(alias="kommparl:changes")
    snapshot: str = Field(alias="kommparl:snapshot")
    # Per list the count and digests of the public objects (oparl/manifest.py).
    manifest: str = Field(alias="oparl-server:manifest")
    # The Body's full-text search (oparl/search): `?q=` and filters, an OParl list page of hits.
    search: str = Field(alias="oparl-server:search")

    calendar: Calendar
    papers_feed: PapersFeed
    catalog: Catalog


def body_out(body: Body, render: Render) -> BodyOut:
    urls = render.urls
    lists = {prop: urls.body_list(body.id, listed.name) for prop, listed in BODY_LISTS.items()}
    terms = render.visible(body.legislative_term)
    publisher = render.publisher
    return BodyOut(
        **{**common(body, "Body", urls), "license": body.license or publisher.license},
        system=urls.system(),
        short_name=body.short_name,
        name=body.name,
        website=body.website,
        license_valid_since=body.license_valid_since,
        oparl_since=body.oparl_since,
        ags=body.ags,
        rgs=body.rgs,
        equivalent=body.equivalent,
        contact_email=body.contact_email or publisher.contact_email,
        contact_name=body.contact_name or publisher.contact_name,
        # Mandatory even when empty; left out only on request (omit_internal, spec 5.3).
        legislative_term=None
        if render.omit_internal
        else [legislative_term_out(t, render, embedded=True) for t in terms],
        classification=body.classification,
        location=embedded_location(body.location, render),
        changes=urls.feed(body.id),
        snapshot=urls.snapshot(body.id),
        manifest=manifest_url(urls, body.id),
        search=urls.search(body.id),
        **lists,
        calendar=urls.calendar("Body", body.id),
        papers_feed=urls.papers_feed("Body", body.id),
        catalog=urls.catalogue(body.id),
    )


LOAD_OPTIONS = (selectinload(Body.legislative_term), selectinload(Body.location))

KIND = Kind("Body", body_out, LOAD_OPTIONS)
