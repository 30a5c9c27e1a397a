"""NN0: the tool's own codes. The engine raises them; they are rules so that they can be
listed, documented and ignored like any other."""

from nnlint.diagnostics import Severity
from nnlint.registry import Rule


class ToolRule(Rule):
    kind = "tool"
    severity = Severity.ERROR
    front_ends = "SFO"


class InternalError(ToolRule):
    code = "NN000"
    name = "internal-error"
    summary = "A rule raised on this file; other rules and files still ran."


class SyntaxErrorRule(ToolRule):
    code = "NN001"
    name = "syntax-error"
    summary = "The file does not compile."
    front_ends = "S"


class UnreadableFile(ToolRule):
    code = "NN002"
    name = "unreadable-file"
    summary = "A path that cannot be read, decoded or analyzed."


class GraphLoadFailed(ToolRule):
    code = "NN003"
    name = "graph-load-failed"
    summary = "A model graph that cannot be loaded or traced."
    front_ends = "FO"
