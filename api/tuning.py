"""Tuning of the serving process, done once its app has started (the lifespan calls `settle`)."""

from __future__ import annotations

import contextlib
import ctypes
import gc


def settle() -> None:
    """What start-up built lives as long as the process: keep the collector from walking it, and
    keep big blocks from fragmenting the heap."""
    gc.freeze()
    _return_big_blocks()


def _return_big_blocks() -> None:
    """glibc: serve blocks over 256 KB (list pages) from mmap always, so freeing one returns it to
    the system. By default glibc raises that threshold after the first such free, and pages of a
    few MB then fragment the heap: resident memory creeps up although the caches are bounded."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 256 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-8, 2)  # M_ARENA_MAX: threads share two arenas, not one each
