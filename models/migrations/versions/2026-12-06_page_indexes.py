"""Indexes for the Body's page: its newest papers by date, its next and last meetings

Revision ID: a1b2c3d40008
Revises: a1b2c3d40007
Create Date: 2026-12-06 21:45:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'a1b2c3d40008'
down_revision: Union[str, Sequence[str], None] = 'a1b2c3d40007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_paper_body_id_date', 'paper', ['body_id', 'date', 'id'], unique=False)
    op.create_index('ix_meeting_body_id_start', 'meeting', ['body_id', 'start', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_meeting_body_id_start', table_name='meeting')
    op.drop_index('ix_paper_body_id_date', table_name='paper')
