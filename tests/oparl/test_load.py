"""The write path: idempotent upserts, `modified` that moves exactly when output changes, deletes."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    AgendaItem,
    Consultation,
    File,
    Meeting,
    OParlObject,
    Organization,
    Paper,
    Person,
)
from models.db import alembic_config, make_engine
from oparl.cascade import Changes
from oparl.catalogue import BY_TABLE, INSERT_ORDER, TYPES
from oparl.content import ContentStore
from oparl.errors import RecordError
from oparl.load.changelog import LoadReport
from oparl.load.loader import Loader
from oparl.records import read_directory
from oparl.urls import UrlBuilder
from oparl.write import commit, stamp_for
from tests.conftest import BASE_URL, LUEBECK, write

DAY1 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DAY2 = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
T1, T2 = stamp_for(DAY1), stamp_for(DAY2)


def base() -> list[dict[str, Any]]:
    return [
        {"type": "System", "key": "s", "name": "Ratsinformation"},
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


def load(session: Session, store: ContentStore, records: list[Any], day: dt.datetime, **kw: Any) -> LoadReport:
    return write(session, copy.deepcopy(records), store=store, clock=lambda: day, **kw)


def get(session: Session, model: type[OParlObject], key: str) -> Any:
    found = session.scalar(select(model).where(model.key == key))
    assert found is not None
    return found


class TestIdempotence:
    def test_reloading_the_same_records_changes_nothing(self, session: Session, store: ContentStore) -> None:
        first = load(session, store, base(), DAY1)
        second = load(session, store, base(), DAY2)
        assert (first.created, first.changed) == (8, 0)
        assert (second.created, second.changed, second.unchanged, second.stamped) == (0, 0, 8, 0)
        assert get(session, Paper, "p").modified == T1

    def test_reloading_the_fixtures_keeps_every_id_and_stamp(self, session: Session, store: ContentStore) -> None:
        load(session, store, read_directory(LUEBECK), DAY1)
        first = {p.key: (p.id, p.modified) for p in session.scalars(select(Paper))}
        report = load(session, store, read_directory(LUEBECK), DAY2)
        assert {p.key: (p.id, p.modified) for p in session.scalars(select(Paper))} == first
        assert (report.created, report.changed, report.unchanged) == (0, 0, 63)

    @pytest.mark.parametrize(
        "tweak",
        [
            lambda r: r[4].update(date="2024-01-01"),
            lambda r: r[2].update(startDate="2024-01-01", keyword=["Rat"]),
        ],
    )
    def test_repeated_values_do_not_move_modified(self, session: Session, store: ContentStore, tweak: Any) -> None:
        records = base()
        tweak(records)
        load(session, store, records, DAY1)
        assert load(session, store, records, DAY2).changed == 0

    def test_an_agenda_items_order_comes_from_the_array(self, session: Session, store: ContentStore) -> None:
        records = [
            *base()[:2],
            {"type": "Meeting", "key": "m", "body": "b", "start": "2024-01-01T10:00:00.5+01:00",
             "agendaItem": [{"key": "a", "order": 7, "number": "1."}, {"key": "c", "number": "2."}]},
        ]  # fmt: skip
        load(session, store, records, DAY1)
        items = session.scalars(select(AgendaItem).order_by(AgendaItem.order)).all()
        assert [(i.number, i.order) for i in items] == [("1.", 0), ("2.", 1)]
        assert get(session, Meeting, "m").start == dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)
        assert load(session, store, records, DAY2).changed == 0


def test_fresh_databases_get_the_same_ids(tmp_path: Path) -> None:
    """Ids depend on the data alone: two new databases loaded with the fixtures agree on every id."""
    ids = []
    for name in ("one", "two"):
        url = f"sqlite:///{tmp_path / name}.sqlite3"
        command.upgrade(alembic_config(url), "head")
        engine = make_engine(url=url)
        with Session(engine) as fresh:
            store = ContentStore()
            loader = Loader(fresh, urls=UrlBuilder(BASE_URL), store=store, base_dir=LUEBECK)
            loader.load(read_directory(LUEBECK))
            commit(fresh, loader, lambda: DAY1)
            models: tuple[type[OParlObject], ...] = (Paper, Meeting, File, Consultation)
            ids.append({(type(o).__name__, o.key): o.id for model in models for o in fresh.scalars(select(model))})
        engine.dispose()
    assert ids[0] == ids[1]
    assert len(ids[0]) == 4 + 10 + 6 + 16  # papers, meetings, files, consultations


class TestModifiedMovesWithOutput:
    def test_a_changed_consultation_moves_its_paper(self, session: Session, store: ContentStore) -> None:
        load(session, store, base(), DAY1)
        records = base()
        records[4]["consultation"][0]["role"] = "Anhörung"
        report = load(session, store, records, DAY2)
        assert report.changed == 1
        assert (get(session, Consultation, "c1").modified, get(session, Paper, "p").modified) == (T2, T2)
        assert get(session, Consultation, "c2").modified == T1

    def test_reordered_organizations_are_a_change(self, session: Session, store: ContentStore) -> None:
        load(session, store, base(), DAY1)
        records = base()
        records[4]["consultation"][0]["organization"] = ["o1", "o2"]
        load(session, store, records, DAY2)
        assert get(session, Paper, "p").modified == T2

    def test_a_file_changed_on_its_own_moves_every_object_embedding_it(
        self, session: Session, store: ContentStore
    ) -> None:
        records = [*base(), {"type": "Meeting", "key": "m", "body": "b", "auxiliaryFile": ["f"]}]
        load(session, store, records, DAY1)
        load(session, store, [{"type": "File", "key": "f", "body": "b", "name": "Anlage 1",
                               "accessUrl": "https://files.example.org/a.pdf"}], DAY2)  # fmt: skip
        assert [get(session, m, k).modified for m, k in ((File, "f"), (Paper, "p"), (Meeting, "m"))] == [T2] * 3
        assert get(session, Organization, "o1").modified == T1

    def test_a_location_changed_on_its_own_moves_the_meeting(self, session: Session, store: ContentStore) -> None:
        records = [
            *base()[:2],
            {"type": "Location", "key": "l", "body": "b", "description": "Rathaus"},
            {"type": "Meeting", "key": "m", "body": "b", "location": "l"},
        ]
        load(session, store, records, DAY1)
        records[2]["description"] = "Rathaus, Bürgerschaftssaal"
        load(session, store, records, DAY2)
        assert get(session, Meeting, "m").modified == T2

    def test_a_new_membership_moves_its_organization_and_person(self, session: Session, store: ContentStore) -> None:
        load(session, store, [*base(), {"type": "Person", "key": "x", "body": "b", "name": "X"}], DAY1)
        person = {"type": "Person", "key": "x", "body": "b", "name": "X",
                  "membership": [{"key": "mx", "organization": "o2"}]}  # fmt: skip
        load(session, store, [person], DAY2)
        modified = [get(session, m, k).modified for m, k in ((Person, "x"), (Organization, "o2"), (Organization, "o1"))]
        assert modified == [T2, T2, T1]

    def test_a_link_written_from_one_paper_moves_the_other(self, session: Session, store: ContentStore) -> None:
        records = [*base(), {"type": "Paper", "key": "q", "body": "b", "name": "Ergänzung"}]
        load(session, store, records, DAY1)
        records[5]["superordinatedPaper"] = ["p"]
        load(session, store, records, DAY2)
        assert (get(session, Paper, "p").modified, get(session, Paper, "q").modified) == (T2, T2)
        assert load(session, store, records, DAY2 + dt.timedelta(days=1)).changed == 0

    def test_replace_clears_what_the_record_leaves_out(self, session: Session, store: ContentStore) -> None:
        load(session, store, base(), DAY1)
        records = base()
        del records[4]["date"], records[4]["auxiliaryFile"], records[4]["consultation"][0]
        report = load(session, store, records, DAY2)
        paper = get(session, Paper, "p")
        assert (paper.date, paper.modified, report.deleted) == (None, T2, 1)
        assert get(session, Consultation, "c1").deleted is True
        assert get(session, Consultation, "c2").position == 0

    def test_merge_keeps_what_the_record_leaves_out(self, session: Session, store: ContentStore) -> None:
        load(session, store, base(), DAY1)
        load(session, store, [{"type": "Paper", "key": "p", "name": "Neuer Titel"}], DAY2, replace=False)
        paper = get(session, Paper, "p")
        assert (paper.name, paper.date, paper.modified) == ("Neuer Titel", dt.date(2024, 1, 1), T2)


class TestDelete:
    def test_tombstones_for_the_object_and_what_only_it_embeds(self, session: Session, store: ContentStore) -> None:
        records = [*base(), {"type": "Meeting", "key": "m", "body": "b", "auxiliaryFile": [
            {"key": "g", "name": "Einladung", "accessUrl": "https://files.example.org/g.pdf"}]}]  # fmt: skip
        records[4]["auxiliaryFile"].append("g")
        load(session, store, records, DAY1)
        loader = Loader(session, urls=UrlBuilder(BASE_URL), store=store)
        loader.delete("Paper", "p")
        report = commit(session, loader, lambda: DAY2)
        gone = {k for m, k in ((Paper, "p"), (Consultation, "c1"), (Consultation, "c2"), (File, "f"), (File, "g"))
                if get(session, m, k).deleted}  # fmt: skip
        assert (gone, report.deleted) == ({"p", "c1", "c2", "f"}, 4)
        assert get(session, Meeting, "m").modified == T2  # its file g no longer names the paper

    def test_a_deleted_object_cannot_be_referenced(self, session: Session, store: ContentStore) -> None:
        load(session, store, base(), DAY1)
        loader = Loader(session, urls=UrlBuilder(BASE_URL), store=store)
        loader.delete("Organization", "o2")
        commit(session, loader, lambda: DAY2)
        without_o2 = [r for r in base() if r["key"] != "o2"]
        with pytest.raises(RecordError, match="the Organization 'o2' is deleted"):
            load(session, store, without_o2, DAY2)


class TestNonPublic:
    def test_children_follow_their_parent_and_keep_their_own_flag(self, session: Session, store: ContentStore) -> None:
        records = base()
        records[4]["consultation"][1]["nonPublic"] = True
        load(session, store, records, DAY1)
        assert [get(session, Consultation, k).nonpublic for k in ("c1", "c2")] == [False, True]
        load(session, store, [{"type": "Paper", "key": "p", "nonPublic": True}], DAY2, replace=False)
        assert [get(session, Consultation, k).nonpublic for k in ("c1", "c2")] == [True, True]
        load(session, store, [{"type": "Paper", "key": "p", "nonPublic": False}], DAY2, replace=False)
        assert [get(session, Consultation, k).nonpublic for k in ("c1", "c2")] == [False, True]
        assert get(session, Paper, "p").ever_public is True

    def test_files_written_inside_a_nonpublic_object_are_nonpublic(self, session: Session, store: ContentStore) -> None:
        records = base()
        records[4]["nonPublic"] = True
        load(session, store, records, DAY1)
        file = get(session, File, "f")
        assert (file.nonpublic, file.ever_public) == (True, False)


class TestBadRecords:
    @pytest.mark.parametrize(
        ("path", "value", "message"),
        [
            (("date",), "01.01.2024", "Paper 'p'.date: expected a date yyyy-mm-dd, got '01.01.2024'"),
            (("nonsense",), 1, "Paper 'p'.nonsense: Paper has no such property"),
            (("originatorPerson",), ["nobody"], "Paper 'p'.originatorPerson[0]: no Person with key or URL 'nobody'"),
            (("originatorPerson",), [f"{BASE_URL}/oparl/v1.1/person/²"],
             f"Paper 'p'.originatorPerson[0]: no Person with key or URL '{BASE_URL}/oparl/v1.1/person/²'"),
            (("consultation", 0, "authoritative"), "yes",
             "Paper 'p'.consultation[0].authoritative: expected true or false, got 'yes'"),
            (("keyword",), {"a": 1}, "Paper 'p'.keyword: expected an array of strings, got \"{'a': 1}\""),
            (("modified",), "gestern", None),  # the server owns created and modified: ignored
            (("auxiliaryFile", 0, "size"), "big", "Paper 'p'.auxiliaryFile[0].size: expected an integer, got 'big'"),
            (("auxiliaryFile", 0, "accessUrl"), None, "Paper 'p'.auxiliaryFile[0].accessUrl: a File needs "
                                                      "content or an accessUrl"),
            (("key",), "", "Paper ''.key: every record needs a key of 1 to 255 printable characters"),
        ],
    )  # fmt: skip
    def test_errors_name_the_field(
        self, session: Session, store: ContentStore, path: tuple[Any, ...], value: Any, message: str | None
    ) -> None:
        records = base()
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

    @pytest.mark.parametrize(
        ("record", "message"),
        [
            ({"type": "Paper", "key": "x"}, "Paper 'x'.body: the record names no Body"),
            ({"type": "Drucksache", "key": "x"}, "[2].type: not an OParl type"),
            ({"type": "AgendaItem", "key": "x", "body": "b"},
             "AgendaItem 'x'.meeting: an AgendaItem needs its Meeting"),
            ({"type": "Meeting", "key": "x", "body": "b", "start": "0001-01-01T00:00:00+01:00"},
             "Meeting 'x'.start: expected a date-time with offset"),
            ({"type": "Meeting", "key": "x", "body": "b", "agendaItem": [{"key": "i", "order": 2**70}]}, None),
            ({"type": "Location", "key": "x", "body": "b", "geojson": {"type": "Point", "coordinates": [1, 2]}},
             "Location 'x'.geojson: expected a GeoJSON Feature"),
        ],
    )  # fmt: skip
    def test_more_bad_records(
        self, session: Session, store: ContentStore, record: dict[str, Any], message: str | None
    ) -> None:
        if message is None:  # the array decides the order; the given value is not even read
            load(session, store, [*base()[:2], record], DAY1)
            return
        with pytest.raises(RecordError) as raised:
            load(session, store, [*base()[:2], record], DAY1)
        assert raised.value.message.startswith(message)

    def test_content_outside_the_fixture_folder_is_refused(
        self, session: Session, store: ContentStore, tmp_path: Path
    ) -> None:
        records = [*base()[:2], {"type": "File", "key": "f", "body": "b", "content": "../../etc/passwd"}]
        with pytest.raises(RecordError, match="no file '../../etc/passwd' in the fixture folder"):
            load(session, store, records, DAY1, base_dir=tmp_path)

    def test_a_key_twice_in_one_write(self, session: Session, store: ContentStore) -> None:
        with pytest.raises(RecordError, match="appears twice in one write"):
            load(session, store, [*base(), base()[4]], DAY1)


def test_insert_order_writes_every_referenced_type_first() -> None:
    """New rows are inserted type by type (`INSERT_ORDER`): each foreign key must point at a type
    inserted before, except the Body's Location (a new Body is written before what it embeds) and
    references to the own type, which are set after all inserts."""
    order = {name: index for index, name in enumerate(INSERT_ORDER)}
    assert set(order) == set(TYPES)
    late = []
    for name, model in ((n, t.model) for n, t in TYPES.items()):
        for column in sa_inspect(model).columns:
            for fk in column.foreign_keys:
                target = BY_TABLE[fk.column.table.name].name
                if order[target] >= order[name]:
                    late.append(f"{name}.{column.key}")
    assert late == ["Body.location_id", "Organization.sub_organization_of_id", "File.master_file_id"]


def test_a_commit_whose_stamping_takes_longer_than_the_margin_ends(
    session: Session, store: ContentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stamping that outlasts the margin (a large closure on a busy PostgreSQL: a harvest's first
    batch) was stamped again, each time as late as before, and commit never returned. The next
    stamp now leaves room for the last one's duration."""
    now = [DAY1]
    restamp = Changes.restamp

    def slow(self: Changes, *args: Any, **kwargs: Any) -> int:
        assert len(moments) < 10, "stamped again and again: the commit never ends"
        now[0] += dt.timedelta(seconds=3)
        moments.append(args[1])
        return restamp(self, *args, **kwargs)

    moments: list[dt.datetime] = []
    monkeypatch.setattr(Changes, "restamp", slow)
    write(session, base(), store=store, clock=lambda: now[0])
    second = dt.timedelta(seconds=1)
    # The load's stamp, one leaving room for the margin, one for the margin and the 3 s a stamp takes.
    assert moments == [T1, DAY1 + 4 * second, DAY1 + 10 * second]
    assert get(session, Paper, "p").modified == DAY1 + 10 * second
