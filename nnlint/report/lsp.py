"""LSP output: Language Server Protocol Diagnostic objects, keyed by document URI.

`lsp_diagnostic` is the one place a Diagnostic becomes an LSP object: `--output-format lsp`
and the language server (nnlint.lsp) both call it, so an editor sees the same thing either way.
LSP positions are 0-based and count columns in the negotiated encoding's code units (UTF-16
unless the client offers UTF-8/32); nnlint's columns are 1-based code points, so every
conversion reads the line's text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Optional

from nnlint.diagnostics import Diagnostic, Fix, Severity, Span
from nnlint.docs import rule_href
from nnlint.registry import all_rules
from nnlint.report import severity

# (path, 1-based line, notebook cell or None) -> that line's text without its line break, or
# None when there is no text (an ONNX node): the `source_line` every report receives
LineText = Callable[[str, int, Optional[int]], Optional[str]]

SEVERITY = {Severity.ERROR: 1, Severity.WARNING: 2, Severity.INFO: 3}
TAG_UNNECESSARY = 1
UNNECESSARY_CODES = frozenset({"NN111"})  # an unused submodule: editors fade the line
ENCODINGS = ("utf-8", "utf-16", "utf-32")


def path_uri(path: str) -> str:
    return Path(os.path.abspath(path)).as_uri()


def character(text: str | None, column: int, encoding: str = "utf-16") -> int:
    """The 0-based LSP character offset of a 1-based code-point `column` on a line of `text`."""
    index = max(column - 1, 0)
    if text is None or encoding == "utf-32":
        return index
    head, beyond = text[:index], max(index - len(text), 0)
    if encoding == "utf-8":
        return len(head.encode("utf-8", "surrogatepass")) + beyond
    return len(head.encode("utf-16-le", "surrogatepass")) // 2 + beyond


def lsp_range(path: str, span: Span, line_text_of: LineText, encoding: str = "utf-16", cell: int | None = None) -> dict:
    """A Span (1-based, code points) as an LSP Range; in a notebook, relative to the cell."""
    start_text = line_text_of(path, span.line, cell)
    end_text = start_text if span.end_line == span.line else line_text_of(path, span.end_line, cell)
    return {
        "start": {"line": max(span.line - 1, 0), "character": character(start_text, span.column, encoding)},
        "end": {"line": max(span.end_line - 1, 0), "character": character(end_text, span.end_column, encoding)},
    }


def _fix(d: Diagnostic, fix: Fix | None, line_text_of: LineText, encoding: str) -> dict | None:
    """The rule's fix as LSP TextEdits on the diagnostic's document (for quick-fix code actions)."""
    if fix is None:
        return None
    return {
        "message": fix.message,
        "applicability": "safe" if fix.safe else "unsafe",
        "edits": [{"range": lsp_range(d.path, e.span, line_text_of, encoding, d.cell), "newText": e.content}
                  for e in fix.edits],
    }


def lsp_diagnostic(d: Diagnostic, line_text_of: LineText, encoding: str = "utf-16", doc_url: str | None = None,
                   uri_of: Callable[[str], str] = path_uri) -> dict:
    """One LSP Diagnostic. `doc_url` is the config's `doc-url` template (None: the rule page shipped
    in the package, as a file:// URI); `uri_of` names the document of a related location. In a
    notebook the range is relative to the code cell, which `data.cell` names (1-based)."""
    rule = all_rules().get(d.code)
    out: dict = {
        "range": lsp_range(d.path, d.span, line_text_of, encoding, d.cell),
        "severity": SEVERITY[severity(d.code)],
        "code": d.code,
        "codeDescription": {"href": rule_href(d.code, doc_url)},
        "source": "nnlint",
        "message": d.message,
    }
    if d.related:
        out["relatedInformation"] = [
            {"location": {"uri": uri_of(r.path), "range": lsp_range(r.path, r.span, line_text_of, encoding, r.cell)},
             "message": r.message}
            for r in d.related
        ]
    if d.code in UNNECESSARY_CODES:
        out["tags"] = [TAG_UNNECESSARY]
    out["data"] = {"name": rule.name if rule else "", "fix": _fix(d, d.fix, line_text_of, encoding)}
    if d.cell is not None:
        out["data"]["cell"] = d.cell
    return out


def format_lsp(diagnostics: list[Diagnostic], source_line: LineText | None = None, doc_url: str | None = None,
               **_: object) -> str:
    """{document URI: [Diagnostic, ...]} for editors that run a command instead of a server."""
    line_text_of = source_line or (lambda path, line, cell=None: None)
    documents: dict[str, list[dict]] = {}
    for d in diagnostics:
        documents.setdefault(path_uri(d.path), []).append(lsp_diagnostic(d, line_text_of, doc_url=doc_url))
    return json.dumps(documents, indent=2, ensure_ascii=False) + "\n"
