"""Search prefixes from FTS5 prefix indexes (SQLite): titles for prefixes of 3 to 12 letters, and a
rowid-only table of every word for prefixes of 3 to 8 letters in document text (issue 15)

Revision ID: a1b2c3d40010
Revises: a1b2c3d40009
Create Date: 2026-12-07 01:00:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'a1b2c3d40010'
down_revision: Union[str, Sequence[str], None] = 'a1b2c3d40009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Without a prefix index FTS5 merges the postings of every term a prefix covers before it returns
# a row (25 ms for a common 4-letter prefix in document text on the 100k set); with one, a prefix
# of exactly an indexed length is one doclist read in row order as far as the page needs.
TITLE_PREFIXES = "3 4 5 6 7 8 9 10 11 12"
WORD_PREFIXES = "3 4 5 6 7 8"
# search_prefix_fts: title and text as one column, plus the filter tokens marked with a § (no term
# holds one: terms are letters and digits), rowids only (detail=none: a seventh of detail=full).
WORDS = "{row}.title || ' ' || {row}.body || ' §' || replace({row}.facets, ' ', ' §')"

TITLE = ("CREATE VIRTUAL TABLE search_title_fts USING fts5(title, facets, content='search_entry', "
         "content_rowid='id', tokenize='ascii', columnsize=0, detail=full{prefix})")
PREFIX = ("CREATE VIRTUAL TABLE search_prefix_fts USING fts5(words, content='', tokenize='ascii', "
          f"columnsize=0, detail=none, prefix='{WORD_PREFIXES}')")


def _triggers(prefixes: bool) -> list[str]:
    def add(row: str) -> str:
        text = (f"INSERT INTO search_fts(rowid, title, body, facets) VALUES ({row}.id, {row}.title, {row}.body, {row}.facets); "
                f"INSERT INTO search_title_fts(rowid, title, facets) VALUES ({row}.id, {row}.title, {row}.facets); ")
        if prefixes:
            text += f"INSERT INTO search_prefix_fts(rowid, words) VALUES ({row}.id, {WORDS.format(row=row)}); "
        return text

    def remove(row: str) -> str:
        text = (f"INSERT INTO search_fts(search_fts, rowid, title, body, facets) "
                f"VALUES ('delete', {row}.id, {row}.title, {row}.body, {row}.facets); "
                f"INSERT INTO search_title_fts(search_title_fts, rowid, title, facets) "
                f"VALUES ('delete', {row}.id, {row}.title, {row}.facets); ")
        if prefixes:
            text += (f"INSERT INTO search_prefix_fts(search_prefix_fts, rowid, words) "
                     f"VALUES ('delete', {row}.id, {WORDS.format(row=row)}); ")
        return text

    return [
        f"CREATE TRIGGER search_entry_ai AFTER INSERT ON search_entry BEGIN {add('new')}END",
        f"CREATE TRIGGER search_entry_ad AFTER DELETE ON search_entry BEGIN {remove('old')}END",
        f"CREATE TRIGGER search_entry_au AFTER UPDATE ON search_entry BEGIN {remove('old')}{add('new')}END",
    ]


def _drop_triggers() -> None:
    for name in ("search_entry_ai", "search_entry_ad", "search_entry_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    _drop_triggers()
    op.execute("DROP TABLE search_title_fts")
    op.execute(TITLE.format(prefix=f", prefix='{TITLE_PREFIXES}'"))
    op.execute("INSERT INTO search_title_fts(search_title_fts) VALUES ('rebuild')")
    op.execute(PREFIX)
    op.execute(f"INSERT INTO search_prefix_fts(rowid, words) SELECT e.id, {WORDS.format(row='e')} FROM search_entry AS e")
    for statement in _triggers(prefixes=True):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    _drop_triggers()
    op.execute("DROP TABLE search_prefix_fts")
    op.execute("DROP TABLE search_title_fts")
    op.execute(TITLE.format(prefix=""))
    op.execute("INSERT INTO search_title_fts(search_title_fts) VALUES ('rebuild')")
    for statement in _triggers(prefixes=False):
        op.execute(statement)
