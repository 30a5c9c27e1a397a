"""GitHub Actions workflow commands: one annotation per finding on the pull request's diff.

Escaping is the Actions toolkit's (@actions/core): in the message `%`, CR and LF; in a
property value also `:` and `,`, which would otherwise end the value.
"""

from __future__ import annotations

from nnlint.diagnostics import Diagnostic, Severity
from nnlint.report import repo_relative, severity

COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(d: Diagnostic, root: str | None = None) -> str:
    path = repo_relative(d.path, root) or d.path
    if d.cell is None:
        properties = {"file": path, "line": d.span.line, "col": d.span.column,
                      "endLine": d.span.end_line, "endColumn": d.span.end_column}
    else:  # a notebook: the line of the .ipynb file (cell columns mean nothing there)
        properties = {"file": path, "line": d.file_line or 1}
    properties["title"] = f"nnlint ({d.code})"
    fields = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    command = COMMAND[severity(d.code)]
    message = d.message if d.cell is None else f"cell {d.cell}, line {d.span.line}: {d.message}"
    return f"::{command} {fields}::{escape_data(message)}"


def format_github(diagnostics: list[Diagnostic], root: str | None = None, **_: object) -> str:
    return "".join(annotation(d, root) + "\n" for d in diagnostics)
