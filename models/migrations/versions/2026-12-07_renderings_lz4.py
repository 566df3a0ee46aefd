"""Stored renderings compressed with LZ4 on PostgreSQL, where the server has it (issue 18)

Revision ID: a1b2c3d40013
Revises: a1b2c3d40012
Create Date: 2026-12-07 22:00:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'a1b2c3d40013'
down_revision: Union[str, Sequence[str], None] = 'a1b2c3d40012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Every list page and object read decompresses its renderings: most are over 2 KB, which
# PostgreSQL compresses, with pglz by default. LZ4 decompresses them in about 60 % of pglz's
# backend CPU (a page of 101 papers of the 100k set: 0.45 against 0.73 ms; bench/RESULTS.md,
# issue 18). The tables of every object type, as of this revision.
TABLES = ("system", "body", "legislative_term", "organization", "person", "membership", "meeting",
          "agenda_item", "paper", "consultation", "file", "location")
# A PostgreSQL built without LZ4 (or before 14, which has no column compression) keeps pglz.
HAS_LZ4 = "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"


def _set(method: str) -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN rendered SET COMPRESSION {method}")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.exec_driver_sql(HAS_LZ4).first() is None:
        return
    _set("lz4")
    # Existing renderings keep the method they were written with, until written again: each one
    # compressed with pglz is written anew here (a concatenation makes a new value; a copied one
    # would keep its compression). Nothing else of the row changes.
    for table in TABLES:
        op.execute(f"UPDATE {table} SET rendered = rendered || ''::bytea "
                   "WHERE pg_column_compression(rendered) = 'pglz'")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and bind.exec_driver_sql(HAS_LZ4).first() is not None:
        _set("default")  # what is stored stays LZ4, which every server that has LZ4 reads
