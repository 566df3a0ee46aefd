"""Before and after a change, alternately in one session: the harvest and write-path benchmarks.

    bench/alternate.py --before /work/wt/before --after /work/main --rounds 3

Each benchmark runs before, after, before, after … (`--rounds` pairs), each run on a fresh database
with the code of its checkout (subprocesses inside it, see bench/checkout.py), so drift of the
machine's speed reaches both sides alike:

- `replay`: bench/harvest.py --replay (the recorded Hürtgenwald crawl, from memory over loopback);
- `papers`: bench/harvest.py --papers N (default 2,000), the source served by the `--before` checkout
  in every run, so that only the harvesting code differs;
- `sqlite`, `postgresql`: bench/write_path.py on a fresh SQLite file / PostgreSQL database.

Prints, per benchmark, a Markdown table: each figure's values per round and their median, before
and after, and after's speed relative to before's (above 1: after is faster; times are inverted),
from the medians and round by round (their spread is the noise).
It also checks that both sides wrote the same (the loaders' and harvests' own counts).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harvest
import write_path
from checkout import Checkout

Run = Callable[[Checkout], tuple[dict[str, float], list[str]]]
BENCHMARKS = ("replay", "papers", "sqlite", "postgresql")


@dataclass
class Series:
    """One benchmark's figures: name -> values per round, for each side; what each side wrote."""

    title: str
    values: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    wrote: dict[str, set[str]] = field(default_factory=lambda: {"before": set(), "after": set()})

    def add(self, side: str, figures: dict[str, float], lines: list[str]) -> None:
        for name, value in figures.items():
            self.values.setdefault(name, {"before": [], "after": []})[side].append(value)
        # The counts are what both sides must agree on; times vary.
        self.wrote[side].add("; ".join(line for line in lines if _is_count(line)))


def _is_count(line: str) -> bool:
    return line.startswith(("load ", "objects written"))


def faster(name: str, before: float, after: float) -> float:
    """After's speed over before's: a rate's ratio, a time's inverse ratio."""
    if before == 0 or after == 0:
        return float("nan")
    return after / before if name.endswith("/s)") else before / after


def table(series: Series) -> list[str]:
    rounds = max(len(sides["before"]) for sides in series.values.values())
    cells = " | ".join(f"r{i + 1}" for i in range(rounds))
    lines = [
        f"### {series.title}",
        "",
        f"| figure | before {cells} | before median | after {cells} | after median | after's speed ÷ before's "
        "| the same, round by round |",
        "|---|" + "---:|" * (2 * rounds + 4),
    ]
    for name, sides in series.values.items():
        medians = {side: statistics.median(values) for side, values in sides.items() if values}
        row = [name]
        for side in ("before", "after"):
            row += [_number(v) for v in sides[side]] + [""] * (rounds - len(sides[side]))
            row.append(f"**{_number(medians[side])}**" if side in medians else "")
        ratio = faster(name, medians["before"], medians["after"]) if len(medians) == 2 else float("nan")
        pairs = ", ".join(f"{faster(name, b, a):.2f}" for b, a in zip(sides["before"], sides["after"], strict=False))
        lines.append("| " + " | ".join([*row, f"**{ratio:.2f}**", pairs]) + " |")
    if series.wrote["before"] != series.wrote["after"]:
        lines += ["", f"**The two sides wrote differently**: before {series.wrote['before']}, "
                  f"after {series.wrote['after']}"]  # fmt: skip
    else:
        lines += ["", f"Both sides wrote the same: {'; '.join(sorted(series.wrote['before']))}"]
    return lines


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def describe(code: Checkout) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=code.root, capture_output=True, text=True).stdout.strip()

    dirty = " (uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    return f"{code.root} at {git('rev-parse', '--short', 'HEAD')}{dirty}"


def benchmarks(args: argparse.Namespace, source: Checkout) -> dict[str, tuple[str, Run]]:
    return {
        "replay": ("harvest --replay (Hürtgenwald recording into SQLite)", harvest.replay),
        "papers": (
            f"harvest --papers {args.papers} over HTTP (source: the before checkout)",
            lambda code: harvest.synthetic(code, source, args.papers, args.seed),
        ),
        "sqlite": ("write path, SQLite", lambda code: write_path.run(code, "sqlite", args)),
        "postgresql": ("write path, PostgreSQL", lambda code: write_path.run(code, "postgresql", args)),
    }


def log(text: str) -> None:
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} {text}\n")
    sys.stderr.flush()


def measure(args: argparse.Namespace, sides: dict[str, Checkout]) -> list[Series]:
    chosen = benchmarks(args, sides["before"])
    done = []
    for key in args.only.split(","):
        title, run = chosen[key]
        series = Series(title)
        for round_no in range(args.rounds):
            order = list(sides.items())
            for side, code in reversed(order) if args.swap and round_no % 2 else order:
                started = time.monotonic()
                figures, lines = run(code)
                series.add(side, figures, lines)
                log(f"{key} round {round_no + 1} {side}: {time.monotonic() - started:.0f} s; "
                    + ", ".join(f"{name} {value:,.1f}" for name, value in figures.items()))  # fmt: skip
        done.append(series)
    return done


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/alternate.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout of the code before the change")
    parser.add_argument("--after", type=Path, required=True, help="checkout of the code after the change")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs per benchmark")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help=f"comma-separated of {', '.join(BENCHMARKS)}")
    parser.add_argument("--papers", type=int, default=2000, help="size of the synthetic council harvested")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--swap", action="store_true", help="after first in every second round (ABBA)")
    parser.add_argument("--out", type=Path, help="also write the report here")
    write_path.add_arguments(parser)
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    sides = {"before": Checkout(args.before.resolve()), "after": Checkout(args.after.resolve())}
    start, loads = time.monotonic(), os.getloadavg()
    for code in sides.values():
        code.compile()
    if "papers" in args.only.split(","):
        log("preparing the synthetic source (once, reused)")
        harvest.source_dataset(sides["before"], args.papers, args.seed)
    report = [
        f"## Before and after, alternately ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {args.rounds} rounds"
        + (", after first in every second round)" if args.swap else ", before first in each)"),
        "",
        f"- before: {describe(sides['before'])}",
        f"- after: {describe(sides['after'])}",
        f"- write path: {args.copies} fixture copies per load, {args.puts} PUTs created then changed, "
        f"{args.batches} batches of {args.batch_size} Papers ({args.batch_size * write_path.RECORDS_PER_PAPER} "
        "records) created then changed",
        "",
    ]
    for series in measure(args, sides):
        report += [*table(series), ""]
    minutes = (time.monotonic() - start) / 60
    end_loads = os.getloadavg()
    report.append(f"Run time {minutes:.1f} min; load average (1/5/15 min) {_loads(loads)} at the start, "
                  f"{_loads(end_loads)} at the end.")  # fmt: skip
    text = "\n".join(report) + "\n"
    sys.stdout.write(text)
    if args.out:
        args.out.write_text(text)


def _loads(loads: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.1f}" for x in loads)


if __name__ == "__main__":
    main()
