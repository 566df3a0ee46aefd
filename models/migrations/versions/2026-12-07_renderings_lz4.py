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
# PostgreSQL compresses, with pglz by default. LZ4 cost a page of 101 papers of the benchmark's
# set 0.45 ms of the backend's CPU, where pglz cost 0.73 (bench/RESULTS.md, issue 18, session 30).
# The tables of every object type, as of this revision.
TABLES = ("system", "body", "legislative_term", "organization", "person", "membership", "meeting",
          "agenda_item", "paper", "consultation", "file", "location")
# A PostgreSQL built without LZ4 (or before 14, which has no column compression) keeps pglz.
HAS_LZ4 = "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"


def _has_lz4() -> bool:
    bind = op.get_bind()
    return bind.dialect.name == "postgresql" and bind.exec_driver_sql(HAS_LZ4).first() is not None


def _set(method: str) -> None:
    # Each statement commits on its own: ALTER TABLE locks its table against reads until the end of
    # its transaction, which must not last the rewrite (servers of the earlier version still serve).
    with op.get_context().autocommit_block():
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN rendered SET COMPRESSION {method}")


def upgrade() -> None:
    if not _has_lz4():
        return
    _set("lz4")
    # Existing renderings keep the method they were written with, until written again: each one
    # compressed with pglz is written anew here (a concatenation makes a new value; a copied one
    # would keep its compression). Nothing else of the row changes. A table per transaction, which
    # locks its rows against writers only; run again, it does what is left.
    with op.get_context().autocommit_block():
        for table in TABLES:
            op.execute(f"UPDATE {table} SET rendered = rendered || ''::bytea "
                       "WHERE pg_column_compression(rendered) = 'pglz'")


def downgrade() -> None:
    if _has_lz4():
        _set("default")  # what is stored stays LZ4, which every server that has LZ4 reads
