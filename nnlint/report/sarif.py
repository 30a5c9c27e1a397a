"""SARIF 2.1.0 output, shaped the way GitHub code scanning reads it.

One run; the driver lists the rules that have results (with their page as help), results point
into the repository with URIs relative to %SRCROOT% (the repository root) and full regions in
Unicode code points, like every other nnlint column. A notebook finding's region is its line in
the .ipynb file; the cell and the position inside it go in the result's properties.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from nnlint import __version__
from nnlint.diagnostics import Diagnostic, Severity, Span
from nnlint.docs import rule_page, rule_url, sections
from nnlint.registry import all_rules
from nnlint.report import fingerprints, repo_relative, severity

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/nnlint/nnlint"
SRCROOT = "%SRCROOT%"
FINGERPRINT = "nnlintFingerprint/v1"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _descriptor(code: str, doc_url: str | None) -> dict:
    rule = all_rules().get(code)
    summary = rule.summary if rule else code
    page = rule_page(code) or summary
    parts = sections(page)
    what = parts.get("What it does", "").strip() or summary
    why = parts.get("Why is this bad?", "").strip()
    return {
        "id": code,
        "name": rule.name if rule else code,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": what},
        "help": {"text": f"{what}\n\n{why}".strip(), "markdown": page},
        "helpUri": rule_url(code, doc_url),
        "defaultConfiguration": {"level": LEVEL[severity(code)]},
    }


def _region(span: Span) -> dict:
    region = {"startLine": max(span.line, 1), "startColumn": max(span.column, 1)}
    if (span.end_line, span.end_column) > (span.line, span.column):
        region.update(endLine=span.end_line, endColumn=span.end_column)
    return region


def _physical(path: str, span: Span | None, root: str | None) -> dict:
    """Where in the repository; `span` None for a place without a text region in the file."""
    relative = repo_relative(path, root)
    artifact = ({"uri": quote(relative), "uriBaseId": SRCROOT} if relative is not None
                else {"uri": Path(path).resolve().as_uri()})
    return {"artifactLocation": artifact, **({"region": _region(span)} if span is not None else {})}


def _notebook_span(d: Diagnostic) -> Span | None:
    """A notebook finding's line in the .ipynb file itself (its columns are the cell's, not the file's)."""
    return Span.point(d.file_line, 1) if d.file_line else None


def _result(d: Diagnostic, index: int, root: str | None, fingerprint: str) -> dict:
    result: dict = {
        "ruleId": d.code,
        "ruleIndex": index,
        "level": LEVEL[severity(d.code)],
        "message": {"text": d.message if d.cell is None else f"cell {d.cell}, line {d.span.line}: {d.message}"},
        "locations": [{"physicalLocation": _physical(d.path, d.span if d.cell is None else _notebook_span(d), root)}],
    }
    if d.related:
        result["relatedLocations"] = [
            {"id": number, "physicalLocation": _physical(r.path, r.span if r.cell is None else None, root),
             "message": {"text": r.message if r.cell is None else f"cell {r.cell}, line {r.span.line}: {r.message}"}}
            for number, r in enumerate(d.related, 1)
        ]
    # GitHub follows an alert across commits by these (stable when lines move)
    result["partialFingerprints"] = {FINGERPRINT: fingerprint}
    if d.cell is not None:
        result["properties"] = {"cell": d.cell, "cellLine": d.span.line, "cellColumn": d.span.column}
    return result


def format_sarif(diagnostics: list[Diagnostic], doc_url: str | None = None, root: str | None = None,
                 source_line: Callable[..., str | None] | None = None, **_: object) -> str:
    codes = sorted({d.code for d in diagnostics})
    index = {code: i for i, code in enumerate(codes)}
    run = {
        "tool": {"driver": {"name": "nnlint", "version": __version__,
                            "informationUri": INFORMATION_URI,
                            "rules": [_descriptor(code, doc_url) for code in codes]}},
        "originalUriBaseIds": {SRCROOT: {"uri": Path(root or ".").resolve().as_uri().rstrip("/") + "/"}},
        "results": [_result(d, index[d.code], root, fingerprint)
                    for d, fingerprint in zip(diagnostics, fingerprints(diagnostics, source_line, root))],
        "columnKind": "unicodeCodePoints",
    }
    log = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
