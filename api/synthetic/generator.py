"""The generator: the council's frame (System, Body, terms, rooms, organizations, persons), then the simulation."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.synthetic.rows import Counts, Rows
from api.synthetic.shape import (
    ADDRESS,
    COMMITTEE_TOPICS,
    FAMILY,
    FRACTIONS,
    GIVEN,
    ROOMS,
    START,
    TERMS,
    Size,
    local,
    pdf,
)
from api.synthetic.simulation import Frame, Simulation
from models import Body, ListGeneration
from models.base import Base
from models.bulk import without_secondary
from oparl.content import ContentStore


class Generator:
    """Writes one Body's council into an empty database; `run` returns the rows written per table."""

    progress: Callable[[int], None] | None = None  # told the papers made so far, now and then

    def __init__(self, session: Session, store: ContentStore, *, papers: int, seed: int, tz: ZoneInfo) -> None:
        if papers < 1:
            raise ValueError("papers must be at least 1")
        self.session, self.size, self.tz = session, Size(papers), tz
        self.rng = random.Random(seed)
        self.seed = seed
        self.contents = [store.put_bytes(session, pdf(seed, n), f"dokument-{n}.pdf") for n in range(16)]
        self.body_id = 1

    def run(self) -> Counts:
        if self.session.scalar(select(func.count()).select_from(Body)):
            raise ValueError("the database already holds a Body: generate into an empty database")
        if self.session.get_bind().dialect.name == "sqlite":
            # One long transaction: with SQLite's default 2 MB page cache, index pages would be
            # written to the WAL again and again as they spill.
            self.session.connection().exec_driver_sql("PRAGMA cache_size = -524288")
        with (
            without_secondary(self.session.connection()),
            Rows(self.session, seed=self.seed, body_id=self.body_id) as rows,
        ):
            frame = self._frame(rows)
            Simulation(rows, self.rng, self.size, self.tz, frame, self.contents).run(self.progress)
            counts = rows.finish()
        self._move_generations(counts)
        return counts

    def _move_generations(self, counts: Counts) -> None:
        """Cached list pages of whatever was served before are stale now (the write path does this per write)."""
        for name in counts.rows:
            table = Base.metadata.tables[name]
            latest = select(func.max(table.c.modified)).scalar_subquery() if "modified" in table.c else None
            if latest is None:
                continue
            self.session.execute(
                update(ListGeneration)
                .where(ListGeneration.table_name == table.name)
                .values(value=ListGeneration.value + 1, modified=latest)
            )

    def _at(self, day: dt.date) -> dt.datetime:
        return local(day, self.tz)

    # -- the council's frame ---------------------------------------------------------------------

    def _frame(self, rows: Rows) -> Frame:
        self._system_and_body(rows)
        rooms = self._locations(rows)
        council, committees, fractions = self._organizations(rows, rooms)
        self._persons(rows, [council, *committees], fractions)
        return Frame(council, committees, fractions, rooms)

    def _system_and_body(self, rows: Rows) -> None:
        created = self._at(START)
        rows.add("system", created, name="Synthetischer Rat", vendor="https://www.example.org/")
        rows.add(
            "body",
            created,
            system_id=1,
            name=f"Synthetische Stadt {self.seed}",
            short_name="Synthetika",
            ags="01003000",
            classification="Kreisfreie Stadt",
            website="https://www.example.org/",
            oparl_since=created,
        )
        for start, end in TERMS:
            name = f"Wahlperiode {start.year}–{end.year}"
            rows.add("legislative_term", self._at(start), name=name, start_date=start, end_date=end)

    def _locations(self, rows: Rows) -> list[int]:
        street, postal, city = ADDRESS
        return [
            rows.add(
                "location",
                self._at(START),
                description=f"Rathaus, {room}",
                room=room,
                street_address=street,
                postal_code=postal,
                locality=city,
            )["id"]
            for room in ROOMS
        ]

    def _organizations(self, rows: Rows, rooms: list[int]) -> tuple[int, list[int], list[int]]:
        def organization(name: str, short: str, kind: str, classification: str) -> int:
            row = rows.add(
                "organization",
                self._at(START),
                name=name,
                short_name=short,
                organization_type=kind,
                classification=classification,
                post=["Vorsitz", "stellv. Vorsitz", "Mitglied"] if kind == "Gremium" else ["Vorsitz", "Mitglied"],
                start_date=START,
                location_id=self.rng.choice(rooms) if kind == "Gremium" else None,
            )
            return int(row["id"])

        council = organization("Bürgerschaft", "BS", "Gremium", "Hauptorgan")
        committees = []
        for n in range(self.size.committees):
            base = COMMITTEE_TOPICS[n % len(COMMITTEE_TOPICS)]
            name = base if n < len(COMMITTEE_TOPICS) else f"{base} {n // len(COMMITTEE_TOPICS) + 1}"
            committees.append(organization(name, f"A{n + 1}", "Gremium", "Ausschuss"))
        fractions = [organization(f"Fraktion {f}", f, "Fraktion", "Fraktion") for f in FRACTIONS]
        return council, committees, fractions

    def _persons(self, rows: Rows, bodies: list[int], fractions: list[int]) -> None:
        for n in range(self.size.persons):
            given, family = self.rng.choice(GIVEN), self.rng.choice(FAMILY)
            first_term = self.rng.randrange(len(TERMS))
            terms = TERMS[first_term : first_term + self.rng.randint(1, 3)]
            person = rows.add(
                "person",
                self._at(terms[0][0]),
                self._at(terms[-1][0]),
                name=f"{given} {family}",
                given_name=given,
                family_name=family,
                form_of_address="Frau" if n % 2 else "Herr",
                status=["Mitglied der Bürgerschaft"],
            )
            fraction = self.rng.choice(fractions)
            for start, end in terms:
                seats = [bodies[0], fraction, *self.rng.sample(bodies[1:], k=min(2, len(bodies) - 1))]
                for organization_id in seats:
                    rows.add(
                        "membership",
                        self._at(start),
                        self._at(end),
                        person_id=person["id"],
                        organization_id=organization_id,
                        role="Mitglied",
                        voting_right=True,
                        start_date=start,
                        end_date=end,
                        on_behalf_of_id=None if organization_id == fraction else fraction,
                    )
