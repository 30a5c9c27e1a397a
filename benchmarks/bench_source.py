"""Speed benchmark: nnlint on a directory of real model code, against peers that are installed.

    python benchmarks/bench_source.py DIR [--repeat 3]

DIR is real code, e.g. the timm or transformers sources (`pip download --no-deps timm` and
unzip). Peers are timed only if their command exists (torchfix, flake8 with TorchFix's TOR
codes, ruff). Prints wall-clock seconds per tool (best of --repeat runs) and files per second.
Not part of the test run: timings never go in unit tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time


def best_of(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = sum(1 for _, _, names in os.walk(args.directory) for n in names if n.endswith(".py"))
    tools = {
        "nnlint (all cores)": [sys.executable, "-m", "nnlint", "-q", "--exit-zero", args.directory],
        "nnlint -j1": [sys.executable, "-m", "nnlint", "-q", "-j", "1", "--exit-zero", args.directory],
        "nnlint --select ALL": [sys.executable, "-m", "nnlint", "-q", "--select", "ALL", "--exit-zero", args.directory],
    }
    if shutil.which("torchfix"):
        tools["torchfix"] = ["torchfix", args.directory]
    if shutil.which("flake8"):
        tools["flake8 --select TOR"] = ["flake8", "--select", "TOR", args.directory]
    if shutil.which("ruff"):
        tools["ruff check (default rules)"] = ["ruff", "check", "--no-cache", "--exit-zero", args.directory]
    print(f"{files} Python files under {args.directory}")
    for name, cmd in tools.items():
        seconds = best_of(cmd, args.repeat)
        print(f"{name:<28} {seconds:7.2f} s  {files / seconds:8.0f} files/s")


if __name__ == "__main__":
    main()
