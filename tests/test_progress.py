"""Progress of harvest, generate and render: log lines every few seconds where no terminal is."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from api.cli import main
from api.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_with_a_total_lines_every_few_seconds_with_rate_and_eta() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = Progress("generate", "papers", stream, total=1000, every=5, clock=clock)
    for at, done in [(1, 100), (5, 500), (6, 600), (9.9, 990), (10, 1000)]:
        clock.now = 100 + at
        progress.update(done)
    progress.close()
    progress.close()  # once only
    assert stream.getvalue().splitlines() == [
        "generate: 500/1,000 papers (50 %), 100 papers/s, 0:00:05 elapsed, ETA 0:00:05",
        "generate: 1,000/1,000 papers (100 %), 100 papers/s, 0:00:10 elapsed, ETA 0:00:00",
        "generate: 1,000/1,000 papers (100 %), 100 papers/s, 0:00:10 elapsed",
    ]


def test_without_a_total_counts_and_rate() -> None:
    clock, stream = Clock(), io.StringIO()
    with Progress("harvest", "objects", stream, every=5, clock=clock) as progress:
        clock.now += 2
        progress.update(800, pages=8, errors=0)
        clock.now += 4
        progress.update(1_200, pages=12, errors=1)
        clock.now += 1
        progress.update(1_400, pages=14, errors=1)
    assert stream.getvalue().splitlines() == [
        "harvest: 1,200 objects, 12 pages, 1 errors, 200 objects/s, 0:00:06 elapsed",
        "harvest: 1,400 objects, 14 pages, 1 errors, 200 objects/s, 0:00:07 elapsed",
    ]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_at_a_terminal_a_bar() -> None:
    stream = Terminal()
    with Progress("render", "objects", stream, total=40) as progress:
        progress.update(10)
        progress.update(40)
    shown = stream.getvalue()
    assert "render" in shown
    assert "40/40" in shown
    assert "ETA" in shown


def test_generate_and_render_log_their_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("OPARL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPARL_DATA_DIR", str(tmp_path / "data"))
    assert main(["migrate"]) == 0
    assert main(["generate", "--papers", "20", "--jobs", "1"]) == 0
    err = capsys.readouterr().err.splitlines()
    generated = [line for line in err if line.startswith("generate: ")]
    rendered = [line for line in err if line.startswith("render: ")]
    indexed = [line for line in err if line.startswith("search-index: ")]  # the index, built last
    assert generated + rendered + indexed == err
    assert re.fullmatch(r"search-index: [\d,]+ objects, [\d,]+ objects/s, 0:00:\d\d elapsed", indexed[-1])
    assert re.fullmatch(r"generate: 20/20 papers \(100 %\), [\d,]+ papers/s, 0:00:\d\d elapsed", generated[-1])
    assert re.fullmatch(r"render: ([\d,]+)/\1 objects \(100 %\), [\d,]+ objects/s, 0:00:\d\d elapsed", rendered[-1])
    # every line but the last one has an ETA, at most one line per 5 s
    assert all(", ETA " in line for line in rendered[1:-1])
