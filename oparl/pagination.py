"""OParl list pages (spec 5): filters, keyset pagination on the id, and the data/pagination/links object."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from models import OParlObject
from oparl.base import Render
from oparl.filters import ListParams
from oparl.kind import Kind
from oparl.snapshot import Snapshots
from oparl.urls import with_query
from oparl.visibility import listed_where


def filter_clauses(model: type[OParlObject], params: ListParams, *, nonpublic: bool) -> list[ColumnElement[bool]]:
    """The WHERE clauses the OParl filters mean; bounds are inclusive (spec 5.3).

    Tombstones are listed only to clients asking what changed (spec 5.4), a depublished object's
    too, so their copies lose it (oparl.visibility decides which rows).
    """
    clauses: list[ColumnElement[bool]] = []
    if params.created_since is not None:
        clauses.append(model.created >= params.created_since)
    if params.created_until is not None:
        clauses.append(model.created <= params.created_until)
    if params.modified_since is not None:
        clauses.append(model.modified >= params.modified_since)
    if params.modified_until is not None:
        clauses.append(model.modified <= params.modified_until)
    return [*clauses, *listed_where(model, entitled=nonpublic, tombstones=params.modified_since is not None)]


def list_where(
    model: type[OParlObject], scope: Sequence[ColumnElement[bool]], params: ListParams, *, nonpublic: bool
) -> list[ColumnElement[bool]]:
    return [*scope, *filter_clauses(model, params, nonpublic=nonpublic)]


def count(session: Session, model: type[OParlObject], where: Sequence[ColumnElement[bool]]) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def paginate(
    session: Session,
    model: type[OParlObject],
    scope: Sequence[ColumnElement[bool]],
    params: ListParams,
    *,
    options: Sequence[Any],
    render: Render,
    list_url: str,
    to_json: Callable[[Any, Render], dict[str, Any]],
) -> dict[str, Any]:
    """One page of `model` rows within `scope` (a Body's or an Organization's) as an OParl list object.

    Ordered by the immutable id and continued with `after=<last id>`, so a page deep in the list
    costs what the first costs, and rows changing mid-walk never shift the others.
    """
    where = list_where(model, scope, params, nonpublic=render.nonpublic)
    page_query = select(model).where(*where).order_by(model.id).limit(params.limit + 1).options(*options)
    if params.after is not None:
        page_query = page_query.where(model.id > params.after)
    rows: Sequence[Any] = session.scalars(page_query).all()
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return {
        "data": [to_json(row, render) for row in rows],
        **envelope(list_url, params, count(session, model, where), rows[-1].id if more else None),
    }


def rendered_page(
    session: Session,
    kind: Kind,
    where: Sequence[ColumnElement[bool]],
    params: ListParams,
    *,
    snapshots: Snapshots,
    list_url: str,
    total: int,
) -> bytes:
    """The anonymous page of `paginate`, as JSON bytes joined from the stored renderings.

    Rows without a current rendering (not refreshed yet, or rendered by other code or settings)
    are rendered live, so the answer is the same either way.
    """
    model = kind.model
    query = select(model.id, model.rendered, model.rendered_key).where(*where).order_by(model.id)
    if params.after is not None:
        query = query.where(model.id > params.after)
    rows = session.execute(query.limit(params.limit + 1)).all()
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    parts = snapshots.stored(session, kind, rows)
    tail = orjson.dumps(envelope(list_url, params, total, rows[-1].id if more else None))
    return page_bytes([parts[row.id] for row in rows], tail)


def page_bytes(data: Sequence[bytes], envelope_json: bytes) -> bytes:
    """A list page: the objects' JSON as `data`, then the envelope's other keys. One join, one
    buffer: `a + b + c` copied a page (350 KB of 100 papers) three times more, each a fresh block
    from mmap whose pages fault in (bench/RESULTS.md, issue 18)."""
    parts = [part for item in data for part in (b",", item)]
    return b"".join([b'{"data":[', *parts[1:], b"],", envelope_json[1:]])


def envelope(list_url: str, params: ListParams, total: int, next_after: int | None) -> dict[str, Any]:
    """The pagination and links members of a page; `next_after` is the last id when more follow."""
    links = {
        "first": with_query(list_url, params.canonical),
        "self": with_query(list_url, _with_after(params.canonical, params.after)),
    }
    if next_after is not None:
        links["next"] = with_query(list_url, _with_after(params.canonical, next_after))
    return {"pagination": {"totalElements": total, "elementsPerPage": params.limit}, "links": links}


def _with_after(canonical: dict[str, str], after: int | None) -> dict[str, str]:
    return canonical if after is None else {**canonical, "after": str(after)}
