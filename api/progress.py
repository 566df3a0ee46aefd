"""Progress of the bulk commands (harvest, generate, render): done so far, of how many, rate, ETA.

At a terminal a live bar (rich); elsewhere (a log, a pipe, CI) one plain line every few seconds
and one at the end, so a log shows the run moving without a line per page."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bar


class Progress:
    """`update(done, **counts)` as often as convenient: it is cheap, and shows at most every
    `every` seconds (a tenth of a second at a terminal). `total` None: counted, no ETA."""

    TTY_EVERY = 0.1

    def __init__(
        self,
        what: str,
        unit: str,
        stream: TextIO,
        *,
        total: int | None = None,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.unit, self.total, self.stream, self.clock = what, unit, total, stream, clock
        self.started = self.shown = clock()
        self.done, self.counts, self.closed = 0, dict[str, int](), False
        self.bar: Bar | None = None
        self.every = every
        if stream.isatty():
            self.every = self.TTY_EVERY
            columns: list[ProgressColumn] = [TextColumn("{task.description}")]
            if total is not None:
                columns += [BarColumn(), MofNCompleteColumn(), TaskProgressColumn()]
            else:
                columns += [TextColumn("{task.completed:,.0f} " + unit)]
            columns += [TextColumn("{task.fields[counts]}"), TextColumn("{task.fields[rate]}"), TimeElapsedColumn()]
            if total is not None:
                columns += [TextColumn("ETA"), TimeRemainingColumn()]
            self.bar = Bar(*columns, console=Console(file=stream), transient=False)
            self.task = self.bar.add_task(what, total=total, counts="", rate="")
            self.bar.start()

    def update(self, done: int, **counts: int) -> None:
        self.done, self.counts = done, counts
        if self.clock() - self.shown >= self.every:
            self._show()

    def close(self) -> None:
        """Shows the final state once (idempotent): call before printing anything else."""
        if not self.closed:
            self.closed = True
            self._show()
            if self.bar is not None:
                self.bar.stop()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def _show(self) -> None:
        self.shown = now = self.clock()
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        counts = ", ".join(f"{value:,} {name}" for name, value in self.counts.items())
        rate_text = f"{rate:,.0f} {self.unit}/s"
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done, counts=counts, rate=rate_text)
            return
        parts = [f"{self.done:,} {self.unit}"]
        if self.total is not None:
            parts = [f"{self.done:,}/{self.total:,} {self.unit} ({100 * self.done / max(self.total, 1):.0f} %)"]
        parts += [counts] if counts else []
        parts += [rate_text, f"{_clock(elapsed)} elapsed"]
        if self.total is not None and rate > 0 and not self.closed:
            parts.append(f"ETA {_clock((self.total - self.done) / rate)}")
        print(f"{self.what}: {', '.join(parts)}", file=self.stream, flush=True)


def _clock(seconds: float) -> str:
    return str(dt.timedelta(seconds=round(max(seconds, 0))))
