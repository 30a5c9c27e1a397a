"""Output formats: diagnostics in, text out. One module per format."""

from __future__ import annotations

from typing import Callable

from nnlint.diagnostics import Diagnostic

Formatter = Callable[..., str]


def formatter(name: str) -> Formatter:
    if name == "json":
        from nnlint.report.json import format_json

        return format_json
    from nnlint.report.text import format_text

    return format_text


FORMATS = ("text", "json")
__all__ = ["Diagnostic", "FORMATS", "formatter"]
