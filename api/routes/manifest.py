"""The completeness manifest of a Body (`oparl-server:manifest`; oparl/manifest.py specifies it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from api.deps import IdDep, SessionDep, UrlsDep
from api.responses import OParlJSONResponse
from oparl.feed import read
from oparl.manifest import body_digests, manifest_json
from oparl.urls import API_PATH

router = APIRouter(prefix=API_PATH, tags=["manifest"])
ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "OParl Error object: no such public Body"}}


class ListDigestOut(BaseModel):
    url: str
    count: int
    ids: str
    versions: str


class ManifestOut(BaseModel):
    body: str
    algorithm: str
    lists: dict[str, ListDigestOut]


@router.get("/body/{object_id}/manifest", response_model=ManifestOut, responses=ERRORS)
def get_manifest(object_id: IdDep, session: SessionDep, urls: UrlsDep) -> Response:
    """Per list of the Body: the count of its public objects and digests of their ids and `modified`."""
    read.require_body(session, object_id, nonpublic=False)
    found = manifest_json(urls, object_id, body_digests(session, urls, object_id))
    return OParlJSONResponse(found, headers={"Cache-Control": "no-cache"})
