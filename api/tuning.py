"""Tuning of the serving process, done once its app has started (the lifespan calls `settle`)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Engine, event

# How often a worker gives its heap's free memory back (`return_free_heap`).
TRIM_SECONDS = 5.0


# SQLite's page cache per connection of the serving engine, in KiB (SQLite's default: 2000). Its reads
# are stored renderings, each page of them read about once (random objects, a list in order, a
# filter's scan), so a full cache was 2 MB per connection of what the operating system's file cache
# holds anyway; 256 KiB still keeps the B-trees' upper pages, which every read passes.
SQLITE_CACHE_KIB = 256


def small_page_caches(engine: Engine) -> None:
    """Every SQLite connection the engine opens from now on keeps `SQLITE_CACHE_KIB` of pages."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _small_page_cache)


def _small_page_cache(connection: Any, _record: object) -> None:
    connection.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")


def settle() -> None:
    """What start-up built lives as long as the process: keep the collector from walking it, and
    keep big blocks from fragmenting the heap."""
    gc.freeze()
    _return_big_blocks()


def _return_big_blocks() -> None:
    """glibc: serve blocks over 1 MB (pages of 1000) from mmap always, so freeing one returns it to
    the system. By default glibc raises that threshold after the first such free, and pages of a
    few MB then fragment the heap: resident memory creeps up although the caches are bounded.
    Smaller blocks (a page of 100 is 350 KB) come from the heap, whose free pages `return_free_heap`
    gives back: from mmap, each was a fresh mapping whose pages fault in, a sixth to a third of a
    worker's CPU for a page of 100 on PostgreSQL (bench/RESULTS.md, issue 18)."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(-3, 1024 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-8, 2)  # M_ARENA_MAX: threads share two arenas, not one each


def _glibc() -> ctypes.CDLL | None:
    """The C library, if it is glibc (elsewhere its allocator is left as it is)."""
    with contextlib.suppress(OSError):
        libc = ctypes.CDLL("libc.so.6")
        if hasattr(libc, "malloc_trim"):  # glibc's own, as mallopt
            return libc
    return None


def _malloc_trim() -> Callable[[int], int] | None:
    libc = _glibc()
    if libc is None:
        return None  # not glibc: nothing to trim
    trim = libc.malloc_trim
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return cast(Callable[[int], int], trim)


async def return_free_heap() -> None:
    """glibc keeps what a worker frees inside its heap: the thousand renderings a harvester's page
    was joined from, between the answers the cache keeps. malloc_trim(0) gives the free pages back
    (20-25 MB after a harvest, bench/RESULTS.md, issue 18); in a thread, off the event loop, since
    it walks the whole heap."""
    trim = _malloc_trim()
    if trim is None:
        return
    while True:
        await asyncio.sleep(TRIM_SECONDS)
        await asyncio.to_thread(trim, 0)
