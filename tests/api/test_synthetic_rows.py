"""The generator's rows: ids per table, the common fields, a Body for Body-listed types, bulk inserts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.synthetic.rows import INSERT_ORDER, Rows
from api.synthetic.shape import LAST_CHANGE
from models import Body, Location, System
from models.links import paper_location

WHEN = dt.datetime(2020, 5, 1, 8, 0, tzinfo=dt.UTC)


def test_parents_are_inserted_before_the_rows_naming_them() -> None:
    for parent, child in [
        ("body", "location"),
        ("file", "paper"),
        ("paper", "paper_location"),
        ("meeting", "agenda_item"),
    ]:
        assert INSERT_ORDER.index(parent) < INSERT_ORDER.index(child)


def test_rows_get_ids_per_table_keys_from_the_seed_and_stamps_no_later_than_the_last_change(session: Session) -> None:
    with Rows(session, seed=4, body_id=1) as rows:
        rows.add("system", WHEN, name="S")
        body = rows.add("body", WHEN, system_id=1, name="B")
        assert rows.next_id("location") == 1
        first = rows.add("location", WHEN, LAST_CHANGE + dt.timedelta(days=1), locality="L")
        second = rows.add("location", WHEN + dt.timedelta(days=1), WHEN, locality=None, deleted=True)
        rows.add("paper", WHEN, name="P")
        rows.link("paper_location", 1, second["id"], 3)
        counts = rows.finish()
    assert "body_id" not in body
    assert (first["id"], first["key"], first["body_id"], first["modified"]) == (
        1,
        "synthetic-4/location/1",
        1,
        LAST_CHANGE,
    )
    assert second["modified"] == second["created"]  # never before it was created
    assert counts.rows == {"system": 1, "body": 1, "location": 2, "paper": 1, "paper_location": 1}
    assert counts.total == 6
    assert session.scalar(select(System.name)) == "S"
    assert session.scalar(select(Body.name)) == "B"
    assert session.execute(select(Location.id, Location.deleted).order_by(Location.id)).all() == [(1, False), (2, True)]
    assert session.execute(select(paper_location)).all() == [(1, 2, 3)]
