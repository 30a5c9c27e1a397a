"""`--trace pkg.module:factory`: build a model the user names, trace it with torch.fx and run
the graph rules on the trace.

This runs the user's code, so it happens only when the command line asks (`--trace`,
`--trace-config`); nothing else in nnlint imports this module's torch side. A target that
cannot be imported, built or traced gives NN003 naming the reason and, when tracing stopped in
the user's code, that line; an untraceable model still gets the module-tree checks
(MODULE_TREE_RULES on its registered layers).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable

from nnlint.diagnostics import Diagnostic, Related, Span
from nnlint.registry import Finding, all_rules

# Rules that read one layer's own attributes: the only ones that run on the module tree of a
# model that cannot be traced (its layers, without edges).
MODULE_TREE_RULES = ("NN103", "NN109")


class TraceSpecError(ValueError):
    """A malformed `pkg.module:factory` or input shape (a usage error)."""


@dataclass(frozen=True)
class TraceTarget:
    """One model to trace: `module:attribute` and an optional input shape."""

    spec: str
    input_shape: tuple[int, ...] | None = None

    @property
    def module(self) -> str:
        return self.spec.partition(":")[0]

    @property
    def attribute(self) -> str:
        return self.spec.partition(":")[2]


def parse_target(spec: str, input_shape: tuple[int, ...] | None = None) -> TraceTarget:
    module, sep, attribute = spec.strip().partition(":")
    if not sep or not _dotted(module) or not _dotted(attribute):
        raise TraceSpecError(f"expected pkg.module:factory, got '{spec}'")
    return TraceTarget(f"{module}:{attribute}", input_shape)


def _dotted(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def parse_shape(value: Any) -> tuple[int, ...]:
    """'1,3,224,224' or [1, 3, 224, 224] -> (1, 3, 224, 224): positive integers only."""
    parts = value.split(",") if isinstance(value, str) else value
    try:
        shape = tuple(int(p) if isinstance(p, str) else p for p in parts)
    except (TypeError, ValueError):
        shape = ()
    if not shape or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
        raise TraceSpecError(f"expected an input shape of positive integers like 1,3,224,224, got {value!r}")
    return shape


@dataclass
class TraceOutcome:
    diagnostics: list[Diagnostic]
    internal_error: bool = False


def _load_factory(target: TraceTarget) -> Callable[[], Any]:
    """Import the module (the current directory first on sys.path) and get the factory."""
    module = importlib.import_module(target.module)
    factory: Any = module
    for part in target.attribute.split("."):
        factory = getattr(factory, part)
    if not callable(factory):
        raise TypeError(f"'{target.attribute}' is a {type(factory).__name__}, not a class or function")
    return factory


def _module_path(target: TraceTarget) -> str:
    """The file of the target's module, if it can be found without importing it (puts the
    current directory first on sys.path, where the import looks too)."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        spec = importlib.util.find_spec(target.module)
    except (ImportError, ValueError):
        return target.spec
    return spec.origin if spec is not None and spec.origin and os.path.isfile(spec.origin) else target.spec


def trace_target(target: TraceTarget, enabled: frozenset[str], options: dict[str, dict[str, Any]]) -> TraceOutcome:
    """Build, trace and lint one model. Never raises for anything the user's code does; what
    it prints goes to stderr (stdout carries the report: json, sarif...)."""
    with contextlib.redirect_stdout(sys.stderr):
        return _trace_target(target, enabled, options)


def _trace_target(target: TraceTarget, enabled: frozenset[str], options: dict[str, dict[str, Any]]) -> TraceOutcome:
    from nnlint.project import At

    problem_at = At(_module_path(target), Span.point())

    def nn003(message: str, where: At | None = None) -> TraceOutcome:
        where = where or problem_at
        return TraceOutcome([Diagnostic(where.path, where.span, "NN003", message)])

    try:
        factory = _load_factory(target)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's module may raise anything
        return nn003(f"cannot import '{target.spec}': {_one_line(exc)}")
    from nnlint.graph import fx

    name = target.attribute
    try:
        model, sites = fx.build_model(factory, meta=True)
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        return nn003(f"'{target.spec}' raised while building the model: {_one_line(exc)}",
                     fx._where_raised(exc) if isinstance(exc, BaseException) else None)
    if not isinstance(model, fx.nn.Module):
        return nn003(f"'{target.spec}' returned {type(model).__name__}, not a torch.nn.Module; "
                     "name a module class or a function that returns one")
    fallback = At(_module_path(target), Span.point())
    extra: list[Diagnostic] = []
    try:
        gm, called = fx.trace(model)
    except fx.Untraceable as exc:
        where = exc.where or fallback
        stop = " here" if exc.where is not None else ""
        extra.append(Diagnostic(where.path, where.span, "NN003",
                                f"cannot trace '{target.spec}': {exc.reason}{stop}; only the registered layers' "
                                "attributes were checked (make forward() traceable, or wrap the untraceable "
                                "part with torch.fx.wrap)"))
        graph = fx.module_tree(model, sites, name, fallback)
        codes = [c for c in MODULE_TREE_RULES if c in enabled]
        return _lint(graph, codes, options, fallback, extra)
    if target.input_shape is not None:
        try:
            fx.propagate_shapes(gm, target.input_shape)
        except Exception as exc:  # noqa: BLE001 - a shape the model rejects: lint without shapes
            for node in gm.graph.nodes:
                node.meta.pop("tensor_meta", None)
            # a layer that cannot take the shape: NN106 reports it there (fx attrs["shape_error"])
            if "NN106" not in enabled or not any("nnlint_shape_error" in node.meta for node in gm.graph.nodes):
                extra.append(Diagnostic(fallback.path, fallback.span, "NN003",
                                        f"'{target.spec}' rejects input shape {','.join(map(str, target.input_shape))}: "
                                        f"{_one_line(exc.__cause__ or exc)}; linted without shapes"))
    try:
        graph = fx.lower(gm, model, called, sites, name, fallback)
    except Exception as exc:  # noqa: BLE001 - a front-end bug must not stop the run
        return TraceOutcome(extra + [Diagnostic(fallback.path, fallback.span, "NN000",
                                                f"internal error in the torch.fx front end: {_one_line(exc)}")], True)
    codes = [code for code, rule in all_rules().items()
             if code in enabled and rule.kind == "graph" and "F" in rule.front_ends]
    return _lint(graph, codes, options, fallback, extra)


def _lint(graph: Any, codes: list[str], options: dict[str, dict[str, Any]], fallback: Any, extra: list[Diagnostic]) -> TraceOutcome:
    rules = all_rules()
    outcome = TraceOutcome(list(extra))
    for code in codes:
        rule = rules[code]
        try:
            findings = list(rule().check(graph, options.get(code) or rule.default_options()))
        except RecursionError:
            raise
        except Exception as exc:  # noqa: BLE001 - a rule bug must not lose the other rules
            outcome.diagnostics.append(Diagnostic(fallback.path, fallback.span, "NN000",
                                                  f"internal error in {code} ({rule.name}): {_one_line(exc)}"))
            outcome.internal_error = True
            continue
        outcome.diagnostics += [_diagnostic(f, fallback) for f in findings]
    return outcome


def _place(site: Any, fallback: Any) -> tuple[str, Span]:
    from nnlint.graph import Node
    from nnlint.project import At

    if isinstance(site, Node):
        site = site.site
    if isinstance(site, At):
        return site.path, site.span
    if isinstance(site, Span):
        return fallback.path, site
    return fallback.path, fallback.span


def _diagnostic(finding: Finding, fallback: Any) -> Diagnostic:
    path, span = _place(finding.site, fallback)
    related = tuple(Related(*_place(site, fallback), message) for site, message in finding.related)
    return Diagnostic(path, span, finding.code, finding.message, related)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def trace_diagnostics(targets: list[TraceTarget], settings: Any, settings_for: Callable[[str], Any]) -> tuple[list[Diagnostic], bool]:
    """Every target's diagnostics, each filtered by its own file's selection and noqa comments
    (settings: engine.FileSettings of the run; settings_for: its per-file-ignores).
    Without torch: a ConfigError (usage error, exit 2)."""
    try:
        import torch.fx  # noqa: F401
    except ImportError as exc:
        from nnlint.config import ConfigError

        raise ConfigError(f"--trace needs torch ({exc}); install it first, e.g. pip install 'nnlint[torch]'") from None
    found: list[Diagnostic] = []
    failed = False
    for target in targets:
        outcome = trace_target(target, settings.enabled, settings.options)
        failed |= outcome.internal_error
        found += outcome.diagnostics
    return kept(found, settings, settings_for), failed


def kept(diagnostics: list[Diagnostic], settings: Any, settings_for: Callable[[str], Any]) -> list[Diagnostic]:
    """The diagnostics each file's selection (per-file-ignores) and noqa comments keep."""
    from nnlint.files import Unreadable, decode_source
    from nnlint.suppress import Suppressions, parse_suppressions

    noqa: dict[str, Suppressions] = {}
    found: list[Diagnostic] = []
    for d in diagnostics:
        if d.code not in settings_for(d.path).enabled:
            continue
        if not settings.disable_noqa and os.path.isfile(d.path):
            if d.path not in noqa:
                try:
                    with open(d.path, "rb") as handle:
                        noqa[d.path] = parse_suppressions(decode_source(handle.read()))
                except (OSError, Unreadable):
                    noqa[d.path] = Suppressions()
            if noqa[d.path].suppresses(d.line, d.code):
                continue
        found.append(d)
    return found
