"""The command line: `nnlint [check] PATHS`, `nnlint rules`, `nnlint rule CODE`.

Exit codes: 0 nothing found, 1 findings, 2 usage/config/internal error (like ruff).

`nnlint --version` imports only click; each command imports what it needs when it runs.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from nnlint import __version__
from nnlint.report import FORMATS

if TYPE_CHECKING:
    from nnlint.config import Config
    from nnlint.engine import Run, RunResult

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _split(values: tuple[str, ...]) -> list[str] | None:
    """Comma-separated, repeatable option values as one list (None when not given)."""
    if not values:
        return None
    return [code.strip() for value in values for code in value.split(",") if code.strip()]


def _per_file_ignores(values: tuple[str, ...]) -> dict[str, list[str]]:
    """`--per-file-ignores 'tests/*:NN1,NN2'` -> {glob: codes}."""
    from nnlint.config import ConfigError

    table: dict[str, list[str]] = {}
    for value in values:
        glob, sep, codes = value.rpartition(":")
        if not sep or not glob:
            raise ConfigError(f"--per-file-ignores: expected GLOB:CODES, got '{value}'")
        table.setdefault(glob, []).extend(c.strip() for c in codes.split(",") if c.strip())
    return table


class DefaultGroup(click.Group):
    """`nnlint PATHS` means `nnlint check PATHS`, like ruff before it had subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not any(a in ("--help", "-h", "--version") for a in args[:1]) and (not args or args[0] not in self.commands):
            args = ["check", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="nnlint")
def main() -> None:
    """nnlint: find the silent bugs of neural-network code.

    Run `nnlint [check] [PATHS]...` (check is the default command); `nnlint rules` lists the
    rules and `nnlint rule CODE` explains one.
    """


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (replaces the default set).")
@click.option("--extend-select", multiple=True, help="Rule codes or prefixes to enable on top of the selection.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option("--extend-ignore", multiple=True, help="Rule codes or prefixes to disable on top of --ignore.")
@click.option("--per-file-ignores", multiple=True, help="GLOB:CODES, e.g. 'tests/*:NN1'.")
@click.option("--exclude", multiple=True, help="Glob patterns to skip (replaces the default list).")
@click.option("--extend-exclude", multiple=True, help="Glob patterns to skip on top of the defaults.")
@click.option("--force-exclude", is_flag=True, help="Apply excludes to paths named on the command line too (pre-commit).")
@click.option("--output-format", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--show-source", is_flag=True, help="Show the source line and a caret under each diagnostic.")
@click.option("--statistics", is_flag=True, help="Print a count per rule instead of the diagnostics.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when diagnostics are found.")
@click.option("--disable-noqa", is_flag=True, help="Ignore `# noqa` comments.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Read settings from this file only.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--stdin-filename", help="The path to report for source read from `-`.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: the CPUs this process may use).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), envvar="NNLINT_CACHE_DIR",
              help="Cache directory (default: .nnlint_cache in the project root; env NNLINT_CACHE_DIR).")
@click.option("--clear-cache", is_flag=True, help="Remove the cache before linting.")
@click.option("-q", "--quiet", is_flag=True, help="No summary line on stderr.")
@click.option("--trace", multiple=True, metavar="PKG.MODULE:FACTORY",
              help="Build this model (a class or zero-argument function) and lint its torch.fx trace. Runs your code.")
@click.option("--trace-config", is_flag=True, help="Trace the models of the config's `trace` list. Runs your code.")
@click.option("--input-shape", metavar="1,3,224,224", help="Input shape for --trace: shapes on the meta device.")
@click.option("--fix", is_flag=True, help="Apply safe fixes in place.")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix/--diff, apply unsafe fixes too (they may change behaviour).")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff instead of writing them (exit 1 if any).")
@click.option("--show-fixes", is_flag=True, help="With --fix, list the fixes applied per file.")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: CODE` to every line with a finding (adopting nnlint).")
@click.option("--probe", is_flag=True, help="Run each --trace model once on a random CPU batch (NN6 rules). Runs your code.")
@click.option("--probe-loss", metavar="NAME|PKG.MODULE:FN", help="Loss for --probe when the linted code does not say: "
              "cross_entropy, nll, bce_with_logits, bce, mse, or fn(output, inputs).")
@click.option("--probe-batch", type=click.IntRange(min=1), default=8, show_default=True, help="Batch size for --probe.")
@click.option("--probe-steps", type=click.IntRange(min=0), default=0, show_default=True,
              help="Train this many steps on the probe batch (NN607).")
@click.option("--probe-timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
              help="Seconds each --probe model may take.")
def check(paths: tuple[str, ...], **opts: Any) -> None:
    """Lint PATHS (files or directories; `-` reads stdin). Default: the current directory,
    unless only --trace/--trace-config is given."""
    from nnlint.config import ConfigError
    from nnlint.engine import RunResult

    try:
        run, config = _build_run(opts)
        traces = _trace_targets(opts, config)
        probe = _probe_options(opts) if opts["probe"] else None
        if traces and not paths:
            paths = ()
        elif not paths:
            paths = (".",)
        if "-" in paths:
            data = sys.stdin.buffer.read()
            result = run.lint_stdin(data, opts["stdin_filename"] or "-")
            others = [p for p in paths if p != "-"]
            if others:
                more = run.lint_paths(others)
                result = RunResult(sorted(result.diagnostics + more.diagnostics, key=lambda d: d.sort_key()),
                                   result.files_checked + more.files_checked,
                                   result.internal_error or more.internal_error)
            stdin_text = data
        else:
            result = run.lint_paths(list(paths)) if paths else RunResult([], 0)
            stdin_text = None
        if traces:
            result = _merged(result, run.lint_traces(traces))
        if opts["probe"]:
            probed, notes = run.lint_probes(traces, probe)
            result = _merged(result, probed)
            for note in notes:
                click.echo(f"nnlint: {note}", err=True)
        if opts["add_noqa"]:
            _add_noqa(result, opts)
        fixed: list = []
        if opts["fix"] or opts["diff"]:
            result, fixed = _fix(run, result, list(paths), stdin_text, opts)
    except ConfigError as exc:
        click.echo(f"nnlint: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    if run.progress is not None:
        run.progress.close()
    _print(result, opts, stdin_text, fixed, config.doc_url)
    if result.internal_error:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if result.diagnostics and not opts["exit_zero"] else EXIT_CLEAN)


def _probe_options(opts: dict[str, Any]) -> Any:
    from nnlint.config import ConfigError
    from nnlint.probe import ProbeOptions, parse_loss
    from nnlint.trace import TraceSpecError

    try:
        loss = parse_loss(opts["probe_loss"]) if opts["probe_loss"] else None
    except TraceSpecError as exc:
        raise ConfigError(f"--probe-loss: {exc}") from None
    return ProbeOptions(loss, opts["probe_batch"], opts["probe_steps"], opts["probe_timeout"])


def _trace_targets(opts: dict[str, Any], config: Config) -> list:
    """The models to trace: --trace values, and the config's `trace` list only with --trace-config."""
    from nnlint.config import ConfigError

    if not opts["trace"] and not opts["trace_config"]:
        if opts["input_shape"] or opts["probe"]:
            raise ConfigError(f"{'--probe' if opts['probe'] else '--input-shape'} needs --trace or --trace-config")
        return []
    from dataclasses import replace

    from nnlint.trace import TraceSpecError, parse_shape, parse_target

    try:
        shape = parse_shape(opts["input_shape"]) if opts["input_shape"] else None
    except TraceSpecError as exc:
        raise ConfigError(f"--input-shape: {exc}") from None
    try:
        targets = [parse_target(spec, shape) for spec in opts["trace"]]
    except TraceSpecError as exc:
        raise ConfigError(f"--trace: {exc}") from None
    if opts["trace_config"]:
        if not config.trace:
            raise ConfigError(f"--trace-config: no `trace` list in {config.path or 'any configuration file'}")
        targets += [t if t.input_shape is not None else replace(t, input_shape=shape) for t in config.trace]
    return targets


def _merged(first: RunResult, second: RunResult) -> RunResult:
    from nnlint.engine import RunResult

    seen = {(d.path, d.cell, d.code, d.span): d for d in first.diagnostics + second.diagnostics}
    return RunResult(sorted(seen.values(), key=lambda d: d.sort_key()), first.files_checked + second.files_checked,
                     first.internal_error or second.internal_error)


def _build_run(opts: dict[str, Any]) -> tuple[Run, Config]:
    from nnlint.config import discover_config, validate_codes
    from nnlint.engine import FileSettings, Run
    from nnlint.progress import Progress
    from nnlint.selection import resolve_selection

    config = discover_config(opts["config_file"], opts["isolated"])
    cli = {key: _split(opts[key]) for key in ("select", "extend_select", "ignore", "extend_ignore", "exclude", "extend_exclude")}
    for key in ("select", "extend_select", "ignore", "extend_ignore"):
        if cli[key] is not None:
            validate_codes(cli[key], f"--{key.replace('_', '-')}")
    per_file = {**config.per_file_ignores, **_per_file_ignores(opts["per_file_ignores"])}
    for glob, codes in per_file.items():
        validate_codes(codes, f"--per-file-ignores '{glob}'")
    enabled = resolve_selection(
        cli["select"] if cli["select"] is not None else config.select,
        config.extend_select + (cli["extend_select"] or []),
        cli["ignore"] if cli["ignore"] is not None else config.ignore,
        config.extend_ignore + (cli["extend_ignore"] or []),
    )
    exclude = tuple(cli["exclude"] if cli["exclude"] is not None else config.exclude)
    exclude += tuple(config.extend_exclude) + tuple(cli["extend_exclude"] or ())
    settings = FileSettings(enabled, config.rule_options, opts["disable_noqa"], config.max_source_bytes, config.max_graph_bytes)
    run = Run(settings, str(config.root), exclude, per_file, opts["force_exclude"], opts["jobs"])
    run.cache = _open_cache(opts, config)
    run.progress = Progress.for_terminal(opts["quiet"])
    return run, config


def _cache_directory(cache_dir: str | None, config: Config) -> str:
    """--cache-dir / NNLINT_CACHE_DIR, else the config's cache-dir (relative to the config file),
    else .nnlint_cache in the project root."""
    from nnlint.cache import DIRECTORY_NAME
    from nnlint.context import project_root

    if cache_dir:
        return cache_dir
    if config.cache_dir:
        return os.path.join(str(config.root), config.cache_dir)
    return os.path.join(str(config.root) if config.path else project_root(os.getcwd()), DIRECTORY_NAME)


def _open_cache(opts: dict[str, Any], config: Config) -> Any:
    """The run's cache (nnlint.cache.Cache), or None: --no-cache, or a directory that cannot be
    written (one warning; the run goes on without a cache)."""
    from nnlint.cache import Cache, CacheUnavailable, clear
    from nnlint.context import project_root

    directory = _cache_directory(opts["cache_dir"], config)
    if opts["clear_cache"]:
        clear(directory)
    if opts["no_cache"]:
        return None
    root = str(config.root) if config.path else project_root(os.getcwd())
    try:
        return Cache.open(directory, root)
    except CacheUnavailable as exc:
        click.echo(f"nnlint: warning: cannot use the cache directory {directory}: {exc}; running without a cache", err=True)
        return None


def _print(result: RunResult, opts: dict[str, Any], stdin: bytes | None, fixed: list = (),
           doc_url: str | None = None) -> None:
    if opts["fix"] and stdin is not None:
        pass  # the fixed source went to stdout
    elif opts["statistics"]:
        from nnlint.report.text import format_statistics

        click.echo(format_statistics(result.diagnostics), nl=False)
    else:
        source_line = _SourceLines(stdin, opts["stdin_filename"] or "-").line  # read only when a format asks
        from nnlint.report import formatter

        click.echo(formatter(opts["output_format"])(result.diagnostics, show_source=opts["show_source"],
                                                    source_line=source_line, doc_url=doc_url,
                                                    root=_repository_root()), nl=False)
    if opts["show_fixes"] and fixed:
        from nnlint.report.text import format_fixes

        click.echo(format_fixes(fixed), nl=False)
    if not opts["quiet"]:
        click.echo(_summary(result, fixed if opts["fix"] else None, opts["unsafe_fixes"]), err=True)


def _summary(result: RunResult, fixed: list | None = None, unsafe: bool = False) -> str:
    files = len({d.path for d in result.diagnostics})
    checked = f"{result.files_checked} file{'s' if result.files_checked != 1 else ''} checked"
    if fixed:
        total = len(fixed) + len(result.diagnostics)
        return (f"Found {total} problem{'s' if total != 1 else ''} ({len(fixed)} fixed, "
                f"{len(result.diagnostics)} remaining) ({checked}).")
    if not result.diagnostics:
        return f"All checks passed ({checked})."
    problems = len(result.diagnostics)
    summary = (f"Found {problems} problem{'s' if problems != 1 else ''} in {files} file{'s' if files != 1 else ''} "
               f"({result.files_checked} checked).")
    return summary + _fixable_hint(result.diagnostics, unsafe)


def _fixable_hint(diagnostics: list, unsafe: bool) -> str:
    """ruff's hint: how many findings --fix would fix (only when some would: unsafe-only stays quiet)."""
    fixable = sum(1 for d in diagnostics if d.fix is not None and (d.fix.safe or unsafe))
    hidden = sum(1 for d in diagnostics if d.fix is not None and not d.fix.safe and not unsafe)
    extra = (f" ({hidden} hidden fix{'es' if hidden != 1 else ''} can be enabled with the `--unsafe-fixes` option)"
             if hidden else "")
    return f"\n[*] {fixable} fixable with the `--fix` option{extra}." if fixable else ""


def _fix(run: Run, result: RunResult, paths: list[str], stdin: bytes | None, opts: dict[str, Any]) -> tuple[RunResult, list]:
    """--fix/--diff: fix each linted file that has a fix to offer (never a context file), then
    lint again (--fix) or print the diff (--diff, exits). Returns the new result and the fixed diagnostics."""
    import difflib

    from nnlint.editable import editable
    from nnlint.engine import RunResult, display_path
    from nnlint.files import Unreadable
    from nnlint.fixes import apply_fixes

    unsafe = opts["unsafe_fixes"]
    stdin_name = opts["stdin_filename"] or "-"
    linted = {display_path(p): p for p in result.linted}
    if stdin is not None:
        linted[stdin_name] = stdin_name
    wanted = sorted({d.path for d in result.diagnostics if d.fix is not None and (d.fix.safe or unsafe) and d.path in linted})
    fixed, problems, diffs, changed = [], [], [], []
    for path in wanted:
        source = linted[path]
        try:
            data = stdin if source == stdin_name and stdin is not None else _read_linted(source, run)
            doc = editable(source, data)
        except Unreadable:
            continue
        found: list = []
        new, applied = apply_fixes(doc.lint_path, doc.text, run.settings_for(source), unsafe, found)
        problems += [doc.reported(d) for d in found]
        encoded = doc.write(new) if new != doc.text else None
        if encoded is None:
            continue
        fixed += [doc.reported(d) for d in applied]
        if opts["diff"]:
            before, after = doc.text, new
            if doc.notebook is not None:  # a notebook's diff is the one of its JSON, as written
                before, after = data.decode("utf-8-sig"), encoded.decode("utf-8-sig")
            diffs.append("".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), path, path)))
        elif source == stdin_name and stdin is not None:
            stdin = encoded
        else:
            changed.append((source, encoded))
    if opts["diff"]:
        click.echo("".join(diffs), nl=False)
        if not opts["quiet"]:
            n = len(fixed)
            click.echo(f"Would fix {n} problem{'s' if n != 1 else ''}." if n else "No problems would be fixed.", err=True)
        sys.exit(EXIT_FINDINGS if diffs else EXIT_ERROR if result.internal_error else EXIT_CLEAN)
    for source, data in changed:
        with open(source, "wb") as handle:
            handle.write(data)
    if stdin is not None and "-" in paths:
        sys.stdout.buffer.write(stdin)
        sys.stdout.flush()
        after = run.lint_stdin(stdin, stdin_name)
    else:
        after = run.lint_paths(paths) if changed else result
    if problems:
        after = RunResult(sorted(after.diagnostics + problems, key=lambda d: d.sort_key()), after.files_checked,
                          True, after.linted)
    return after, [_displayed(d) for d in fixed]


def _read_linted(path: str, run: Run | None) -> bytes:
    """A linted file's bytes for editing (a notebook's stored outputs do not count to the limit)."""
    from nnlint.engine import read_file

    return read_file(path, 1 << 31 if run is None or path.endswith(".ipynb") else run.settings.max_source_bytes)


def _displayed(d):
    from dataclasses import replace

    from nnlint.engine import display_path

    return replace(d, path=display_path(d.path))


def _add_noqa(result: RunResult, opts: dict[str, Any]) -> None:
    """--add-noqa: write `# noqa: CODES` on every reported line of the linted files, then exit 0."""
    from nnlint.editable import editable
    from nnlint.engine import display_path
    from nnlint.files import Unreadable
    from nnlint.fixes import add_noqa_lines

    linted = {display_path(p): p for p in result.linted}
    reported: dict[str, list] = {}
    for d in result.diagnostics:
        if d.path in linted and not d.code.startswith("NN0") and not d.path.endswith(".onnx"):
            reported.setdefault(d.path, []).append(d)
    added = 0
    for path, diagnostics in sorted(reported.items()):
        try:
            doc = editable(linted[path], _read_linted(linted[path], None))
        except Unreadable:
            continue
        wanted: dict[int, set[str]] = {}
        for d in diagnostics:
            wanted.setdefault(doc.text_line(d), set()).add(d.code)
        new, count = add_noqa_lines(doc.text, wanted)
        encoded = doc.write(new) if new != doc.text else None
        if encoded is not None:
            with open(linted[path], "wb") as handle:
                handle.write(encoded)
            added += count
    if not opts["quiet"]:
        click.echo(f"Added {added} noqa directive{'s' if added != 1 else ''}.", err=True)
    sys.exit(EXIT_ERROR if result.internal_error else EXIT_CLEAN)


def _repository_root() -> str:
    """What CI reports (sarif, github, gitlab) make paths relative to: the enclosing git
    checkout, else the current directory."""
    from pathlib import Path

    cwd = Path.cwd()
    return str(next((d for d in (cwd, *cwd.parents) if (d / ".git").exists()), cwd))


class _SourceLines:
    """Source lines for --show-source, decoded the way the linter decoded them."""

    def __init__(self, stdin: bytes | None, stdin_name: str) -> None:
        self.stdin, self.stdin_name = stdin, stdin_name
        self.cache: dict[tuple[str, int | None], list[str] | None] = {}

    def line(self, path: str, number: int, cell: int | None = None) -> str | None:
        if path.endswith(".onnx"):
            return None  # a graph file: its "line" is a node index, there is no text to show
        key = (path, cell)
        if key not in self.cache:
            from nnlint.engine import read_file
            from nnlint.files import Unreadable, decode_source, source_lines
            from nnlint.notebook import cell_lines

            try:
                data = self.stdin if self.stdin is not None and path == self.stdin_name else read_file(path, 1 << 30)
                self.cache[key] = cell_lines(data, cell) if cell is not None else source_lines(decode_source(data))
            except Unreadable:
                self.cache[key] = None
        lines = self.cache[key]
        return lines[number - 1] if lines is not None and 0 < number <= len(lines) else None


@main.command("clean")
@click.option("--cache-dir", type=click.Path(file_okay=False), envvar="NNLINT_CACHE_DIR", help="The cache directory to remove.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Read settings from this file only.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
def clean_command(cache_dir: str | None, config_file: str | None, isolated: bool) -> None:
    """Remove the cache directory (only one that nnlint created)."""
    from nnlint.cache import clear
    from nnlint.config import ConfigError, discover_config

    try:
        directory = _cache_directory(cache_dir, discover_config(config_file, isolated))
    except ConfigError as exc:
        click.echo(f"nnlint: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    if clear(directory):
        click.echo(f"Removed {directory}", err=True)


@main.command("rules")
@click.option("--output-format", type=click.Choice(("text", "json")), default="text", show_default=True)
def rules_command(output_format: str) -> None:
    """List every rule: code, name, severity, default state, front ends, fixable."""
    import json

    from nnlint.registry import FRONT_ENDS, all_rules

    rows = [
        {"code": r.code, "name": r.name, "severity": r.severity.value, "default": r.default_enabled() or r.code.startswith("NN0"),
         "front_ends": [FRONT_ENDS[f] for f in r.front_ends], "fixable": r.fixable, "summary": r.summary}
        for r in all_rules().values()
    ]
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(r["name"]) for r in rows)
    click.echo(f"{'code':<6} {'name':<{width}} sev default  front-ends  fix")
    for r in rows:
        fe = ",".join(f for f in FRONT_ENDS if FRONT_ENDS[f] in r["front_ends"])
        click.echo(f"{r['code']:<6} {r['name']:<{width}} {r['severity']:<3} {'on' if r['default'] else 'off':<8} "
                   f"{fe:<11} {'yes' if r['fixable'] else ''}".rstrip())
    click.echo("front ends: S source, F torch.fx (--trace), O onnx, P probe (runs only with --probe --trace)")


@main.command("rule")
@click.argument("code")
def rule_command(code: str) -> None:
    """Print the page of one rule (why it matters, bad and good examples, options)."""
    from nnlint.docs import rule_page
    from nnlint.registry import get_rule

    rule = get_rule(code)
    if rule is None:
        click.echo(f"nnlint: error: unknown rule code '{code}'", err=True)
        sys.exit(EXIT_ERROR)
    page = rule_page(rule.code)
    click.echo(page if page is not None else f"{rule.code} ({rule.name})\n\n{rule.summary}\n", nl=page is None)


@main.command("lsp")
def lsp_command() -> None:
    """Run the language server on stdio (for editors; needs `pip install 'nnlint[lsp]'`)."""
    try:
        from nnlint.lsp import serve
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("pygls", "lsprotocol", "cattrs", "attrs"):
            raise
        click.echo(f"nnlint: error: the language server needs pygls 2 and lsprotocol ({exc.name} is missing): "
                   "install nnlint[lsp] (pip install 'nnlint[lsp]')", err=True)
        sys.exit(EXIT_ERROR)
    serve()
