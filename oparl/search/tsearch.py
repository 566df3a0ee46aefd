"""The page of hits on PostgreSQL: a few short statements a tier, over the tsvector columns and
their GIN indexes (oparl.search.engines ranks)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from oparl.search.query import TITLE_PREFIX_MAX, Clause, Query
from oparl.search.tiers import Cursor, Filters, Hit, keyset_sql, where_sql


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
# rows but for one time in a hundred or less). If they held none, the hits are merely older (a title
# word of papers behind the newest files, two words of file texts behind the newest agenda items):
# the walk goes on FURTHER rows where the estimate says one row in DENSE; else the text tier's walks
# on four times as far as the estimate's density puts the page's hits (its bitmap of 4,700 older
# hits fetches and sorts all, 18 ms; the walk that finds the newest 21 of them takes 3 over the rows
# with text), and the title tier's reads its bitmap, of a smaller index. Only what is still missing
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
    query: Query, filters: Filters, after: Cursor | None, tier: int, span: _Span, *, estimate: bool = False
) -> tuple[str, dict[str, Any]] | None:
    """The statement reading `tier`'s hits in `span`; with `estimate`, the one the planner counts them by."""
    params: dict[str, Any] = {
        "words": " & ".join(_tsquery_clause(c, title=False) for c in query.clauses),
        "titled": " & ".join(_tsquery_clause(c, title=True) for c in query.clauses),
        "facets": " & ".join("(" + " | ".join(f"'{t}'" for t in group) + ")" for group in filters.any_of) or "",
        "ref": query.reference or "",
        "a_row": after.row if after else 0,
        "low": span.low,
        "high": span.high,
    }
    where = where_sql(filters, params)
    if filters.any_of:
        where += " AND e.facet @@ to_tsquery('simple', :facets)"
    keyset = keyset_sql(tier, after, "e.id")
    if keyset is None or (tier == 3 and not query.reference):
        return None
    q, tq = "to_tsquery('simple', :words)", "to_tsquery('simple', :titled)"

    if tier == 3:
        match = f"e.ref_key = :ref AND e.doc @@ {q}"
    elif span.walk:
        # A walk tests its rows with the function behind `@@`, which no index serves: else the
        # planner may answer a span from a GIN and the b-tree.
        match = f"ts_match_vq(e.title_doc, {tq})" if tier == 2 else f"ts_match_vq(e.doc, {q})"
    elif tier == 2 and not estimate:
        match = _title_bitmap(query, params)
    else:
        # The planner counts a prefix of `title_doc` from the lexemes' frequencies; one of the prefix
        # index, a lexeme among far more common ones, it takes for 4,700 rows on the 100k set.
        match = f"e.title_doc @@ {tq}" if tier == 2 else f"e.doc @@ {q}"
    if tier == 1:
        match += f" AND NOT e.title_doc @@ {tq}"
        if span.walk and all(c.prefix or not c.starred for c in query.clauses):
            # Each clause then asks the title at least what it asks the text (a starred number is a
            # prefix in text, whole in titles), and a row without text has the title's lexemes
            # only: a hit has text, and the walk reads the index of such rows (a1b2c3d40012). Not
            # for the estimate (the planner would take text and words for independent, a third of
            # the hits) nor a bitmap (ANDed with that index's 300,000 rows: 34 ms, not 10).
            match += " AND e.body <> ''"
    if tier != 3:
        match += " AND e.ref_key IS DISTINCT FROM :ref"
    span_sql = "" if tier == 3 else " AND e.id > :low AND e.id <= :high"
    # `e.id + 0` keeps the planner off the primary key's order: the bitmap is read, then sorted.
    order = "e.id" if span.walk or tier == 3 else "e.id + 0"
    sql = (
        f"SELECT e.id, e.type_name, e.object_id, {tier} AS tier FROM search_entry AS e "
        f"WHERE {match} AND {where} AND {keyset}{span_sql} ORDER BY {order} DESC LIMIT :limit"
    )
    return sql, params


def _title_bitmap(query: Query, params: dict[str, Any]) -> str:
    """The title tier's condition where the GIN bitmap reads it: a title prefix (of at most
    TITLE_PREFIX_MAX letters, else that many and the rest checked on the row) as an exact lexeme of
    the prefix index (migration a1b2c3d40011), not GIN's partial match over `title_doc` (10-30 ms
    for two common prefixes); other words and phrases exactly, from `title_doc`."""
    prefixed = [c for c in query.clauses if c.prefix and len(c.terms) == 1]
    exact = [c for c in query.clauses if c not in prefixed]
    parts = []
    if prefixed:
        params["prefixes"] = " & ".join(f"'{c.terms[0][:TITLE_PREFIX_MAX]}'" for c in prefixed)
        parts.append("search_title_prefixes(e.title) @@ to_tsquery('simple', :prefixes)")
    if exact:
        params["exact"] = " & ".join(_tsquery_clause(c, title=True) for c in exact)
        parts.append("e.title_doc @@ to_tsquery('simple', :exact)")
    if any(len(c.terms[0]) > TITLE_PREFIX_MAX for c in prefixed):
        parts.append("ts_match_vq(e.title_doc, to_tsquery('simple', :titled))")
    return " AND ".join(parts)


def _estimate(session: Session, sql: str, params: dict[str, Any]) -> int:
    """The planner's count of the rows a statement matches before its ORDER BY and LIMIT, without running it."""
    node = _rows(session, f"EXPLAIN (FORMAT JSON) {sql}", params)[0][0][0]["Plan"]
    # Down to the scan, or to a Gather: below one, a parallel scan counts the rows of one process.
    while node["Node Type"] in ("Limit", "Sort", "Incremental Sort") and node.get("Plans"):
        node = node["Plans"][0]
    return int(node["Plan Rows"])


_BIND = re.compile(r"(?<![:\w]):(\w+)")


def _rows(session: Session, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """`sql` (with `:name` parameters) run on the session's own connection and transaction, by the
    driver's cursor: SQLAlchemy's `text()` costs 325 us of CPU a statement to the driver's 130
    (bench/RESULTS.md, issue 15), and a search runs five or six of them."""
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_BIND.sub(r"%(\1)s", sql.replace("%", "%%")), params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _further(tier: int, high: int, found: int, need: int, estimate: int, top: int) -> _Span | None:
    """After the walk of the WINDOW rows below `high` found `found` of the `need` hits (of `estimate`
    in the `top` rows): how far to walk on."""
    if found >= need:
        return None
    if found:
        rows = 4 * (need - found) * WINDOW // found
    elif estimate * DENSE >= top:
        rows = FURTHER
    elif tier == 2:
        return None  # the titles' bitmap is cheaper than a walk over the rows' heap (3.7 ms to 16)
    else:
        rows = 4 * need * top // max(estimate, 1)
    rows = max(NEAR, min(FURTHER, rows))
    return _Span(max(0, high - WINDOW - rows), high - WINDOW, walk=True)


def hits(session: Session, query: Query, filters: Filters, after: Cursor | None, limit: int) -> list[Hit]:
    hits: list[Hit] = []
    # Every statement below is planned for its own words: the same shape run again and again on one
    # connection is prepared by psycopg, and PostgreSQL would soon plan it once for any words (a
    # generic plan: the planner cannot tell a rare word from a common one, and walked the whole
    # table where a bitmap reads one row, 85 ms instead of 0.1 on the 100k set).
    custom = "set_config('plan_cache_mode', 'force_custom_plan', true)"
    # The reference's tier (one or two rows from its b-tree) comes with `max(id)`, in one round trip.
    reference = _postgresql_tier(query, filters, after, 3, _Span(0, 0, walk=False))
    if reference is None:
        top = int(_rows(session, f"SELECT {custom}, coalesce(max(id), 0) FROM search_entry", {})[0][1])
    else:
        sql, params = reference
        first = (
            f"SELECT {custom}, (SELECT coalesce(max(id), 0) FROM search_entry), t.* "
            f"FROM (SELECT 1) AS one LEFT JOIN LATERAL ({sql}) AS t ON true"
        )
        rows = _rows(session, first, {**params, "limit": limit})
        top = int(rows[0][1])
        hits.extend(Hit(*row[2:]) for row in rows if row[2] is not None)

    def read(tier: int, span: _Span) -> int:
        built = _postgresql_tier(query, filters, after, tier, span)
        if built is None or len(hits) >= limit or span.high <= span.low:
            return 0
        sql, params = built
        rows = _rows(session, sql, {**params, "limit": limit - len(hits)})
        hits.extend(Hit(*row) for row in rows)
        return len(rows)

    whole = _Span(0, top, walk=False)
    for tier in (2, 1):
        built = _postgresql_tier(query, filters, after, tier, whole, estimate=True)
        if built is None or len(hits) >= limit:
            continue
        # The spans start below the cursor where it is in this tier: the rows above are not asked.
        high = min(top, after.row - 1) if after is not None and after.tier == tier else top
        estimate = 0 if high <= WINDOW else _estimate(session, built[0], {**built[1], "limit": 1})
        if high <= WINDOW or estimate < SPARSE:  # few rows; few hits
            read(tier, whole)
            continue
        need = limit - len(hits)
        found = read(tier, _Span(high - WINDOW, high, walk=True))
        further = _further(tier, high, found, need, estimate, top)
        if further is not None:
            read(tier, further)
        read(tier, _Span(0, further.low if further is not None else high - WINDOW, walk=False))
    return hits
