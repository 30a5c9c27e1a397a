"""The text rewrites the NN2 fixes need, recorded per file as plain data (FileFacts.extra["rewrites"]).

NN201-NN203 report in the project pass, which sees facts, not syntax. So, per file, this
records for each softmax/sigmoid call the facts walk found how to take it out (the call
becomes its input) or turn a softmax into log_softmax, and for each call of a model object
whether its output is used only as logits (a loss input, or argmax, which a softmax does not
change): removing the softmax at the end of a forward is offered only when every use is so.
Only spellings whose rewrite is certain are recorded; anything else has no entry (no fix).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nnlint import lazy_libcst as cst

from nnlint.diagnostics import Edit, Span
from nnlint.source.walk import children, walk

# Activation functions called as f(x, ...): the input is the first positional argument.
_FUNCTIONS = {"torch.nn.functional.softmax", "torch.softmax", "torch.special.softmax", "torch.nn.functional.sigmoid",
              "torch.sigmoid", "torch.special.expit", "tensorflow.nn.softmax", "tensorflow.math.softmax",
              "tensorflow.nn.sigmoid", "tensorflow.math.sigmoid", "tensorflow.sigmoid"}
_ATOMIC = frozenset({"Name", "Attribute", "Call", "Subscript", "Integer", "Float", "SimpleString"})  # class names


@dataclass(frozen=True)
class ActRewrite:
    """How to rewrite one softmax/sigmoid call (keyed by the call's span)."""

    unwrap: tuple[Edit, ...] | None  # the activation taken out: the call becomes its input
    log: tuple[Edit, ...] | None  # softmax -> log_softmax with the same arguments
    alone: bool  # the call's value goes only to `return` (directly or through one local name)


@dataclass
class Rewrites:
    acts: dict[Span, ActRewrite] = field(default_factory=dict)
    # (callee value as the facts freeze it, used only as logits) for every call of a model object
    model_calls: list[tuple[Any, bool]] = field(default_factory=list)


def rewrites(source: Any) -> Rewrites:
    from nnlint.source.facts import analysis

    walk_ = analysis(source)
    found = Rewrites()
    if not walk_.acts:
        return found
    from nnlint.fixes import line_starts

    parents, starts = _parents(source.module), line_starts(source.text)
    for call in {id(c): c for c in walk_.acts}.values():
        rewrite = _act_rewrite(source, call, parents, starts)
        if rewrite is not None:
            found.acts[source.span(call)] = rewrite
    logits = {id(node) for kind, node in walk_.loss_inputs if kind == "cross_entropy"}
    for call, callee in walk_.model_calls:
        found.model_calls.append((walk_.freeze(callee), _used_as_logits(source, call, parents, logits)))
    return found


def _parents(module: cst.Module) -> dict[int, cst.CSTNode]:
    parents: dict[int, cst.CSTNode] = {}
    for node in walk(module):
        for child in children(node):
            parents[id(child)] = node
    return parents


def _text(source: Any, node: cst.CSTNode, starts: list[int]) -> str:
    """The node's text exactly as written (line breaks and indentation kept)."""
    from nnlint.fixes import edit_range

    start, end = edit_range(starts, source.text, Edit(source.span(node), ""))
    return source.text[start:end]


def _input(source: Any, call: cst.Call) -> cst.BaseExpression | None:
    """What the activation is applied to, for the spellings whose rewrite is certain."""
    func = call.func
    if any(a.star for a in call.args):
        return None
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
        positional = [a for a in call.args if a.keyword is None]  # `self.softmax(x)`: a module call
        return positional[0].value if len(call.args) == 1 and positional else None
    qualified = source.imports.resolve(func)
    if qualified is not None and qualified.replace("tf.", "tensorflow.", 1) in _FUNCTIONS:
        first = call.args[0] if call.args else None
        if first is not None and (first.keyword is None or first.keyword.value in ("input", "logits", "x")):
            return first.value
        return None
    if qualified is None and isinstance(func, cst.Attribute) and func.attr.value in ("softmax", "sigmoid"):
        return func.value  # `x.softmax(dim=1)`, `x.sigmoid()`: a tensor method
    return None


def _act_rewrite(source: Any, call: cst.Call, parents: dict[int, cst.CSTNode], starts: list[int]) -> ActRewrite | None:
    inner = _input(source, call)
    if inner is None or call.lpar:
        return None
    code = _text(source, inner, starts)
    if type(inner).__name__ not in _ATOMIC and not inner.lpar:
        code = f"({code})"
    unwrap: tuple[Edit, ...] = (Edit(source.span(call), code),)
    parent = parents.get(id(call))
    alone = isinstance(parent, cst.Return)
    if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
        name = parent.targets[0].target.value
        alone = _only_returned(name, parent, parents)
        line = parents.get(id(parent))
        if alone and isinstance(inner, cst.Name) and inner.value == name and isinstance(line, cst.SimpleStatementLine) \
                and len(line.body) == 1 and line.trailing_whitespace.comment is None:
            where = source.span(line)  # `x = F.softmax(x, dim=1)`: the whole line goes
            unwrap = (Edit(Span(where.line, 1, where.end_line + 1, 1), ""),)
    log = None
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "softmax" and not (
            isinstance(func.value, cst.Name) and func.value.value == "self"):
        log = (Edit(source.span(func.attr), "log_softmax"),)
    return ActRewrite(unwrap, log, alone)


def _scope_of(node: cst.CSTNode, parents: dict[int, cst.CSTNode]) -> cst.CSTNode | None:
    """The function (or module) a node belongs to."""
    current = parents.get(id(node))
    while current is not None and not isinstance(current, (cst.FunctionDef, cst.Module)):
        current = parents.get(id(current))
    return current


def _mentions(scope: cst.CSTNode, name: str, assignment: cst.Assign, after: bool = False) -> list[cst.Name]:
    """The other mentions of `name` in the scope (outside the assignment itself); with `after`,
    only those that follow it in the source."""
    found, seen = [], False
    for node in walk(scope, prune=lambda n: n is assignment):
        if node is assignment:
            seen = True
        elif isinstance(node, cst.Name) and node.value == name and (seen or not after):
            found.append(node)
    return found


def _only_returned(name: str, assignment: cst.Assign, parents: dict[int, cst.CSTNode]) -> bool:
    """`name = act(...)` whose every other mention in the function is `return name`."""
    scope = _scope_of(assignment, parents)
    return scope is not None and all(isinstance(parents.get(id(n)), cst.Return)
                                     for n in _mentions(scope, name, assignment, after=True))


def _used_as_logits(source: Any, node: cst.CSTNode, parents: dict[int, cst.CSTNode], logits: set[int],
                    depth: int = 0) -> bool:
    """The value of `node` (a model call) goes only where a softmax would change nothing that
    matters: a loss input, argmax (also `_, pred = torch.max(out.data, 1)`), or a local name
    used only so."""
    if id(node) in logits:
        return True
    node = _through_detach(node, parents)
    parent = parents.get(id(node))
    if isinstance(parent, cst.Attribute) and parent.attr.value in ("argmax", "max"):
        call = parents.get(id(parent))
        if isinstance(call, cst.Call) and call.func is parent:
            return parent.attr.value == "argmax" or _indices_only(call, parents)
    if isinstance(parent, cst.Arg) and parent.keyword is None:
        holder = parents.get(id(parent))
        if isinstance(holder, cst.Call) and holder.args and holder.args[0] is parent:
            qualified = source.imports.resolve(holder.func)
            if qualified == "torch.argmax" or (qualified == "torch.max" and len(holder.args) > 1
                                               and _indices_only(holder, parents)):
                return True
    if depth == 0 and isinstance(parent, cst.Assign) and len(parent.targets) == 1 \
            and isinstance(parent.targets[0].target, cst.Name):
        scope = _scope_of(parent, parents)
        mentions = _mentions(scope, parent.targets[0].target.value, parent) if scope is not None else [None]
        return all(n is not None and _used_as_logits(source, n, parents, logits, 1) for n in mentions)
    return False


def _through_detach(node: cst.CSTNode, parents: dict[int, cst.CSTNode]) -> cst.CSTNode:
    """`out.data`, `out.detach()`, `out.cpu()`: the same scores."""
    while True:
        parent = parents.get(id(node))
        if isinstance(parent, cst.Attribute) and parent.attr.value == "data":
            node = parent
            continue
        call = parents.get(id(parent))
        if isinstance(parent, cst.Attribute) and parent.attr.value in ("detach", "cpu") and isinstance(call, cst.Call) \
                and call.func is parent and not call.args:
            node = call
            continue
        return node


def _indices_only(call: cst.Call, parents: dict[int, cst.CSTNode]) -> bool:
    """A max over a dim whose values are thrown away: `_, pred = torch.max(out, 1)`,
    `out.max(1)[1]`, `out.max(dim=1).indices`."""
    if not call.args:
        return False  # the max over everything is a value
    parent = parents.get(id(call))
    if isinstance(parent, cst.Attribute):
        return parent.attr.value == "indices"
    if isinstance(parent, cst.Subscript):
        index = parent.slice[0].slice if len(parent.slice) == 1 else None
        return isinstance(index, cst.Index) and isinstance(index.value, cst.Integer) and index.value.value == "1"
    if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Tuple):
        first = parent.targets[0].target.elements
        return len(first) == 2 and isinstance(first[0].value, cst.Name) and first[0].value.value == "_"
    return False


def _register() -> None:
    from nnlint.source import facts as file_facts

    file_facts.EXTRACTORS["rewrites"] = rewrites


_register()
