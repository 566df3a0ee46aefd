"""The serving process gives its heap's free memory back while it runs (api/tuning.py)."""

from __future__ import annotations

import asyncio

import pytest

from api import tuning
from api.app import create_app
from api.settings import Settings


def test_a_running_app_returns_free_heap_memory_and_stops_when_it_stops(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(tuning, "_malloc_trim", lambda: calls.append)
    monkeypatch.setattr(tuning, "TRIM_SECONDS", 0.01)
    app = create_app(settings)

    async def run() -> tuple[list[int], int]:
        async with app.router.lifespan_context(app):
            for _ in range(500):
                if len(calls) >= 3:
                    break
                await asyncio.sleep(0.01)
            running = list(calls)
        stopped = len(calls)
        await asyncio.sleep(0.1)  # in the same loop: a task left running would trim on
        return running, len(calls) - stopped

    running, after_stop = asyncio.run(run())
    assert running[:3] == [0, 0, 0]  # malloc_trim(0): every free page of the heap
    assert after_stop == 0


def test_without_glibc_nothing_is_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tuning, "_malloc_trim", lambda: None)
    asyncio.run(asyncio.wait_for(tuning.return_free_heap(), 1))  # returns at once, no loop
