"""What both engines' statements share: the cursor, the filters, a hit, and the SQL of the filters
and of the keyset on the index row `e` (search_entry). The ranking is oparl.search.engines'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


def where_sql(filters: Filters, params: dict[str, Any]) -> str:
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


def keyset_sql(tier: int, after: Cursor | None, column: str) -> str | None:
    """The branch of `tier` after the cursor: all of it, the rows before the cursor's, or none (None)."""
    if after is None or after.tier > tier:
        return "1 = 1"
    if after.tier == tier:
        return f"{column} < :a_row"
    return None


def union_sql(branches: list[str], limit_sql: str) -> str:
    kept = [f"SELECT * FROM ({b} {limit_sql}) AS t{n}" for n, b in enumerate(branches)]
    return " UNION ALL ".join(kept) or "SELECT NULL AS id, 0 AS tier WHERE 1 = 0"
