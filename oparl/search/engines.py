"""The page of hits, ranked and limited in the database: one statement on SQLite, a few short ones
on PostgreSQL (a tier and a span of rows at a time): oparl.search.fts5 and oparl.search.tsearch.

Ranking: tier 3 an exact reference (the whole `q` equals a Paper's reference), tier 2 every clause
found in the title, tier 1 found with the document text; within a tier the most recently indexed
first (an object is indexed again whenever it changes). Each tier is a branch that walks the
engine's index in row order and stops at the page's end (FTS5 streams a MATCH by rowid; PostgreSQL
reads the GIN bitmap where the planner expects few hits, else walks the primary key backwards
over the newest rows, on as far as their hits say, and reads the bitmap for the rest), so a page
costs about the same for a word in every document as for a rare one. No engine score: FTS5's
bm25 needs each phrase's document frequency, a pass over every hit, even for the rows of one page,
and ordering by it (or by ts_rank) scores every hit before the first page is known (bench/RESULTS.md,
issue 15: tens of times slower for common words). The served score is the tier and how densely the
page's own text holds the words (oparl.search.snippet), the same on both engines. Paged by a keyset
over (tier, row).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from oparl.search import fts5, tsearch
from oparl.search.query import Query
from oparl.search.tiers import Cursor, Filters, Hit

__all__ = ["Cursor", "Filters", "Hit", "search"]


def search(session: Session, query: Query, filters: Filters, after: Cursor | None, limit: int) -> Sequence[Hit]:
    """Up to `limit` hits after `after`, best first."""
    if session.get_bind().dialect.name == "postgresql":
        return tsearch.hits(session, query, filters, after, limit)
    sql, params = fts5.statement(query, filters, after, limit)
    return [Hit(row.id, row.type_name, row.object_id, row.tier) for row in session.execute(text(sql), params)]
