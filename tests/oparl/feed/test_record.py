"""The write path appends change feed entries: the changed object and every object showing it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Body, FeedEntry, FeedState
from oparl.catalogue import BY_SEGMENT
from oparl.content import ContentStore
from oparl.errors import BadRequest, NotFound
from oparl.feed import read
from oparl.urls import UrlBuilder
from tests.conftest import BASE_URL, FakeClock, write

P = f"{BASE_URL}/oparl/v1.1"


def council() -> list[dict[str, Any]]:
    return [
        {"type": "System", "key": "s", "name": "System"},
        {"type": "Body", "key": "b", "system": "s", "name": "Stadt"},
        {"type": "Organization", "key": "rat", "body": "b", "name": "Rat"},
        {"type": "Paper", "key": "p", "body": "b", "name": "Vorlage",
         "consultation": [{"key": "c", "organization": ["rat"], "role": "Beschluss"}]},
    ]  # fmt: skip


def entries(session: Session, urls: UrlBuilder, *, nonpublic: bool, after: str | None = None) -> read.FeedPage:
    body_id = session.scalar(select(FeedEntry.body_id).limit(1))
    assert body_id is not None
    return read.page(session, urls, body_id, after, 100, nonpublic=nonpublic)


def ops(session: Session, found: read.FeedPage) -> list[tuple[str, str, str | None]]:
    """(operation, "type/key", reason) of each entry: ids differ between the engines, keys do not."""
    return [(e["operation"], key_of(session, e["id"]), e.get("reason")) for e in found.entries]


def key_of(session: Session, url: str) -> str:
    segment, object_id = url.removeprefix(P + "/").split("/")
    model = BY_SEGMENT[segment].model
    return f"{segment}/{session.scalar(select(model.key).where(model.id == int(object_id)))}"


class TestRecord:
    def test_a_new_council_gives_an_upsert_per_object_of_the_body(
        self, session: Session, store: ContentStore, clock: FakeClock, urls: UrlBuilder
    ) -> None:
        write(session, council(), store=store, clock=clock)
        found = entries(session, urls, nonpublic=False)
        assert sorted(ops(session, found)) == [
            ("upsert", "body/b", None), ("upsert", "consultation/c", None),
            ("upsert", "organization/rat", None), ("upsert", "paper/p", None),
        ]  # fmt: skip
        assert found.more is False
        assert found.entries[0]["modified"] == "2024-06-03T08:00:01+00:00"

    def test_a_changed_consultation_gives_entries_for_it_and_its_paper(
        self, session: Session, store: ContentStore, clock: FakeClock, urls: UrlBuilder
    ) -> None:
        write(session, council(), store=store, clock=clock)
        cursor = entries(session, urls, nonpublic=False).cursor
        clock.advance()
        write(session, [council()[3] | {"consultation": [{"key": "c", "organization": ["rat"], "role": "Anhörung"}]}],
              store=store, clock=clock)  # fmt: skip
        found = entries(session, urls, nonpublic=False, after=cursor)
        assert sorted(ops(session, found)) == [("upsert", "consultation/c", None), ("upsert", "paper/p", None)]

    def test_hiding_a_paper_is_a_nonpublic_delete_anonymously_and_an_upsert_for_insiders(
        self, session: Session, store: ContentStore, clock: FakeClock, urls: UrlBuilder
    ) -> None:
        write(session, council(), store=store, clock=clock)
        cursor = entries(session, urls, nonpublic=False).cursor
        clock.advance()
        write(session, [council()[3] | {"nonPublic": True}], store=store, clock=clock)
        anonymous = ops(session, entries(session, urls, nonpublic=False, after=cursor))
        # The Organization referenced the Consultation: its output changed as well (oparl.cascade).
        assert sorted(anonymous) == [("delete", "consultation/c", "nonPublic"), ("delete", "paper/p", "nonPublic"),
                                     ("upsert", "organization/rat", None)]  # fmt: skip
        insider = ops(session, entries(session, urls, nonpublic=True, after=cursor))
        assert sorted(insider) == [("upsert", "consultation/c", None), ("upsert", "organization/rat", None),
                                   ("upsert", "paper/p", None)]  # fmt: skip
        clock.advance()
        cursor = entries(session, urls, nonpublic=False, after=cursor).cursor
        write(session, [council()[3] | {"nonPublic": True, "name": "Geheim"}], store=store, clock=clock)
        assert ops(session, entries(session, urls, nonpublic=False, after=cursor)) == []

    def test_a_never_public_object_gives_no_anonymous_entry(
        self, session: Session, store: ContentStore, clock: FakeClock, urls: UrlBuilder
    ) -> None:
        write(session, [*council(), {"type": "Paper", "key": "q", "body": "b", "name": "Geheim", "nonPublic": True}],
              store=store, clock=clock)  # fmt: skip
        assert ("upsert", "paper/q", None) not in ops(session, entries(session, urls, nonpublic=False))
        assert ("upsert", "paper/q", None) in ops(session, entries(session, urls, nonpublic=True))

    def test_positions_follow_the_counter(
        self, session: Session, store: ContentStore, clock: FakeClock, urls: UrlBuilder
    ) -> None:
        write(session, council(), store=store, clock=clock)
        positions = list(session.scalars(select(FeedEntry.position).order_by(FeedEntry.position)))
        last = session.execute(select(FeedState.position)).scalar_one()
        assert positions == list(range(last - 3, last + 1))


class TestPage:
    def test_a_bad_cursor_and_a_bad_limit_are_bad_requests(
        self, session: Session, store: ContentStore, clock: FakeClock, urls: UrlBuilder
    ) -> None:
        write(session, council(), store=store, clock=clock)
        with pytest.raises(BadRequest):
            read.page(session, urls, body_id(session), "nonsense", 10, nonpublic=False)
        with pytest.raises(BadRequest):
            read.page(session, urls, body_id(session), None, 0, nonpublic=False)
        with pytest.raises(NotFound):
            read.page(session, urls, 10**12, None, 10, nonpublic=False)

    def test_pages_end_at_limit_and_continue(
        self, session: Session, store: ContentStore, clock: FakeClock, urls: UrlBuilder
    ) -> None:
        write(session, council(), store=store, clock=clock)
        first = read.page(session, urls, body_id(session), None, 3, nonpublic=False)
        assert (len(first.entries), first.more) == (3, True)
        assert first.cursor == first.entries[-1]["cursor"]
        rest = read.page(session, urls, body_id(session), first.cursor, 3, nonpublic=False)
        assert (len(rest.entries), rest.more) == (1, False)
        assert read.page(session, urls, body_id(session), rest.cursor, 3, nonpublic=False).entries == []


def body_id(session: Session) -> int:
    found = session.scalar(select(Body.id).where(Body.key == "b"))
    assert found is not None
    return found
