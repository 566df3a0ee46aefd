"""The serving process gives its heap's free memory back while it runs (api/tuning.py)."""

from __future__ import annotations

import time

import pytest

from api import tuning
from tests.ops.conftest import MakeClient


def test_a_running_app_returns_free_heap_memory_and_stops_when_it_stops(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(tuning, "_malloc_trim", lambda: calls.append)
    monkeypatch.setattr(tuning, "TRIM_SECONDS", 0.01)
    client = make_client()
    deadline = time.monotonic() + 10
    while len(calls) < 3 and time.monotonic() < deadline:
        assert client.get("/healthz").status_code == 200
        time.sleep(0.02)
    assert calls[:3] == [0, 0, 0]  # malloc_trim(0): every free page of the heap
    client.__exit__(None, None, None)
    stopped = len(calls)
    time.sleep(0.1)
    assert len(calls) == stopped


def test_without_glibc_nothing_is_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    monkeypatch.setattr(tuning, "_malloc_trim", lambda: None)
    asyncio.run(asyncio.wait_for(tuning.return_free_heap(), 1))  # returns at once, no loop
