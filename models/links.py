"""Ordered many-to-many link tables, and the read-only relationships OParl references are read by.

OParl reference arrays are ordered (the first organization of a consultation is the lead one),
so every link row carries its position. The tables are written by `oparl.load` only; the ORM
relationships over them, and the back-references over foreign keys, are read-only and
`lazy="raise"`: the wire modules load each one eagerly, so a forgotten load fails loudly.
"""

from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, Table
from sqlalchemy.orm import Relationship, relationship

from models.base import Base, ObjectId


def link_table(name: str, owner: str, target: str) -> Table:
    return Table(
        name,
        Base.metadata,
        Column("owner_id", ObjectId, ForeignKey(f"{owner}.id", ondelete="CASCADE"), primary_key=True),
        Column("target_id", ObjectId, ForeignKey(f"{target}.id", ondelete="CASCADE"), primary_key=True, index=True),
        Column("position", Integer, nullable=False),
    )


def ordered_link(table: Table, **joins: Any) -> Relationship[Any]:
    """The owner's targets over `table`, in the owner's order.

    `joins` (primaryjoin, secondaryjoin, info) is for a table whose two ends are one type.
    """
    return relationship(secondary=table, order_by=table.c.position, viewonly=True, lazy="raise", **joins)


def referrers(via: str | Table, order_by: str, **joins: Any) -> Relationship[Any]:
    """The rows that name this one: by a foreign key (`via` is the join condition) or as owners in
    a link table (`via` is the table), in `order_by` order. Required: the database's own order
    moves with every update on PostgreSQL, and an object must read the same until it is modified.
    """
    how = {"secondary": via} if isinstance(via, Table) else {"primaryjoin": via}
    return relationship(**how, **joins, order_by=order_by, viewonly=True, lazy="raise")


meeting_organization = link_table("meeting_organization", "meeting", "organization")
meeting_participant = link_table("meeting_participant", "meeting", "person")
meeting_auxiliary_file = link_table("meeting_auxiliary_file", "meeting", "file")
agenda_item_auxiliary_file = link_table("agenda_item_auxiliary_file", "agenda_item", "file")
paper_auxiliary_file = link_table("paper_auxiliary_file", "paper", "file")
paper_location = link_table("paper_location", "paper", "location")
paper_originator_person = link_table("paper_originator_person", "paper", "person")
paper_originator_organization = link_table("paper_originator_organization", "paper", "organization")
paper_under_direction_of = link_table("paper_under_direction_of", "paper", "organization")
paper_related_paper = link_table("paper_related_paper", "paper", "paper")
# owner = the superordinated paper, target = the subordinated one: one row, both directions.
paper_subordinated_paper = link_table("paper_subordinated_paper", "paper", "paper")
consultation_organization = link_table("consultation_organization", "consultation", "organization")
