"""The page of hits on SQLite: one statement over the FTS5 tables (oparl.search.engines ranks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oparl.search.query import TITLE_PREFIX_MAX, Clause, Query
from oparl.search.tiers import Cursor, Filters, keyset_sql, union_sql, where_sql

# The prefix lengths of the FTS5 prefix indexes (migration a1b2c3d40010). A prefix of exactly such a
# length reads one doclist in row order as far as the page needs; without its index FTS5 merges
# the postings of every term the prefix covers first (25 ms for a common prefix on the 100k set).
# A longer title prefix reads the longest one's (search_title_fts: TITLE_PREFIX_MAX) and checks the
# rest on the row's own title terms.
WORD_PREFIX_MAX = 8  # search_prefix_fts (title and text, rowids only): 3 to 8


def _fts5_clause(clause: Clause, *, title: bool) -> str:
    prefix = clause.prefix if title else clause.starred
    terms = list(clause.terms)
    if prefix and title:
        terms[-1] = terms[-1][:TITLE_PREFIX_MAX]
    return '"' + " ".join(terms) + '"' + ("*" if prefix else "")


def _title_like(clauses: Sequence[Clause], params: dict[str, Any], name: str) -> str:
    """The title tier's condition on the row's own title terms (space-separated): a LIKE per clause on
    a short string. The text tier leaves those rows out with it, where a NOT in FTS5 would read every
    posting of the title terms and a MATCH per row would expand each prefix again; the title tier
    checks a prefix longer than its index with it. (Terms hold no `%` or `_`; both sides are lower case.)"""
    parts = []
    for n, clause in enumerate(clauses):
        params[f"{name}{n}"] = "% " + " ".join(clause.terms) + ("%" if clause.prefix else " %")
        parts.append(f"(' ' || e.title || ' ') LIKE :{name}{n}")
    return " AND ".join(parts) or "1 = 1"


def _prefix_words(query: Query, filters: Filters) -> str | None:
    """The text tier's MATCH on search_prefix_fts, for a query with a word* in text whose prefix index
    holds every clause: single words (the table keeps no positions for phrases), each starred one
    of an indexed length. Filter tokens are there with a §."""
    if not any(c.starred for c in query.clauses):
        return None
    if any(len(c.terms) > 1 or (c.starred and len(c.terms[0]) > WORD_PREFIX_MAX) for c in query.clauses):
        return None
    parts = [f'"{c.terms[0]}"' + ("*" if c.starred else "") for c in query.clauses]
    parts += ["(" + " OR ".join(f'"§{token}"' for token in group) + ")" for group in filters.any_of]
    return " AND ".join(parts)


def statement(query: Query, filters: Filters, after: Cursor | None, limit: int) -> tuple[str, dict[str, Any]]:
    titled = " AND ".join(_fts5_clause(c, title=True) for c in query.clauses)
    words = " AND ".join(_fts5_clause(c, title=False) for c in query.clauses)
    facets = "".join(f" AND facets : ({' OR '.join(group)})" for group in filters.any_of)
    prefixed = _prefix_words(query, filters)
    everywhere = f"{{title body}} : ({words}){facets}"
    params: dict[str, Any] = {
        "all": everywhere,
        "title": f"({titled}){facets}",
        "text": prefixed or everywhere,
        "ref": query.reference or "",
        "limit": limit,
        "a_row": after.row if after else 0,
    }
    where = where_sql(filters, params)
    hits = "FROM {table} AS f JOIN search_entry AS e ON e.id = f.rowid WHERE {table} MATCH"
    branches = []
    if (keyset := keyset_sql(3, after, "e.id")) is not None and query.reference:
        branches.append(
            # From the reference's b-tree: the one or two rows it names, each checked against the words.
            f"SELECT e.id, 3 AS tier FROM search_entry AS e WHERE e.ref_key = :ref AND {where} "
            f"AND {keyset} AND EXISTS (SELECT 1 FROM search_fts WHERE search_fts MATCH :all AND rowid = e.id) "
            "ORDER BY e.id DESC"
        )
    longer = [c for c in query.clauses if c.prefix and len(c.terms[-1]) > TITLE_PREFIX_MAX]
    tiers = (
        (2, "search_title_fts", ":title", f" AND {_title_like(longer, params, 'long')}" if longer else ""),
        (1, "search_prefix_fts" if prefixed else "search_fts", ":text",
         f" AND NOT ({_title_like(query.clauses, params, 'like')})"),
    )  # fmt: skip
    for tier, table, match, also in tiers:
        if (keyset := keyset_sql(tier, after, "f.rowid")) is not None:
            branches.append(
                f"SELECT f.rowid AS id, {tier} AS tier {hits.format(table=table)} {match} AND {where} AND {keyset} "
                f"AND (e.ref_key IS NULL OR e.ref_key <> :ref){also} ORDER BY f.rowid DESC"
            )
    sql = f"""
        SELECT hit.id, e.type_name, e.object_id, hit.tier
        FROM ({union_sql(branches, "LIMIT :limit")}) AS hit JOIN search_entry AS e ON e.id = hit.id
        ORDER BY hit.tier DESC, hit.id DESC LIMIT :limit"""
    return sql, params
