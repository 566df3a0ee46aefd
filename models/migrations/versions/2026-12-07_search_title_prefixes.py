"""Search title prefixes on PostgreSQL: a GIN over every title word's prefixes of 3 to 12 letters,
so a title prefix is one exact lexeme, not a partial match (issue 15)

Revision ID: a1b2c3d40011
Revises: a1b2c3d40010
Create Date: 2026-12-07 04:00:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'a1b2c3d40011'
down_revision: Union[str, Sequence[str], None] = 'a1b2c3d40010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# GIN answers `'sozialplan':*` by a partial match: it scans every lexeme the prefix covers and
# builds the whole bitmap of each before it can intersect two (10-30 ms for a two-word title tier
# on the 100k set). Indexed as lexemes, the prefixes of 3 to 12 letters (what SQLite's prefix
# indexes hold, migration a1b2c3d40010) are exact lexemes, whose posting lists GIN intersects
# cheaply. An expression index: the rows stay as wide as they were (walks read them), and only a
# bitmap read evaluates the function, for the rows its index returns. Numbers are never prefixes.
FUNCTION = """
CREATE FUNCTION search_title_prefixes(title text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT array_to_tsvector(coalesce(array_agg(DISTINCT left(w, n)), '{}'))
    FROM unnest(string_to_array(title, ' ')) AS w, generate_series(3, least(length(w), 12)) AS n
    WHERE w !~ '^[0-9]*$'
$$
"""
INDEX = "CREATE INDEX ix_search_entry_title_prefixes ON search_entry USING gin (search_title_prefixes(title))"


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(FUNCTION)
    op.execute(INDEX)
    op.execute("ANALYZE search_entry")  # the planner's estimates of the new expression


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP INDEX ix_search_entry_title_prefixes")
    op.execute("DROP FUNCTION search_title_prefixes(text)")
