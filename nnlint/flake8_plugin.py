"""nnlint inside flake8: `flake8 --select NN` runs nnlint's rules on each file flake8 checks.

Registered as the `flake8.extension` entry point `NN`. The rules and their options come from
the `[tool.nnlint]` table nnlint itself would read (from the current directory), so the two
agree on what is on; flake8's own select/ignore, per-file-ignores and `# noqa` then filter the
results (nnlint's noqa handling is off here so that `flake8 --disable-noqa` means what it says).
flake8 hands a plugin one file at a time: findings that need another file (a model defined in
models.py, trained in train.py) are nnlint's alone.
"""

from __future__ import annotations

import ast
import functools
import os
from typing import Iterator

from nnlint import __version__


@functools.lru_cache(maxsize=1)
def _run():
    """The lint run for this flake8 process (config read once), or the config error's text."""
    from nnlint.config import ConfigError, discover_config
    from nnlint.engine import FileSettings, Run
    from nnlint.selection import resolve_selection

    try:
        config = discover_config(None, False)
    except ConfigError as exc:
        return str(exc)
    enabled = resolve_selection(config.select, config.extend_select, config.ignore, config.extend_ignore)
    settings = FileSettings(enabled, config.rule_options, True, config.max_source_bytes, config.max_graph_bytes)
    return Run(settings, str(config.root), (), config.per_file_ignores)


def _source_bytes(filename: str, lines: list[str]) -> bytes:
    """The file as flake8 read it: its own bytes when it is on disk and unchanged (a coding
    cookie keeps its meaning), else flake8's decoded lines (stdin) as UTF-8."""
    text = "".join(lines)
    if filename not in ("-", "stdin") and os.path.isfile(filename):
        from nnlint.files import Unreadable, decode_source

        try:
            with open(filename, "rb") as handle:
                data = handle.read()
            if decode_source(data) == text:
                return data
        except (OSError, Unreadable):
            pass
    return text.encode("utf-8", "surrogatepass")


class NNLintChecker:
    """flake8 tree plugin (flake8 asks for `tree` to classify it; nnlint parses with libcst)."""

    name = "nnlint"
    version = __version__

    def __init__(self, tree: ast.AST, filename: str, lines: list[str]) -> None:
        self.filename = filename
        self.lines = lines

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        run = _run()
        if isinstance(run, str):
            yield 1, 0, f"NN000 nnlint configuration error: {run}", type(self)
            return
        result = run.lint_stdin(_source_bytes(self.filename, self.lines), self.filename)
        here = os.path.abspath(self.filename)
        for d in result.diagnostics:
            # flake8 reports syntax errors itself (E999), and only this file's findings belong here
            if d.code != "NN001" and os.path.abspath(d.path) == here:
                yield d.line, max(d.column - 1, 0), f"{d.code} {d.message}", type(self)
