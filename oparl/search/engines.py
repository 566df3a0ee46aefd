"""One statement per engine that returns a page of hits, ranked and limited in the database.

Ranking: tier 3 an exact reference (the whole `q` equals a Paper's reference), 2 every clause found
in the title, 1 found with the document text; within a tier the engine's score (FTS5's bm25 with
the title weighted tenfold, PostgreSQL's ts_rank; lower sorts first, so ts_rank is negated), then
the row. Paged by a keyset over (tier, score, row), so a page never costs a count or an offset.
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
    score: float
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
    score: float

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.tier, self.score, self.row)


def _facets(filters: Filters) -> list[tuple[str, ...]]:
    groups: list[tuple[str, ...]] = [(f"b{filters.body_id}",)]
    if not filters.entitled:
        groups.append(("p",))
    if filters.types:
        groups.append(tuple(f"t{t.lower()}" for t in filters.types))
    return [*groups, *filters.any_of]


def _fts5_clause(clause: Clause) -> str:
    quoted = '"' + " ".join(clause.terms) + '"'
    return quoted + ("*" if clause.prefix else "")


def _tsquery_clause(clause: Clause) -> str:
    parts = [f"'{t}'" for t in clause.terms]
    if clause.prefix:
        parts[-1] += ":*"
    return "(" + " <-> ".join(parts) + ")"


def _rest(filters: Filters, after: Cursor | None, params: dict[str, Any]) -> str:
    """The date filters and the keyset, over the columns `tier`, `score`, `id` and `date` of `hit`."""
    where = []
    if filters.date_since is not None:
        where.append("hit.date >= :date_since")
        params["date_since"] = filters.date_since
    if filters.date_until is not None:
        where.append("hit.date <= :date_until")
        params["date_until"] = filters.date_until
    if after is not None:
        where.append("(hit.tier < :a_tier OR (hit.tier = :a_tier AND (hit.score > :a_score "
                     "OR (hit.score = :a_score AND hit.id > :a_row))))")  # fmt: skip
        params |= {"a_tier": after.tier, "a_score": after.score, "a_row": after.row}
    return " AND ".join(where) or "1 = 1"


def _sqlite(query: Query, filters: Filters, after: Cursor | None, limit: int) -> tuple[str, dict[str, Any]]:
    words = " AND ".join(_fts5_clause(c) for c in query.clauses)
    facets = " AND ".join("(" + " OR ".join(group) + ")" for group in _facets(filters))
    params: dict[str, Any] = {
        "match": f"{{title body}} : ({words}) AND facets : ({facets})",
        "title_match": f"title : ({words}) AND facets : ({facets})",
        "ref": query.reference,
        "limit": limit,
    }
    rest = _rest(filters, after, params)
    sql = f"""
        SELECT hit.id, hit.type_name, hit.object_id, hit.tier, hit.score FROM (
            SELECT e.id, e.type_name, e.object_id, e.date, f.rank AS score,
                   CASE WHEN e.ref_key = :ref THEN 3
                        WHEN e.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH :title_match) THEN 2
                        ELSE 1 END AS tier
            FROM search_fts AS f JOIN search_entry AS e ON e.id = f.rowid
            WHERE search_fts MATCH :match
        ) AS hit WHERE {rest}
        ORDER BY hit.tier DESC, hit.score, hit.id LIMIT :limit"""
    return sql, params


def _postgresql(query: Query, filters: Filters, after: Cursor | None, limit: int) -> tuple[str, dict[str, Any]]:
    facets = " & ".join("(" + " | ".join(f"'{t}'" for t in group) + ")" for group in _facets(filters))
    params: dict[str, Any] = {
        "words": " & ".join(_tsquery_clause(c) for c in query.clauses),
        "facets": facets,
        "ref": query.reference,
        "limit": limit,
    }
    rest = _rest(filters, after, params)
    sql = f"""
        WITH q AS (SELECT to_tsquery('simple', :words) AS words, to_tsquery('simple', :facets) AS facets)
        SELECT hit.id, hit.type_name, hit.object_id, hit.tier, hit.score FROM (
            SELECT e.id, e.type_name, e.object_id, e.date,
                   -ts_rank(e.doc, q.words)::float8 AS score,
                   CASE WHEN e.ref_key = :ref THEN 3 WHEN e.title_doc @@ q.words THEN 2 ELSE 1 END AS tier
            FROM search_entry AS e, q
            WHERE e.doc @@ q.words AND e.facet @@ q.facets
        ) AS hit WHERE {rest}
        ORDER BY hit.tier DESC, hit.score, hit.id LIMIT :limit"""
    return sql, params


def search(session: Session, query: Query, filters: Filters, after: Cursor | None, limit: int) -> Sequence[Hit]:
    """Up to `limit` hits after `after`, best first."""
    build = _postgresql if session.get_bind().dialect.name == "postgresql" else _sqlite
    sql, params = build(query, filters, after, limit)
    return [Hit(*row) for row in session.execute(text(sql), params)]
