"""The change feed (kommParl 0.1): its entries and its counter

Revision ID: a1b2c3d40005
Revises: a1b2c3d40004
Create Date: 2026-12-03 13:00:00

"""
import uuid
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision: str = 'a1b2c3d40005'
down_revision: Union[str, Sequence[str], None] = 'a1b2c3d40004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

POSITION = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    state = op.create_table('feed_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', POSITION, nullable=False),
    sa.Column('pruned_through', POSITION, nullable=False),
    sa.Column('pruned_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('epoch', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_state'))
    )
    # The one row; its epoch binds cursors to this database (a restored copy of another has its own).
    op.bulk_insert(state, [{'id': 1, 'position': 0, 'pruned_through': 0, 'epoch': uuid.uuid4().hex}])
    op.create_table('feed_entry',
    sa.Column('position', POSITION, autoincrement=False, nullable=False),
    sa.Column('body_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('type_name', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('modified', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('entitled', sa.String(length=16), nullable=True),
    sa.Column('public', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('position', name=op.f('pk_feed_entry'))
    )
    with op.batch_alter_table('feed_entry', schema=None) as batch_op:
        batch_op.create_index('ix_feed_entry_body_id_position', ['body_id', 'position'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feed_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_feed_entry_body_id_position')
    op.drop_table('feed_entry')
    op.drop_table('feed_state')
