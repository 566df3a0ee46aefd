"""API tokens: when each was last used, and an optional expiry.

Revision ID: a1b2c3d40003
Revises: 26c985faa232
Create Date: 2026-12-02 18:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision: str = 'a1b2c3d40003'
down_revision: Union[str, Sequence[str], None] = 'a1b2c3d40002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_used', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('expires', models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires')
        batch_op.drop_column('last_used')
