"""The write audit: which token wrote what and when

Revision ID: a1b2c3d40004
Revises: a1b2c3d40003
Create Date: 2026-12-02 18:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision: str = 'a1b2c3d40004'
down_revision: Union[str, Sequence[str], None] = 'a1b2c3d40003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('write_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('op', sa.String(length=8), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=True),
    sa.Column('object_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['api_token.id'], name=op.f('fk_write_audit_token_id_api_token')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_write_audit'))
    )
    with op.batch_alter_table('write_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_write_audit_at'), ['at'], unique=False)
        batch_op.create_index('ix_write_audit_token_id_at', ['token_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('write_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_write_audit_token_id_at')
        batch_op.drop_index(batch_op.f('ix_write_audit_at'))
    op.drop_table('write_audit')
