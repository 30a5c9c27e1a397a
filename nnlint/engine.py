"""paths -> files -> per-file diagnostics (pure, parallel) -> per-file-ignores -> sorted diagnostics.

`lint_source` is the per-file step: bytes and settings in, plain data out. It never raises:
bad input becomes NN001/NN002, a rule that raises becomes NN000 and the other rules still run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from nnlint import lazy_libcst as cst

from nnlint.diagnostics import Diagnostic, Edit, Fix, Related, Span
from nnlint.discovery import _excluded_with_parents, _matches, discover
from nnlint.files import Unreadable, decode_source, syntax_error
from nnlint.graph import Node
from nnlint.notebook import NOTEBOOK_SUFFIX, in_cells, read_notebook
from nnlint.registry import Finding, all_rules
from nnlint.selection import ignored_codes
from nnlint.suppress import Suppressions, parse_suppressions

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
    # For the project pass (nnlint.project): the file's facts (nnlint.source.facts.FileFacts,
    # plain picklable data, a function of path + bytes only) and its noqa comments.
    facts: Any = None
    suppressions: Suppressions | None = None
    # A notebook's cell map (nnlint.notebook.NotebookSource): project-pass findings in this file
    # are moved into its cells too.
    notebook: Any = None


@dataclass
class RunResult:
    diagnostics: list[Diagnostic]
    files_checked: int
    internal_error: bool = False
    # The files this run linted (as named or found; never a file read only for context): the
    # only files --fix may edit.
    linted: list[str] = field(default_factory=list)


class _Positions:
    """Where a finding's site is: a Span as given, a graph Node through its site, a libcst node
    through the file's (lazily computed, shared) positions."""

    def __init__(self, source: Any = None) -> None:
        self.source = source  # nnlint.source.SourceFile, or None for graph files

    def span(self, site: Any) -> Span:
        if isinstance(site, Node):
            site = site.site
        if isinstance(site, Span):
            return site
        if isinstance(site, cst.CSTNode) and self.source is not None:
            return self.source.span(site)
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
    # One place found twice (a layer lowered in two unrolled loop iterations) is one diagnostic.
    unique: dict[tuple, Diagnostic] = {}
    for finding in findings:
        d = _to_diagnostic(path, finding, positions)
        unique.setdefault((d.code, d.span), d)
    return list(unique.values()), False


def _source_findings(path: str, text: str, settings: FileSettings, facts_out: list | None = None) -> tuple[list[Diagnostic], bool]:
    """Run the enabled source-side rules on one decoded, compilable file.

    Rule kinds: "graph" rules see every layer graph of the file, "source" rules the parsed
    SourceFile. The text prefilter (Rule.requires) decides whether the file is parsed at all.
    """
    from nnlint.source import SourceFile, layer_graphs

    rules = [r for code, r in all_rules().items()
             if code in settings.enabled and r.kind in ("graph", "source") and "S" in r.front_ends and r.may_match(text)]
    want_facts = facts_out is not None and _wants_facts(path, text, settings)
    if not rules and not want_facts:
        return [], False
    try:
        source = SourceFile.parse(path, text)
    except cst.ParserSyntaxError:
        return [], False  # compile() accepted it; libcst cannot read it: stay silent
    positions = _Positions(source)
    graphs: list | None = None
    diagnostics, failed = [], False
    if want_facts:
        try:
            from nnlint.source.facts import extract_facts

            facts_out.append(extract_facts(source))
        except RecursionError:
            raise
        except Exception as exc:  # noqa: BLE001 - a facts bug must not lose the file
            diagnostics.append(_internal(path, "the facts extractor", exc))
            failed = True
    for rule in rules:
        if rule.kind == "graph" and not rule.reads_source and graphs is None:
            try:
                graphs = layer_graphs(source)
            except RecursionError:
                raise
            except Exception as exc:  # noqa: BLE001 - a front-end bug must not lose the file
                diagnostics.append(_internal(path, "the source front end", exc))
                failed, graphs = True, []
        subjects = graphs if rule.kind == "graph" and not rule.reads_source else [source]
        found, broke = _run_rule(rule, subjects, settings.options.get(rule.code) or rule.default_options(), path, positions)
        diagnostics += found
        failed |= broke
    return diagnostics, failed


def lint_source(path: str, data: bytes, settings: FileSettings) -> FileResult:
    """The per-file step: bytes in, diagnostics out. Never raises."""
    if path.endswith(GRAPH_SUFFIXES):
        return _graph_file(path, data, settings)
    if path.endswith(NOTEBOOK_SUFFIX):
        return _notebook_file(path, data, settings)
    try:
        text = decode_source(data)
        error = syntax_error(path, text)
    except Unreadable as exc:
        return _lint_text(path, "", settings, [Diagnostic(path, Span.point(), "NN002", str(exc))])
    except RecursionError:
        return _lint_text(path, "", settings, [Diagnostic(path, Span.point(), "NN002", "code nested too deeply to analyze")])
    return _lint_text(path, text, settings, [error] if error is not None else None)


def _notebook_file(path: str, data: bytes, settings: FileSettings) -> FileResult:
    """A notebook's code cells are linted as one module, then positions move into their cells.
    Cells that do not compile come with their NN001 and are analysed as if empty."""
    try:
        notebook = read_notebook(path, data)
        if len(notebook.text.encode("utf-8")) > settings.max_source_bytes:
            raise Unreadable(f"code cells are {len(notebook.text.encode('utf-8'))} bytes, "
                             f"over the {settings.max_source_bytes}-byte limit (max-source-bytes)")
    except Unreadable as exc:
        problem = Diagnostic(path, Span.point(), "NN002", str(exc))
        return FileResult([problem] if "NN002" in settings.enabled else [])
    if not notebook.python:
        return FileResult([])
    result = _lint_text(path, notebook.text, settings, list(notebook.errors), always_analyse=True)
    result.diagnostics = [in_cells(d, {path: notebook}) for d in result.diagnostics]
    result.notebook = notebook
    return result


def _lint_text(path: str, text: str, settings: FileSettings, problems: list[Diagnostic] | None,
               always_analyse: bool = False) -> FileResult:
    """Rules, noqa and facts for decoded source. `problems` (NN001/NN002) stop the analysis of a
    .py file; a notebook's broken cells are already blanked, so its other cells are analysed."""
    facts: list = []
    failed = False
    diagnostics = list(problems or [])
    if text and (not problems or always_analyse):
        try:
            found, failed = _source_findings(path, text, settings, facts)
            diagnostics += found
        except RecursionError:
            diagnostics.append(Diagnostic(path, Span.point(), "NN002", "code nested too deeply to analyze"))
            text = ""
    diagnostics = [d for d in diagnostics if d.code in settings.enabled]
    if diagnostics and text and not settings.disable_noqa:
        noqa = parse_suppressions(text)
        diagnostics = [d for d in diagnostics if not noqa.suppresses(d.line, d.code)]
    result = FileResult(diagnostics, failed)
    if facts:
        result.facts = facts[0]
        result.suppressions = parse_suppressions(text) if "noqa" in text.lower() and not settings.disable_noqa else Suppressions()
    return result


def _wants_facts(path: str, text: str, settings: FileSettings) -> bool:
    """Facts are extracted when a project rule is enabled and the text can hold any (the
    markers live in nnlint.source.facts); they depend on path and text only (cacheable)."""
    if not any(r.kind in ("project", "probe") or r.project_pass for code, r in all_rules().items() if code in settings.enabled):
        return False
    from nnlint.source.facts import may_have_facts

    return may_have_facts(path, text)


def project_diagnostics(files: list[tuple[str, FileResult]], settings_for: Callable[[str], FileSettings],
                        settings: FileSettings, roots: Iterable[str] = ()) -> tuple[list[Diagnostic], bool]:
    """The project pass: "project" rules see every file's facts at once (nnlint.project.Project).
    A finding lands in its own file: that file's per-file-ignores and noqa apply."""
    rules = [r for code, r in all_rules().items() if code in settings.enabled and (r.kind == "project" or r.project_pass)]
    with_facts = [(path, result) for path, result in files if result.facts is not None]
    if not rules or not with_facts:
        return [], False
    from nnlint.project import Project

    project = Project({path: result.facts for path, result in with_facts}, roots)
    noqa = {path: result.suppressions for path, result in with_facts}
    notebooks = {path: result.notebook for path, result in files if result.notebook is not None}
    diagnostics, failed = [], False
    for rule in rules:
        try:
            check = rule().check if rule.kind == "project" else rule().check_project
            findings = list(check(project, settings.options.get(rule.code) or rule.default_options()))
        except RecursionError:
            raise
        except Exception as exc:  # noqa: BLE001 - a rule bug must not lose the run
            diagnostics.append(_internal(with_facts[0][0], f"{rule.code} ({rule.name}) in the project pass", exc))
            failed = True
            continue
        for finding in findings:
            d = project.diagnostic(finding)
            if d.code not in settings_for(d.path).enabled:
                continue
            marks = noqa.get(d.path)
            if marks is not None and not settings.disable_noqa and marks.suppresses(d.line, d.code):
                continue
            diagnostics.append(in_cells(d, notebooks) if notebooks else d)
    return diagnostics, failed


def lint_sources(files: list[tuple[str, bytes]], settings: FileSettings) -> list[Diagnostic]:
    """Per-file steps plus the project pass over in-memory files (tests, the docs harness)."""
    results = [(path, lint_source(path, data, settings)) for path, data in files]
    found, _ = project_diagnostics(results, lambda path: settings, settings)
    return sorted([d for _, r in results for d in r.diagnostics] + found, key=Diagnostic.sort_key)


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


def _read_for(path: str, settings: FileSettings) -> bytes:
    if path.endswith(GRAPH_SUFFIXES + (NOTEBOOK_SUFFIX,)):  # a notebook's outputs do not count:
        return read_file(path, settings.max_graph_bytes, "max-graph-bytes")  # its code is checked later
    return read_file(path, settings.max_source_bytes)


def lint_file(path: str, settings: FileSettings, cache: Any = None, data: bytes | None = None,
              signature: tuple | None = None) -> FileResult:
    """Read (unless `data` is given) and lint one file; with a cache (nnlint.cache.Cache) the
    result is stored there, with the file's stat `signature` taken before `data` was read."""
    if data is None and cache is not None:
        from nnlint.cache import file_signature

        signature = file_signature(path)
    try:
        data = _read_for(path, settings) if data is None else data
    except Unreadable as exc:
        problem = Diagnostic(path, Span.point(), "NN002", str(exc))
        return FileResult([problem] if "NN002" in settings.enabled else [])
    result = lint_source(path, data, settings)
    if cache is not None and not result.internal_error:
        cache.put(path, data, settings, result, signature)
    return result


def cached_result(path: str, settings: FileSettings, cache: Any) -> tuple[FileResult | None, bytes | None, tuple | None]:
    """The cached result for the file as it is on disk now (or None), the bytes if they were
    read (a file whose stat matches its entry is not), and its stat signature."""
    try:
        return cache.lookup(path, settings, lambda: _read_for(path, settings))
    except Unreadable:
        return None, None, None


def _lint_job(job: tuple[str, FileSettings, Any, bytes | None, tuple | None]) -> FileResult:
    """The last safety net: whatever escapes the per-file step is NN000 for that file only."""
    try:
        return lint_file(*job)
    except Exception as exc:  # noqa: BLE001 - never lose the other files to one bug
        return FileResult([_internal(job[0], "nnlint", exc)], internal_error=True)


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
    # the facts of the last lint_paths/lint_stdin ({path: FileFacts}) and its roots: --probe reads them
    facts: dict[str, Any] = field(default_factory=dict)
    roots: list[str] = field(default_factory=list)
    cache: Any = None  # nnlint.cache.Cache: per-file results by content hash (None: no cache)
    progress: Callable[[int, int], None] | None = None  # called with (files done, total)

    def settings_for(self, path: str) -> FileSettings:
        dropped: frozenset[str] = frozenset()
        for glob, codes in self.per_file_ignores.items():
            if _matches(path, (glob,), self.root):
                dropped |= ignored_codes(codes, self.settings.enabled)
        return self.settings.without(dropped) if dropped else self.settings

    def lint_paths(self, paths: list[str]) -> RunResult:
        found = discover(paths, self.exclude, self.root, self.force_exclude)
        jobs = [(path, self.settings_for(path)) for path in found.files]
        results = self._lint_files(jobs)
        problems = [d for d in found.problems if d.code in self.settings_for(d.path).enabled]
        roots = [p for p in paths if os.path.isdir(p)]
        problems += self._project([path for path, _ in jobs], results, roots)
        result = self._collect(results, problems, len(found.files))
        result.linted = list(found.files)
        return result

    def lint_stdin(self, data: bytes, filename: str) -> RunResult:
        if self.force_exclude and _matches(filename, self.exclude, self.root):
            return RunResult([], 0)
        result = lint_source(filename, data, self.settings_for(filename))
        return self._collect([result], self._project([filename], [result]), 1)

    def lint_traces(self, targets: list) -> RunResult:
        """Build and trace the models the command line names (nnlint.trace.TraceTarget; this runs
        the user's code and imports torch: only `--trace`/`--trace-config` call it). Diagnostics
        land in the user's files, under those files' per-file-ignores and noqa comments."""
        from nnlint.trace import trace_diagnostics

        found, failed = trace_diagnostics(targets, self.settings, self.settings_for)
        result = self._collect([], found, len(targets))
        result.internal_error = failed
        return result

    def lint_probes(self, targets: list, options: Any) -> tuple[RunResult, list[str]]:
        """--probe: run each named model once on a random batch (nnlint.probe; runs the user's code
        in a child process) and judge it with the NN6 rules, using the facts of the files linted
        in this run (which loss the training code applies). Also returns notes for stderr."""
        from nnlint.probe import probe_targets
        from nnlint.trace import kept

        outcome = probe_targets([(t, options) for t in targets], self.settings.enabled, self.settings.options, self.facts, self.roots)
        result = self._collect([], kept(outcome.diagnostics, self.settings, self.settings_for), 0)  # --trace counted them
        result.internal_error = outcome.internal_error
        return result, outcome.notes

    def _project(self, paths: list[str], results: list[FileResult], roots: list[str] = ()) -> list[Diagnostic]:
        """The project pass over the linted files and their context files (nnlint.context): the
        context's facts are used, its own diagnostics are not reported."""
        context = self._context(paths, results)
        paths, results = [*paths, *context], [*results, *context.values()]
        self.facts.update((path, r.facts) for path, r in zip(paths, results) if r.facts is not None)
        self.roots = sorted(set(self.roots) | set(roots))
        found, failed = project_diagnostics(list(zip(paths, results)), self.settings_for, self.settings, roots)
        if failed and results:
            results[0].internal_error = True
        hidden = {os.path.abspath(path) for path in context}
        return [d for d in found if os.path.abspath(d.path) not in hidden]

    def _context(self, paths: list[str], results: list[FileResult]) -> dict[str, FileResult]:
        """The project files the linted files import, linted (or taken from the cache) for their facts."""
        from nnlint.context import context_files

        def read(new: list[str]) -> list[FileResult]:
            return self._lint_files([(path, self.settings_for(path)) for path in new], report=False)

        return context_files({path: r.facts for path, r in zip(paths, results)}, read,
                             lambda path: _excluded_with_parents(path, self.exclude, self.root))

    def _lint_files(self, jobs: list[tuple[str, FileSettings]], report: bool = True) -> list[FileResult]:
        """Per-file results in job order: cache hits first (in this process, no parsing), then
        the rest in a process pool when there are enough of them."""
        looked_up = [cached_result(path, settings, self.cache) if self.cache is not None else (None, None, None)
                     for path, settings in jobs]
        results = [result for result, _, _ in looked_up]
        todo = [i for i, result in enumerate(results) if result is None]
        hits = len(jobs) - len(todo)
        done = (lambda n: self.progress(hits + n, len(jobs))) if self.progress is not None and report else None
        work = [(*jobs[i], self.cache, *looked_up[i][1:]) for i in todo]
        workers = 1
        if len(work) >= PARALLEL_THRESHOLD:  # (a warm run never imports the process pool)
            from nnlint.workers import available_cpus

            workers = self.jobs or available_cpus()
        if workers <= 1:
            computed = []
            for job in work:
                computed.append(_lint_job(job))
                if done is not None:
                    done(len(computed))
        else:
            from nnlint.workers import map_in_processes

            computed = map_in_processes(_lint_job, work, workers, done)
        for i, result in zip(todo, computed):
            results[i] = result
        return results  # type: ignore[return-value]

    @staticmethod
    def _collect(results: Iterable[FileResult], extra: list[Diagnostic], checked: int) -> RunResult:
        seen: dict[tuple, Diagnostic] = {}
        failed = False
        for result in results:
            failed |= result.internal_error
            for d in result.diagnostics:
                seen.setdefault((d.path, d.cell, d.code, d.span), d)
        for d in extra:
            seen.setdefault((d.path, d.cell, d.code, d.span), d)
        diagnostics = sorted(
            (replace(d, path=display_path(d.path), related=tuple(replace(r, path=display_path(r.path)) for r in d.related))
             for d in seen.values()),
            key=Diagnostic.sort_key,
        )
        return RunResult(diagnostics, checked, failed)
