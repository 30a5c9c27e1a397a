"""paths -> files -> per-file diagnostics (pure, parallel) -> per-file-ignores -> sorted diagnostics.

`lint_source` is the per-file step: bytes and settings in, plain data out. It never raises:
bad input becomes NN001/NN002, a rule that raises becomes NN000 and the other rules still run.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterable

import libcst as cst

from nnlint.diagnostics import Diagnostic, Edit, Fix, Related, Span
from nnlint.discovery import _matches, discover
from nnlint.files import Unreadable, decode_source, syntax_error
from nnlint.graph import Node
from nnlint.registry import Finding, all_rules
from nnlint.selection import ignored_codes
from nnlint.suppress import parse_suppressions

PARALLEL_THRESHOLD = 24
GRAPH_SUFFIXES = (".onnx",)  # linted by the graph front end (nnlint.graph.onnx), not as source


@dataclass(frozen=True)
class FileSettings:
    """What the per-file step needs: picklable, no I/O."""

    enabled: frozenset[str]
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    disable_noqa: bool = False
    max_source_bytes: int = 10 * 1024 * 1024
    max_graph_bytes: int = 2 * 1024 * 1024 * 1024

    def without(self, codes: frozenset[str]) -> FileSettings:
        return FileSettings(self.enabled - codes, self.options, self.disable_noqa, self.max_source_bytes, self.max_graph_bytes)


@dataclass
class FileResult:
    diagnostics: list[Diagnostic]
    internal_error: bool = False


@dataclass
class RunResult:
    diagnostics: list[Diagnostic]
    files_checked: int
    internal_error: bool = False


class _Positions:
    """libcst positions, computed only when a file has something to report."""

    def __init__(self, module: cst.Module | None) -> None:
        self.module = module
        self._map: Any = None

    def span(self, site: Any) -> Span:
        if isinstance(site, Node):
            site = site.site
        if isinstance(site, Span):
            return site
        if isinstance(site, cst.CSTNode) and self.module is not None:
            if self._map is None:
                wrapper = cst.metadata.MetadataWrapper(self.module, unsafe_skip_copy=True)
                self._map = wrapper.resolve(cst.metadata.PositionProvider)
            where = self._map.get(site)
            if where is not None:
                return Span(where.start.line, where.start.column + 1, where.end.line, where.end.column + 1)
        return Span.point()


def _internal(path: str, what: str, exc: BaseException) -> Diagnostic:
    detail = str(exc).splitlines()[0] if str(exc) else ""
    return Diagnostic(path, Span.point(), "NN000", f"internal error in {what}: {type(exc).__name__}{': ' + detail if detail else ''}")


def _to_diagnostic(path: str, finding: Finding, positions: _Positions) -> Diagnostic:
    related = tuple(Related(path, positions.span(site), message) for site, message in finding.related)
    fix = finding.fix
    if fix is not None:
        fix = Fix(fix.message, tuple(Edit(positions.span(e.span), e.content) for e in fix.edits), fix.safe)
    message = finding.message
    origin = finding.site.attrs.get("source_location") if isinstance(finding.site, Node) else None
    if origin:  # a graph node that knows the user's source line (ONNX stack trace metadata)
        message = f"{message} (source: {origin[0]}:{origin[1]})"
        related += (Related(origin[0], Span.point(origin[1]), f"{finding.site.label} comes from this line"),)
    return Diagnostic(path, positions.span(finding.site), finding.code, message, related, fix)


def _run_rule(rule: type, subjects: list, options: dict, path: str, positions: _Positions) -> tuple[list[Diagnostic], bool]:
    """One rule over its subjects; an exception becomes NN000 for this file only."""
    try:
        findings = [f for subject in subjects for f in rule().check(subject, options)]
    except RecursionError:
        raise
    except Exception as exc:  # noqa: BLE001 - a rule bug must not lose the file or other rules
        return [_internal(path, f"{rule.code} ({rule.name})", exc)], True
    return [_to_diagnostic(path, f, positions) for f in findings], False


def _source_findings(path: str, text: str, settings: FileSettings) -> tuple[list[Diagnostic], bool]:
    """Run the enabled source-side rules on one decoded, compilable file.

    Rule kinds: "graph" rules see every layer graph of the file, "source" rules the parsed
    SourceFile. The text prefilter (Rule.requires) decides whether the file is parsed at all.
    """
    from nnlint.source import SourceFile, layer_graphs

    rules = [r for code, r in all_rules().items()
             if code in settings.enabled and r.kind in ("graph", "source") and "S" in r.front_ends and r.may_match(text)]
    if not rules:
        return [], False
    try:
        source = SourceFile.parse(path, text)
    except cst.ParserSyntaxError:
        return [], False  # compile() accepted it; libcst cannot read it: stay silent
    positions = _Positions(source.module)
    graphs: list | None = None
    diagnostics, failed = [], False
    for rule in rules:
        if rule.kind == "graph" and graphs is None:
            try:
                graphs = layer_graphs(source)
            except RecursionError:
                raise
            except Exception as exc:  # noqa: BLE001 - a front-end bug must not lose the file
                diagnostics.append(_internal(path, "the source front end", exc))
                failed, graphs = True, []
        subjects = graphs if rule.kind == "graph" else [source]
        found, broke = _run_rule(rule, subjects, settings.options.get(rule.code) or rule.default_options(), path, positions)
        diagnostics += found
        failed |= broke
    return diagnostics, failed


def lint_source(path: str, data: bytes, settings: FileSettings) -> FileResult:
    """The per-file step: bytes in, diagnostics out. Never raises."""
    if path.endswith(GRAPH_SUFFIXES):
        return _graph_file(path, data, settings)
    try:
        text = decode_source(data)
        error = syntax_error(path, text)
        if error is not None:
            diagnostics, failed = [error], False
        else:
            diagnostics, failed = _source_findings(path, text, settings)
    except Unreadable as exc:
        diagnostics, failed, text = [Diagnostic(path, Span.point(), "NN002", str(exc))], False, ""
    except RecursionError:
        diagnostics, failed, text = [Diagnostic(path, Span.point(), "NN002", "code nested too deeply to analyze")], False, ""
    diagnostics = [d for d in diagnostics if d.code in settings.enabled]
    if diagnostics and text and not settings.disable_noqa:
        noqa = parse_suppressions(text)
        diagnostics = [d for d in diagnostics if not noqa.suppresses(d.line, d.code)]
    return FileResult(diagnostics, failed)


def _graph_file(path: str, data: bytes, settings: FileSettings) -> FileResult:
    """The per-file step for an .onnx file: NN003 when it does not load, else the graph rules
    with "O" in their front ends on every graph of the model (main graph, bodies, functions)."""
    from nnlint.graph.onnx import GraphLoadError, load_graphs

    try:
        graphs = load_graphs(data)
    except GraphLoadError as exc:
        problem = Diagnostic(path, Span.point(), "NN003", f"cannot load ONNX model: {exc}")
        return FileResult([problem] if "NN003" in settings.enabled else [])
    except RecursionError:
        problem = Diagnostic(path, Span.point(), "NN002", "graph nested too deeply to analyze")
        return FileResult([problem] if "NN002" in settings.enabled else [])
    except Exception as exc:  # noqa: BLE001 - a front-end bug must not lose the file
        return FileResult([_internal(path, "the ONNX front end", exc)], True)
    rules = [r for code, r in all_rules().items() if code in settings.enabled and r.kind == "graph" and "O" in r.front_ends]
    positions = _Positions(None)
    diagnostics, failed = [], False
    for rule in rules:
        found, broke = _run_rule(rule, graphs, settings.options.get(rule.code) or rule.default_options(), path, positions)
        diagnostics += found
        failed |= broke
    return FileResult([d for d in diagnostics if d.code in settings.enabled], failed)


def read_file(path: str, limit: int, setting: str = "max-source-bytes") -> bytes:
    """The file's bytes; Unreadable (NN002) for OS errors and files over the size limit."""
    try:
        size = os.stat(path).st_size
        if size > limit:
            raise Unreadable(f"file is {size} bytes, over the {limit}-byte limit ({setting})")
        with open(path, "rb") as handle:
            return handle.read()
    except IsADirectoryError:
        raise Unreadable("is a directory") from None
    except OSError as exc:
        raise Unreadable(f"{exc.strerror or exc} (os error {exc.errno})") from None


def lint_file(path: str, settings: FileSettings) -> FileResult:
    try:
        if path.endswith(GRAPH_SUFFIXES):
            data = read_file(path, settings.max_graph_bytes, "max-graph-bytes")
        else:
            data = read_file(path, settings.max_source_bytes)
    except Unreadable as exc:
        problem = Diagnostic(path, Span.point(), "NN002", str(exc))
        return FileResult([problem] if "NN002" in settings.enabled else [])
    return lint_source(path, data, settings)


def _lint_job(job: tuple[str, FileSettings]) -> FileResult:
    return lint_file(*job)


def display_path(path: str) -> str:
    """Relative to the current directory when below it, else as given."""
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    if absolute == cwd or absolute.startswith(cwd.rstrip(os.sep) + os.sep):
        return os.path.relpath(absolute, cwd)
    return path


@dataclass
class Run:
    """One lint run's inputs, already validated and merged (CLI over config)."""

    settings: FileSettings
    root: str
    exclude: tuple[str, ...] = ()
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    force_exclude: bool = False
    jobs: int | None = None

    def settings_for(self, path: str) -> FileSettings:
        dropped: frozenset[str] = frozenset()
        for glob, codes in self.per_file_ignores.items():
            if _matches(path, (glob,), self.root):
                dropped |= ignored_codes(codes, self.settings.enabled)
        return self.settings.without(dropped) if dropped else self.settings

    def lint_paths(self, paths: list[str]) -> RunResult:
        found = discover(paths, self.exclude, self.root, self.force_exclude)
        jobs = [(path, self.settings_for(path)) for path in found.files]
        results = self._map(jobs)
        problems = [d for d in found.problems if d.code in self.settings_for(d.path).enabled]
        return self._collect(results, problems, len(found.files))

    def lint_stdin(self, data: bytes, filename: str) -> RunResult:
        if self.force_exclude and _matches(filename, self.exclude, self.root):
            return RunResult([], 0)
        return self._collect([lint_source(filename, data, self.settings_for(filename))], [], 1)

    def _map(self, jobs: list[tuple[str, FileSettings]]) -> list[FileResult]:
        workers = self.jobs or min(os.cpu_count() or 1, 8)
        if workers <= 1 or len(jobs) < PARALLEL_THRESHOLD:
            return [_lint_job(job) for job in jobs]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(_lint_job, jobs, chunksize=max(1, len(jobs) // (workers * 8))))

    @staticmethod
    def _collect(results: Iterable[FileResult], extra: list[Diagnostic], checked: int) -> RunResult:
        seen: dict[tuple, Diagnostic] = {}
        failed = False
        for result in results:
            failed |= result.internal_error
            for d in result.diagnostics:
                seen.setdefault((d.path, d.code, d.span), d)
        for d in extra:
            seen.setdefault((d.path, d.code, d.span), d)
        diagnostics = sorted(
            (Diagnostic(display_path(d.path), d.span, d.code, d.message,
                        tuple(Related(display_path(r.path), r.span, r.message) for r in d.related), d.fix)
             for d in seen.values()),
            key=Diagnostic.sort_key,
        )
        return RunResult(diagnostics, checked, failed)
