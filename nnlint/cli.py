"""The command line: `nnlint [check] PATHS`, `nnlint rules`, `nnlint rule CODE`.

Exit codes: 0 nothing found, 1 findings, 2 usage/config/internal error (like ruff).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from nnlint import __version__
from nnlint.config import Config, ConfigError, discover_config, validate_codes
from nnlint.engine import FileSettings, Run, RunResult
from nnlint.registry import FRONT_ENDS, all_rules, get_rule
from nnlint.report import FORMATS, formatter
from nnlint.selection import resolve_selection

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _split(values: tuple[str, ...]) -> list[str] | None:
    """Comma-separated, repeatable option values as one list (None when not given)."""
    if not values:
        return None
    return [code.strip() for value in values for code in value.split(",") if code.strip()]


def _per_file_ignores(values: tuple[str, ...]) -> dict[str, list[str]]:
    """`--per-file-ignores 'tests/*:NN1,NN2'` -> {glob: codes}."""
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
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: CPU count).")
@click.option("-q", "--quiet", is_flag=True, help="No summary line on stderr.")
@click.option("--trace", multiple=True, metavar="PKG.MODULE:FACTORY",
              help="Build this model (a class or zero-argument function) and lint its torch.fx trace. Runs your code.")
@click.option("--trace-config", is_flag=True, help="Trace the models of the config's `trace` list. Runs your code.")
@click.option("--input-shape", metavar="1,3,224,224", help="Input shape for --trace: shapes on the meta device.")
def check(paths: tuple[str, ...], **opts: Any) -> None:
    """Lint PATHS (files or directories; `-` reads stdin). Default: the current directory,
    unless only --trace/--trace-config is given."""
    try:
        run, config = _build_run(opts)
        traces = _trace_targets(opts, config)
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
    except ConfigError as exc:
        click.echo(f"nnlint: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    _print(result, opts, stdin_text)
    if result.internal_error:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if result.diagnostics and not opts["exit_zero"] else EXIT_CLEAN)


def _trace_targets(opts: dict[str, Any], config: Config) -> list:
    """The models to trace: --trace values, and the config's `trace` list only with --trace-config."""
    if not opts["trace"] and not opts["trace_config"]:
        if opts["input_shape"]:
            raise ConfigError("--input-shape needs --trace or --trace-config")
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
    seen = {(d.path, d.code, d.span): d for d in first.diagnostics + second.diagnostics}
    return RunResult(sorted(seen.values(), key=lambda d: d.sort_key()), first.files_checked + second.files_checked,
                     first.internal_error or second.internal_error)


def _build_run(opts: dict[str, Any]) -> tuple[Run, Config]:
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
    return run, config


def _print(result: RunResult, opts: dict[str, Any], stdin: bytes | None) -> None:
    if opts["statistics"]:
        from nnlint.report.text import format_statistics

        click.echo(format_statistics(result.diagnostics), nl=False)
    else:
        source_line = _SourceLines(stdin, opts["stdin_filename"] or "-").line if opts["show_source"] else None
        click.echo(formatter(opts["output_format"])(result.diagnostics, show_source=opts["show_source"],
                                                    source_line=source_line), nl=False)
    if not opts["quiet"]:
        click.echo(_summary(result), err=True)


def _summary(result: RunResult) -> str:
    files = len({d.path for d in result.diagnostics})
    checked = f"{result.files_checked} file{'s' if result.files_checked != 1 else ''} checked"
    if not result.diagnostics:
        return f"All checks passed ({checked})."
    problems = len(result.diagnostics)
    return (f"Found {problems} problem{'s' if problems != 1 else ''} in {files} file{'s' if files != 1 else ''} "
            f"({result.files_checked} checked).")


class _SourceLines:
    """Source lines for --show-source, decoded the way the linter decoded them."""

    def __init__(self, stdin: bytes | None, stdin_name: str) -> None:
        self.stdin, self.stdin_name = stdin, stdin_name
        self.cache: dict[str, list[str] | None] = {}

    def line(self, path: str, number: int) -> str | None:
        if path.endswith(".onnx"):
            return None  # a graph file: its "line" is a node index, there is no text to show
        if path not in self.cache:
            from nnlint.engine import read_file
            from nnlint.files import Unreadable, decode_source

            try:
                data = self.stdin if self.stdin is not None and path == self.stdin_name else read_file(path, 1 << 30)
                self.cache[path] = decode_source(data).splitlines()
            except Unreadable:
                self.cache[path] = None
        lines = self.cache[path]
        return lines[number - 1] if lines is not None and 0 < number <= len(lines) else None


@main.command("rules")
@click.option("--output-format", type=click.Choice(FORMATS), default="text", show_default=True)
def rules_command(output_format: str) -> None:
    """List every rule: code, name, severity, default state, front ends, fixable."""
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
        fe = ",".join(f for f in "SFO" if FRONT_ENDS[f] in r["front_ends"])
        click.echo(f"{r['code']:<6} {r['name']:<{width}} {r['severity']:<3} {'on' if r['default'] else 'off':<8} "
                   f"{fe:<11} {'yes' if r['fixable'] else ''}".rstrip())


@main.command("rule")
@click.argument("code")
def rule_command(code: str) -> None:
    """Print the page of one rule (why it matters, bad and good examples, options)."""
    from nnlint.docs import rule_page

    rule = get_rule(code)
    if rule is None:
        click.echo(f"nnlint: error: unknown rule code '{code}'", err=True)
        sys.exit(EXIT_ERROR)
    page = rule_page(rule.code)
    click.echo(page if page is not None else f"{rule.code} ({rule.name})\n\n{rule.summary}\n", nl=page is None)
