"""Medians of repeated runs and the markdown tables run.py prints (pure: samples in, text out)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Callable, Sequence


@dataclass(frozen=True)
class Stats:
    """The medians of one measured command over the runs that succeeded."""

    label: str
    runs: int  # successful runs the medians are taken over
    failed: int  # runs that exited with an error (not counted in the medians)
    wall: float | None
    cpu: float | None
    rss: int | None


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(label: str, samples: Sequence, ok: Callable[[object], bool]) -> Stats:
    """Medians of wall, CPU and peak RSS over the samples `ok` accepts (each has .wall/.cpu/.rss)."""
    good = [s for s in samples if ok(s)]
    rss = [s.rss for s in good if s.rss is not None]
    peak = median(rss)
    return Stats(label, len(good), len(samples) - len(good), median([s.wall for s in good]),
                 median([s.cpu for s in good]), None if peak is None else int(peak))


def seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value < 10:
        return f"{value:.2f} s"
    return f"{value:.1f} s"


def size(value: int | None) -> str:
    if value is None:
        return "n/a"
    if value >= 1e9:
        return f"{value / 1e9:.2f} GB"
    return f"{value / 1e6:.0f} MB"


def ratio(value: float | None, reference: float | None) -> str:
    if value is None or not reference:
        return ""
    return f"{value / reference:.2f}×"


def results(rows: Sequence[Stats], floor: Stats | None) -> str:
    """The main table: one line per command, ratios against the libcst parse floor."""
    lines = [
        "| what | wall | CPU (user+sys) | peak RSS (tree) | wall ÷ libcst parse | CPU ÷ libcst parse |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        label = row.label if not row.failed else f"{row.label} ({row.failed} failed runs)"
        lines.append(
            f"| {label} | {seconds(row.wall)} | {seconds(row.cpu)} | {size(row.rss)} "
            f"| {ratio(row.wall, floor and floor.wall)} | {ratio(row.cpu, floor and floor.cpu)} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    """One target of issue 10 and how this run compares with it."""

    target: str
    measured: str
    verdict: str


def at_most(target: str, value: float | None, limit: float | None, show: Callable[[float], str]) -> Target:
    """`value` must not exceed `limit`; the verdict states the gap when it does."""
    if value is None or limit is None:
        return Target(target, "n/a" if value is None else show(value), "not measured")
    if value <= limit:
        return Target(target, show(value), "met")
    return Target(target, show(value), f"gap: {value / limit:.2f}× the limit ({show(limit)})")


def targets(rows: Sequence[Target]) -> str:
    lines = ["| target | measured | verdict |", "|---|---:|---|"]
    lines += [f"| {row.target} | {row.measured} | {row.verdict} |" for row in rows]
    return "\n".join(lines)
