"""JSON output: a list of objects with the fields README documents."""

from __future__ import annotations

import json

from nnlint.diagnostics import Diagnostic, Fix
from nnlint.docs import rule_url
from nnlint.registry import all_rules


def _fix(fix: Fix | None) -> dict | None:
    if fix is None:
        return None
    return {
        "message": fix.message,
        "applicability": "safe" if fix.safe else "unsafe",
        "edits": [
            {"line": e.span.line, "column": e.span.column, "end_line": e.span.end_line,
             "end_column": e.span.end_column, "content": e.content}
            for e in fix.edits
        ],
    }


def as_dict(d: Diagnostic, doc_url: str | None = None) -> dict:
    rule = all_rules().get(d.code)
    return {
        "path": d.path,
        "cell": d.cell,
        "line": d.span.line,
        "column": d.span.column,
        "end_line": d.span.end_line,
        "end_column": d.span.end_column,
        "code": d.code,
        "name": rule.name if rule else "",
        "severity": rule.severity.value if rule else "E",
        "message": d.message,
        "url": rule_url(d.code, doc_url),
        "related": [{"path": r.path, "cell": r.cell, "line": r.span.line, "column": r.span.column, "message": r.message}
                    for r in d.related],
        "fix": _fix(d.fix),
    }


def format_json(diagnostics: list[Diagnostic], doc_url: str | None = None, **_: object) -> str:
    return json.dumps([as_dict(d, doc_url) for d in diagnostics], indent=2, ensure_ascii=False) + "\n"


def format_json_lines(diagnostics: list[Diagnostic], doc_url: str | None = None, **_: object) -> str:
    """One JSON object per line (the same fields as `json`), for streaming consumers."""
    return "".join(json.dumps(as_dict(d, doc_url), ensure_ascii=False) + "\n" for d in diagnostics)
