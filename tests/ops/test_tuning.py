"""The serving process gives its heap's free memory back while it runs, and keeps SQLite's page
caches small (api/tuning.py)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from api import tuning
from api.app import create_app
from api.readers import Compiled
from api.settings import Settings
from models import ListGeneration
from tests.conftest import Database


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


def test_every_sqlite_connection_of_the_app_keeps_a_small_page_cache(settings: Settings, database: Database) -> None:
    """The pool's connections (routes, scans), the stored reads' own and their streams' keep 256 KiB
    of pages each, not SQLite's default of 2000 KiB."""
    if database.name != "sqlite":
        pytest.skip("SQLite's page cache: PostgreSQL's buffers are the server's, shared by every connection")
    app = create_app(settings)
    statement = Compiled.of(select(ListGeneration.value), database.engine.dialect)

    async def run() -> list[int]:
        async with app.router.lifespan_context(app):
            with app.state.engine.connect() as pooled:
                sizes = [pooled.exec_driver_sql("PRAGMA cache_size").scalar_one()]
            reader = app.state.stored_reader
            await reader.rows(statement, {})
            sizes.append(reader.connection.execute("PRAGMA cache_size").fetchone()[0])
            async for _chunk in reader.chunks(statement, {}, 2):
                pass
            sizes.append(reader.streaming[-1].execute("PRAGMA cache_size").fetchone()[0])
            return sizes

    assert asyncio.run(run()) == [-256, -256, -256]
