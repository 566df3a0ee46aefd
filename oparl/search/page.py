"""A search answer: one OParl list page of the hits, each the object as served at its URL plus
`oparl-server:score`, `oparl-server:match` (reference, title, text) and `oparl-server:snippet`.

The lean path (bench/RESULTS.md, issue 15): the engine ranks and limits the hits
(oparl.search.engines), one statement per type on the page reads their stored renderings, and
snippets are made for those hits alone. No count: `pagination` has `elementsPerPage` only (OParl
makes `totalElements` optional), since counting every hit costs what ranking them all costs.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OParlObject, Organization, Person
from oparl.base import Render
from oparl.catalogue import TYPES
from oparl.registry import KINDS
from oparl.search.engines import Filters, Hit, search
from oparl.search.request import SearchParams, encode_cursor, facet_groups
from oparl.search.snippet import snippet
from oparl.snapshot import Snapshots
from oparl.urls import with_query
from oparl.visibility import shown_where

PREFIX = "oparl-server:"
MATCH = {3: "reference", 2: "title", 1: "text"}


def _objects(session: Session, hits: list[Hit], render: Render, snapshots: Snapshots) -> dict[tuple[str, int], Any]:
    """The page's objects as this client is served them: the stored anonymous renderings, or for an
    entitled client rendered now. Read again under the visibility rule, so no hit outlives it."""
    by_type: dict[str, list[int]] = defaultdict(list)
    for hit in hits:
        by_type[hit.type_name].append(hit.object_id)
    found: dict[tuple[str, int], Any] = {}
    for type_name, ids in by_type.items():
        kind = KINDS[type_name]
        model: type[OParlObject] = TYPES[type_name].model
        shown = shown_where(model, entitled=render.nonpublic)
        if render.nonpublic:
            rows = session.scalars(select(model).where(model.id.in_(ids), *shown).options(*kind.load_options))
            found.update(((type_name, row.id), kind.to_json(row, render)) for row in rows)
            continue
        query = select(model.id, model.rendered, model.rendered_key).where(model.id.in_(ids), *shown)
        for object_id, data in snapshots.stored(session, kind, session.execute(query).all()).items():
            found[(type_name, object_id)] = orjson.loads(data)
    return found


def _hidden_filter(session: Session, params: SearchParams, render: Render) -> bool:
    """Whether a filter names an Organization or Person this client is not shown: the answer is then
    empty, as for an id that does not exist, so a filter never tells what links to a hidden object."""
    for model, object_id in ((Organization, params.organization), (Person, params.person)):
        if object_id is not None:
            shown = select(model.id).where(model.id == object_id, *shown_where(model, entitled=render.nonpublic))
            if session.execute(shown).first() is None:
                return True
    return False


def search_page(
    session: Session, body_id: int, params: SearchParams, *, render: Render, snapshots: Snapshots, list_url: str
) -> dict[str, Any]:
    filters = Filters(
        body_id=body_id,
        entitled=render.nonpublic,
        types=params.types,
        any_of=facet_groups(params, entitled=render.nonpublic),
        date_since=params.date_since,
        date_until=params.date_until,
    )
    hits = (
        []
        if _hidden_filter(session, params, render)
        else list(search(session, params.query, filters, params.after, params.limit + 1))
    )
    more = len(hits) > params.limit
    hits = hits[: params.limit]
    objects = _objects(session, hits, render, snapshots)
    data = []
    for hit in hits:
        obj = objects.get((hit.type_name, hit.object_id))
        if obj is None:
            continue
        found, density = snippet(obj, params.query)
        # The tier, and within it how densely the served text holds the words (oparl.search.engines).
        obj[PREFIX + "score"] = round(hit.tier + density, 4)
        obj[PREFIX + "match"] = MATCH[hit.tier]
        if found is not None:
            obj[PREFIX + "snippet"] = found
        data.append(obj)
    links = {"first": with_query(list_url, params.canonical)}
    if params.after is not None:
        links["self"] = with_query(list_url, {**params.canonical, "after": encode_cursor(params.after)})
    else:
        links["self"] = links["first"]
    if more:
        links["next"] = with_query(list_url, {**params.canonical, "after": encode_cursor(hits[-1].cursor)})
    return {"data": data, "pagination": {"elementsPerPage": params.limit}, "links": links}
