"""The visibility policy: its decision table, and its Python and SQL forms agreeing on every row."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import pytest
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from models import OParlObject, Paper
from oparl import visibility
from oparl.errors import NotFound
from oparl.visibility import Seen
from tests.factories import make_body, make_paper

ALL_FLAGS = list(itertools.product([False, True], repeat=3))  # (deleted, nonpublic, ever_public)


@dataclass(frozen=True)
class Row:
    deleted: bool
    nonpublic: bool
    ever_public: bool


# (deleted, nonpublic, ever_public) -> (anonymous, entitled)
TABLE = {
    (False, False, True): (Seen.SHOWN, Seen.SHOWN),
    (False, False, False): (Seen.SHOWN, Seen.SHOWN),  # never written so: public rows are ever_public
    (False, True, True): (Seen.TOMBSTONE, Seen.SHOWN),  # depublished
    (False, True, False): (Seen.ABSENT, Seen.SHOWN),  # never published
    (True, False, True): (Seen.TOMBSTONE, Seen.TOMBSTONE),
    (True, False, False): (Seen.ABSENT, Seen.TOMBSTONE),
    (True, True, True): (Seen.TOMBSTONE, Seen.TOMBSTONE),
    (True, True, False): (Seen.ABSENT, Seen.TOMBSTONE),
}


@pytest.mark.parametrize("flags", ALL_FLAGS)
def test_decision_table(flags: tuple[bool, bool, bool]) -> None:
    row = Row(*flags)
    assert (visibility.seen(row, entitled=False), visibility.seen(row, entitled=True)) == TABLE[flags]


@pytest.mark.parametrize("flags", ALL_FLAGS)
def test_lists_embeds_and_parents_follow_the_decision(flags: tuple[bool, bool, bool]) -> None:
    row = Row(*flags)
    for entitled in (False, True):
        decision = visibility.seen(row, entitled=entitled)
        assert visibility.shown(row, entitled=entitled) == (decision is Seen.SHOWN)
        assert visibility.listed(row, entitled=entitled, tombstones=False) == (decision is Seen.SHOWN)
        assert visibility.listed(row, entitled=entitled, tombstones=True) == (decision is not Seen.ABSENT)
        # A list's parent is judged as if it were not deleted.
        alive = Row(False, row.nonpublic, row.ever_public)
        assert visibility.public(row, entitled=entitled) == (visibility.seen(alive, entitled=entitled) is Seen.SHOWN)


Test = Callable[[Paper], bool]
Where = Callable[[type[OParlObject]], Sequence[ColumnElement[bool]]]


def forms(entitled: bool) -> dict[str, tuple[Test, Where]]:
    """Each rule's Python form beside its SQL form, for one client."""
    v, e = visibility, entitled
    return {
        "public": (partial(v.public, entitled=e), partial(v.public_where, entitled=e)),
        "shown": (partial(v.shown, entitled=e), partial(v.shown_where, entitled=e)),
        "known": (lambda row: v.seen(row, entitled=e) is not Seen.ABSENT, partial(v.known_where, entitled=e)),
        "listed": (
            partial(v.listed, tombstones=False, entitled=e),
            partial(v.listed_where, tombstones=False, entitled=e),
        ),
        "listed with tombstones": (
            partial(v.listed, tombstones=True, entitled=e),
            partial(v.listed_where, tombstones=True, entitled=e),
        ),
    }


@pytest.mark.parametrize("entitled", [False, True])
def test_python_and_sql_forms_agree_on_every_row(session: Session, entitled: bool) -> None:
    body = make_body(session)
    rows = [make_paper(session, body, deleted=d, nonpublic=n, ever_public=e) for d, n, e in ALL_FLAGS]
    session.expire_all()  # the flags as the database holds them
    for name, (python, sql) in forms(entitled).items():
        selected = set(session.scalars(select(Paper.id).where(Paper.body_id == body.id, *sql(Paper))))
        expected = {row.id for row in rows if python(row)}
        assert selected == expected, name


def test_one_message_for_an_id_that_names_nothing() -> None:
    error = NotFound.by_id("Paper", 7)
    assert (error.status_code, error.message) == (404, "Kein Objekt vom Typ Paper mit der Kennung 7.")
