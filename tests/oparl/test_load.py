"""Loading OParl-shaped records: idempotent upserts, `modified` that moves only on real change."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AgendaItem, Consultation, File, Meeting, OParlObject, Paper
from models.db import alembic_config, make_engine
from oparl.content import ContentStore
from oparl.load import Loader, RecordError, read_directory
from oparl.urls import UrlBuilder
from tests.conftest import BASE_URL, LUEBECK

DAY1 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DAY2 = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)


def base() -> list[dict[str, Any]]:
    return [
        {"type": "System", "key": "s"},
        {"type": "Body", "key": "b", "system": "s", "name": "Stadt"},
        {"type": "Organization", "key": "o1", "body": "b", "name": "Rat"},
        {"type": "Organization", "key": "o2", "body": "b", "name": "Ausschuss"},
        {
            "type": "https://schema.oparl.org/1.1/Paper",
            "key": "p",
            "body": "b",
            "name": "Vorlage",
            "date": "2024-01-01",
            "consultation": [
                {"key": "c1", "organization": ["o2", "o1"], "role": "Vorberatung"},
                {"key": "c2", "organization": ["o1"], "role": "Entscheidung", "authoritative": True},
            ],
            "auxiliaryFile": [{"key": "f", "name": "Anlage", "accessUrl": "https://files.example.org/a.pdf"}],
        },
    ]


def load(session: Session, store: ContentStore, records: list[dict[str, Any]], now: dt.datetime) -> Any:
    report = Loader(session, urls=UrlBuilder(BASE_URL), store=store, now=now, base_dir=LUEBECK).load(records)
    session.flush()
    return report


def paper(session: Session) -> Paper:
    found = session.scalar(select(Paper).where(Paper.key == "p"))
    assert found is not None
    return found


class TestIdempotence:
    def test_reloading_the_same_records_changes_nothing(self, session: Session, store: ContentStore) -> None:
        first = load(session, store, base(), DAY1)
        second = load(session, store, base(), DAY2)
        assert (first.created, first.changed) == (8, 0)
        assert (second.created, second.changed, second.unchanged) == (0, 0, 8)
        assert paper(session).modified == DAY1

    def test_reloading_the_fixtures_keeps_every_id(self, session: Session, store: ContentStore) -> None:
        load(session, store, read_directory(LUEBECK), DAY1)
        first = {p.key: p.id for p in session.scalars(select(Paper))}
        report = load(session, store, read_directory(LUEBECK), DAY2)
        assert {p.key: p.id for p in session.scalars(select(Paper))} == first
        assert (report.created, report.changed, report.unchanged) == (0, 0, 63)


def test_fresh_databases_get_the_same_ids(tmp_path: Path) -> None:
    """Ids depend on the data alone: two new databases loaded with the fixtures agree on every id."""
    ids = []
    for name in ("one", "two"):
        url = f"sqlite:///{tmp_path / name}.sqlite3"
        command.upgrade(alembic_config(url), "head")
        engine = make_engine(url=url)
        with Session(engine) as fresh, fresh.begin():
            Loader(
                fresh, urls=UrlBuilder(BASE_URL), store=ContentStore(tmp_path / name), base_dir=LUEBECK
            ).load(read_directory(LUEBECK))
            models: tuple[type[OParlObject], ...] = (Paper, Meeting, File, Consultation)
            ids.append(
                {(type(o).__name__, o.key): o.id for model in models for o in fresh.scalars(select(model))}
            )
        engine.dispose()
    assert ids[0] == ids[1]
    assert len(ids[0]) == 4 + 10 + 6 + 16  # papers, meetings, files, consultations


class TestChanges:
    def test_a_changed_consultation_moves_its_paper(self, session: Session, store: ContentStore) -> None:
        load(session, store, base(), DAY1)
        records = base()
        records[4]["consultation"][0]["role"] = "Anhörung"
        report = load(session, store, records, DAY2)
        assert report.changed == 2
        c1 = session.scalar(select(Consultation).where(Consultation.key == "c1"))
        assert c1 is not None
        assert (c1.role, c1.modified, paper(session).modified) == ("Anhörung", DAY2, DAY2)

    def test_reordered_organizations_are_a_change(self, session: Session, store: ContentStore) -> None:
        load(session, store, base(), DAY1)
        records = base()
        records[4]["consultation"][0]["organization"] = ["o1", "o2"]
        load(session, store, records, DAY2)
        assert paper(session).modified == DAY2

    def test_a_changed_embedded_file_moves_its_paper(self, session: Session, store: ContentStore) -> None:
        load(session, store, base(), DAY1)
        records = base()
        records[4]["auxiliaryFile"][0]["name"] = "Anlage 1"
        load(session, store, records, DAY2)
        assert paper(session).modified == DAY2

    def test_a_dropped_consultation_becomes_a_tombstone(self, session: Session, store: ContentStore) -> None:
        load(session, store, base(), DAY1)
        records = base()
        del records[4]["consultation"][0]
        report = load(session, store, records, DAY2)
        c1 = session.scalar(select(Consultation).where(Consultation.key == "c1"))
        c2 = session.scalar(select(Consultation).where(Consultation.key == "c2"))
        assert c1 is not None
        assert c2 is not None
        assert (report.deleted, c1.deleted, c1.modified, c2.position) == (1, True, DAY2, 0)
        assert paper(session).modified == DAY2

    def test_agenda_order_follows_the_array(self, session: Session, store: ContentStore) -> None:
        records = [
            *base()[:2],
            {
                "type": "Meeting",
                "key": "m",
                "body": "b",
                "agendaItem": [{"key": "a", "order": 7, "number": "1."}, {"key": "c", "number": "2."}],
            },
        ]
        load(session, store, records, DAY1)
        items = session.scalars(select(AgendaItem).order_by(AgendaItem.order)).all()
        assert [(i.number, i.order) for i in items] == [("1.", 0), ("2.", 1)]


class TestBadRecords:
    @pytest.mark.parametrize(
        ("path", "value", "message"),
        [
            (("date",), "01.01.2024", "Paper 'p'.date: expected a date yyyy-mm-dd, got '01.01.2024'"),
            (("nonsense",), 1, "Paper 'p'.nonsense: Paper has no such property"),
            (
                ("originatorPerson",),
                ["nobody"],
                "Paper 'p'.originatorPerson[0]: no Person with key or URL 'nobody'",
            ),
            (
                ("consultation", 0, "authoritative"),
                "yes",
                "Paper 'p'.consultation[0].authoritative: expected true or false, got 'yes'",
            ),
            (("auxiliaryFile", 0, "size"), "big", None),  # derived from the bytes: ignored
            (("key",), "", "Paper ''.key: every record needs a non-empty string key"),
        ],
    )
    def test_errors_name_the_field(
        self, session: Session, store: ContentStore, path: tuple[Any, ...], value: Any, message: str | None
    ) -> None:
        records = copy.deepcopy(base())
        target: Any = records[4]
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        if message is None:
            load(session, store, records, DAY1)
            return
        with pytest.raises(RecordError) as raised:
            load(session, store, records, DAY1)
        assert raised.value.message == message

    def test_records_need_a_body(self, session: Session, store: ContentStore) -> None:
        with pytest.raises(RecordError, match=r"Paper 'x'.body: the record names no Body"):
            load(session, store, [*base()[:2], {"type": "Paper", "key": "x"}], DAY1)

    def test_unknown_type(self, session: Session, store: ContentStore) -> None:
        with pytest.raises(RecordError, match=r"\[0\].type: not an OParl type"):
            load(session, store, [{"type": "Drucksache", "key": "x"}], DAY1)

    def test_content_outside_the_fixture_folder_is_refused(
        self, session: Session, store: ContentStore, tmp_path: Path
    ) -> None:
        records = [*base()[:2], {"type": "File", "key": "f", "body": "b", "content": "../../etc/passwd"}]
        with pytest.raises(RecordError, match="no file '../../etc/passwd' in the fixture folder"):
            Loader(session, urls=UrlBuilder(BASE_URL), store=store, base_dir=tmp_path).load(records)
