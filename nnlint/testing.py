"""Helpers for testing rules: lint a snippet in memory and get plain diagnostics back.

Used by the test suite and the rule-page harness (every Bad/Good example in rules/).
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

from nnlint.diagnostics import Diagnostic
from nnlint.engine import FileSettings, lint_sources
from nnlint.selection import resolve_selection


def settings(select: list[str] | None = None, extend_select: list[str] = (), ignore: list[str] = (),
             options: dict | None = None) -> FileSettings:
    return FileSettings(resolve_selection(select, list(extend_select), list(ignore), []), options or {})


def lint(code: str, path: str = "example.py", **kwargs) -> list[Diagnostic]:
    """Diagnostics for a source snippet (dedented), sorted like the CLI sorts them."""
    return lint_sources([(path, textwrap.dedent(code).encode("utf-8"))], settings(**kwargs))


def codes(code: str, **kwargs) -> list[tuple[int, int, str]]:
    """(line, column, code) of each diagnostic: the shape most rule tests assert."""
    return [(d.line, d.column, d.code) for d in lint(code, **kwargs)]


_MARKER = re.compile(r"#\s*(?P<tag>\w+):\s*(?P<codes>(?:NN\d{3}[,\s]*)+)")


def markers(path: Path, tag: str = "expect") -> set[tuple[int, str]]:
    """(line, code) of every `# expect: NN101, NN102` comment in a fixture file: what the
    fixture says nnlint must report there (`tag="trace"` for findings of a --trace run)."""
    return _markers(path.read_text(encoding="utf-8").splitlines(), tag)


def cell_markers(path: Path, tag: str = "expect") -> set[tuple[int | None, int, str]]:
    """(cell, line, code) of every marker: cells of a notebook (1-based over all cells, line within
    the cell, as nnlint reports them), cell None for a .py file."""
    if path.suffix != ".ipynb":
        return {(None, line, code) for line, code in markers(path, tag)}
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return {(number, line, code)
            for number, cell in enumerate(cells, 1) if cell.get("cell_type") == "code"
            for line, code in _markers("".join(cell["source"]).splitlines(), tag)}


def _markers(lines: list[str], tag: str) -> set[tuple[int, str]]:
    found = set()
    for number, line in enumerate(lines, 1):
        for match in _MARKER.finditer(line):
            if match.group("tag") == tag:
                found.update((number, code) for code in re.findall(r"NN\d{3}", match.group("codes")))
    return found
