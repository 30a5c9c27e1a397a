"""What an nnlint run does besides taking time: which heavy modules it imports, where its time goes.

Both run nnlint under the Python that runs it (the interpreter of its console script), untimed,
after the measured runs: `-X importtime` lists every module imported, cProfile (with `-j 1`,
so the whole run happens in one process) gives the functions that explain a gap to a target.
"""

from __future__ import annotations

import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

HEAVY = ("libcst", "torch", "onnx")


def python_of(nnlint: list[str]) -> str | None:
    """The interpreter behind an nnlint command: `python -m nnlint`, or the shebang of its script."""
    if len(nnlint) >= 3 and nnlint[1:3] == ["-m", "nnlint"]:
        return nnlint[0]
    try:
        with open(nnlint[0], "rb") as handle:
            first = handle.readline().decode(errors="replace")
    except OSError:
        return None
    interpreter = first[2:].strip().split()[0] if first.startswith("#!") and first[2:].strip() else ""
    return interpreter if "python" in os.path.basename(interpreter) else None


def imported(python: str, argv: list[str], cwd: str) -> set[str]:
    """The top-level names of the modules `python -m nnlint ARGV` imports."""
    proc = subprocess.run([python, "-X", "importtime", "-m", "nnlint", *argv], cwd=cwd, capture_output=True, text=True)
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def profile(python: str, argv: list[str], cwd: str, top: int) -> str:
    """Where `nnlint ARGV -j 1` spends its time under cProfile: self time summed per module (the
    `top` largest), and libcst's parse as one cumulative number, as markdown."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "nnlint.prof")
        subprocess.run([python, "-m", "cProfile", "-o", out, "-m", "nnlint", *argv, "-j", "1"], cwd=cwd,
                       capture_output=True, check=False)
        if not os.path.exists(out):
            return "(the profiled run failed)"
        stats = pstats.Stats(out, stream=sys.stderr).stats  # type: ignore[attr-defined]
    by_module: dict[str, float] = {}
    parse = total = 0.0
    for (path, _, name), (_, _, own, cumulative, _) in stats.items():
        where = _short(path) if path != "~" else name  # C functions: '<built-in method builtins.isinstance>'
        by_module[where] = by_module.get(where, 0.0) + own
        total += own
        if where == "libcst/_parser/entrypoints.py" and name == "parse_module":
            parse = max(parse, cumulative)
    rows = sorted(by_module.items(), key=lambda item: (-item[1], item[0]))[:top]
    lines = [f"cProfile of `nnlint check -j 1` (one process, {total:.1f} s under the profiler, "
             f"libcst's parse_module {parse:.1f} s of it, {parse / total:.0%}). Self time by module:", "",
             "| module | self time | share |", "|---|---:|---:|"]
    lines += [f"| `{where}` | {own:.1f} s | {own / total:.0%} |" for where, own in rows]
    return "\n".join(lines)


def _short(path: str) -> str:
    """site-packages/libcst/_parser/x.py -> libcst/_parser/x.py; .../nnlint/engine.py -> nnlint/engine.py;
    other files by their last two parts."""
    parts = Path(path).parts
    for package in ("nnlint", "libcst"):
        if package in parts:
            index = len(parts) - 1 - parts[::-1].index(package)
            return "/".join(parts[index:])
    return "/".join(parts[-2:])
