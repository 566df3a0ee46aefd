"""The synthetic council: deterministic from its seed, shaped as the benchmark's issue describes, valid OParl."""

from __future__ import annotations

from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.synthetic import LAST_CHANGE, Generator
from models import AgendaItem, Consultation, ListGeneration, Meeting, Membership, Paper, Person
from models.base import Base
from models.links import paper_auxiliary_file
from oparl.content import ContentStore
from oparl.registry import KINDS
from oparl.snapshot import Snapshots
from oparl.urls import UrlBuilder
from tests.conftest import BASE_URL
from tests.oparl_schema import errors

TZ = ZoneInfo("Europe/Berlin")
SKIP = {"rendered", "rendered_key"}


def dump(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table in Base.metadata.sorted_tables:
        if table.name in {"api_token", "harvest_source", "harvest_run"} or table.name.startswith("alembic"):
            continue
        columns = [c for c in table.c if c.name not in SKIP]
        out[table.name] = [tuple(row) for row in session.execute(select(*columns).order_by(*table.primary_key))]
    return out


def test_the_same_seed_gives_the_same_council_and_another_seed_another(session: Session, store: ContentStore) -> None:
    counts = Generator(session, store, papers=300, seed=7, tz=TZ).run()
    first = dump(session)
    assert counts.total == sum(len(first[name]) for name in counts.rows)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Paper)) == 0
    Generator(session, store, papers=300, seed=7, tz=TZ).run()
    assert dump(session) == first
    session.rollback()
    Generator(session, store, papers=300, seed=8, tz=TZ).run()
    assert dump(session)["paper"] != first["paper"]


def test_the_council_has_the_shape_the_benchmark_asks_for(session: Session, store: ContentStore) -> None:
    Generator(session, store, papers=1500, seed=3, tz=TZ).run()
    papers = session.execute(select(Paper.id, Paper.deleted, Paper.main_file_id)).all()
    live = [p for p in papers if not p.deleted]
    assert len(live) == 1500
    assert 1 <= len(papers) - len(live) <= 30  # withdrawn papers, only their tombstones left

    consultations = Counter(session.scalars(select(Consultation.paper_id)))
    assert set(consultations) == {p.id for p in live}
    assert set(consultations.values()) == {1, 2, 3, 4, 5, 6}
    deciding = session.execute(
        select(Consultation.paper_id, func.max(Consultation.position))
        .where(Consultation.authoritative.is_(True))
        .group_by(Consultation.paper_id)
    ).all()
    decided = dict(deciding)
    assert all(decided[paper] == consultations[paper] for paper in decided)  # the last one decides
    assert len(consultations) - len(decided) <= len(live) // 50  # still waiting when the simulation ends

    auxiliary = Counter(session.scalars(select(paper_auxiliary_file.c.owner_id)))
    files = Counter({p.id: (p.main_file_id is not None) + auxiliary[p.id] for p in live})
    assert set(files.values()) == {0, 1, 2, 3, 4, 5}

    items = Counter(session.scalars(select(AgendaItem.meeting_id)))
    assert len(items) == session.scalar(select(func.count()).select_from(Meeting))
    assert min(items.values()) >= 5
    assert max(items.values()) <= 40

    persons = session.scalar(select(func.count()).select_from(Person))
    terms_per_person = session.execute(
        select(Membership.person_id, func.count(func.distinct(Membership.start_date))).group_by(Membership.person_id)
    ).all()
    assert len(terms_per_person) == persons
    assert {n for _, n in terms_per_person} == {1, 2, 3}

    for kind in KINDS.values():
        model = kind.model
        newest = session.scalar(select(func.max(model.modified)))
        assert newest is not None, kind.type_name
        assert newest <= LAST_CHANGE, kind.type_name
        assert not session.scalar(select(func.count()).where(model.created > model.modified)), kind.type_name
    generations = {row.table_name: row.value for row in session.scalars(select(ListGeneration))}
    assert generations["paper"] >= 1
    assert generations["agenda_item"] >= 1


def test_the_rendered_council_is_valid_oparl(session: Session, store: ContentStore) -> None:
    Generator(session, store, papers=200, seed=5, tz=TZ).run()
    snapshots = Snapshots(UrlBuilder(BASE_URL), TZ)
    assert snapshots.refresh_stale(session) > 0
    for type_name, kind in KINDS.items():
        model = kind.model
        assert not session.scalar(select(func.count()).select_from(model).where(model.rendered_key.is_(None)))
        for raw in session.scalars(select(model.rendered).order_by(model.id.desc()).limit(30)):
            assert raw is not None
            document = orjson.loads(raw)
            assert document["type"] == f"https://schema.oparl.org/1.1/{type_name}"
            assert errors(document) == [], document["id"]
