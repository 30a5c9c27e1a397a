"""Diagnostics as plain, picklable data: what every front end produces and every report reads."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(str, enum.Enum):
    """E: almost surely a bug. W: likely a bug. I: a smell, off by default."""

    ERROR = "E"
    WARNING = "W"
    INFO = "I"


@dataclass(frozen=True, order=True)
class Span:
    """A source range: 1-based lines, 1-based columns counted in Unicode code points."""

    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, line: int = 1, column: int = 1) -> Span:
        return cls(line, column, line, column)


@dataclass(frozen=True)
class Related:
    """A second place that explains a finding (the softmax that feeds a loss)."""

    path: str
    span: Span
    message: str
    cell: int | None = None  # notebooks: the span is relative to this code cell (1-based)


@dataclass(frozen=True)
class Edit:
    """Replace `span` with `content`. A rule may give a libcst node as the span; the engine
    resolves it to a Span before the diagnostic leaves the per-file step."""

    span: Span
    content: str


@dataclass(frozen=True)
class Fix:
    message: str
    edits: tuple[Edit, ...]
    safe: bool = True


@dataclass(frozen=True)
class Diagnostic:
    path: str
    span: Span
    code: str
    message: str
    related: tuple[Related, ...] = field(default=())
    fix: Fix | None = None
    # Notebooks: the span is relative to code cell `cell` (1-based, as the notebook UI numbers
    # cells); `file_line` is the line of the .ipynb file itself that holds span.line.
    cell: int | None = None
    file_line: int | None = None

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def column(self) -> int:
        return self.span.column

    def sort_key(self) -> tuple:
        return (self.path, self.cell or 0, self.span.line, self.span.column, self.code, self.message)
