"""Full-text search of a Body (issue 15): `GET /oparl/v1.1/body/{id}/search?q=…` (oparl/search)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from api.deps import IdDep, ObjectRenderDep, ServedDep, SessionDep
from api.openapi import BAD_TOKEN, COMMON, OPTIONAL_TOKEN, error, json_answer
from api.responses import oparl_response
from models import Body
from oparl.errors import NotFound
from oparl.search.page import search_page
from oparl.search.request import parse_search
from oparl.urls import API_PATH
from oparl.visibility import public

router = APIRouter(prefix=API_PATH, tags=["search"])

ANSWERS = {
    200: json_answer("SearchResultList", "A page of hits, best first, each with its score and snippet"),
    400: error("no q, or a bad search parameter"),
    **BAD_TOKEN,
    404: error("no such Body"),
    **COMMON,
}


@router.get("/body/{object_id}/search", operation_id="searchBody", responses=ANSWERS, openapi_extra=OPTIONAL_TOKEN)
def search_body(
    request: Request,
    object_id: IdDep,
    session: SessionDep,
    render: ObjectRenderDep,
    served: ServedDep,
    q: Annotated[
        str, Query(description='words, "a phrase", prefix* (3 letters or more); German stemming and umlaut folding')
    ],
    type: Annotated[str | None, Query(description="only these types, comma-separated (Paper, Meeting, …)")] = None,
    organization: Annotated[str | None, Query(description="only objects of this Organization (id or URL)")] = None,
    person: Annotated[str | None, Query(description="only objects of this Person (id or URL)")] = None,
    paper_type: Annotated[str | None, Query(alias="paperType", description="only papers of this paperType")] = None,
    date_since: Annotated[str | None, Query(description="only objects dated on or after (YYYY-MM-DD)")] = None,
    date_until: Annotated[str | None, Query(description="only objects dated on or before (YYYY-MM-DD)")] = None,
    limit: Annotated[str | None, Query(description="hits per page, at most 100 (default 20)")] = None,
    after: Annotated[str | None, Query(description="cursor from links.next")] = None,
) -> Response:
    """Searches the Body's papers, meetings, agenda items, persons, organizations and files (with their text)."""
    params = parse_search(request.query_params)
    body = session.execute(select(Body.nonpublic).where(Body.id == object_id)).first()
    if body is None or not public(body, entitled=render.nonpublic):
        raise NotFound.by_id("Body", object_id)
    page = search_page(
        session,
        object_id,
        params,
        render=render,
        snapshots=served.snapshots,
        list_url=render.urls.search(object_id),
    )
    return oparl_response(page, render)
