"""Output formats: diagnostics in, text out. One module per format.

Every formatter is called as `format(diagnostics, show_source=..., source_line=..., doc_url=..., root=...)`
and ignores what it does not need: `source_line(path, line)` gives a line's text (positions in
other encodings, source display, fingerprints), `doc_url` is the config's rule-page template,
`root` the repository root that CI formats (sarif, github, gitlab) make paths relative to.
"""

from __future__ import annotations

import importlib
import os
from typing import Callable

from nnlint.diagnostics import Diagnostic, Severity

Formatter = Callable[..., str]

# --output-format value -> (module, function); modules are imported only when chosen
_FORMATTERS = {
    "text": ("nnlint.report.text", "format_text"),
    "concise": ("nnlint.report.text", "format_text"),  # ruff's name for the one-line form
    "full": ("nnlint.report.text", "format_full"),  # ruff's name for lines with their source
    "json": ("nnlint.report.json", "format_json"),
    "json-lines": ("nnlint.report.json", "format_json_lines"),
    "lsp": ("nnlint.report.lsp", "format_lsp"),
    "sarif": ("nnlint.report.sarif", "format_sarif"),
    "github": ("nnlint.report.github", "format_github"),
    "gitlab": ("nnlint.report.gitlab", "format_gitlab"),
}
FORMATS = tuple(_FORMATTERS)


def formatter(name: str) -> Formatter:
    module, function = _FORMATTERS.get(name, _FORMATTERS["text"])
    return getattr(importlib.import_module(module), function)


def severity(code: str) -> Severity:
    """The rule's severity (an unknown code counts as an error)."""
    from nnlint.registry import get_rule

    rule = get_rule(code)
    return rule.severity if rule else Severity.ERROR


def repo_relative(path: str, root: str | None) -> str | None:
    """`path` relative to the repository root with `/` separators (how CI services name files),
    or None when it lies outside the root."""
    absolute = os.path.abspath(path)
    base = os.path.abspath(root or os.curdir)
    if absolute != base and not absolute.startswith(base.rstrip(os.sep) + os.sep):
        return None
    return os.path.relpath(absolute, base).replace(os.sep, "/")


def fingerprints(diagnostics: list[Diagnostic], source_line: Callable[..., str | None] | None,
                 root: str | None) -> list[str]:
    """A stable identity per finding, for CI services that follow findings across commits
    (GitLab's `fingerprint`, SARIF's `partialFingerprints`): a hash of the repository path, the
    code, the message and the reported line's stripped text, never the line number, so a finding
    keeps it when lines are added above; identical findings in one file differ by their order."""
    import hashlib

    seen: dict[tuple, int] = {}
    found = []
    for d in diagnostics:
        text = (source_line(d.path, d.span.line, d.cell) if source_line else None) or ""
        key = (repo_relative(d.path, root) or d.path, d.code, d.message, text.strip())
        seen[key] = seen.get(key, -1) + 1
        digest = "\0".join((*key, str(seen[key]))).encode("utf-8", "surrogatepass")
        found.append(hashlib.sha256(digest).hexdigest())
    return found


__all__ = ["Diagnostic", "FORMATS", "formatter"]
