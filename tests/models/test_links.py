"""The relationship helpers: ordered links read in the owner's order, back-references read-only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import RelationshipProperty

from models import File, Location, Paper
from models.links import paper_auxiliary_file, paper_location
from oparl.catalogue import TYPES

TYPE_MODELS = [t.model for t in TYPES.values()]


def prop(attribute: Any) -> RelationshipProperty[Any]:
    relationship = inspect(attribute).property
    assert isinstance(relationship, RelationshipProperty)
    return relationship


def order(relationship: RelationshipProperty[Any]) -> list[str] | None:
    return None if relationship.order_by is False else [str(column) for column in relationship.order_by]


def test_an_ordered_link_reads_the_targets_in_the_owners_order_and_writes_nothing() -> None:
    link = prop(Paper.auxiliary_file)
    assert link.secondary is paper_auxiliary_file
    assert order(link) == ["paper_auxiliary_file.position"]
    assert (link.viewonly, link.lazy, link.mapper.class_) == (True, "raise", File)


def test_a_link_between_two_papers_is_read_in_both_directions() -> None:
    forward, reverse = prop(Paper.related_paper), prop(Paper.related_paper_of)
    assert (order(forward), order(reverse)) == (["paper_related_paper.position"], ["paper.id"])
    assert (forward.info, reverse.info) == ({"reverse": False}, {"reverse": True})
    assert str(forward.primaryjoin) == "paper.id = paper_related_paper.owner_id"
    assert str(reverse.primaryjoin) == "paper.id = paper_related_paper.target_id"


def test_referrers_come_by_a_foreign_key_or_a_link_table() -> None:
    by_key, by_link, file_papers = prop(Location.meetings), prop(Location.papers), prop(File.paper_auxiliary)
    assert str(by_key.primaryjoin) == "meeting.location_id = location.id"
    assert (order(by_key), order(by_link), order(file_papers)) == (["meeting.id"], ["paper.id"], ["paper.id"])
    assert by_link.secondary is paper_location
    assert all((r.viewonly, r.lazy) == (True, "raise") for r in (by_key, by_link, file_papers))


def test_every_list_an_object_shows_has_an_order_of_its_own() -> None:
    """Not the database's: PostgreSQL's moves with every update, and an object must read the same
    until it is modified."""
    unordered = [
        f"{model.__name__}.{rel.key}"
        for model in TYPE_MODELS
        for rel in inspect(model).relationships
        if rel.uselist and rel.order_by is False
    ]
    assert unordered == []
