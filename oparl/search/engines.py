"""The page of hits, ranked and limited in the database: one statement on SQLite, a few short ones
on PostgreSQL (a tier and a span of rows at a time, see WINDOW).

Ranking: tier 3 an exact reference (the whole `q` equals a Paper's reference), tier 2 every clause
found in the title, tier 1 found with the document text; within a tier the most recently indexed
first (an object is indexed again whenever it changes). Each tier is a branch that walks the
engine's index in row order and stops at the page's end (FTS5 streams a MATCH by rowid; PostgreSQL
walks the primary key backwards over the newest rows, then reads the GIN bitmap), so a page
costs about the same for a word in every document as for a rare one. No engine score: FTS5's
bm25 needs each phrase's document frequency, a pass over every hit, even for the rows of one page,
and ordering by it (or by ts_rank) scores every hit before the first page is known (bench/RESULTS.md,
issue 15: tens of times slower for common words). The served score is the tier and how densely the
page's own text holds the words (oparl.search.snippet), the same on both engines. Paged by a keyset
over (tier, row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from oparl.search.query import Clause, Query


@dataclass(frozen=True)
class Cursor:
    tier: int
    row: int


@dataclass(frozen=True)
class Filters:
    body_id: int
    entitled: bool
    types: tuple[str, ...] = ()  # OParl type names
    any_of: tuple[tuple[str, ...], ...] = ()  # each group: one of its facet tokens must be there
    date_since: Any = None
    date_until: Any = None


@dataclass(frozen=True)
class Hit:
    row: int
    type_name: str
    object_id: int
    tier: int

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.tier, self.row)


def _where(filters: Filters, params: dict[str, Any]) -> str:
    """The filters on the index row `e` (the Body, public, type, dates)."""
    where = ["e.body_id = :body"]
    params["body"] = filters.body_id
    if not filters.entitled:
        where.append("e.public = :public")
        params["public"] = True
    if filters.types:
        names = {f"type{n}": name for n, name in enumerate(filters.types)}
        where.append(f"e.type_name IN ({', '.join(':' + k for k in names)})")
        params |= names
    if filters.date_since is not None:
        where.append("e.date >= :date_since")
        params["date_since"] = filters.date_since
    if filters.date_until is not None:
        where.append("e.date <= :date_until")
        params["date_until"] = filters.date_until
    return " AND ".join(where)


def _keyset(tier: int, after: Cursor | None, column: str) -> str | None:
    """The branch of `tier` after the cursor: all of it, the rows before the cursor's, or none (None)."""
    if after is None or after.tier > tier:
        return "1 = 1"
    if after.tier == tier:
        return f"{column} < :a_row"
    return None


def _union(branches: list[str], limit_sql: str) -> str:
    kept = [f"SELECT * FROM ({b} {limit_sql}) AS t{n}" for n, b in enumerate(branches)]
    return " UNION ALL ".join(kept) or "SELECT NULL AS id, 0 AS tier WHERE 1 = 0"


# -- SQLite FTS5 -------------------------------------------------------------------------------------

# The prefix lengths of the FTS5 prefix indexes (migration a1b2c3d40010). A prefix of exactly such a
# length reads one doclist in row order as far as the page needs; without its index FTS5 merges
# the postings of every term the prefix covers first (25 ms for a common prefix on the 100k set).
# A longer title prefix reads the longest one's and checks the rest on the row's own title terms.
TITLE_PREFIX_MAX = 12  # search_title_fts: 3 to 12
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


def _sqlite(query: Query, filters: Filters, after: Cursor | None, limit: int) -> tuple[str, dict[str, Any]]:
    titled = " AND ".join(_fts5_clause(c, title=True) for c in query.clauses)
    words = " AND ".join(_fts5_clause(c, title=False) for c in query.clauses)
    facets = "".join(f" AND facets : ({' OR '.join(group)})" for group in filters.any_of)
    prefixed = _prefix_words(query, filters)
    params: dict[str, Any] = {
        "all": f"{{title body}} : ({words}){facets}",
        "title": f"({titled}){facets}",
        "text": prefixed or f"{{title body}} : ({words}){facets}",
        "ref": query.reference or "",
        "limit": limit,
        "a_row": after.row if after else 0,
    }
    where = _where(filters, params)
    hits = "FROM {table} AS f JOIN search_entry AS e ON e.id = f.rowid WHERE {table} MATCH"
    branches = []
    if (keyset := _keyset(3, after, "e.id")) is not None and query.reference:
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
        if (keyset := _keyset(tier, after, "f.rowid")) is not None:
            branches.append(
                f"SELECT f.rowid AS id, {tier} AS tier {hits.format(table=table)} {match} AND {where} AND {keyset} "
                f"AND (e.ref_key IS NULL OR e.ref_key <> :ref){also} ORDER BY f.rowid DESC"
            )
    sql = f"""
        SELECT hit.id, e.type_name, e.object_id, hit.tier
        FROM ({_union(branches, "LIMIT :limit")}) AS hit JOIN search_entry AS e ON e.id = hit.id
        ORDER BY hit.tier DESC, hit.id DESC LIMIT :limit"""
    return sql, params


# -- PostgreSQL ---------------------------------------------------------------------------------------


def _tsquery_clause(clause: Clause, *, title: bool) -> str:
    parts = [f"'{t}'" for t in clause.terms]
    if clause.prefix if title else clause.starred:
        parts[-1] += ":*"
    return "(" + " <-> ".join(parts) + ")"


# PostgreSQL has no index that yields a GIN match in row order. Walking the primary key backwards and
# testing each row finds a common word's newest rows at once but reads every row for a rare one (or
# for two common words seldom together: the planner takes them as independent); the GIN bitmap finds
# a rare one at once but fetches and sorts every row of a common one (5 us a row: 100 ms for 20,000).
# So each tier first asks the planner how many hits it expects (`EXPLAIN`, no rows read): under
# SPARSE, the bitmap reads them all at once. Otherwise the tier walks the newest WINDOW rows. If they
# held some hits but too few, their density says how far back the rest lies, and the walk goes on
# four times that far (NEAR to FURTHER rows: a word in one row of 500 has two more hits in 4,000
# rows but for one time in a hundred or less); if
# they held none though the estimate says one row in DENSE, the hits are merely older (a title word
# of papers behind the newest files) and the walk goes on FURTHER rows. Only what is still missing
# then comes from the bitmap of the older rows, which is small for a word that rare there.
SPARSE = 2_000
WINDOW = 10_000
NEAR = 5_000
FURTHER = 40_000
DENSE = 100


@dataclass(frozen=True)
class _Span:
    """Rows `low < id <= high`, read walking newest first (`walk`) or by the GIN bitmap."""

    low: int
    high: int
    walk: bool


def _postgresql_tier(
    query: Query, filters: Filters, after: Cursor | None, tier: int, span: _Span
) -> tuple[str, dict[str, Any]] | None:
    params: dict[str, Any] = {
        "words": " & ".join(_tsquery_clause(c, title=False) for c in query.clauses),
        "titled": " & ".join(_tsquery_clause(c, title=True) for c in query.clauses),
        "facets": " & ".join("(" + " | ".join(f"'{t}'" for t in group) + ")" for group in filters.any_of) or "",
        "ref": query.reference or "",
        "a_row": after.row if after else 0,
        "low": span.low,
        "high": span.high,
    }
    where = _where(filters, params)
    if filters.any_of:
        where += " AND e.facet @@ to_tsquery('simple', :facets)"
    keyset = _keyset(tier, after, "e.id")
    if keyset is None or (tier == 3 and not query.reference):
        return None
    q, tq = "to_tsquery('simple', :words)", "to_tsquery('simple', :titled)"

    def matches(column: str, tsquery: str) -> str:
        # A walk tests its rows with the function behind `@@`, which no index serves: else the
        # planner may answer a span from the GIN (a prefix's partial match: 25 ms) and the b-tree.
        return f"ts_match_vq(e.{column}, {tsquery})" if span.walk else f"e.{column} @@ {tsquery}"

    if tier == 3:
        match = f"e.ref_key = :ref AND e.doc @@ {q}"
    else:
        match = matches("title_doc", tq) if tier == 2 else f"{matches('doc', q)} AND NOT e.title_doc @@ {tq}"
        match += " AND e.ref_key IS DISTINCT FROM :ref"
    span_sql = "" if tier == 3 else " AND e.id > :low AND e.id <= :high"
    # `e.id + 0` keeps the planner off the primary key's order: the bitmap is read, then sorted.
    order = "e.id" if span.walk or tier == 3 else "e.id + 0"
    sql = (
        f"SELECT e.id, e.type_name, e.object_id, {tier} AS tier FROM search_entry AS e "
        f"WHERE {match} AND {where} AND {keyset}{span_sql} ORDER BY {order} DESC LIMIT :limit"
    )
    return sql, params


def _estimate(session: Session, sql: str, params: dict[str, Any]) -> int:
    """The planner's count of the rows a statement matches before its ORDER BY and LIMIT, without running it."""
    node = session.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"), params).scalar_one()[0]["Plan"]
    while node["Node Type"] in ("Limit", "Sort", "Incremental Sort", "Gather Merge", "Gather") and node.get("Plans"):
        node = node["Plans"][0]
    return int(node["Plan Rows"])


def _further(top: int, found: int, need: int, estimate: int) -> _Span | None:
    """After the walk of the newest WINDOW rows found `found` of the `need` hits: how far to walk on."""
    if found >= need:
        return None
    if found:
        rows = max(NEAR, min(FURTHER, 4 * (need - found) * WINDOW // found))
    elif estimate * DENSE >= top:
        rows = FURTHER
    else:
        return None
    return _Span(max(0, top - WINDOW - rows), top - WINDOW, walk=True)


def _postgresql_search(session: Session, query: Query, filters: Filters, after: Cursor | None, limit: int) -> list[Hit]:
    hits: list[Hit] = []
    top = int(session.scalar(text("SELECT coalesce(max(id), 0) FROM search_entry")) or 0)

    def read(tier: int, span: _Span) -> int:
        built = _postgresql_tier(query, filters, after, tier, span)
        if built is None or len(hits) >= limit:
            return 0
        sql, params = built
        rows = session.execute(text(sql), {**params, "limit": limit - len(hits)}).all()
        hits.extend(Hit(row.id, row.type_name, row.object_id, row.tier) for row in rows)
        return len(rows)

    whole = _Span(0, top, walk=False)
    for tier in (3, 2, 1):
        built = _postgresql_tier(query, filters, after, tier, whole)
        if built is None or len(hits) >= limit:
            continue
        estimate = 0 if tier == 3 or top <= WINDOW else _estimate(session, built[0], {**built[1], "limit": 1})
        if tier == 3 or top <= WINDOW or estimate < SPARSE:  # the reference's b-tree; few rows; few hits
            read(tier, whole)
            continue
        need = limit - len(hits)
        found = read(tier, _Span(top - WINDOW, top, walk=True))
        further = _further(top, found, need, estimate)
        if further is not None:
            read(tier, further)
        read(tier, _Span(0, further.low if further is not None else top - WINDOW, walk=False))
    return hits


def search(session: Session, query: Query, filters: Filters, after: Cursor | None, limit: int) -> Sequence[Hit]:
    """Up to `limit` hits after `after`, best first."""
    if session.get_bind().dialect.name == "postgresql":
        return _postgresql_search(session, query, filters, after, limit)
    sql, params = _sqlite(query, filters, after, limit)
    return [Hit(row.id, row.type_name, row.object_id, row.tier) for row in session.execute(text(sql), params)]
