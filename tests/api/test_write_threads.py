"""Writes have threads of their own: a write does not wait while every reader thread is busy."""

from __future__ import annotations

import concurrent.futures
from collections.abc import AsyncIterator, Iterator

import pytest
from anyio import to_thread
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.deps import get_session, get_write_session

COUNCIL = [
    {"op": "put", "type": "System", "key": "sys", "record": {"name": "Ratsinformation"}},
    {"op": "put", "type": "Body", "key": "stadt", "record": {"system": "sys", "name": "Stadt Beispiel"}},
]


@pytest.fixture
def busy_readers(client: TestClient, session: Session) -> Iterator[None]:
    """Every thread of the readers' set taken, as by cache-missing readers; given back after the test."""

    async def the_session() -> AsyncIterator[Session]:  # conftest's plain lambdas would need a thread
        yield session

    client.app.dependency_overrides[get_session] = the_session  # type: ignore[attr-defined]
    client.app.dependency_overrides[get_write_session] = the_session  # type: ignore[attr-defined]
    readers = [object() for _ in range(client.app.state.settings.threads)]  # type: ignore[attr-defined]

    async def take() -> None:
        for reader in readers:
            await to_thread.current_default_thread_limiter().acquire_on_behalf_of(reader)

    async def give_back() -> None:
        for reader in readers:
            to_thread.current_default_thread_limiter().release_on_behalf_of(reader)

    assert client.portal is not None
    client.portal.call(take)
    try:
        yield
    finally:
        client.portal.call(give_back)


@pytest.mark.usefixtures("busy_readers")
def test_a_write_is_answered_while_every_reader_thread_is_busy(client: TestClient, tokens: dict[str, str]) -> None:
    headers = {"Authorization": tokens["writer"]}
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        batch = pool.submit(client.post, "/write/v1/batch", json={"operations": COUNCIL}, headers=headers)
        record = {"body": "stadt", "name": "Rat"}
        put = pool.submit(client.put, "/write/v1/organization/rat", json=record, headers=headers)
        # On one shared set of threads, both would wait here until the readers' threads came free.
        assert batch.result(timeout=20).status_code == 200
        answer = put.result(timeout=20)
    finally:
        pool.shutdown(wait=False)  # what still waits ends when busy_readers gives the threads back
    assert answer.status_code == 201, answer.text
    assert answer.json()["result"] == "created"


def test_reads_keep_their_threads_and_writes_theirs(client: TestClient) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]

    async def totals() -> tuple[float, float]:
        readers = to_thread.current_default_thread_limiter().total_tokens
        return readers, client.app.state.threads.writers.total_tokens  # type: ignore[attr-defined]

    assert client.portal is not None
    assert client.portal.call(totals) == (settings.threads, settings.write_threads) == (4, 1)
