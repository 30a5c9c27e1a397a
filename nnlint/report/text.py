"""flake8/ruff-style lines: `path:line:col: CODE message`, optionally with the source and a caret."""

from __future__ import annotations

from collections import Counter
from typing import Callable

from nnlint.diagnostics import Diagnostic
from nnlint.registry import all_rules


def format_text(diagnostics: list[Diagnostic], show_source: bool = False,
                source_line: Callable[[str, int], str | None] | None = None, **_: object) -> str:
    lines = []
    for d in diagnostics:
        lines.append(f"{location(d)}: {d.code} {d.message}")
        if show_source and source_line is not None:
            text = source_line(d.path, d.line, d.cell)
            if text is not None:
                lines.append(text)
                # keep tabs so the caret lines up under the same characters
                pad = "".join(c if c == "\t" else " " for c in text[: d.column - 1])
                lines.append(pad + "^")
    return "".join(line + "\n" for line in lines)


def location(d: Diagnostic) -> str:
    """`path:line:col`, or `path:cell N:line:col` inside a notebook (ruff's form)."""
    cell = f"cell {d.cell}:" if d.cell is not None else ""
    return f"{d.path}:{cell}{d.line}:{d.column}"


def format_full(diagnostics: list[Diagnostic], source_line: Callable[..., str | None] | None = None,
                **_: object) -> str:
    """`--output-format full`: every finding with its source line and a caret (= --show-source)."""
    return format_text(diagnostics, show_source=True, source_line=source_line)


def format_statistics(diagnostics: list[Diagnostic]) -> str:
    """One line per code: count, code, name (most frequent first, like ruff)."""
    counts = Counter(d.code for d in diagnostics)
    rules = all_rules()
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    width = max((len(str(n)) for _, n in rows), default=1)
    return "".join(f"{n:>{width}}\t{code}\t{rules[code].name if code in rules else ''}\n" for code, n in rows)


def format_fixes(fixed: list[Diagnostic]) -> str:
    """--show-fixes, as ruff prints it: per file, how many findings of each rule were fixed."""
    rules = all_rules()
    per_file: dict[str, Counter] = {}
    for d in fixed:
        per_file.setdefault(d.path, Counter())[d.code] += 1
    n = len(fixed)
    lines = ["", f"Fixed {n} problem{'s' if n != 1 else ''}:"]
    for path, counts in sorted(per_file.items()):
        lines.append(f"- {path}:")
        lines += [f"    {count} × {code} ({rules[code].name if code in rules else ''})" for code, count in sorted(counts.items())]
    return "".join(line + "\n" for line in lines)
