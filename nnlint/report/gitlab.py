"""GitLab Code Quality report (a JSON list of CodeClimate-style issues) for merge requests.

GitLab matches findings between the base and the head pipeline by `fingerprint`, so it must
not change when unrelated lines move: it hashes the file, the code, the message and the
reported line's text (stripped), never the line number; identical findings in one file are
told apart by their order. A notebook finding's line is its line in the .ipynb file.
"""

from __future__ import annotations

import hashlib
import json
from typing import Callable, Optional

from nnlint.diagnostics import Diagnostic, Severity
from nnlint.report import repo_relative, severity

SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def fingerprint(path: str, code: str, message: str, line_text: str, occurrence: int = 0) -> str:
    key = "\0".join((path, code, message, line_text.strip(), str(occurrence)))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _lines(d: Diagnostic) -> dict:
    if d.cell is not None:  # a notebook: the line of the .ipynb file
        return {"begin": d.file_line or 1}
    return {"begin": d.span.line, "end": d.span.end_line}


def format_gitlab(diagnostics: list[Diagnostic], source_line: Optional[Callable[[str, int], Optional[str]]] = None,
                  root: str | None = None, **_: object) -> str:
    issues, seen = [], {}
    for d in diagnostics:
        path = repo_relative(d.path, root) or d.path
        text = (source_line(d.path, d.span.line, d.cell) if source_line else None) or ""
        base = (path, d.code, d.message, text.strip())
        seen[base] = seen.get(base, -1) + 1
        issues.append({
            "description": d.message,
            "check_name": d.code,
            "fingerprint": fingerprint(*base, occurrence=seen[base]),
            "severity": SEVERITY[severity(d.code)],
            "location": {"path": path, "lines": _lines(d)},
        })
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
