"""A covering index per Body list for its counts (visibility, filters): counts read no wide rows

Revision ID: a1b2c3d40009
Revises: a1b2c3d40008
Create Date: 2026-12-06 21:50:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'a1b2c3d40009'
down_revision: Union[str, Sequence[str], None] = 'a1b2c3d40008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ("legislative_term", "organization", "person", "membership", "meeting", "agenda_item", "paper",
          "consultation", "file", "location")
LISTED = ["body_id", "deleted", "nonpublic", "id", "created", "modified", "ever_public"]


def upgrade() -> None:
    for table in TABLES:
        op.create_index(op.f(f"ix_{table}_listed"), table, LISTED, unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(op.f(f"ix_{table}_listed"), table_name=table)
