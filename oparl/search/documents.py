"""What the index holds of each searchable object: its terms, its filter tokens, its date.

Indexed types and their fields (title: what a "title hit" is; body: document text):

    Paper         title: name, reference                     facets: paper type, organizations
                                                             (originator, under direction, consulted),
                                                             originator persons
    Meeting       title: name                                facets: organizations, participants
    AgendaItem    title: name, number; body: resolution text
    Person        title: name, given/family name, title      facets: organizations of memberships, itself
    Organization  title: name, short name                    facets: itself
    File          title: name, file name; body: text

Filter tokens (`facets`, one column, every engine reads them as words): `b<id>` the Body, `p` shown
to anonymous clients, `t<type>`, `o<id>` an organization, `n<id>` a person, `k<digest>` a paper type;
a link that goes through a non-public row (a hidden Membership or Consultation) is `q<id>`
instead, which only an entitled client's filter asks for: an anonymous filter by an organization
never finds a Person through a membership it may not see.
A row's terms are built from its own fields only, so a hit and its snippet tell nothing the object
served at its URL does not (a public Paper's text never carries a hidden File's words).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from models import AgendaItem, Consultation, File, Meeting, Membership, OParlObject, Organization, Paper, Person
from models.links import (
    consultation_organization,
    meeting_organization,
    meeting_participant,
    paper_originator_organization,
    paper_originator_person,
    paper_under_direction_of,
)
from oparl.search.analysis import reference_key, terms

Row = dict[str, Any]
Links = dict[int, list[str]]


def paper_type_token(paper_type: str) -> str:
    return "k" + hashlib.sha256(paper_type.strip().casefold().encode()).hexdigest()[:12]


def _links(session: Session, table: Table, ids: list[int], prefix: str, into: Links) -> None:
    for owner, target in session.execute(select(table.c.owner_id, table.c.target_id).where(table.c.owner_id.in_(ids))):
        into[owner].append(f"{prefix}{target}")


def _paper_facets(session: Session, ids: list[int]) -> Links:
    found: Links = defaultdict(list)
    for table in (paper_originator_organization, paper_under_direction_of):
        _links(session, table, ids, "o", found)
    _links(session, paper_originator_person, ids, "n", found)
    link = consultation_organization
    consulted = (
        select(Consultation.paper_id, link.c.target_id)
        .join(link, link.c.owner_id == Consultation.id)
        .where(Consultation.paper_id.in_(ids), Consultation.deleted.is_(False))
        .add_columns(Consultation.nonpublic)
    )
    for paper_id, organization_id, hidden in session.execute(consulted):
        found[paper_id].append(f"{'q' if hidden else 'o'}{organization_id}")
    for paper_id, paper_type in session.execute(select(Paper.id, Paper.paper_type).where(Paper.id.in_(ids))):
        if paper_type:
            found[paper_id].append(paper_type_token(paper_type))
    return found


def _meeting_facets(session: Session, ids: list[int]) -> Links:
    found: Links = defaultdict(list)
    _links(session, meeting_organization, ids, "o", found)
    _links(session, meeting_participant, ids, "n", found)
    return found


def _person_facets(session: Session, ids: list[int]) -> Links:
    found: Links = defaultdict(list)
    query = select(Membership.person_id, Membership.organization_id, Membership.nonpublic).where(
        Membership.person_id.in_(ids), Membership.deleted.is_(False), Membership.organization_id.is_not(None)
    )
    for person_id, organization_id, hidden in session.execute(query):
        found[person_id].append(f"{'q' if hidden else 'o'}{organization_id}")
    for person_id in ids:
        found[person_id].append(f"n{person_id}")
    return found


def _self(prefix: str) -> Callable[[Session, list[int]], Links]:
    def facets(_session: Session, ids: list[int]) -> Links:
        return {i: [f"{prefix}{i}"] for i in ids}

    return facets


def _none(_session: Session, _ids: list[int]) -> Links:
    return {}


def _day(value: dt.date | dt.datetime | None) -> dt.date | None:
    """A datetime's date in UTC (a council meets between 00:00 and 02:00 local time seldom enough)."""
    return value.date() if isinstance(value, dt.datetime) else value


class Source:
    """How one type becomes index rows: the columns read, and per row title, body and date."""

    def __init__(
        self,
        model: type[OParlObject],
        columns: Iterable[Any],
        title: Callable[[Any], Iterable[str | None]],
        facets: Callable[[Session, list[int]], Links] = _none,
        body: Callable[[Any], str | None] = lambda row: None,
        date: Callable[[Any], dt.date | dt.datetime | None] = lambda row: None,
        reference: Callable[[Any], str | None] = lambda row: None,
    ) -> None:
        self.model, self.type_name = model, model.__name__
        self.columns = tuple(columns)
        self.title, self.facets, self.body, self.date, self.reference = title, facets, body, date, reference

    def rows(self, session: Session, ids: list[int]) -> list[Row]:
        """The index rows of the objects among `ids` that exist and are not deleted."""
        model = self.model
        base = (model.id, model.body_id, model.nonpublic)  # type: ignore[attr-defined]
        query = select(*base, *self.columns).where(model.id.in_(ids), model.deleted.is_(False))
        found = session.execute(query).all()
        facets = self.facets(session, [row.id for row in found]) if found else {}
        return [self._row(row, facets.get(row.id, [])) for row in found]

    def _row(self, row: Any, extra: list[str]) -> Row:
        title = " ".join(terms(" ".join(part for part in self.title(row) if part)))
        tokens = [f"b{row.body_id}", f"t{self.type_name.lower()}", *(() if row.nonpublic else ("p",)), *extra]
        return {
            "type_name": self.type_name,
            "object_id": row.id,
            "body_id": row.body_id,
            "public": not row.nonpublic,
            "ref_key": reference_key(self.reference(row)),
            "date": _day(self.date(row)),
            "title": title,
            "body": " ".join(terms(self.body(row))),
            "facets": " ".join(dict.fromkeys(tokens)),
        }


SOURCES: dict[str, Source] = {
    s.type_name: s
    for s in (
        Source(Paper, (Paper.name, Paper.reference, Paper.date), lambda r: (r.name, r.reference), _paper_facets,
               date=lambda r: r.date, reference=lambda r: r.reference),
        Source(Meeting, (Meeting.name, Meeting.start), lambda r: (r.name,), _meeting_facets, date=lambda r: r.start),
        Source(AgendaItem, (AgendaItem.name, AgendaItem.number, AgendaItem.resolution_text, AgendaItem.start),
               lambda r: (r.name, r.number), body=lambda r: r.resolution_text, date=lambda r: r.start),
        Source(Person, (Person.name, Person.given_name, Person.family_name, Person.title),
               lambda r: (r.name, r.given_name, r.family_name, *(r.title or ())), _person_facets),
        Source(Organization, (Organization.name, Organization.short_name, Organization.start_date),
               lambda r: (r.name, r.short_name), _self("o"), date=lambda r: r.start_date),
        Source(File, (File.name, File.file_name, File.text, File.date), lambda r: (r.name, r.file_name),
               body=lambda r: r.text, date=lambda r: r.date),
    )
}  # fmt: skip
SEARCHED: dict[type[OParlObject], Source] = {s.model: s for s in SOURCES.values()}
