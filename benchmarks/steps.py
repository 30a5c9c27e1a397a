"""What one benchmark run measures: the commands, in order, with what prepares and checks each."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import corpus
import measure
import probe

HERE = Path(__file__).resolve().parent
PEERS = {"torchfix": "0.7.0", "fixit": "2.2.1", "ruff": "0.17.6"}  # what --install-peers installs
SMALL_FILE = '''\
"""A small classifier, the size of a file a pre-commit hook sees."""
import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self, features: int, classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(features, 128),
            nn.Dropout(0.3),
            nn.BatchNorm1d(128),
            nn.ReLU(),
            nn.Linear(128, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
'''


@dataclass
class Step:
    """One command measured once per run; `before`/`after` prepare and undo its situation."""

    key: str
    label: str
    cmd: list[str]
    before: Callable[[], None] | None = None
    after: Callable[[], None] | None = None
    ok_codes: tuple[int, ...] = (0,)
    forbidden: tuple[str, ...] = ()  # modules this command must not import (issue 10)
    samples: list[measure.Sample] = field(default_factory=list)
    imported: set[str] | None = None  # the forbidden modules it did import; None: not checked


def cache_flags(nnlint: list[str]) -> set[str]:
    """Which cache options the measured nnlint has (the cache arrived with issue 10)."""
    help_text = subprocess.run([*nnlint, "check", "--help"], capture_output=True, text=True).stdout
    return {flag for flag in ("--cache-dir", "--no-cache") if flag in help_text}


def corpus_argv(args, targets: list[Path]) -> list[str]:
    """`nnlint` arguments for the corpus runs, without jobs and cache options."""
    argv = ["check", "-q", "--exit-zero", "--output-format", "json"]
    if args.select:
        argv += ["--select", args.select]
    return argv + [str(t) for t in targets]


def plan(args, nnlint: list[str], work: Path, targets: list[Path], files: list[Path], listing: Path) -> list[Step]:
    flags = cache_flags(nnlint)
    lint = [*nnlint, "check", "-q", "--exit-zero", "--output-format", "json"]
    if args.jobs:
        lint += ["-j", str(args.jobs)]
    if args.select:
        lint += ["--select", args.select]
    dirs = [str(t) for t in targets]
    floor = [sys.executable, str(HERE / "parse_floor.py")]
    steps = [
        Step("libcst", "libcst parse floor (one process)", [*floor, "libcst", str(listing)]),
        Step("ast", "ast parse floor (one process)", [*floor, "ast", str(listing)]),
    ]
    cache = work / "cache"
    if "--cache-dir" in flags:
        changed = corpus.median_file(files)
        original = changed.read_bytes()
        steps += [
            Step("cold", "nnlint cold (fresh cache)", [*lint, "--cache-dir", str(cache), *dirs],
                 before=lambda: shutil.rmtree(cache, ignore_errors=True)),
            Step("warm", "nnlint warm (nothing changed)", [*lint, "--cache-dir", str(cache), *dirs]),
            Step("changed", f"nnlint warm, one file changed ({changed.name})",
                 [*lint, "--cache-dir", str(cache), *dirs],
                 before=lambda: changed.write_bytes(original + b"\n# edited by the benchmark\n"),
                 after=lambda: changed.write_bytes(original)),
        ]
    else:
        cold = [*lint, "--no-cache", *dirs] if "--no-cache" in flags else [*lint, *dirs]
        steps.append(Step("cold", "nnlint (no cache support)" if not flags else "nnlint cold (--no-cache)", cold))
    steps += _peer_steps(args, dirs)
    if args.onnx_nodes:
        import onnx_graph  # numpy and onnx: only when asked for

        graph = work / "graph" / "synthetic.onnx"
        graph.parent.mkdir(parents=True, exist_ok=True)
        count = onnx_graph.write(str(graph), args.onnx_nodes)
        label = f"nnlint --select ALL, ONNX graph of {count:,} nodes ({graph.stat().st_size / 1e6:.1f} MB)"
        steps.append(Step("onnx", label, [*nnlint, "check", "-q", "--exit-zero", "--select", "ALL", str(graph)]))
    small = work / "small" / "classifier.py"
    small.parent.mkdir(parents=True, exist_ok=True)
    small.write_text(SMALL_FILE, encoding="utf-8")
    small_cache = work / "small-cache"
    steps += [
        Step("python", "Python start-up (`python -c pass`)", [probe.python_of(nnlint) or sys.executable, "-c", "pass"]),
        Step("version", "nnlint --version", [*nnlint, "--version"], forbidden=probe.HEAVY),
        Step("rules", "nnlint rules", [*nnlint, "rules"], forbidden=probe.HEAVY),
    ]
    if "--cache-dir" in flags:
        steps += [
            Step("small_cold", "one small file, cold", [*nnlint, "check", "--cache-dir", str(small_cache), str(small)],
                 before=lambda: shutil.rmtree(small_cache, ignore_errors=True), ok_codes=(0, 1),
                 forbidden=("torch", "onnx")),
            Step("small_warm", "one small file, warm", [*nnlint, "check", "--cache-dir", str(small_cache), str(small)],
                 ok_codes=(0, 1), forbidden=("libcst", "torch", "onnx")),
        ]
    else:
        no_cache = ["--no-cache"] if "--no-cache" in flags else []
        steps.append(Step("small_cold", "one small file", [*nnlint, "check", *no_cache, str(small)], ok_codes=(0, 1),
                          forbidden=("torch", "onnx")))
    return steps


def install_peers(env: Path) -> None:
    """A virtualenv of its own for the peers: TorchFix pins libcst < 1.6 and Fixit click < 8.2."""
    python = env / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *(f"{n}=={v}" for n, v in PEERS.items())], check=True)


def _peer_steps(args, dirs: list[str]) -> list[Step]:
    wanted = [] if args.peers == "none" else [p.strip() for p in args.peers.split(",") if p.strip()]
    found = {name: _which(name, args.peers_env / "bin") for name in wanted}
    steps = []
    if found.get("torchfix"):
        jobs = ["-j", str(args.jobs)] if args.jobs else []
        steps.append(Step("torchfix", "TorchFix (default rules)", [found["torchfix"], *jobs, *dirs], ok_codes=(0, 1)))
    if found.get("fixit"):
        steps.append(Step("fixit", "Fixit lint (default rules)", [found["fixit"], "lint", *dirs], ok_codes=(0, 1)))
    if found.get("ruff"):
        steps.append(Step("ruff", "ruff check --no-cache --select ALL",
                          [found["ruff"], "check", "--no-cache", "--select", "ALL", "--exit-zero", *dirs]))
    return steps


def _which(name: str, peers_bin: Path) -> str | None:
    """The tool in the peers' virtualenv first, then beside this Python, then on PATH."""
    path = [str(peers_bin), os.path.dirname(sys.executable), os.environ.get("PATH", "")]
    return shutil.which(name, path=os.pathsep.join(path))
