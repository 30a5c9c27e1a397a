"""The layers `<model>.add(layer)` appends after `model = keras.Sequential(...)`, as the paths a run
can take: straight-line code, `if`/`elif`/`else` branches, and `for`/`while` loops.

Each path (a "variant") is the list of layers one run adds. A branch forks every variant in two
(its condition true or false); a condition met again later (the same test, or its `not`) takes the
branch it took before, so `if bn: add(BN)` ... `if not bn: add(Dropout)` is never one path. A loop
body is unrolled twice (once when it provably runs once), taking the same branches in both
iterations: a layer's nodes in both iterations share its site, so a rule reports it once.

The analysis stops (the model's layers end there, as when the model is used) where a path could
be one that no run takes: a condition that shares a name with a different earlier condition
(`if n > 1` ... `if n > 2`), a condition inside a loop that reads the loop variable or a name the
loop assigns, a `break`/`continue`/`return`/`raise` among the adds, any other statement that
mentions the model, more than MAX_VARIANTS paths, or past MAX_STATEMENTS statements. Statements
that do not mention the model are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from nnlint import lazy_libcst as cst

from nnlint.source.functional import _body
from nnlint.source.imports import dotted_name
from nnlint.source.literals import literal
from nnlint.source.walk import walk

MAX_VARIANTS = 8
MAX_STATEMENTS = 300  # statements examined after the model is built (bounded time on long modules)


@dataclass
class Variant:
    layers: list[cst.BaseExpression] = field(default_factory=list)
    choices: dict[str, bool] = field(default_factory=dict)  # condition text -> the branch taken


class _Unsure(Exception):
    """A path the analysis cannot vouch for: stop before the statement."""


class Growth:
    """method: "add" for a Sequential, "append" for a plain list of layers."""

    def __init__(self, target: str, method: str = "add") -> None:
        self.target = target
        self.method = method
        self.head = target.split(".")[0]
        self.conditions: dict[str, frozenset[str]] = {}  # condition text -> the names it reads
        self.seen: set[int] = set()  # id() of the `.add`/`.append` calls followed
        self.complete = False  # every statement was followed (none stopped the analysis)
        self.examined = 0

    def after(self, stmts: Sequence[cst.BaseStatement]) -> list[list[cst.BaseExpression]]:
        """The layers each path adds, up to the first statement the analysis stops at."""
        variants = [Variant()]
        for stmt in stmts:
            try:
                variants = self.statement(stmt, variants, frozenset())
            except _Unsure:
                return [v.layers for v in variants]
        self.complete = True
        return [v.layers for v in variants]

    # -- statements ------------------------------------------------------------------------
    def statement(self, stmt: cst.BaseStatement, variants: list[Variant], loop_names: frozenset[str]) -> list[Variant]:
        self.examined += 1
        if self.examined > MAX_STATEMENTS:
            raise _Unsure
        added = self.added(stmt)
        if added is not None:
            for v in variants:
                v.layers.append(added)
            return variants
        if not self.mentions(stmt):
            if _leaves(stmt) and loop_names:
                raise _Unsure  # `break`/`continue` in a loop that adds layers
            return variants
        if isinstance(stmt, cst.If):
            return self.branch(stmt, variants, loop_names)
        if isinstance(stmt, (cst.For, cst.While)):
            return self.loop(stmt, variants, loop_names)
        raise _Unsure

    def block(self, stmts: Sequence[cst.BaseStatement], variants: list[Variant], loop_names: frozenset[str]) -> list[Variant]:
        for stmt in stmts:
            if _raises(stmt):
                return []  # this path builds nothing further
            if _leaves(stmt):
                raise _Unsure
            variants = self.statement(stmt, variants, loop_names)
        return variants

    def branch(self, stmt: cst.If, variants: list[Variant], loop_names: frozenset[str],
               chain: frozenset[str] = frozenset()) -> list[Variant]:
        """chain: the conditions of the `if`/`elif`s before this `elif` (exclusive by construction)."""
        if self.mentions(stmt.test):
            raise _Unsure  # `if len(model.layers) > 2`
        key, negated = _condition(stmt.test)
        names = _names(stmt.test)
        if names & loop_names:
            raise _Unsure  # the condition may change from one iteration to the next
        known = self.conditions.get(key)
        if known is None:
            if any(names & other for k, other in self.conditions.items() if k not in chain):
                raise _Unsure  # correlated with an earlier, different condition
            self.conditions[key] = names
        out: list[Variant] = []
        for v in variants:
            taken = [v.choices[key] != negated] if key in v.choices else [True, False]
            for then in taken:
                fork = Variant(list(v.layers), {**v.choices, key: then != negated})
                if then:
                    out += self.block(_body(stmt), [fork], loop_names)
                elif isinstance(stmt.orelse, cst.If):
                    out += self.branch(stmt.orelse, [fork], loop_names, chain | {key})
                elif isinstance(stmt.orelse, cst.Else):
                    out += self.block(_body(stmt.orelse), [fork], loop_names)
                else:
                    out.append(fork)
        if len(out) > MAX_VARIANTS:
            raise _Unsure
        return out

    def loop(self, stmt: cst.For | cst.While, variants: list[Variant], loop_names: frozenset[str]) -> list[Variant]:
        if stmt.orelse is not None:
            raise _Unsure
        header = stmt.test if isinstance(stmt, cst.While) else stmt.iter
        if self.mentions(header):
            raise _Unsure  # `while len(model.layers) < n`
        names = loop_names | _assigned(stmt)
        times = _iterations(stmt)
        for _ in range(times):
            variants = self.block(_body(stmt), variants, names)
        return variants

    # -- helpers ---------------------------------------------------------------------------
    def added(self, stmt: cst.BaseStatement) -> cst.BaseExpression | None:
        """The layer of `<target>.add(layer)`."""
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1 or not isinstance(stmt.body[0], cst.Expr):
            return None
        call = stmt.body[0].value
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == self.method \
                and len(call.args) >= 1 and not call.args[0].keyword and not call.args[0].star \
                and dotted_name(call.func.value) == self.target:
            self.seen.add(id(call))
            return call.args[0].value
        return None

    def mentions(self, node: cst.CSTNode) -> bool:
        """Whether `node` reads the model: its name (`model`), or for an attribute target
        (`self.blocks`) that attribute."""
        dotted = "." in self.target
        for n in walk(node):
            if not dotted and isinstance(n, cst.Name) and n.value == self.head:
                return True
            if dotted and isinstance(n, cst.Attribute) and dotted_name(n) == self.target:
                return True
        return False


def _raises(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(isinstance(s, cst.Raise) for s in stmt.body)


def _leaves(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(s, (cst.Break, cst.Continue, cst.Return, cst.Raise)) for s in stmt.body)


def _condition(test: cst.BaseExpression) -> tuple[str, bool]:
    """The condition's text without a leading `not`, and whether it had one."""
    negated = False
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test, negated = test.expression, not negated
    return cst.Module(body=[]).code_for_node(test).strip(), negated


def _names(expr: cst.BaseExpression) -> frozenset[str]:
    """The dotted names a condition reads (`args.dropout`, `use_bn`)."""
    found: set[str] = set()
    inner: set[int] = set()
    for node in walk(expr):
        if id(node) in inner:
            continue
        if isinstance(node, (cst.Name, cst.Attribute)):
            name = dotted_name(node)
            if name is not None:
                found.add(name)
                inner |= {id(n) for n in walk(node)}
    return frozenset(found)


def _assigned(stmt: cst.For | cst.While) -> frozenset[str]:
    """The loop variable and every name the loop body binds."""
    found: set[str] = set()
    roots: list[cst.CSTNode] = [stmt.target] if isinstance(stmt, cst.For) else []
    for node in walk(stmt):
        if isinstance(node, cst.AssignTarget):
            roots.append(node.target)
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
            roots.append(node.target)
        elif isinstance(node, cst.For):
            roots.append(node.target)
        elif isinstance(node, cst.NamedExpr):
            roots.append(node.target)
    for root in roots:
        for node in walk(root) if not isinstance(root, (cst.Name, cst.Attribute)) else [root]:
            name = dotted_name(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
            if name:
                found.add(name)
    return frozenset(found)


def _iterations(stmt: cst.For | cst.While) -> int:
    """How many iterations to unroll: the literal count when below 2, else 2."""
    if isinstance(stmt, cst.For):
        it = stmt.iter
        if isinstance(it, (cst.List, cst.Tuple)) and not any(isinstance(e, cst.StarredElement) for e in it.elements):
            return min(len(it.elements), 2)
        if isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value == "range" and len(it.args) == 1:
            n = literal(it.args[0].value)
            if isinstance(n, int) and not isinstance(n, bool):
                return max(0, min(n, 2))
    return 2
