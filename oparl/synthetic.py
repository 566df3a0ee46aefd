"""A synthetic council of any size, deterministic from a seed, for benchmarks and scale tests.

The council is simulated meeting by meeting: committees meet every two to three weeks, each
meeting's agenda takes the papers waiting for that committee first and new papers after, and a
paper moves on through its Beratungsfolge (1–6 consultations, the last one deciding) to other
committees. So every row is written after the rows it references, and the generator streams:
memory stays flat at a million papers. Rows go in with bulk inserts, not through the write path
(`oparl.load`), which checks and cascades one record at a time; `snapshot.refresh_all` renders
them afterwards (`Snapshots.refresh_stale`). New papers are paced evenly over the years the
council runs, so every year has its share of papers, meetings and files.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import json
import random
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Boolean, Table, func, insert, select, update
from sqlalchemy.orm import Session

from models import (
    AgendaItem,
    Body,
    Consultation,
    File,
    LegislativeTerm,
    Location,
    Meeting,
    Membership,
    Organization,
    Paper,
    Person,
    System,
)
from models.base import Base, UTCDateTime
from models.bulk import without_secondary
from models.generation import ListGeneration
from models.links import (
    consultation_organization,
    meeting_organization,
    paper_auxiliary_file,
    paper_originator_organization,
    paper_originator_person,
    paper_related_paper,
    paper_under_direction_of,
)
from oparl.content import ContentStore, Stored

START = dt.date(2005, 1, 1)
# Nothing synthetic is created or modified after this moment, whatever the seed and size.
LAST_CHANGE = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)
TERMS = [(dt.date(y, 6, 1), dt.date(y + 5, 5, 31)) for y in range(2003, 2024, 5)]
FIXED_ITEMS = ("Eröffnung und Feststellung der Tagesordnung", "Genehmigung der Niederschrift")
LAST_ITEM = "Mitteilungen und Verschiedenes"
REPORTS = ("Bericht der Verwaltung", "Anfragen der Mitglieder", "Sachstandsbericht", "Einwohnerfragestunde")
PAPER_TYPES = ("Beschlussvorlage", "Mitteilungsvorlage", "Antrag", "Anfrage", "Bericht", "Dringlichkeitsvorlage")
TOPICS = (
    "Radverkehrskonzept",
    "Schulentwicklungsplan",
    "Bebauungsplan",
    "Haushaltssatzung",
    "Kita-Bedarfsplanung",
    "Sanierung der Sporthalle",
    "Klimaschutzkonzept",
    "Straßenausbaubeitrag",
    "Wohnraumförderung",
    "Friedhofssatzung",
    "Brandschutzbedarfsplan",
    "ÖPNV-Anbindung",
    "Stadtbibliothek",
    "Baumschutzsatzung",
    "Jahresabschluss",
    "Hafenentwicklung",
    "Digitalisierungsstrategie",
    "Seniorenbeirat",
    "Parkraumkonzept",
)
PLACES = (
    "Innenstadt",
    "St. Lorenz Nord",
    "St. Jürgen",
    "Moisling",
    "Buntekuh",
    "Travemünde",
    "Kücknitz",
    "Schlutup",
    "St. Gertrud",
    "Eichholz",
    "Marli",
    "Hochschulstadtteil",
)
VERBS = ("Beschluss über", "Fortschreibung", "Umsetzung", "Änderung", "Sachstand", "Prüfauftrag zu", "Förderung")
COMMITTEE_TOPICS = (
    "Bauausschuss",
    "Hauptausschuss",
    "Finanzausschuss",
    "Jugendhilfeausschuss",
    "Schul- und Sportausschuss",
    "Kulturausschuss",
    "Sozialausschuss",
    "Umweltausschuss",
    "Wirtschaftsausschuss",
    "Verkehrsausschuss",
    "Ausschuss für Digitalisierung",
    "Werkausschuss",
)
FRACTIONS = ("SPD", "CDU", "GRÜNE", "FDP", "DIE LINKE", "Freie Wähler")
GIVEN = ("Anna", "Jonas", "Fatma", "Klaus", "Mette", "Ole", "Sabine", "Yusuf", "Ingrid", "Lars", "Merve", "Heike")
FAMILY = ("Petersen", "Schröder", "Yılmaz", "Hansen", "Wulf", "Kowalski", "Meyer", "Nguyen", "Jensen", "Brandt")
RESULTS = ("ungeändert beschlossen", "geändert beschlossen", "zur Kenntnis genommen", "vertagt", "abgelehnt")
ROOMS = ("Bürgerschaftssaal", "Audienzsaal", "Kriegsstubensaal", "Sitzungsraum 1", "Sitzungsraum 2")
ADDRESS = ("Breite Straße 62", "23552", "Lübeck")


@dataclass(frozen=True)
class Size:
    papers: int

    @property
    def committees(self) -> int:
        # Agenda slots to spare for ~3.5 consultations per paper over about 21 years.
        return max(6, -(-self.papers // 2000))

    @property
    def meeting_gap(self) -> int:
        """Fewest days between two meetings of one committee: as often as its share of ~3.5
        consultations per paper needs (about 15 of a meeting's slots go to papers), from
        fortnightly in a big council to yearly in a tiny one."""
        meetings = 3.5 * self.papers / ((self.committees + 1) * 15)
        span = (LAST_CHANGE.date() - START).days
        return int(min(365, max(14, span / max(meetings, 1.0) / 1.25)))

    @property
    def persons(self) -> int:
        return max(60, self.papers // 250)


@dataclass
class Counts:
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


@dataclass
class _Pending:
    paper_id: int
    name: str
    step: int  # consultations held so far
    steps: int  # consultations planned
    ready: dt.date  # not before this day


class Generator:
    """Writes one Body's council into an empty database; `run` returns the rows written per table."""

    FLUSH_ROWS = 20_000
    progress: Callable[[int], None] | None = None  # told the papers made so far, now and then

    def __init__(self, session: Session, store: ContentStore, *, papers: int, seed: int, tz: ZoneInfo) -> None:
        if papers < 1:
            raise ValueError("papers must be at least 1")
        self.session, self.size, self.tz = session, Size(papers), tz
        self.rng = random.Random(seed)
        self.seed = seed
        self.contents = [store.put_bytes(session, _pdf(seed, n), f"dokument-{n}.pdf") for n in range(16)]
        self.buffers: dict[Table, list[dict[str, Any]]] = {}
        self.buffered = 0
        # Only this thread touches the session's connection between `run`'s start and end.
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="synthetic-writer")
        self.pending: Future[None] | None = None
        self.counts = Counts()
        self.next_id: dict[str, int] = {}
        self.body_id = 1

    # -- driving ---------------------------------------------------------------------------------

    def run(self) -> Counts:
        if self.session.scalar(select(func.count()).select_from(Body)):
            raise ValueError("the database already holds a Body: generate into an empty database")
        if self.session.get_bind().dialect.name == "sqlite":
            # One long transaction: with SQLite's default 2 MB page cache, index pages would be
            # written to the WAL again and again as they spill.
            self.session.connection().exec_driver_sql("PRAGMA cache_size = -524288")
        with without_secondary(self.session.connection()):
            self._system_and_body()
            rooms = self._locations()
            council, committees, fractions = self._organizations(rooms)
            self._persons([council, *committees], fractions)
            try:
                self._meetings(council, committees, fractions, rooms)
                self._flush()
            finally:
                self.writer.shutdown(wait=True)
            if self.pending is not None:
                self.pending.result()
        self._move_generations()
        return self.counts

    def _move_generations(self) -> None:
        """Cached list pages of whatever was served before are stale now (the write path does this per write)."""
        for name in self.counts.rows:
            table = Base.metadata.tables[name]
            latest = select(func.max(table.c.modified)).scalar_subquery() if "modified" in table.c else None
            if latest is None:
                continue
            self.session.execute(
                update(ListGeneration)
                .where(ListGeneration.table_name == table.name)
                .values(value=ListGeneration.value + 1, modified=latest)
            )

    def _id(self, table: str) -> int:
        self.next_id[table] = self.next_id.get(table, 0) + 1
        return self.next_id[table]

    def _add(self, model_or_table: Any, **row: Any) -> None:
        table: Table = getattr(model_or_table, "__table__", model_or_table)
        self.buffers.setdefault(table, []).append(row)
        self.buffered += 1
        if self.buffered >= self.FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        """Hands the buffered rows to the writer thread: the database works while the next batch is made."""
        if self.pending is not None:
            self.pending.result()  # one batch in flight at most: memory stays flat
        batch = sorted(self.buffers.items(), key=lambda item: _ORDER.index(item[0].name))
        self.buffers, self.buffered = {}, 0
        self.pending = self.writer.submit(self._write, batch)

    def _write(self, batch: list[tuple[Table, list[dict[str, Any]]]]) -> None:
        # Parents before children: dependency order, link tables last.
        for table, rows in batch:
            if rows:
                _insert_many(self.session, table, rows)
                self.counts.rows[table.name] = self.counts.rows.get(table.name, 0) + len(rows)

    def _common(self, table: str, created: dt.datetime, modified: dt.datetime | None = None) -> dict[str, Any]:
        object_id = self._id(table)
        created = min(created, LAST_CHANGE)
        modified = min(max(modified or created, created), LAST_CHANGE)
        return {
            "id": object_id,
            "key": f"synthetic-{self.seed}/{table}/{object_id}",
            "created": created,
            "modified": modified,
            "deleted": False,
            "restricted": False,
            "nonpublic": False,
            "ever_public": True,
        }

    def _at(self, day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz).astimezone(dt.UTC)

    def _later(self, moment: dt.datetime, max_days: int) -> dt.datetime:
        return moment + dt.timedelta(seconds=self.rng.randrange(max_days * 86_400 + 1))

    # -- the council's frame ---------------------------------------------------------------------

    def _system_and_body(self) -> None:
        created = self._at(START)
        self._add(
            System, **self._common("system", created), name="Synthetischer Rat", vendor="https://www.example.org/"
        )
        body = self._common("body", created)
        self._add(
            Body,
            **body,
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
            row = self._common("legislative_term", self._at(start))
            self._add(LegislativeTerm, **row, body_id=self.body_id, name=name, start_date=start, end_date=end)

    def _locations(self) -> list[int]:
        rooms = []
        for room in ROOMS:
            row = self._common("location", self._at(START))
            street, postal, city = ADDRESS
            self._add(
                Location,
                **row,
                body_id=self.body_id,
                description=f"Rathaus, {room}",
                room=room,
                street_address=street,
                postal_code=postal,
                locality=city,
            )
            rooms.append(row["id"])
        return rooms

    def _organizations(self, rooms: list[int]) -> tuple[int, list[int], list[int]]:
        def organization(name: str, short: str, kind: str, classification: str) -> int:
            row = self._common("organization", self._at(START))
            self._add(
                Organization,
                **row,
                body_id=self.body_id,
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

    def _persons(self, bodies: list[int], fractions: list[int]) -> None:
        for n in range(self.size.persons):
            given, family = self.rng.choice(GIVEN), self.rng.choice(FAMILY)
            first_term = self.rng.randrange(len(TERMS))
            terms = TERMS[first_term : first_term + self.rng.randint(1, 3)]
            row = self._common("person", self._at(terms[0][0]), self._at(terms[-1][0]))
            self._add(
                Person,
                **row,
                body_id=self.body_id,
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
                    self._add(
                        Membership,
                        **self._common("membership", self._at(start), self._at(end)),
                        body_id=self.body_id,
                        person_id=row["id"],
                        organization_id=organization_id,
                        role="Mitglied",
                        voting_right=True,
                        start_date=start,
                        end_date=end,
                        on_behalf_of_id=None if organization_id == fraction else fraction,
                    )

    # -- the simulation --------------------------------------------------------------------------

    def _meetings(self, council: int, committees: list[int], fractions: list[int], rooms: list[int]) -> None:
        waiting: dict[int, deque[_Pending]] = {org: deque() for org in [council, *committees]}
        calendar = [(START + dt.timedelta(days=self.rng.randrange(21)), org) for org in waiting]
        heapq.heapify(calendar)
        numbers: dict[int, int] = {}
        created_papers = 0
        while calendar:
            day, org = heapq.heappop(calendar)
            numbers[org] = numbers.get(org, 0) + 1
            room = self.rng.choice(rooms)
            due = self._papers_due(day)
            created_papers = self._meeting(
                day, org, numbers[org], room, waiting, created_papers, due, council, committees, fractions
            )
            if self.progress is not None:
                self.progress(created_papers)
            # Papers still waiting a year after the last change stay undecided (as some do).
            busy = created_papers < self.size.papers or any(waiting.values())
            if busy and day <= LAST_CHANGE.date() + dt.timedelta(days=365):
                gap = self.size.meeting_gap
                heapq.heappush(calendar, (day + dt.timedelta(days=self.rng.randint(gap, gap * 3 // 2)), org))

    def _papers_due(self, day: dt.date) -> int:
        """How many papers exist by `day`: an even pace from START to two months before LAST_CHANGE."""
        span = (LAST_CHANGE.date() - START).days - 60
        share = min(1.0, (day - START).days / span)
        return min(self.size.papers, int(self.size.papers * share) + 1)

    def _meeting(
        self,
        day: dt.date,
        org: int,
        number: int,
        room: int,
        waiting: dict[int, deque[_Pending]],
        created_papers: int,
        due: int,
        council: int,
        committees: list[int],
        fractions: list[int],
    ) -> int:
        start = self._at(day, self.rng.choice((16, 17, 18)))
        invited = start - dt.timedelta(days=14)
        held = start < LAST_CHANGE
        meeting = self._common("meeting", invited, self._later(start, 10) if held else invited)
        files = [self._file(invited, f"Einladung {number}. Sitzung")]
        if held:
            files.append(self._file(self._later(start, 20), f"Niederschrift {number}. Sitzung"))
        self._add(
            Meeting,
            **meeting,
            body_id=self.body_id,
            name=f"{number}. Sitzung",
            meeting_state="durchgeführt" if held else "eingeladen",
            cancelled=False,
            start=start,
            end=start + dt.timedelta(hours=self.rng.randint(2, 4)),
            location_id=room,
            invitation_id=files[0],
            results_protocol_id=files[1] if held else None,
        )
        self._add(meeting_organization, owner_id=meeting["id"], target_id=org, position=0)
        slots = self.rng.randint(5, 40) - len(FIXED_ITEMS) - 1
        agenda: list[tuple[str, _Pending | None]] = [(name, None) for name in FIXED_ITEMS]
        queue = waiting[org]
        while slots and queue and queue[0].ready <= day:
            agenda.append((queue[0].name, queue.popleft()))
            slots -= 1
        while slots and created_papers < due:
            fresh = self._paper(day, org, council, committees, fractions)
            created_papers += 1
            agenda.append((fresh.name, fresh))
            slots -= 1
            if self.rng.random() < 0.005:  # a withdrawn paper: only its tombstone remains
                self._tombstone(invited)
        # Slots no paper needs: reports and questions without a paper of their own.
        agenda += [(f"{self.rng.choice(REPORTS)}: {self.rng.choice(TOPICS)}", None) for _ in range(slots)]
        agenda.append((LAST_ITEM, None))
        for order, (name, on_agenda) in enumerate(agenda, start=1):
            item = self._common("agenda_item", invited, meeting["modified"])
            public = on_agenda is None or self.rng.random() < 0.92
            self._add(
                AgendaItem,
                **item,
                body_id=self.body_id,
                meeting_id=meeting["id"],
                number=str(order),
                order=order,
                name=name,
                public=public,
                result=self.rng.choice(RESULTS) if held and on_agenda else None,
            )
            if on_agenda is not None:
                self._consultation(on_agenda, item, meeting["id"], org, council, committees, waiting, day)
        return created_papers

    def _consultation(
        self,
        pending: _Pending,
        item: dict[str, Any],
        meeting_id: int,
        org: int,
        council: int,
        committees: list[int],
        waiting: dict[int, deque[_Pending]],
        day: dt.date,
    ) -> None:
        pending.step += 1
        last = pending.step == pending.steps
        row = self._common("consultation", item["created"], item["modified"])
        self._add(
            Consultation,
            **row,
            body_id=self.body_id,
            paper_id=pending.paper_id,
            agenda_item_id=item["id"],
            meeting_id=meeting_id,
            position=pending.step,
            authoritative=last,
            role="Entscheidung" if last else "Vorberatung",
        )
        self._add(consultation_organization, owner_id=row["id"], target_id=org, position=0)
        if not last:
            # The next committee; the council decides one paper in ten (it meets no more often
            # than a committee, so it could not take more).
            final = pending.step + 1 == pending.steps and self.rng.random() < 0.1
            nxt = council if final else self.rng.choice(committees)
            pending.ready = day + dt.timedelta(days=self.rng.randint(7, 30))
            waiting[nxt].append(pending)

    def _paper(self, day: dt.date, org: int, council: int, committees: list[int], fractions: list[int]) -> _Pending:
        dated = max(START, day - dt.timedelta(days=self.rng.randint(10, 40)))
        created = self._at(dated, self.rng.randint(8, 15), self.rng.randrange(60))
        name = f"{self.rng.choice(VERBS)} {self.rng.choice(TOPICS)} {self.rng.choice(PLACES)}"
        row = self._common("paper", created, self._later(created, 120))
        kind = self.rng.choice(PAPER_TYPES)
        files = [self._file(created, "Vorlage")] if self.rng.random() > 1 / 6 else []
        files += [self._file(created, f"Anlage {n + 1}") for n in range(self.rng.randint(0, 4) if files else 0)]
        self._add(
            Paper,
            **row,
            body_id=self.body_id,
            name=name,
            reference=f"VO/{dated.year}/{row['id']:07d}",
            date=dated,
            paper_type=kind,
            main_file_id=files[0] if files else None,
        )
        for position, file_id in enumerate(files[1:]):
            self._add(paper_auxiliary_file, owner_id=row["id"], target_id=file_id, position=position)
        if kind == "Antrag":
            self._add(
                paper_originator_organization, owner_id=row["id"], target_id=self.rng.choice(fractions), position=0
            )
        else:
            self._add(paper_under_direction_of, owner_id=row["id"], target_id=org, position=0)
        if kind == "Anfrage":
            person = self.rng.randint(1, self.size.persons)
            self._add(paper_originator_person, owner_id=row["id"], target_id=person, position=0)
        if row["id"] > 1 and self.rng.random() < 0.05:
            related = self.rng.randint(max(1, row["id"] - 500), row["id"] - 1)
            self._add(paper_related_paper, owner_id=row["id"], target_id=related, position=0)
        steps = self.rng.randint(1, 6)
        return _Pending(row["id"], name, 0, steps, day)

    def _tombstone(self, when: dt.datetime) -> None:
        row = self._common("paper", when, self._later(when, 30))
        empty = dict.fromkeys(("name", "reference", "date", "paper_type", "main_file_id"))
        self._add(Paper, **row | {"deleted": True}, body_id=self.body_id, **empty)

    def _file(self, created: dt.datetime, name: str) -> int:
        content: Stored = self.rng.choice(self.contents)
        row = self._common("file", created)
        self._add(
            File,
            **row,
            body_id=self.body_id,
            name=name,
            file_name=f"{name.lower().replace(' ', '-').replace('.', '')}-{row['id']}.pdf",
            mime_type=content.mime_type,
            date=created.date(),
            size=content.size,
            sha1_checksum=content.sha1,
            sha512_checksum=content.sha512,
            stored=True,
        )
        return int(row["id"])


_ORDER = [
    "system",
    "body",
    "legislative_term",
    "location",
    "organization",
    "person",
    "membership",
    "file",
    "meeting",
    "agenda_item",
    "paper",
    "consultation",
    "meeting_organization",
    "paper_auxiliary_file",
    "paper_originator_organization",
    "paper_originator_person",
    "paper_under_direction_of",
    "paper_related_paper",
    "consultation_organization",
]


def _insert_many(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Driver-level bulk insert (COPY on PostgreSQL): SQLAlchemy's per-row parameter handling would
    cost more than the database does. Values still pass through each column type's bind processor."""
    connection = session.connection()
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    order = list(compiled.positiontup or []) if compiled.positional else list(compiled.binds)
    # Columns with a Python-side default (such as `revision`) that the rows leave out.
    defaults = {k: table.c[k].default.arg for k in order if k not in rows[0]}  # type: ignore[union-attr]
    processors = [(n, p) for n, k in enumerate(order) if (p := _bind_processor(table.c[k].type, dialect)) is not None]
    params: list[list[Any]] = []
    for row in rows:
        values = [row[k] if k in row else defaults[k] for k in order]
        for n, process in processors:
            values[n] = process(values[n])
        params.append(values)
    if dialect.name == "postgresql":
        columns = ", ".join(dialect.identifier_preparer.quote(k) for k in order)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {dialect.identifier_preparer.format_table(table)} ({columns}) FROM STDIN") as copy:
            for values in params:
                copy.write_row(values)
        return
    if compiled.positional:
        connection.exec_driver_sql(str(compiled), [tuple(values) for values in params])
    else:
        connection.exec_driver_sql(str(compiled), [dict(zip(order, values, strict=True)) for values in params])


@functools.lru_cache(maxsize=8192)  # a meeting's items and consultations share their stamps
def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _bind_processor(kind: Any, dialect: Any) -> Any:
    if isinstance(kind, Boolean):  # both drivers take Python bools as they are
        return None
    if isinstance(kind, UTCDateTime):  # the generator's datetimes are UTC in whole seconds already
        if dialect.name == "sqlite":  # SQLAlchemy's own SQLite format, which string comparisons rely on
            return _sqlite_datetime
        return None
    process = kind.dialect_impl(dialect).bind_processor(dialect)
    if process is None and isinstance(kind, JSON):  # psycopg adapts JSON only inside SQLAlchemy's own path
        return lambda value: None if value is None else json.dumps(value, ensure_ascii=False)
    return process


def _pdf(seed: int, n: int) -> bytes:
    """A small valid one-page PDF naming the synthetic document it stands for."""
    text = f"Synthetisches Dokument {n} (seed {seed})".encode("latin-1")
    stream = b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
