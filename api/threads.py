"""Two sets of request threads per worker: the readers' (OPARL_THREADS, anyio's default limiter,
which FastAPI runs plain `def` routes under) and the write API's own (OPARL_WRITE_THREADS).

With one shared set, a write waited behind every cache-missing read queued before it (twice: for
its token check, then for the write), and took seconds under read load (bench/write_latency.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

from anyio import CapacityLimiter, to_thread
from fastapi import Request

T = TypeVar("T")
Args = TypeVarTuple("Args")


class Threads:
    def __init__(self, readers: int, writers: int) -> None:
        to_thread.current_default_thread_limiter().total_tokens = readers
        self.writers = CapacityLimiter(writers)


async def in_write_thread(request: Request, func: Callable[[*Args], T], *args: *Args) -> T:
    """`func(*args)` in a thread of the write API's set."""
    threads: Threads = request.app.state.threads
    return await to_thread.run_sync(func, *args, limiter=threads.writers)
