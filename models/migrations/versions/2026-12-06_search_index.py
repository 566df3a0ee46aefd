"""The search index (issue 15): its rows, FTS5 on SQLite, tsvector and GIN on PostgreSQL; File.text_state

Revision ID: a1b2c3d40007
Revises: a1b2c3d40006
Create Date: 2026-12-06 21:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision: str = 'a1b2c3d40007'
down_revision: Union[str, Sequence[str], None] = 'a1b2c3d40006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OBJECT_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# SQLite: an FTS5 table whose content is search_entry (external content), kept in step by triggers
# in the writer's transaction. The terms are analysed already: the `ascii` tokenizer only splits
# them at the spaces (it leaves non-ASCII letters alone, unlike unicode61's folding).
SQLITE = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, facets, content='search_entry', "
    "content_rowid='id', tokenize='ascii', columnsize=1, detail=full)",
    # The titles alone again: a title hit is rare among a common word's hits, and FTS5 finds rows
    # of one column by reading all of the word's rows; this small index reads title rows only.
    "CREATE VIRTUAL TABLE search_title_fts USING fts5(title, facets, content='search_entry', "
    "content_rowid='id', tokenize='ascii', columnsize=0, detail=full)",
    "CREATE TRIGGER search_entry_ai AFTER INSERT ON search_entry BEGIN "
    "INSERT INTO search_fts(rowid, title, body, facets) VALUES (new.id, new.title, new.body, new.facets); "
    "INSERT INTO search_title_fts(rowid, title, facets) VALUES (new.id, new.title, new.facets); END",
    "CREATE TRIGGER search_entry_ad AFTER DELETE ON search_entry BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body, facets) "
    "VALUES ('delete', old.id, old.title, old.body, old.facets); "
    "INSERT INTO search_title_fts(search_title_fts, rowid, title, facets) "
    "VALUES ('delete', old.id, old.title, old.facets); END",
    "CREATE TRIGGER search_entry_au AFTER UPDATE ON search_entry BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body, facets) "
    "VALUES ('delete', old.id, old.title, old.body, old.facets); "
    "INSERT INTO search_title_fts(search_title_fts, rowid, title, facets) "
    "VALUES ('delete', old.id, old.title, old.facets); "
    "INSERT INTO search_fts(rowid, title, body, facets) VALUES (new.id, new.title, new.body, new.facets); "
    "INSERT INTO search_title_fts(rowid, title, facets) VALUES (new.id, new.title, new.facets); END",
]
# PostgreSQL: tsvectors generated from the terms with the 'simple' configuration (no stemming, no
# stop words of its own); `doc` is what a query must match, `facet` what the filters ask.
POSTGRES = [
    "ALTER TABLE search_entry ADD COLUMN doc tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple', title || ' ' || body)) STORED",
    "ALTER TABLE search_entry ADD COLUMN title_doc tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple', title)) STORED",
    "ALTER TABLE search_entry ADD COLUMN facet tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple', facets)) STORED",
    "CREATE INDEX ix_search_entry_doc ON search_entry USING gin (doc)",
    "CREATE INDEX ix_search_entry_facet ON search_entry USING gin (facet)",
    # A title hit is rare among a common word's hits: its own small index finds them.
    "CREATE INDEX ix_search_entry_title_doc ON search_entry USING gin (title_doc)",
]


def upgrade() -> None:
    with op.batch_alter_table('file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_state', sa.String(length=16), nullable=True))
    op.create_table('search_entry',
    sa.Column('id', OBJECT_ID, nullable=False),
    sa.Column('type_name', sa.String(length=32), nullable=False),
    sa.Column('object_id', OBJECT_ID, nullable=False),
    sa.Column('body_id', OBJECT_ID, nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('ref_key', sa.String(length=200), nullable=True),
    sa.Column('date', sa.Date(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('facets', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_entry'))
    )
    op.create_index('ix_search_entry_type_name_object_id', 'search_entry', ['type_name', 'object_id'], unique=True)
    op.create_index('ix_search_entry_body_id_ref_key', 'search_entry', ['body_id', 'ref_key'], unique=False)
    for statement in SQLITE if op.get_bind().dialect.name == 'sqlite' else POSTGRES:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TABLE IF EXISTS search_fts")
        op.execute("DROP TABLE IF EXISTS search_title_fts")
    op.drop_index('ix_search_entry_body_id_ref_key', table_name='search_entry')
    op.drop_index('ix_search_entry_type_name_object_id', table_name='search_entry')
    op.drop_table('search_entry')  # its triggers and generated columns go with it
    with op.batch_alter_table('file', schema=None) as batch_op:
        batch_op.drop_column('text_state')
