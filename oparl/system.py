"""System: the entry point."""

from __future__ import annotations

from pydantic import Field

from models import System
from oparl.base import SCHEMA_BASE, ObjectOut, Render, common
from oparl.feed import CONFORMS_TO
from oparl.kind import Kind


class SystemOut(ObjectOut):
    oparl_version: str
    other_oparl_versions: list[str] | None = None
    body: str
    name: str | None = None
    contact_email: str | None = None
    contact_name: str | None = None
    website: str | None = None
    vendor: str | None = None
    product: str | None = None
    conforms_to: list[str] = Field(alias="kommparl:conformsTo")


def system_out(system: System, render: Render) -> SystemOut:
    publisher, urls = render.publisher, render.urls
    return SystemOut(
        **{**common(system, "System", urls, urls.system()), "license": system.license or publisher.license},
        oparl_version=SCHEMA_BASE,
        other_oparl_versions=system.other_oparl_versions,
        body=render.urls.bodies(),
        name=system.name,
        contact_email=system.contact_email or publisher.contact_email,
        contact_name=system.contact_name or publisher.contact_name,
        website=system.website or publisher.website,
        vendor=system.vendor,
        product=system.product,
        conforms_to=list(CONFORMS_TO),
    )


KIND = Kind("System", system_out, ())
