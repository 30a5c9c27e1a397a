"""`[tool.nnlint]` discovery and validation, and the CLI-over-config merge.

Every problem is a ConfigError naming the file and the key, with a close match when one
exists; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from nnlint.discovery import DEFAULT_EXCLUDE
from nnlint.registry import all_rules

DEFAULT_MAX_SOURCE_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_GRAPH_BYTES = 2 * 1024 ** 3


class ConfigError(Exception):
    """A configuration or usage problem (exit code 2)."""


def _codes(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _doc_url(value: Any) -> bool:
    """A template such as "https://docs.example.com/nnlint/{code}.html": {code} is the only field."""
    if not isinstance(value, str) or "{code}" not in value or not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", value):
        return False
    try:
        value.format(code="NN101")
    except (AttributeError, KeyError, IndexError, ValueError):
        return False
    return True


def _per_file(value: Any) -> bool:
    return isinstance(value, dict) and all(_codes(v) for v in value.values())


# key -> (check, what the user must write)
SCHEMA: dict[str, tuple[Any, str]] = {
    "select": (_codes, "a list of rule codes"),
    "extend-select": (_codes, "a list of rule codes"),
    "ignore": (_codes, "a list of rule codes"),
    "extend-ignore": (_codes, "a list of rule codes"),
    "per-file-ignores": (_per_file, "a table of glob = [codes]"),
    "exclude": (_codes, "a list of glob patterns"),
    "extend-exclude": (_codes, "a list of glob patterns"),
    "max-source-bytes": (_positive_int, "a positive integer"),
    "max-graph-bytes": (_positive_int, "a positive integer"),
    "doc-url": (_doc_url, "a URL template containing {code}, e.g. \"https://example.com/rules/{code}.html\""),
    "cache-dir": (lambda v: isinstance(v, str) and bool(v), "a directory path"),
    "trace": (lambda v: isinstance(v, list) and all(isinstance(e, (str, dict)) for e in v),
              "a list of \"pkg.module:factory\" strings or {factory = ..., input-shape = [...]} tables"),
}


@dataclass
class Config:
    """Settings from one config file (or none); CLI values are merged in by the caller."""

    path: Path | None = None
    root: Path = field(default_factory=Path.cwd)
    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    extend_ignore: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    extend_exclude: list[str] = field(default_factory=list)
    max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES
    max_graph_bytes: int = DEFAULT_MAX_GRAPH_BYTES
    cache_dir: str | None = None  # relative to the config file's directory
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    doc_url: str | None = None  # rule-page link template for editors and reports ({code})
    # models to trace, run ONLY by `--trace-config` (nnlint.trace.TraceTarget)
    trace: list = field(default_factory=list)

    @property
    def excludes(self) -> tuple[str, ...]:
        return tuple(self.exclude) + tuple(self.extend_exclude)


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.nnlint] table, walking up from `start`."""
    for directory in [start, *start.parents]:
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                return candidate  # let load_config report it
            if "nnlint" in data.get("tool", {}):
                return candidate
    return None


def load_config(path: Path) -> Config:
    """Read and validate one config file: pyproject.toml ([tool.nnlint]) or nnlint.toml (top level)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    table = data.get("tool", {}).get("nnlint", {}) if path.name == "pyproject.toml" else data
    section = "[tool.nnlint]" if path.name == "pyproject.toml" else "the top level"
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.nnlint] must be a table")
    return parse_table(table, path, section)


def parse_table(table: dict[str, Any], path: Path, section: str = "[tool.nnlint]") -> Config:
    config = Config(path=path, root=path.parent.resolve())
    rules = all_rules()
    for key, value in table.items():
        if key.upper() in rules and key.upper().startswith("NN"):
            config.rule_options[key.upper()] = _rule_options(key.upper(), value, path)
            continue
        if key not in SCHEMA:
            raise ConfigError(f"{path}: unknown key '{key}' in {section}{_suggest(key, list(SCHEMA) + list(rules))}")
        check, expected = SCHEMA[key]
        if not check(value):
            raise ConfigError(f"{path}: '{key}' in {section} must be {expected}, got {value!r}")
        if key in ("select", "extend-select", "ignore", "extend-ignore"):
            validate_codes(value, f"{path}: '{key}'")
        if key == "per-file-ignores":
            for glob, codes in value.items():
                validate_codes(codes, f"{path}: per-file-ignores '{glob}'")
        if key == "trace":
            value = _trace_targets(value, path)
        setattr(config, key.replace("-", "_"), value)
    return config


def _trace_targets(entries: list, path: Path) -> list:
    """`trace = ["pkg.module:factory", {factory = "...", input-shape = [1, 3, 224, 224]}]`,
    validated here (nothing is imported or run: only `--trace-config` runs them)."""
    from nnlint.trace import TraceSpecError, parse_shape, parse_target

    targets = []
    for entry in entries:
        try:
            if isinstance(entry, str):
                targets.append(parse_target(entry))
                continue
            unknown = sorted(set(entry) - {"factory", "input-shape"})
            if unknown:
                raise TraceSpecError(f"unknown key '{unknown[0]}'{_suggest(unknown[0], ['factory', 'input-shape'])}")
            if not isinstance(entry.get("factory"), str):
                raise TraceSpecError("a table needs factory = \"pkg.module:factory\"")
            shape = parse_shape(entry["input-shape"]) if "input-shape" in entry else None
            targets.append(parse_target(entry["factory"], shape))
        except TraceSpecError as exc:
            raise ConfigError(f"{path}: 'trace' entry {entry!r}: {exc}") from None
    return targets


def _rule_options(code: str, value: Any, path: Path) -> dict[str, Any]:
    rule = all_rules()[code]
    where = f"{path}: [tool.nnlint.{code}]"
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table of options")
    known = {o.name: o for o in rule.options}
    options = rule.default_options()
    for key, given in value.items():
        if key not in known:
            hint = _suggest(key, list(known)) if known else f" ({code} has no options)"
            raise ConfigError(f"{where}: unknown option '{key}'{hint}")
        types = known[key].type if isinstance(known[key].type, tuple) else (known[key].type,)
        if float in types and isinstance(given, int) and not isinstance(given, bool):
            given = float(given)  # TOML `1` where a float is expected
        if (isinstance(given, bool) and bool not in types) or not isinstance(given, types):
            names = " or ".join(t.__name__ for t in types)
            raise ConfigError(f"{where}: option '{key}' must be {names}, got {given!r}")
        options[key] = given
    return options


def validate_codes(codes: list[str], where: str) -> None:
    """Every entry must be ALL or a prefix of at least one registered code."""
    known = list(all_rules())
    for code in codes:
        upper = code.strip().upper()
        if upper == "ALL" or any(k.startswith(upper) for k in known) and upper.startswith("NN"):
            continue
        raise ConfigError(f"{where}: unknown rule code or prefix '{code}'{_suggest(upper, known)}")


def discover_config(explicit: str | None, isolated: bool) -> Config:
    if isolated:
        return Config()
    if explicit:
        return load_config(Path(explicit))
    found = find_config(Path(os.getcwd()).resolve())
    return load_config(found) if found else Config()
