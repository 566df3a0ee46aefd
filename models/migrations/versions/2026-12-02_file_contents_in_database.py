"""File contents in the database: content-addressed by SHA-512, in chunks

Contents that lived in OPARL_DATA_DIR/files are imported by `oparl-server migrate` after this
revision (oparl.content.import_directory): the data folder is not known here. A downgrade drops
the stored contents.

Revision ID: a1b2c3d40002
Revises: 26c985faa232
Create Date: 2026-12-02 16:56:51.907290

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'a1b2c3d40002'
down_revision: Union[str, Sequence[str], None] = 'a1b2c3d40001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('file_content',
    sa.Column('sha512', sa.String(length=128), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('chunk_size', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('sha512', name=op.f('pk_file_content'))
    )
    op.create_table('file_chunk',
    sa.Column('sha512', sa.String(length=128), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['sha512'], ['file_content.sha512'], name=op.f('fk_file_chunk_sha512_file_content'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sha512', 'seq', name=op.f('pk_file_chunk'))
    )


def downgrade() -> None:
    op.drop_table('file_chunk')
    op.drop_table('file_content')
