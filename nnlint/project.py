"""The project pass: joins the per-file facts of one run, after every file was analyzed.

Data in, data out: a Project is built from {path: FileFacts} (nnlint.source.facts) and answers
"what does this name in this file refer to" across the linted files, the way Python would find
it, without importing or executing anything and without touching the disk:

- module names come from where a file sits: below its top-level non-package directory (the
  first ancestor without an `__init__.py` among the linted files: a script's own folder, like
  sys.path[0]), below each path given on the command line (`roots`), and below any `src/`;
- `import a.b`, `from a.b import C`, `from .x import Y` (relative to the file's package) and
  re-exports through `__init__.py` (or any module's own imports) are followed;
- a name that could mean two different files or definitions resolves to nothing.

Rules of kind "project" get the Project in check(project, options) and report with
`site=At(path, span)` (related sites too); the engine applies that file's noqa and
per-file-ignores.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from nnlint.diagnostics import Diagnostic, Related, Span
from nnlint.registry import Finding

_MAX_DEPTH = 12


@dataclass(frozen=True)
class At:
    """A place in one linted file: what project rules report (site and related sites)."""

    path: str
    span: Span


@dataclass(frozen=True)
class Symbol:
    """What a name resolves to: a class, function, module-level variable or module of a linted file."""

    kind: str  # "class", "function", "variable", "module"
    path: str
    name: str  # the definition's name in that file ("" for a module)

    def facts(self, project: Project) -> Any:
        """The definition's facts (ClassFacts, FunctionFacts, a variable's Value) or FileFacts."""
        file = project.files[self.path]
        if self.kind == "class":
            return file.classes.get(self.name)
        if self.kind == "function":
            return file.functions.get(self.name)
        if self.kind == "variable":
            return file.variables.get(self.name)
        return file


@dataclass(frozen=True)
class Output:
    """A tensor's kind ("softmax", "sigmoid", "linear", ...), where it was made, and the class
    whose forward returns it ("" when computed inline)."""

    kind: str
    at: At | None
    label: str
    owner: str
    method: str = "forward"  # what the owner's output comes from ("call" for a Keras model)


def _agree_kind(outputs: list[Output | None]) -> Output | None:
    if not outputs or any(o is None for o in outputs):
        return None
    return outputs[0] if all(o.kind == outputs[0].kind for o in outputs) else None


def _field_of(value: Any, field: str | None) -> Any:
    """The `field` of a ("fields", ...) value (a constructed output object); the value itself
    when no field is asked for; None when the value has no such field."""
    if field is None:
        return value
    if value is not None and value[0] == "fields":
        return dict(value[1]).get(field)
    return None


def _keras_kind(final: Any) -> str | None:
    """The tensor kind of a Keras model's or layer's final activation (None: unknown)."""
    return final if final in ("softmax", "sigmoid", "linear", "relu", "relu6", "tanh", "softplus", "hardsigmoid") else None


def _is_identifier_path(parts: list[str]) -> bool:
    return bool(parts) and all(p.isidentifier() for p in parts)


class Project:
    def __init__(self, files: dict[str, Any], roots: Iterable[str] = ()) -> None:
        # Sorted: results never depend on the order files were analyzed in.
        self.files: dict[str, Any] = dict(sorted(files.items()))
        self._abs = {path: os.path.normpath(os.path.abspath(path)) for path in self.files}
        self._by_abs = {a: p for p, a in self._abs.items()}
        self._packages = {os.path.dirname(a) for a in self._abs.values() if os.path.basename(a) == "__init__.py"}
        self.roots = sorted({os.path.normpath(os.path.abspath(r)) for r in roots})
        own_roots = {self.own_root(a) for a in self._abs.values()}
        src_roots = set()
        for absolute in self._abs.values():
            parts = absolute.split(os.sep)
            src_roots |= {os.sep.join(parts[: i + 1]) or os.sep for i, part in enumerate(parts[:-1]) if part == "src"}
        # Every directory Python could have on sys.path for these files, in a fixed order.
        self._all_roots = sorted(own_roots | src_roots | set(self.roots))
        self._found: dict[tuple[str, str], str | None] = {}
        self._visiting: set[tuple] = set()  # definitions being evaluated (recursion guard)

    # -- module names -------------------------------------------------------------------
    def own_root(self, absolute: str) -> str:
        """The file's top-level non-package directory (sys.path[0] for a script there)."""
        directory = os.path.dirname(absolute)
        while directory in self._packages and os.path.dirname(directory) != directory:
            directory = os.path.dirname(directory)
        return directory

    def module_name(self, path: str) -> str | None:
        """The file's module name below its own top-level non-package directory."""
        absolute = self._abs.get(path)
        if absolute is None:
            return None
        rel = os.path.relpath(absolute, self.own_root(absolute))
        stem, ext = os.path.splitext(rel)
        parts = stem.split(os.sep)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join(parts) if ext == ".py" and _is_identifier_path(parts) else None

    def _module_in(self, root: str, name: str) -> str | None:
        """The linted file that is module `name` with `root` on sys.path (namespace packages too)."""
        parts = name.split(".")
        if not _is_identifier_path(parts):
            return None
        base = os.path.join(root, *parts)
        found = [self._by_abs[c] for c in (base + ".py", os.path.join(base, "__init__.py")) if c in self._by_abs]
        return found[0] if len(found) == 1 else None

    def find_module(self, name: str, importer: str | None = None) -> str | None:
        """The linted file that is module `name` as seen from `importer`: its own folder first
        (sys.path[0]), then every other root; None when absent or ambiguous."""
        own = self.own_root(self._abs[importer]) if importer in self._abs else ""
        key = (own, name)
        if key not in self._found:
            hit = self._module_in(own, name) if own else None
            if hit is None:
                hits = {h for h in (self._module_in(r, name) for r in self._all_roots if r != own) if h is not None}
                hit = next(iter(hits)) if len(hits) == 1 else None
            self._found[key] = hit
        return self._found[key]

    def absolute_import(self, path: str, raw: str) -> str | None:
        """`..x.Y` in `path` -> the absolute dotted name; absolute names unchanged."""
        level = len(raw) - len(raw.lstrip("."))
        if not level:
            return raw
        own = self.module_name(path)
        if own is None:
            return None
        package = own.split(".") if os.path.basename(path) == "__init__.py" else own.split(".")[:-1]
        if level - 1 > len(package):
            return None
        base = package[: len(package) - (level - 1)]
        rest = raw[level:]
        return ".".join(base + ([rest] if rest else [])) or None

    # -- names --------------------------------------------------------------------------
    def resolve(self, path: str, dotted: str, _depth: int = 0) -> Symbol | None:
        """What `dotted` (a local name, maybe with attributes: `models.Net`) means in `path`."""
        if _depth > _MAX_DEPTH or path not in self.files:
            return None
        head, _, rest = dotted.partition(".")
        symbol = self._lookup(path, head, _depth)
        for attr in rest.split(".") if rest else ():
            if symbol is None or symbol.kind != "module":
                return None
            symbol = self._member(symbol.path, attr, _depth + 1)
        return symbol

    def _lookup(self, path: str, name: str, depth: int) -> Symbol | None:
        """A top-level name of file `path`: its own definition, else what it imports."""
        file = self.files[path]
        defined = [kind for kind, table in (("class", file.classes), ("function", file.functions),
                                            ("variable", file.variables)) if name in table]
        target = file.imports.get(name)
        if len(defined) + (name in file.imports) > 1 or (name in file.imports and target is None):
            return None  # bound twice: ambiguous
        if defined:
            return Symbol(defined[0], path, name)
        if target is None:
            return None
        return self.resolve_import(path, target, depth + 1)

    def resolve_import(self, path: str, raw: str, depth: int = 0) -> Symbol | None:
        """An import target as written in `path` (`a.b.C`, `.x.Y`, `a.b`) -> a Symbol."""
        if depth > _MAX_DEPTH:
            return None
        absolute = self.absolute_import(path, raw)
        if not absolute:
            return None
        module = self.find_module(absolute, path)
        if module is not None:
            return Symbol("module", module, "")
        parent, _, attr = absolute.rpartition(".")
        if not parent:
            return None
        module = self.find_module(parent, path)
        if module is None:
            return None
        return self._member(module, attr, depth + 1)

    def _member(self, module_path: str, attr: str, depth: int) -> Symbol | None:
        """`attr` of a module: a definition, a re-export through its imports, or a submodule."""
        if depth > _MAX_DEPTH:
            return None
        symbol = self._lookup(module_path, attr, depth)
        if symbol is not None:
            return symbol
        if os.path.basename(module_path) == "__init__.py":
            own = self.module_name(module_path)
            if own:
                sub = self.find_module(f"{own}.{attr}", module_path)
                if sub is not None:
                    return Symbol("module", sub, "")
        return None

    # -- values (nnlint.source.facts Value tuples) -----------------------------------------
    def instance_of(self, path: str, value: Any, _depth: int = 0) -> tuple | None:
        """What object a value holds: ("class", Symbol) for an instance of a linted class,
        ("keras", final activation, At | None, label) for a Keras model; None when unknown."""
        if value is None or _depth > _MAX_DEPTH:
            return None
        tag = value[0]
        if tag == "keras":
            return ("keras", value[1], At(path, value[2]) if value[2] else None, value[3])
        if tag != "new":
            return None
        symbol = self.resolve(path, value[1])
        if symbol is None:
            return None
        if symbol.kind == "class":
            return ("class", symbol)
        facts = symbol.facts(self)
        if symbol.kind == "function" and facts is not None:
            with self._guard(("instance", symbol)) as fresh:
                found = [self.instance_of(symbol.path, r, _depth + 1) for r in facts.returns] if fresh else []
            return found[0] if found and found[0] is not None and all(f == found[0] for f in found) else None
        if symbol.kind == "variable" and facts is not None:
            return self.instance_of(symbol.path, facts, _depth + 1)
        return None

    def output_of(self, path: str, value: Any, _depth: int = 0) -> Output | None:
        """What kind of tensor a value is (a model's output resolved through its class)."""
        if value is None or _depth > _MAX_DEPTH:
            return None
        tag = value[0]
        if tag == "act":
            return Output(value[1], At(path, value[2]) if value[2] else None, value[3], "")
        if tag == "ktensor":  # a Keras layer's output (functional API, a subclassed model's call)
            kind = _keras_kind(value[1])
            return Output(kind, At(path, value[2]) if value[2] else None, value[3], "", "call") if kind else None
        if tag == "call":
            instance = self.instance_of(path, value[1], _depth + 1)
            if instance is not None and instance[0] == "class":
                return self.forward_output(instance[1], _depth + 1)
            return None
        if tag == "field":  # `model(x).logits`: the field of what forward returns
            call = value[1]
            instance = self.instance_of(path, call[1], _depth + 1) if call and call[0] == "call" else None
            if instance is not None and instance[0] == "class":
                return self.forward_output(instance[1], _depth + 1, field=value[2])
            return None
        if tag == "new":
            symbol = self.resolve(path, value[1])
            facts = symbol.facts(self) if symbol is not None and symbol.kind == "function" else None
            if facts is not None:
                with self._guard(("output", symbol)) as fresh:
                    return _agree_kind([self.output_of(symbol.path, r, _depth + 1) for r in facts.returns]) if fresh else None
        return None

    def forward_output(self, symbol: Symbol, _depth: int = 0, field: str | None = None) -> Output | None:
        """The kind of what a class's forward returns (or of its `field`, e.g. the `logits=` of
        a returned ModelOutput); every return must agree, else None.
        A class without forward inherits its single base class's."""
        facts = symbol.facts(self)
        if facts is None or facts.has_call or _depth > _MAX_DEPTH:
            return None
        if facts.returns is None:
            bases = [b for b in facts.bases if b != "?"]
            base = self.resolve(symbol.path, bases[0]) if len(bases) == 1 else None
            return self.forward_output(base, _depth + 1, field) if base is not None and base.kind == "class" else None
        with self._guard(("forward", symbol, field)) as fresh:
            found = _agree_kind([self.output_of(symbol.path, _field_of(r, field), _depth + 1)
                                 for r in facts.returns]) if fresh else None
        if found is not None and not found.owner:
            found = Output(found.kind, found.at, found.label, symbol.name, found.method)
        return found

    @contextmanager
    def _guard(self, key: tuple) -> Iterator[bool]:
        """True when `key` is not being evaluated already (a recursive definition gives None)."""
        if key in self._visiting:
            yield False
            return
        self._visiting.add(key)
        try:
            yield True
        finally:
            self._visiting.discard(key)

    # -- reporting ----------------------------------------------------------------------
    def diagnostic(self, finding: Finding) -> Diagnostic:
        site = finding.site
        if not isinstance(site, At):
            raise TypeError(f"a project rule must report at At(path, span), not {type(site).__name__}")
        related = tuple(Related(r.path, r.span, message) for r, message in finding.related if isinstance(r, At))
        return Diagnostic(site.path, site.span, finding.code, finding.message, related, finding.fix)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self.files.items())
