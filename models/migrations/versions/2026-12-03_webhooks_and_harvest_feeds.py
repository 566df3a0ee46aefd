"""Webhook subscriptions, their delivery log and lease; the harvest's kommParl feed cursors

Revision ID: a1b2c3d40006
Revises: a1b2c3d40005
Create Date: 2026-12-03 13:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision: str = 'a1b2c3d40006'
down_revision: Union[str, Sequence[str], None] = 'a1b2c3d40005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    lease = op.create_table('webhook_lease',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('expires', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_webhook_lease'))
    )
    # The one lease row: taking it is an UPDATE, so two processes cannot both insert it.
    op.bulk_insert(lease, [{'name': 'deliver', 'owner': None, 'expires': 0.0}])
    op.create_table('webhook_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('body_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('types', sa.JSON(), nullable=True),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('cursor', sa.String(length=512), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_attempt', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('disabled', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disabled_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['token_id'], ['api_token.id'], name=op.f('fk_webhook_subscription_token_id_api_token')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscription'))
    )
    with op.batch_alter_table('webhook_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_subscription_token_id'), ['token_id'], unique=False)

    op.create_table('webhook_delivery',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('after', sa.String(length=512), nullable=False),
    sa.Column('through', sa.String(length=512), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscription.id'], name=op.f('fk_webhook_delivery_subscription_id_webhook_subscription'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_delivery'))
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_subscription_id_id', ['subscription_id', 'id'], unique=False)

    with op.batch_alter_table('harvest_source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feeds', sa.JSON(), nullable=False, server_default='{}'))



def downgrade() -> None:
    with op.batch_alter_table('harvest_source', schema=None) as batch_op:
        batch_op.drop_column('feeds')

    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_delivery_subscription_id_id')

    op.drop_table('webhook_delivery')
    with op.batch_alter_table('webhook_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_subscription_token_id'))

    op.drop_table('webhook_subscription')
    op.drop_table('webhook_lease')
