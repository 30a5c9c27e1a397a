"""Helpers for testing rules: lint a snippet in memory and get plain diagnostics back.

Used by the test suite and the rule-page harness (every Bad/Good example in rules/).
"""

from __future__ import annotations

import textwrap

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
