"""The completeness manifest of a Body (`oparl-server:manifest`): per list, how many public
objects it holds and digests of their ids and `modified` values, which a client recomputes from
its copy to prove it holds every object (README "Completeness manifest" specifies the digests).

For each list: `count`; `ids`: sha256 (hex) over the UTF-8 lines `"<id>\n"`, sorted by byte
value; `versions`: sha256 over the sorted lines `"<id>\t<modified>\n"`, `modified` in UTC as
`YYYY-MM-DDTHH:MM:SSZ` (whatever offset the object is served with; fractions of seconds dropped).
Objects are those the list shows without filters to an anonymous client: no tombstones, nothing
non-public.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Body
from oparl.catalogue import BODY_LISTS
from oparl.urls import UrlBuilder
from oparl.visibility import shown_where

ALGORITHM = "sha256, sorted lines: ids '<id>\\n', versions '<id>\\t<modified as YYYY-MM-DDTHH:MM:SSZ>\\n'"


@dataclass(frozen=True)
class Digest:
    count: int
    ids: str
    versions: str


def utc_stamp(value: dt.datetime | str | None) -> str:
    """`modified` as the digest writes it: UTC, whole seconds, `Z`; "" for none."""
    if value is None or value == "":
        return ""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def digest(pairs: Iterable[tuple[str, str]]) -> Digest:
    """Count and digests of (id, modified as utc_stamp gives it) pairs, in any order."""
    ordered = sorted(pairs, key=lambda pair: pair[0].encode())
    ids, versions = hashlib.sha256(), hashlib.sha256()
    for object_id, modified in ordered:
        ids.update(f"{object_id}\n".encode())
        versions.update(f"{object_id}\t{modified}\n".encode())
    return Digest(len(ordered), ids.hexdigest(), versions.hexdigest())


def body_digests(session: Session, urls: UrlBuilder, body_id: int) -> dict[str, Digest]:
    """Each list of the Body as this server serves it to anonymous clients."""
    found = {}
    for name, listed in BODY_LISTS.items():
        model = listed.model
        query = select(model.id, model.modified).where(model.body_id == body_id, *shown_where(model, entitled=False))  # type: ignore[attr-defined]
        found[name] = digest((urls.object(listed.name, i), utc_stamp(m)) for i, m in session.execute(query))
    return found


def mirror_digests(session: Session, body_key: str) -> dict[str, Digest]:
    """Each list of the mirrored Body whose source id is `body_key`, by the source's ids (a
    harvest keeps them as keys). The mirror stamps `modified` itself: only `count` and `ids`
    compare with the source's."""
    body_id = session.scalar(select(Body.id).where(Body.key == body_key))
    found = {}
    for name, listed in BODY_LISTS.items():
        model = listed.model
        if body_id is None:
            found[name] = digest(())
            continue
        query = select(model.key, model.modified).where(model.body_id == body_id, *shown_where(model, entitled=False))  # type: ignore[attr-defined]
        found[name] = digest((k, utc_stamp(m)) for k, m in session.execute(query) if k is not None)
    return found


def manifest_json(urls: UrlBuilder, body_id: int, digests: dict[str, Digest]) -> dict[str, Any]:
    lists = {
        name: {"url": urls.body_list(body_id, BODY_LISTS[name].name), "count": d.count, "ids": d.ids,
               "versions": d.versions}
        for name, d in digests.items()
    }  # fmt: skip
    return {"body": urls.object("Body", body_id), "algorithm": ALGORITHM, "lists": lists}


def manifest_url(urls: UrlBuilder, body_id: int) -> str:
    return f"{urls.object('Body', body_id)}/manifest"
