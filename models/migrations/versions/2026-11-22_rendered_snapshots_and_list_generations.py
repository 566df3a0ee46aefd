"""Rendered snapshots of every object, revisions, and per-table list generations

Revision ID: 26c985faa232
Revises: 1cb57a4c66eb
Create Date: 2026-11-22 08:18:48.697001

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision: str = '26c985faa232'
down_revision: Union[str, Sequence[str], None] = '1cb57a4c66eb'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


OBJECT_TABLES = (
    "system", "body", "legislative_term", "location", "organization", "person", "membership",
    "meeting", "agenda_item", "file", "paper", "consultation",
)


def upgrade() -> None:
    generation = op.create_table(
        "list_generation",
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("modified", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("table_name", name=op.f("pk_list_generation")),
    )
    # One row per table from the start: writers only ever UPDATE them (no insert races).
    op.bulk_insert(generation, [{"table_name": name, "value": 0} for name in OBJECT_TABLES])
    for name in OBJECT_TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
            batch_op.add_column(sa.Column("rendered", sa.LargeBinary(), nullable=True))
            batch_op.add_column(sa.Column("rendered_key", sa.String(length=32), nullable=True))


def downgrade() -> None:
    for name in OBJECT_TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column("rendered_key")
            batch_op.drop_column("rendered")
            batch_op.drop_column("revision")
    op.drop_table("list_generation")
