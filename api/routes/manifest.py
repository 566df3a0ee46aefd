"""The completeness manifest of a Body (`oparl-server:manifest`; oparl/manifest.py specifies it)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from api.deps import IdDep, SessionDep, UrlsDep
from api.openapi import COMMON, OPTIONAL_TOKEN, Answers, error
from api.responses import OParlJSONResponse
from oparl.feed import read
from oparl.manifest import body_digests, manifest_json
from oparl.urls import API_PATH

router = APIRouter(prefix=API_PATH, tags=["manifest"])
ERRORS: Answers = {404: error("no such public Body"), **COMMON}


class ManifestList(BaseModel):
    url: str
    count: int
    ids: str
    versions: str


class Manifest(BaseModel):
    body: str
    algorithm: str
    lists: dict[str, ManifestList]


@router.get(
    "/body/{object_id}/manifest",
    operation_id="getBodyManifest",
    openapi_extra=OPTIONAL_TOKEN,
    response_model=Manifest,
    responses=ERRORS,
)
def get_manifest(object_id: IdDep, session: SessionDep, urls: UrlsDep) -> Response:
    """Per list of the Body: the count of its public objects and digests of their ids and `modified`."""
    read.require_body(session, object_id, nonpublic=False)
    found = manifest_json(urls, object_id, body_digests(session, urls, object_id))
    return OParlJSONResponse(found, headers={"Cache-Control": "no-cache"})
