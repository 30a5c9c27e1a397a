"""GitLab Code Quality report (a JSON list of CodeClimate-style issues) for merge requests.

GitLab matches findings between the base and the head pipeline by `fingerprint`, so it must
not change when unrelated lines move (nnlint.report.fingerprints). A notebook finding's line is
its line in the .ipynb file.
"""

from __future__ import annotations

import json
from typing import Callable, Optional

from nnlint.diagnostics import Diagnostic, Severity
from nnlint.report import fingerprints, repo_relative, severity

SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def _lines(d: Diagnostic) -> dict:
    if d.cell is not None:  # a notebook: the line of the .ipynb file
        return {"begin": d.file_line or 1}
    return {"begin": d.span.line, "end": d.span.end_line}


def format_gitlab(diagnostics: list[Diagnostic], source_line: Optional[Callable[..., Optional[str]]] = None,
                  root: str | None = None, **_: object) -> str:
    issues = [
        {
            "description": d.message,
            "check_name": d.code,
            "fingerprint": fingerprint,
            "severity": SEVERITY[severity(d.code)],
            "location": {"path": repo_relative(d.path, root) or d.path, "lines": _lines(d)},
        }
        for d, fingerprint in zip(diagnostics, fingerprints(diagnostics, source_line, root))
    ]
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
