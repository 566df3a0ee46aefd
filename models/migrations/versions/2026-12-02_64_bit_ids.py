"""64-bit OParl object ids: every id, every foreign key to one, every link table column

Harvested objects get ids hashed from their source URL (52 bits, oparl.load.stable_id), which
PostgreSQL's 4-byte INTEGER refused ("integer out of range"). On PostgreSQL each table is
rewritten once (all its columns in one ALTER TABLE) and the id sequences become bigint, as a
fresh BIGSERIAL would be. On SQLite nothing changes: its INTEGER already stores 64-bit values,
and an `INTEGER PRIMARY KEY` must stay spelled so to remain the rowid, so the models keep
INTEGER there (`models.base.ObjectId`) and this migration does nothing.

The downgrade works on a database whose ids all fit 4 bytes; one holding harvested ids cannot go
back and fails with "integer out of range", changing nothing (PostgreSQL's DDL is transactional).

Revision ID: a1b2c3d40001
Revises: 26c985faa232
Create Date: 2026-12-02 17:00:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'a1b2c3d40001'
down_revision: Union[str, Sequence[str], None] = '26c985faa232'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


# Written out rather than read from the models: a migration must build the same schema forever.
OBJECT_TABLES = {
    "system": [],
    "body": ["system_id", "location_id"],
    "legislative_term": ["body_id"],
    "location": ["body_id"],
    "organization": ["body_id", "sub_organization_of_id", "location_id"],
    "person": ["body_id", "location_id"],
    "membership": ["body_id", "person_id", "organization_id", "on_behalf_of_id"],
    "meeting": ["body_id", "location_id", "invitation_id", "results_protocol_id", "verbatim_protocol_id"],
    "agenda_item": ["body_id", "meeting_id", "resolution_file_id"],
    "file": ["body_id", "master_file_id"],
    "paper": ["body_id", "main_file_id"],
    "consultation": ["body_id", "paper_id", "agenda_item_id", "meeting_id"],
}
LINK_TABLES = [
    "meeting_organization", "meeting_participant", "meeting_auxiliary_file", "agenda_item_auxiliary_file",
    "paper_auxiliary_file", "paper_location", "paper_originator_person", "paper_originator_organization",
    "paper_under_direction_of", "paper_related_paper", "paper_subordinated_paper", "consultation_organization",
]


def _columns() -> dict[str, list[str]]:
    return {**{t: ["id", *fks] for t, fks in OBJECT_TABLES.items()}, **{t: ["owner_id", "target_id"] for t in LINK_TABLES}}


def _change(kind: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: INTEGER is 64-bit already (see above)
    for table, columns in _columns().items():
        changes = ", ".join(f'ALTER COLUMN "{column}" TYPE {kind}' for column in columns)
        op.execute(f'ALTER TABLE "{table}" {changes}')
    for table in OBJECT_TABLES:
        sequence = op.get_bind().exec_driver_sql(f"SELECT pg_get_serial_sequence('\"{table}\"', 'id')").scalar()
        if sequence is not None:  # a quoted, schema-qualified name
            op.execute(f"ALTER SEQUENCE {sequence} AS {kind}")


def upgrade() -> None:
    _change("BIGINT")


def downgrade() -> None:
    _change("INTEGER")
