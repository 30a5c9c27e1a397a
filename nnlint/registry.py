"""The one registry of rules: codes, names, severities, defaults, front ends and options.

Selection, `nnlint rules`, `nnlint rule CODE`, config validation and the docs test all read it.
A rule registers itself by subclassing Rule with a `code`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator

from nnlint.diagnostics import Fix, Severity

FRONT_ENDS = {"S": "source", "F": "torch.fx", "O": "onnx", "P": "probe"}


@dataclass(frozen=True)
class Option:
    """A per-rule option, set in a `[tool.nnlint.NNxxx]` table."""

    name: str
    type: type | tuple[type, ...]
    default: Any
    help: str


@dataclass(frozen=True)
class Finding:
    """What a rule reports: a site (CST node, graph node site or Span) and a message.

    The engine turns it into a Diagnostic (path, resolved position, code).
    """

    code: str
    site: Any
    message: str
    related: tuple[tuple[Any, str], ...] = ()
    fix: Fix | None = None


class Rule:
    """Base of every rule. Subclasses set the class attributes and implement check()."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    front_ends: ClassVar[str] = "S"
    fixable: ClassVar[bool] = False
    options: ClassVar[tuple[Option, ...]] = ()
    # Text prefilter: a file is parsed for this rule only if, for every group,
    # one of the group's strings occurs in the source text.
    requires: ClassVar[tuple[tuple[str, ...], ...]] = ()
    # "graph": check(graph, options) for each layer graph of a file;
    # "source": check(source_file, options) once per parsed Python file (nnlint.source.SourceFile);
    # "project": check(project, options) once per run, after every file (nnlint.project.Project);
    # findings name their file (site = nnlint.project.At(path, span));
    # "probe": check(measured, options) on what `--probe` measured (nnlint.probe; front end "P"),
    # only when the command line asks for --probe;
    # "tool": NN0 codes, raised by the engine itself.
    kind: ClassVar[str] = "graph"
    # A graph rule that covers the source front end itself: on source files its check() gets the
    # SourceFile (every spelling, anywhere in the file) instead of the file's layer graphs.
    reads_source: ClassVar[bool] = False
    # A rule of another kind that also reports in the project pass, through
    # check_project(project, options) (NN201: fx graphs per trace, source wiring across files).
    project_pass: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            _RULES[cls.code] = cls

    @classmethod
    def default_enabled(cls) -> bool:
        return cls.severity is not Severity.INFO

    @classmethod
    def may_match(cls, text: str) -> bool:
        return all(any(s in text for s in group) for group in cls.requires)

    @classmethod
    def default_options(cls) -> dict[str, Any]:
        return {o.name: o.default for o in cls.options}

    @classmethod
    def report(cls, site: Any, message: str, related: tuple[tuple[Any, str], ...] = (), fix: Fix | None = None) -> Finding:
        return Finding(cls.code, site, message, related, fix)

    def check(self, subject: Any, options: dict[str, Any]) -> Iterator[Finding]:
        raise NotImplementedError


_RULES: dict[str, type[Rule]] = {}
_loaded = False


def all_rules() -> dict[str, type[Rule]]:
    """Every registered rule, by code, in code order (imports the rule modules once)."""
    global _loaded
    if not _loaded:
        importlib.import_module("nnlint.checks")
        _loaded = True
    return dict(sorted(_RULES.items()))


def get_rule(code: str) -> type[Rule] | None:
    return all_rules().get(code.upper())
