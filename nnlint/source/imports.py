"""A small import resolver: local names to qualified names, without libcst's costly providers.

`import torch.nn as nn` makes `nn.Dropout` resolve to "torch.nn.Dropout". A name bound to
two different things in one file resolves to nothing: silence beats a guess.
"""

from __future__ import annotations

from typing import Iterator

from nnlint import lazy_libcst as cst

_AMBIGUOUS = object()

# Module paths that are implementation details of a public namespace.
_CANONICAL_PREFIXES = (
    ("torch.nn.modules.", "torch.nn."),
    ("tensorflow.keras.", "keras."),
    ("tensorflow.python.keras.", "keras."),
    ("tf_keras.", "keras."),
    ("keras.src.", "keras."),
)


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` as text, or None when the expression is not a plain dotted name."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted_name(node.value)
        return f"{head}.{node.attr.value}" if head else None
    return None


def canonical(qualified: str) -> str:
    """Fold implementation modules into the public name (torch.nn.modules.dropout.Dropout -> torch.nn.Dropout)."""
    for prefix, public in _CANONICAL_PREFIXES:
        if qualified.startswith(prefix):
            rest = qualified[len(prefix):]
            if public == "torch.nn.":
                parts = rest.split(".")
                # torch.nn.modules.dropout.Dropout -> torch.nn.Dropout
                rest = parts[-1] if len(parts) > 1 and parts[-1][:1].isupper() else rest
            return public + rest
    return qualified


def _statements(body) -> "Iterator[cst.BaseSmallStatement]":
    """Every small statement of a block, descending into compound statements but never into
    expressions: imports live only there, and this is several times cheaper than a visitor."""
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from stmt.body
            continue
        for part in ("body", "orelse", "finalbody"):
            child = getattr(stmt, part, None)
            if isinstance(child, cst.BaseSuite):
                if isinstance(child, cst.SimpleStatementSuite):
                    yield from child.body
                else:
                    yield from _statements(child.body)
            elif isinstance(child, (cst.If, cst.Else, cst.Finally)):
                yield from _statements([child])
        for handler in getattr(stmt, "handlers", ()):
            yield from _statements([handler])
        for case in getattr(stmt, "cases", ()):
            yield from _statements([case])


class ImportResolver:
    """Collects every import in a module (at any depth) and resolves names through them."""

    def __init__(self, module: cst.Module) -> None:
        self._aliases: dict[str, object] = {}
        self._star: list[str] = []
        for small in _statements(module.body):
            if isinstance(small, cst.Import):
                self.visit_Import(small)
            elif isinstance(small, cst.ImportFrom):
                self.visit_ImportFrom(small)
        self._mark_shadowed(module)

    # -- collection -------------------------------------------------------------------
    def _bind(self, name: str, qualified: str) -> None:
        old = self._aliases.get(name)
        self._aliases[name] = qualified if old in (None, qualified) else _AMBIGUOUS

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            full = dotted_name(alias.name)
            if not full:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._bind(alias.asname.name.value, full)
            else:
                head = full.split(".")[0]
                self._bind(head, head)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        base = "." * len(node.relative) + (dotted_name(node.module) or "" if node.module else "")
        if isinstance(node.names, cst.ImportStar):
            self._star.append(base)
            return False
        for alias in node.names:
            name = dotted_name(alias.name)
            if not name:
                continue
            local = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
            joined = f"{base}.{name}" if base and not base.endswith(".") else f"{base}{name}"
            self._bind(local, joined)
        return False

    def _mark_shadowed(self, module: cst.Module) -> None:
        """A module-level def, class or assignment to an imported name makes it ambiguous."""
        for stmt in module.body:
            names: list[str] = []
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                names.append(stmt.name.value)
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign):
                        names += [t.target.value for t in small.targets if isinstance(t.target, cst.Name)]
                    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)) and isinstance(small.target, cst.Name):
                        names.append(small.target.value)
            for name in names:
                if name in self._aliases:
                    self._aliases[name] = _AMBIGUOUS

    # -- queries ----------------------------------------------------------------------
    def imports_any(self, packages: tuple[str, ...]) -> bool:
        """Whether the file imports anything from one of these top-level packages: a cheap gate
        for front-end passes that only apply to one framework (Keras, Lightning...)."""
        targets = [t for t in self._aliases.values() if isinstance(t, str)] + self._star
        return any(t.split(".")[0] in packages for t in targets)

    def qualify(self, local: str) -> str | None:
        """The qualified name a dotted local name refers to, or None if not imported."""
        head, _, rest = local.partition(".")
        target = self._aliases.get(head)
        if target is _AMBIGUOUS:
            return None
        if target is None:
            if len(self._star) != 1 or head in self._aliases:
                return None
            target = f"{self._star[0]}.{head}"
        return canonical(f"{target}.{rest}" if rest else str(target))

    def resolve(self, node: cst.BaseExpression) -> str | None:
        name = dotted_name(node)
        return self.qualify(name) if name else None
