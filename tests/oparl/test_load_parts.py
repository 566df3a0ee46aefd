"""The loader's parts on their own: the change log, the references, the links, the propagation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Consultation, File, Organization, Paper
from models.links import paper_auxiliary_file, paper_related_paper
from oparl.content import ContentStore
from oparl.errors import Forbidden, RecordError, Where
from oparl.load.changelog import ChangeLog
from oparl.load.links import Links
from oparl.load.loader import Loader
from oparl.load.propagation import Propagation
from oparl.load.references import References, stable_id
from oparl.urls import UrlBuilder
from oparl.write import commit
from tests.conftest import BASE_URL, QueryCounter

URLS = UrlBuilder(BASE_URL)
MOMENT = dt.datetime(2024, 5, 1, 12, 0, 1, tzinfo=dt.UTC)


def records(restricted_paper: bool = False) -> list[dict[str, Any]]:
    return [
        {"type": "System", "key": "s", "name": "RIS"},
        {"type": "Body", "key": "b", "system": "s", "name": "Stadt"},
        {"type": "Organization", "key": "o", "body": "b", "name": "Rat"},
        {"type": "Paper", "key": "p", "body": "b", "name": "Vorlage", "nonPublic": restricted_paper,
         "consultation": [{"key": "c", "organization": ["o"]}],
         "auxiliaryFile": [{"key": "f", "name": "Anlage", "accessUrl": "https://files.example.org/a.pdf"}]},
        {"type": "Paper", "key": "q", "body": "b", "name": "Andere", "relatedPaper": ["p"]},
    ]  # fmt: skip


def stored(session: Session, store: ContentStore, data: list[dict[str, Any]]) -> Loader:
    loader = Loader(session, urls=URLS, store=store)
    loader.load(data)
    commit(session, loader, lambda: MOMENT)
    return loader


def row(session: Session, model: Any, key: str) -> Any:
    found = session.scalar(select(model).where(model.key == key))
    assert found is not None
    return found


class TestChangeLog:
    def test_it_keeps_the_first_value_before_the_write_and_nothing_for_new_rows(
        self, session: Session, store: ContentStore
    ) -> None:
        stored(session, store, records())
        log, org = ChangeLog(), row(session, Organization, "o")
        log.set(org, "name", "Rat der Stadt")
        log.set(org, "name", "Bürgerschaft")
        assert (org.name, log.before) == ("Bürgerschaft", {org: {"name": "Rat"}})
        fresh = Organization(name="x")
        log.created_row(fresh)
        log.set(fresh, "name", "y")
        assert (fresh.name, fresh in log.before) == ("y", False)

    def test_finish_reports_what_changed_and_stamps_what_shows_it(self, session: Session, store: ContentStore) -> None:
        stored(session, store, records())
        log, consultation = ChangeLog(), row(session, Consultation, "c")
        log.saw(consultation)
        log.set(consultation, "role", "Entscheidung")
        report = log.finish(session, MOMENT + dt.timedelta(days=1))
        assert (report.created, report.changed, report.unchanged) == (0, 1, 0)
        # The Consultation and the Paper embedding it, nothing else.
        assert {m.__name__: ids for m, ids in log.changes.closure.items()} == {
            "Consultation": {consultation.id},
            "Paper": {row(session, Paper, "p").id},
        }

    def test_a_delete_counts_once(self, session: Session, store: ContentStore) -> None:
        stored(session, store, records())
        log, org = ChangeLog(), row(session, Organization, "o")
        log.delete(org)
        log.delete(org)
        assert (org.deleted, log.deleted, list(log.seen)) == (True, 1, [org])


class TestReferences:
    def refs(self, session: Session, sees_nonpublic: bool = True) -> References:
        return References(session, URLS, ChangeLog(), stable_ids=False, sees_nonpublic=sees_nonpublic, on_missing=None)

    def test_a_key_and_this_servers_url_name_the_same_row(self, session: Session, store: ContentStore) -> None:
        stored(session, store, records())
        org = row(session, Organization, "o")
        refs = self.refs(session)
        assert refs.resolve("o", Organization, Where("Paper", "p")) == org.id
        assert refs.resolve(URLS.object("Organization", org.id), Organization, Where("Paper", "p")) == org.id

    def test_a_missing_reference_names_the_record_and_the_field(self, session: Session) -> None:
        with pytest.raises(RecordError) as raised:
            self.refs(session).resolve("nope", Organization, Where("Paper", "p", ".organization[0]"))
        assert raised.value.where == Where("Paper", "p", ".organization[0]")
        assert raised.value.message == "Paper 'p'.organization[0]: no Organization with key or URL 'nope'"

    def test_for_a_writer_without_read_nonpublic_a_hidden_object_does_not_exist(
        self, session: Session, store: ContentStore
    ) -> None:
        stored(session, store, records(restricted_paper=True))
        refs = self.refs(session, sees_nonpublic=False)
        with pytest.raises(RecordError, match="no Paper with key or URL 'p'"):
            refs.resolve("p", Paper, Where("Paper", "q"))
        with pytest.raises(Forbidden):
            refs.row_for(Paper, {"key": "p"}, Where("Paper", "p"))

    def test_a_new_row_gets_a_stable_id_from_its_key_when_asked(self, session: Session) -> None:
        refs = References(session, URLS, ChangeLog(), stable_ids=True, sees_nonpublic=True, on_missing=None)
        obj, new = refs.row_for(Organization, {"key": "https://example.org/o/1"}, Where("Organization", "x"))
        assert (new, obj.id, obj in refs.log.created) == (True, stable_id("https://example.org/o/1"), True)

    def test_the_prefetch_answers_a_batch_in_a_few_queries(
        self, session: Session, store: ContentStore, count_queries: QueryCounter
    ) -> None:
        stored(session, store, records())
        refs = self.refs(session)
        refs.prefetch(records())
        before = count_queries.count
        refs.resolve("o", Organization, Where("Paper", "p"))
        refs.row_for(Paper, {"key": "p"}, Where("Paper", "p"))
        assert count_queries.count == before


class TestLinks:
    def test_replacing_a_link_array_keeps_its_order_and_notes_the_relink(
        self, session: Session, store: ContentStore
    ) -> None:
        stored(session, store, records())
        log = ChangeLog()
        refs = References(session, URLS, log, stable_ids=False, sees_nonpublic=True, on_missing=None)
        links, q, p = Links(session, log, refs), row(session, Paper, "q"), row(session, Paper, "p")
        links.write(q, paper_related_paper, [p.id, q.id, p.id], reverse=False)
        links.insert()
        query = select(paper_related_paper.c.target_id).where(paper_related_paper.c.owner_id == q.id)
        assert list(session.scalars(query.order_by(paper_related_paper.c.position))) == [p.id, q.id]
        assert q in log.relinked
        # Both ends show a related paper: both are to be stamped.
        assert log.changes.ids[Paper] == {p.id, q.id}

    def test_the_same_links_again_change_nothing(self, session: Session, store: ContentStore) -> None:
        stored(session, store, records())
        log = ChangeLog()
        refs = References(session, URLS, log, stable_ids=False, sees_nonpublic=True, on_missing=None)
        p, f = row(session, Paper, "p"), row(session, File, "f")
        Links(session, log, refs).write(p, paper_auxiliary_file, [f.id], reverse=False)
        assert (log.relinked, dict(log.changes.ids)) == (set(), {})


class TestPropagation:
    def test_a_hidden_paper_hides_its_consultations_and_a_file_only_it_embeds(
        self, session: Session, store: ContentStore
    ) -> None:
        stored(session, store, records())
        log, paper = ChangeLog(), row(session, Paper, "p")
        log.set(paper, "restricted", True)
        Propagation(session, log).visibility()
        hidden = {o.key for o in (paper, row(session, Consultation, "c"), row(session, File, "f")) if o.nonpublic}
        assert hidden == {"p", "c", "f"}
        assert not row(session, Paper, "q").nonpublic

    def test_a_delete_takes_along_what_only_the_deleted_object_embeds(
        self, session: Session, store: ContentStore
    ) -> None:
        stored(session, store, records())
        paper = row(session, Paper, "p")
        orphans = Propagation(session, ChangeLog()).embedded_only_in([paper])
        assert [o.key for o in orphans] == ["f"]
