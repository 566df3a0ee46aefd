"""Storing a harvest's batches (oparl/ingest/store.py) and the source's bookkeeping (source.py)."""

from __future__ import annotations

import time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import HarvestPending, HarvestSeen, Paper
from oparl.base import SCHEMA_BASE
from oparl.content import ContentStore
from oparl.ingest.convert import Converter
from oparl.ingest.source import Source, references
from oparl.ingest.store import Batch, BatchStore, fingerprint, records
from oparl.ingest.summary import Options, Summary
from oparl.urls import UrlBuilder
from oparl.visibility import FeedNote
from tests.conftest import FakeClock

SOURCE = "https://ris.example.org/oparl"
# Records as the converter writes them (bare type names).
SYSTEM = {"type": "System", "key": f"{SOURCE}/system", "oparlVersion": "https://schema.oparl.org/1.1/"}
BODY = {"type": "Body", "key": f"{SOURCE}/body/1", "system": f"{SOURCE}/system", "name": "Rat"}


def paper(n: int, **fields: Any) -> dict[str, Any]:
    return {"type": "Paper", "key": f"{SOURCE}/paper/{n}", "body": f"{SOURCE}/body/1", **fields}


@pytest.fixture
def sessions(session: Session) -> sessionmaker[Session]:
    """Sessions whose commits stay inside the test's transaction."""
    return sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def run(sessions: sessionmaker[Session], clock: FakeClock) -> tuple[Source, BatchStore]:
    summary = Summary()
    source = Source(sessions, summary)
    source.begin(f"{SOURCE}/system", Options(), clock)
    batches = BatchStore(sessions, source.id, urls=UrlBuilder("https://mirror.example.org"), store=ContentStore(),
                         clock=clock, convert=Converter(summary.quirks, ZoneInfo("Europe/Berlin")), summary=summary,
                         progress=None)  # fmt: skip
    batches.store_records([SYSTEM, BODY], [], cursor=None)
    return source, batches


def test_a_failing_record_is_dropped_by_its_key_and_the_rest_stored(
    run: tuple[Source, BatchStore], session: Session
) -> None:
    source, batches = run
    stored = batches.store_records([paper(1, name="A"), paper(2, nonsense="x"), paper(3, name="C")], [], cursor=None)
    assert [r["key"] for r in stored] == [f"{SOURCE}/paper/1", f"{SOURCE}/paper/3"]
    assert batches.summary.failures == [f"Paper '{SOURCE}/paper/2'.nonsense: Paper has no such property"]
    assert set(session.scalars(select(Paper.name))) == {"A", "C"}
    assert batches.summary.created == {"System": 1, "Body": 1, "Paper": 2}


def test_a_reference_to_an_object_not_there_is_kept_for_the_fix_up(
    run: tuple[Source, BatchStore], session: Session
) -> None:
    source, batches = run
    waiting = paper(1, name="A", relatedPaper=[f"{SOURCE}/paper/9"])
    batches.store_records([waiting], [], cursor=(f"{SOURCE}/body/1/paper", f"{SOURCE}/body/1/paper?page=2"))
    assert [p.key for p in session.scalars(select(HarvestPending))] == [f"{SOURCE}/paper/1"]
    assert source.cursors() == {f"{SOURCE}/body/1/paper": f"{SOURCE}/body/1/paper?page=2"}
    assert source.pending() == ([waiting], [(f"{SOURCE}/paper/9", f"{SOURCE}/body/1")])
    seen = set(session.scalars(select(HarvestSeen.key)))
    assert seen == {f"{SOURCE}/system", f"{SOURCE}/body/1", f"{SOURCE}/paper/1"}


def test_a_record_stored_already_is_not_collected_again(run: tuple[Source, BatchStore]) -> None:
    _source, batches = run
    stamp = "2024-01-02T03:04:05+01:00"
    item = {"id": f"{SOURCE}/paper/1", "type": f"{SCHEMA_BASE}Paper", "name": "A", "modified": stamp}
    first = Batch()
    batches.collect(first, "Paper", [item], f"{SOURCE}/body/1")
    batches.store_batch(first, None)
    again = Batch()
    batches.collect(again, "Paper", [item, {"id": f"{SOURCE}/paper/2", "deleted": True}], f"{SOURCE}/body/1")
    tombstone = {f"{SOURCE}/paper/2": ("Paper", FeedNote.DELETED)}
    assert (again.records, again.tombstones, again.pages, again.items) == ({}, tombstone, 1, 2)
    assert batches.stamps == [stamp, stamp]
    assert (batches.summary.pages, batches.summary.objects) == (1, 1)


def test_a_batch_is_due_when_full_or_old() -> None:
    assert not Batch().due(Options())
    assert Batch(records={"a": {}, "b": {}}).due(Options(batch=2))
    assert Batch(started=time.monotonic() - 6).due(Options())


def test_a_fingerprint_leaves_out_where_a_record_is_written() -> None:
    consultation = {"type": "Consultation", "key": "c", "role": "Beratung"}
    assert fingerprint(consultation | {"paper": "p", "body": "b"}) == fingerprint(consultation)
    assert fingerprint(consultation | {"role": "Entscheidung"}) != fingerprint(consultation)


def test_records_and_references_walk_embedded_objects() -> None:
    meeting = {"key": "m", "agendaItem": [{"key": "a", "consultation": f"{SOURCE}/consultation/1"}],
               "web": "https://ris.example.org/meeting/1", "location": {"key": f"{SOURCE}/location/1"}}  # fmt: skip
    assert [r["key"] for r in records([meeting])] == ["m", "a", f"{SOURCE}/location/1"]
    assert references(meeting, set()) == {f"{SOURCE}/consultation/1"}
