"""Static values of constructor arguments beyond literals: module-level constants and
parameters with constant defaults (`def __init__(self, hidden=128): nn.Linear(N_IN, hidden)`).

A name resolves only when it is bound exactly once where the lookup finds it: a parameter with
a literal default that the function never rebinds, or a module-level `NAME = <constant>` that
nothing else in the module rebinds. `+ - * //` of resolved numbers are folded. Anything else is
unknown (None): callers stay silent on unknowns.
"""

from __future__ import annotations

from typing import Any

from nnlint import lazy_libcst as cst

from nnlint.source.literals import call_arguments, literal
from nnlint.source.walk import walk

_AMBIGUOUS = object()
_FOLD = {  # by libcst operator class name (nnlint.lazy_libcst: no libcst at import time)
    "Add": lambda a, b: a + b,
    "Subtract": lambda a, b: a - b,
    "Multiply": lambda a, b: a * b,
    "FloorDivide": lambda a, b: a // b if b else None,
}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_BINDING_TARGETS = frozenset({"AssignTarget", "AnnAssign", "AugAssign", "For", "AsName", "NamedExpr", "CompFor"})


def _target_names(target: cst.BaseExpression, names: set[str]) -> None:
    if isinstance(target, cst.Name):
        names.add(target.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            _target_names(element.value, names)
    elif isinstance(target, cst.StarredElement):
        _target_names(target.value, names)


def bound_names(body: cst.CSTNode) -> set[str]:
    """Names bound inside a body (not inside nested functions, classes or lambdas)."""
    names: set[str] = set()
    nested = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
    for node in walk(body, prune=lambda n: isinstance(n, nested)):
        if node is not body and isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            names.add(node.name.value)
        elif type(node).__name__ in _BINDING_TARGETS:
            target = node.name if isinstance(node, cst.AsName) else node.target
            _target_names(target, names)
        elif isinstance(node, (cst.Global, cst.Nonlocal)):
            names.update(n.name.value for n in node.names)
    return names


class _Scope:
    def __init__(self, function: cst.FunctionDef, parent: _Scope | None) -> None:
        self.parent = parent
        bound = bound_names(function.body)
        params = function.params
        self.values: dict[str, Any] = {}
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            name = param.name.value
            # the default expression, folded on lookup in the scope around the def
            self.values[name] = param.default if param.default is not None and name not in bound else _AMBIGUOUS
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                self.values[star.name.value] = _AMBIGUOUS
        for name in bound:
            self.values.setdefault(name, _AMBIGUOUS)


class Constants:
    """Resolves argument expressions of calls in one module (built lazily, once per module)."""

    def __init__(self, module: cst.Module, index: Any) -> None:
        self.module = module
        self.index = index  # nnlint.source.index.SemanticIndex: the def around each call
        self._scopes: dict[int, cst.FunctionDef | None] | None = None
        self._defs: dict[cst.FunctionDef, _Scope] = {}
        self._globals: dict[str, Any] | None = None

    def _module_constants(self) -> dict[str, Any]:
        if self._globals is None:
            bound: set[str] = set()
            counts: dict[str, int] = {}
            exprs: dict[str, cst.BaseExpression] = {}
            for stmt in self.module.body:
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        target = None
                        if isinstance(small, cst.Assign) and len(small.targets) == 1:
                            target = small.targets[0].target
                        elif isinstance(small, cst.AnnAssign) and small.value is not None:
                            target = small.target
                        if isinstance(target, cst.Name):
                            counts[target.value] = counts.get(target.value, 0) + 1
                            exprs[target.value] = small.value
                        else:
                            bound |= bound_names(small)
                elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                    bound.add(stmt.name.value)
                else:
                    bound |= bound_names(stmt)
            self._globals = {}
            resolving: set[str] = set()

            def module_value(name: str) -> Any:
                if name in self._globals:
                    return self._globals[name]
                if counts.get(name) != 1 or name in bound or name in resolving:
                    return None
                resolving.add(name)
                value = self._fold(exprs[name], None, module_value)
                resolving.discard(name)
                self._globals[name] = value
                return value

            self._module_value = module_value
        return self._globals

    def _lookup(self, name: str, scope: _Scope | None) -> Any:
        while scope is not None:
            if name in scope.values:
                value = scope.values[name]
                if value is _AMBIGUOUS:
                    return None
                outer = scope.parent
                return self._fold(value, outer, lambda inner: self._lookup(inner, outer))
            scope = scope.parent
        self._module_constants()
        return self._module_value(name)

    def _fold(self, expr: cst.BaseExpression, scope: _Scope | None, names) -> Any:
        value = literal(expr)
        if value is not None:
            return value if _number(value) else None
        if isinstance(expr, cst.Name):
            return names(expr.value)
        if isinstance(expr, cst.BinaryOperation):
            fold = _FOLD.get(type(expr.operator).__name__)
            if fold is None:
                return None
            left, right = self._fold(expr.left, scope, names), self._fold(expr.right, scope, names)
            return fold(left, right) if _number(left) and _number(right) else None
        return None

    def _scope_of(self, call: cst.Call) -> _Scope | None:
        """The scope of the innermost function around `call` (None at module level), built on
        first use with its enclosing functions' scopes."""
        if self._scopes is None:
            self._scopes = {id(c): fn for c, fn in self.index.every_call}
        return self._def_scope(self._scopes.get(id(call)))

    def _def_scope(self, fn: cst.FunctionDef | None) -> _Scope | None:
        if fn is None:
            return None
        scope = self._defs.get(fn)
        if scope is None:
            scope = self._defs[fn] = _Scope(fn, self._def_scope(self.index.def_parent.get(fn)))
        return scope

    def value(self, expr: cst.BaseExpression, call: cst.Call) -> Any:
        """The number `expr` (an argument of `call`) stands for, or None when unknown."""
        value = literal(expr)
        if value is not None or not isinstance(expr, (cst.Name, cst.BinaryOperation)):
            return value if _number(value) else None
        scope = self._scope_of(call)
        return self._fold(expr, scope, lambda name: self._lookup(name, scope))


def constant_arguments(call: cst.Call, params: tuple[str, ...], constants: Constants | None) -> dict[str, Any]:
    """Like literals.literal_arguments, plus numbers resolved through `constants`."""
    values = {}
    for name, expr in call_arguments(call, params).items():
        value = literal(expr)
        if value is None and constants is not None and not (isinstance(expr, cst.Name) and expr.value == "None"):
            value = constants.value(expr, call)
        if value is not None or (isinstance(expr, cst.Name) and expr.value == "None"):
            values[name] = value
    return values
