"""The benchmark's medians and tables on made-up samples (no timing is measured or asserted here)."""

import importlib.util
import sys
from collections import namedtuple
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "benchmark_table", Path(__file__).resolve().parent.parent / "benchmarks" / "table.py")
table = sys.modules["benchmark_table"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(table)

Sample = namedtuple("Sample", "wall cpu rss returncode")


def _stats(label, *samples):
    return table.summarize(label, [Sample(*s) for s in samples], lambda s: s.returncode == 0)


def test_medians_skip_failed_runs_and_count_them():
    stats = _stats("nnlint cold", (3.0, 5.0, 200e6, 0), (9.0, 1.0, 900e6, 2), (1.0, 4.0, 100e6, 0), (2.0, 6.0, 150e6, 0))
    assert stats == table.Stats("nnlint cold", runs=3, failed=1, wall=2.0, cpu=5.0, rss=150_000_000)


def test_no_successful_run_gives_no_numbers():
    stats = _stats("fixit", (1.0, 1.0, None, 2))
    assert (stats.wall, stats.cpu, stats.rss, stats.failed) == (None, None, None, 1)


def test_results_table_has_ratios_to_the_libcst_floor():
    floor = _stats("libcst parse floor (one process)", (16.0, 15.8, 60e6, 0))
    cold = _stats("nnlint cold (fresh cache)", (24.0, 47.4, 1.6e9, 0), (26.0, 50.0, 1.7e9, 1))
    failed = _stats("TorchFix (default rules)", (1.0, 1.0, None, 3))
    assert table.results([floor, cold, failed], floor).splitlines() == [
        "| what | wall | CPU (user+sys) | peak RSS (tree) | wall ÷ libcst parse | CPU ÷ libcst parse |",
        "|---|---:|---:|---:|---:|---:|",
        "| libcst parse floor (one process) | 16.0 s | 15.8 s | 60 MB | 1.00× | 1.00× |",
        "| nnlint cold (fresh cache) (1 failed runs) | 24.0 s | 47.4 s | 1.60 GB | 1.50× | 3.00× |",
        "| TorchFix (default rules) (1 failed runs) | n/a | n/a | n/a |  |  |",
    ]


def test_targets_state_met_or_the_gap():
    rows = [
        table.at_most("warm: at most 1.0 s", 0.42, 1.0, table.seconds),
        table.at_most("cold: at most the floor", 24.0, 16.0, table.seconds),
        table.at_most("version: at most 0.15 s", None, 0.15, table.seconds),
    ]
    assert table.targets(rows).splitlines() == [
        "| target | measured | verdict |",
        "|---|---:|---|",
        "| warm: at most 1.0 s | 0.42 s | met |",
        "| cold: at most the floor | 24.0 s | gap: 1.50× the limit (16.0 s) |",
        "| version: at most 0.15 s | n/a | not measured |",
    ]
