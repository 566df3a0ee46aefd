"""Person: wire model, mapping, eager loads."""

from __future__ import annotations

from sqlalchemy.orm import selectinload

from models import Person
from oparl import membership
from oparl.base import Calendar, ObjectOut, Render, common
from oparl.kind import Kind
from oparl.location import LocationOut, location_out
from oparl.membership import MembershipOut, membership_out


class PersonOut(ObjectOut):
    body: str | None = None
    name: str | None = None
    family_name: str | None = None
    given_name: str | None = None
    form_of_address: str | None = None
    affix: str | None = None
    title: list[str] | None = None
    gender: str | None = None
    phone: list[str] | None = None
    email: list[str] | None = None
    location: str | None = None
    location_object: LocationOut | None = None
    status: list[str] | None = None
    membership: list[MembershipOut] | None = None
    life: str | None = None
    life_source: str | None = None
    calendar: Calendar


def person_out(person: Person, render: Render) -> PersonOut:
    urls = render.urls
    loc = person.location if render.shows(person.location) else None
    return PersonOut(
        **common(person, "Person", urls),
        body=urls.object("Body", person.body_id),
        name=person.name,
        family_name=person.family_name,
        given_name=person.given_name,
        form_of_address=person.form_of_address,
        affix=person.affix,
        title=person.title,
        gender=person.gender,
        phone=person.phone,
        email=person.email,
        # With locationObject, location MUST name the same object (spec 8.5).
        location=None if loc is None else urls.object("Location", loc.id),
        location_object=None if loc is None else location_out(loc, render, embedded=True),
        status=person.status,
        membership=None
        if render.omit_internal
        else [membership_out(m, render, embedded=True) for m in render.visible(person.membership)],
        life=person.life,
        life_source=person.life_source,
        calendar=urls.calendar("Person", person.id),
    )


LOAD_OPTIONS = (
    selectinload(Person.membership),
    *membership.load_options(selectinload(Person.membership)),
    selectinload(Person.location),
)

KIND = Kind("Person", person_out, LOAD_OPTIONS)
