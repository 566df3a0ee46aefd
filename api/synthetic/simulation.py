"""The council's life, meeting by meeting: agendas, papers, their Beratungsfolge, the files of both.

Committees meet every two to three weeks; a meeting's agenda takes the papers waiting for that
committee first and new papers after, and a paper moves on to other committees until its last
consultation decides. So every row is written after the rows it references.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from api.synthetic.rows import Rows
from api.synthetic.shape import (
    FIXED_ITEMS,
    LAST_CHANGE,
    LAST_ITEM,
    PAPER_TYPES,
    PLACES,
    REPORTS,
    RESULTS,
    START,
    TOPICS,
    VERBS,
    Size,
    local,
)
from api.synthetic.texts import document_text
from oparl.content import Stored


@dataclass(frozen=True)
class Frame:
    """The organizations and rooms the council meets in, by id."""

    council: int
    committees: list[int]
    fractions: list[int]
    rooms: list[int]


@dataclass
class _Pending:
    paper_id: int
    name: str
    step: int  # consultations held so far
    steps: int  # consultations planned
    ready: dt.date  # not before this day


Agenda = list[tuple[str, _Pending | None]]


@dataclass
class Simulation:
    rows: Rows
    rng: random.Random
    size: Size
    tz: ZoneInfo
    frame: Frame
    contents: list[Stored]
    created_papers: int = 0
    waiting: dict[int, deque[_Pending]] = field(default_factory=dict)  # papers per organization

    def run(self, progress: Callable[[int], None] | None) -> None:
        self.waiting = {org: deque() for org in [self.frame.council, *self.frame.committees]}
        calendar = [(START + dt.timedelta(days=self.rng.randrange(21)), org) for org in self.waiting]
        heapq.heapify(calendar)
        numbers: dict[int, int] = {}
        while calendar:
            day, org = heapq.heappop(calendar)
            numbers[org] = numbers.get(org, 0) + 1
            room = self.rng.choice(self.frame.rooms)
            self._meeting(day, org, numbers[org], room, self._papers_due(day))
            if progress is not None:
                progress(self.created_papers)
            # Papers still waiting a year after the last change stay undecided (as some do).
            busy = self.created_papers < self.size.papers or any(self.waiting.values())
            if busy and day <= LAST_CHANGE.date() + dt.timedelta(days=365):
                gap = self.size.meeting_gap
                heapq.heappush(calendar, (day + dt.timedelta(days=self.rng.randint(gap, gap * 3 // 2)), org))

    def _papers_due(self, day: dt.date) -> int:
        """How many papers exist by `day`: an even pace from START to two months before LAST_CHANGE."""
        span = (LAST_CHANGE.date() - START).days - 60
        share = min(1.0, (day - START).days / span)
        return min(self.size.papers, int(self.size.papers * share) + 1)

    def _later(self, moment: dt.datetime, max_days: int) -> dt.datetime:
        return moment + dt.timedelta(seconds=self.rng.randrange(max_days * 86_400 + 1))

    # -- one meeting -----------------------------------------------------------------------------

    def _meeting(self, day: dt.date, org: int, number: int, room: int, due: int) -> None:
        start = local(day, self.tz, self.rng.choice((16, 17, 18)))
        invited = start - dt.timedelta(days=14)
        held = start < LAST_CHANGE
        modified = self._later(start, 10) if held else invited
        files = [self._file(invited, f"Einladung {number}. Sitzung", f"{number}. Sitzung")]
        if held:
            files.append(self._file(self._later(start, 20), f"Niederschrift {number}. Sitzung", f"{number}. Sitzung"))
        meeting = self.rows.add(
            "meeting",
            invited,
            modified,
            name=f"{number}. Sitzung",
            meeting_state="durchgeführt" if held else "eingeladen",
            cancelled=False,
            start=start,
            end=start + dt.timedelta(hours=self.rng.randint(2, 4)),
            location_id=room,
            invitation_id=files[0],
            results_protocol_id=files[1] if held else None,
        )
        self.rows.link("meeting_organization", meeting["id"], org)
        for order, (name, on_agenda) in enumerate(self._agenda(day, org, invited, due), start=1):
            public = on_agenda is None or self.rng.random() < 0.92
            item = self.rows.add(
                "agenda_item",
                invited,
                meeting["modified"],
                meeting_id=meeting["id"],
                number=str(order),
                order=order,
                name=name,
                public=public,
                result=self.rng.choice(RESULTS) if held and on_agenda else None,
            )
            if on_agenda is not None:
                self._consultation(on_agenda, item, org, day)

    def _agenda(self, day: dt.date, org: int, invited: dt.datetime, due: int) -> Agenda:
        """The items: fixed ones, the papers waiting for `org`, new papers, reports, the last one."""
        slots = self.rng.randint(5, 40) - len(FIXED_ITEMS) - 1
        agenda: Agenda = [(name, None) for name in FIXED_ITEMS]
        queue = self.waiting[org]
        while slots and queue and queue[0].ready <= day:
            agenda.append((queue[0].name, queue.popleft()))
            slots -= 1
        while slots and self.created_papers < due:
            fresh = self._paper(day, org)
            self.created_papers += 1
            agenda.append((fresh.name, fresh))
            slots -= 1
            if self.rng.random() < 0.005:  # a withdrawn paper: only its tombstone remains
                self._tombstone(invited)
        # Slots no paper needs: reports and questions without a paper of their own.
        agenda += [(f"{self.rng.choice(REPORTS)}: {self.rng.choice(TOPICS)}", None) for _ in range(slots)]
        agenda.append((LAST_ITEM, None))
        return agenda

    def _consultation(self, pending: _Pending, item: dict[str, Any], org: int, day: dt.date) -> None:
        pending.step += 1
        last = pending.step == pending.steps
        row = self.rows.add(
            "consultation",
            item["created"],
            item["modified"],
            paper_id=pending.paper_id,
            agenda_item_id=item["id"],
            meeting_id=item["meeting_id"],
            position=pending.step,
            authoritative=last,
            role="Entscheidung" if last else "Vorberatung",
        )
        self.rows.link("consultation_organization", row["id"], org)
        if not last:
            # The next committee; the council decides one paper in ten (it meets no more often
            # than a committee, so it could not take more).
            final = pending.step + 1 == pending.steps and self.rng.random() < 0.1
            nxt = self.frame.council if final else self.rng.choice(self.frame.committees)
            pending.ready = day + dt.timedelta(days=self.rng.randint(7, 30))
            self.waiting[nxt].append(pending)

    # -- papers and files ------------------------------------------------------------------------

    def _paper(self, day: dt.date, org: int) -> _Pending:
        dated = max(START, day - dt.timedelta(days=self.rng.randint(10, 40)))
        created = local(dated, self.tz, self.rng.randint(8, 15), self.rng.randrange(60))
        name = f"{self.rng.choice(VERBS)} {self.rng.choice(TOPICS)} {self.rng.choice(PLACES)}"
        modified = self._later(created, 120)
        kind = self.rng.choice(PAPER_TYPES)
        files = [self._file(created, "Vorlage", name)] if self.rng.random() > 1 / 6 else []
        files += [self._file(created, f"Anlage {n + 1}", name) for n in range(self.rng.randint(0, 4) if files else 0)]
        paper = self.rows.add(
            "paper",
            created,
            modified,
            name=name,
            reference=f"VO/{dated.year}/{self.rows.next_id('paper'):07d}",
            date=dated,
            paper_type=kind,
            main_file_id=files[0] if files else None,
        )
        for position, file_id in enumerate(files[1:]):
            self.rows.link("paper_auxiliary_file", paper["id"], file_id, position)
        self._paper_links(paper["id"], kind, org)
        return _Pending(paper["id"], name, 0, self.rng.randint(1, 6), day)

    def _paper_links(self, paper_id: int, kind: str, org: int) -> None:
        """Who brought the paper in or is in charge of it, and now and then an earlier related paper."""
        if kind == "Antrag":
            self.rows.link("paper_originator_organization", paper_id, self.rng.choice(self.frame.fractions))
        else:
            self.rows.link("paper_under_direction_of", paper_id, org)
        if kind == "Anfrage":
            self.rows.link("paper_originator_person", paper_id, self.rng.randint(1, self.size.persons))
        if paper_id > 1 and self.rng.random() < 0.05:
            related = self.rng.randint(max(1, paper_id - 500), paper_id - 1)
            self.rows.link("paper_related_paper", paper_id, related)

    def _tombstone(self, when: dt.datetime) -> None:
        empty = dict.fromkeys(("name", "reference", "date", "paper_type", "main_file_id"))
        self.rows.add("paper", when, self._later(when, 30), deleted=True, **empty)

    def _file(self, created: dt.datetime, name: str, subject: str) -> int:
        content = self.rng.choice(self.contents)
        file_id = self.rows.next_id("file")
        row = self.rows.add(
            "file",
            created,
            name=name,
            file_name=f"{name.lower().replace(' ', '-').replace('.', '')}-{file_id}.pdf",
            text=document_text(self.rows.seed, file_id, name, subject, PLACES),
            mime_type=content.mime_type,
            date=created.date(),
            size=content.size,
            sha1_checksum=content.sha1,
            sha512_checksum=content.sha512,
            stored=True,
        )
        return int(row["id"])
