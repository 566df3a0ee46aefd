"""Why a writer deletes, as the change feed tells it (kommParl 0.1): `deleted`, `withdrawn`, and a
privacy erasure, which empties what the server keeps of the object and is a `redact`."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.routes.write import Reason
from models import FileChunk, FileContent, Membership, Paper, Person
from oparl.visibility import DELETE_REASONS
from tests.api.kommparl import local, read_feed
from tests.api.test_nonpublic import SECRET, council  # noqa: F401  (a fixture)

PDF = b"%PDF-1.4\n% Anlage\n%%EOF\n"


@pytest.fixture
def auth(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": tokens["writer"]}


@pytest.fixture
def feed(client: TestClient, council: None) -> str:  # noqa: F811
    body: dict[str, str] = client.get("/oparl/v1.1/body").json()["data"][0]
    return body["kommparl:changes"]


def after(client: TestClient, feed: str, cursor: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    entries, _ = read_feed(client, feed + f"?after={cursor}", headers or {})
    return entries


def of(entries: list[dict[str, Any]], url: str) -> list[tuple[str, str | None]]:
    return [(e["operation"], e.get("reason")) for e in entries if e["id"] == url]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("", ("delete", "deleted")), ("?reason=deleted", ("delete", "deleted")),
     ("?reason=withdrawn", ("delete", "withdrawn")), ("?reason=privacy", ("redact", "privacy"))],
)  # fmt: skip
def test_a_delete_says_why_in_both_feeds(
    client: TestClient, feed: str, auth: dict[str, str], tokens: dict[str, str], query: str, expected: tuple[str, str]
) -> None:
    _, cursor = read_feed(client, feed)
    answer = client.delete(f"/write/v1/paper/vorlage{query}", headers=auth)
    assert answer.status_code == 200, answer.text
    url = answer.json()["id"]
    assert of(after(client, feed, cursor), url) == [expected]
    assert of(after(client, feed, cursor, {"Authorization": tokens["insider"]}), url) == [expected]
    # The consultations embedded in it went with it, for the same reason.
    consultation = client.get(local(url), headers={"Authorization": tokens["insider"]}).json()
    assert consultation == {k: consultation[k] for k in ("id", "type", "created", "modified", "deleted")}


def test_an_erasure_empties_the_object_and_what_is_embedded_only_in_it(
    client: TestClient, feed: str, auth: dict[str, str], session: Session
) -> None:
    assert client.delete("/write/v1/person/anna?reason=privacy", headers=auth).status_code == 200
    anna = session.scalars(select(Person).where(Person.key == "anna")).one()
    session.refresh(anna)
    assert (anna.deleted, anna.name, anna.given_name, anna.email) == (True, None, None, None)
    membership = session.scalars(select(Membership).where(Membership.key == "m-rat")).one()
    session.refresh(membership)
    assert (membership.deleted, membership.role, membership.person_id) == (True, None, anna.id)
    served = client.get(f"/oparl/v1.1/person/{anna.id}").json()
    assert served == {k: served[k] for k in ("id", "type", "created", "modified", "deleted")}


def test_an_erasure_of_what_was_deleted_before_is_news_once(
    client: TestClient, feed: str, tokens: dict[str, str], session: Session
) -> None:
    both = {"Authorization": tokens["both"]}  # it was published, then made non-public
    first = client.delete("/write/v1/paper/zurueckgezogen", headers=both)
    url = first.json()["id"]
    _, cursor = read_feed(client, feed)
    assert client.delete("/write/v1/paper/zurueckgezogen?reason=privacy", headers=both).status_code == 200
    paper = session.scalars(select(Paper).where(Paper.key == "zurueckgezogen")).one()
    session.refresh(paper)
    assert paper.name is None
    # Anonymous clients knew it (it was public once): they must erase their copy too.
    assert of(after(client, feed, cursor), url) == [("redact", "privacy")]
    _, cursor = read_feed(client, feed)
    assert client.delete("/write/v1/paper/zurueckgezogen?reason=privacy", headers=both).status_code == 200
    assert after(client, feed, cursor, both) == []  # nothing left to erase: no entry


def test_a_hidden_object_erased_is_never_named_anonymously(
    client: TestClient, feed: str, auth: dict[str, str], tokens: dict[str, str]
) -> None:
    _, cursor = read_feed(client, feed)
    both = {"Authorization": tokens["both"]}
    answer = client.delete("/write/v1/paper/intern?reason=privacy", headers=both)
    assert answer.status_code == 200
    assert of(after(client, feed, cursor), answer.json()["id"]) == []
    assert of(after(client, feed, cursor, both), answer.json()["id"]) == [("redact", "privacy")]
    assert SECRET not in str(after(client, feed, cursor))


def test_an_erased_files_bytes_go_unless_another_file_holds_them(
    client: TestClient, feed: str, auth: dict[str, str], session: Session
) -> None:
    for key in ("a", "b", "c"):
        content = PDF if key != "c" else PDF + b"% c\n"
        put = client.put(f"/write/v1/file/{key}/content", content=content, headers=auth, params={"body": "stadt"})
        assert put.status_code == 201, put.text

    def held() -> tuple[int, int]:
        count = session.scalar(select(func.count()).select_from(FileContent)) or 0
        return count, session.scalar(select(func.count()).select_from(FileChunk)) or 0

    assert held() == (2, 2)
    assert client.delete("/write/v1/file/a?reason=privacy", headers=auth).status_code == 200
    assert held() == (2, 2)  # b holds the same bytes
    assert client.delete("/write/v1/file/c?reason=privacy", headers=auth).status_code == 200
    assert held() == (1, 1)
    assert client.delete("/write/v1/file/b", headers=auth).status_code == 200
    assert held() == (1, 1)  # a deletion keeps what an erasure removes


def test_a_batch_delete_takes_a_reason_and_nothing_else_does(
    client: TestClient, feed: str, auth: dict[str, str]
) -> None:
    _, cursor = read_feed(client, feed)
    ops = [{"op": "delete", "type": "Paper", "key": "vorlage", "reason": "withdrawn"}]
    done = client.post("/write/v1/batch", json={"operations": ops}, headers=auth)
    assert done.status_code == 200, done.text
    assert of(after(client, feed, cursor), done.json()["results"][0]["id"]) == [("delete", "withdrawn")]
    wrong = [{"op": "patch", "type": "Paper", "key": "vorlage", "record": {"name": "X"}, "reason": "withdrawn"}]
    refused = client.post("/write/v1/batch", json={"operations": wrong}, headers=auth)
    assert refused.status_code == 422
    assert refused.json()["type"] == "https://schema.oparl.org/1.1/Error"


@pytest.mark.parametrize("reason", ["nonPublic", "redact", "", "PRIVACY", "deleted\x00"])
def test_an_unknown_reason_is_400(client: TestClient, feed: str, auth: dict[str, str], reason: str) -> None:
    answer = client.delete("/write/v1/paper/vorlage", params={"reason": reason}, headers=auth)
    assert answer.status_code == 400
    assert answer.json()["type"] == "https://schema.oparl.org/1.1/Error"
    vorlage = client.get(local(feed.removesuffix("/changes")) + "/paper").json()["data"]
    assert "deleted" not in next(p for p in vorlage if p["name"] == "Vorlage")  # nothing was deleted


def test_the_api_takes_exactly_the_reasons_a_writer_may_give() -> None:
    assert get_args(Reason) == DELETE_REASONS
