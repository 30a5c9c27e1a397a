"""nn.Sequential(...) containers lowered to layer chains.

Handles positional layers, `*[literal list]`, `*layers` built in straight-line code
(`layers = [...]`, `.append`, `.extend`, `+=`), OrderedDict forms, and nested Sequentials
(inlined into the outer chain). Anything else is an opaque node: it breaks chains.
"""

from __future__ import annotations

from typing import Sequence

from nnlint import lazy_libcst as cst

from nnlint.graph import LayerGraph, Node
from nnlint.graph.ir import mark_entry
from nnlint.source import SourceFile
from nnlint.source.constants import Constants, constant_arguments
from nnlint.source.imports import dotted_name
from nnlint.source.walk import walk
from nnlint.source.literals import literal
from nnlint.source.torch_nn import layer_spec

SEQUENTIAL = "torch.nn.Sequential"
ORDERED_DICTS = ("collections.OrderedDict", "typing.OrderedDict")
_MAX_LABEL = 40


def _sequential_calls(source: SourceFile) -> list[tuple[cst.Call, Sequence[cst.BaseStatement]]]:
    """Every nn.Sequential(...) call in source order, with the statement list of its
    enclosing function (or the module)."""
    index = source.index
    return [(call, index.body_of(fn)) for call, fn in index.every_call if index.resolve(call.func) == SEQUENTIAL]


def _mentions(stmt: cst.CSTNode, name: str, target: cst.CSTNode | None = None) -> tuple[bool, bool]:
    """Whether `stmt` mentions the name, and whether it contains the node `target`."""
    mentioned = contains = False
    for node in walk(stmt):
        mentioned |= isinstance(node, cst.Name) and node.value == name
        contains |= node is target
    return mentioned, contains


_MAX_REPEAT = 16  # `[Block() for _ in range(N)]` is lowered as min(N, 16) copies


def _list_elements(expr: cst.BaseExpression) -> list[cst.BaseExpression] | None:
    """A literal list/tuple's elements, or `[elt for _ in range(<literal>)]` as repeated elt."""
    if isinstance(expr, (cst.List, cst.Tuple)) and not any(isinstance(e, cst.StarredElement) for e in expr.elements):
        return [e.value for e in expr.elements]
    if isinstance(expr, cst.ListComp):
        clause = expr.for_in
        it = clause.iter
        if clause.inner_for_in is None and not clause.ifs and clause.asynchronous is None and isinstance(it, cst.Call) \
                and isinstance(it.func, cst.Name) and it.func.value == "range" and len(it.args) == 1 and not it.args[0].star:
            n = literal(it.args[0].value)
            if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
                return [expr.elt] * min(n, _MAX_REPEAT)
    return None


def straight_line_list(name: str, scope: Sequence[cst.BaseStatement], use: cst.CSTNode) -> list[cst.BaseExpression] | None:
    """The elements of list variable `name` at `use`, when it is built in straight-line code
    of the same scope (`x = [...]`, `x.append(e)`, `x.extend([...])`, `x += [...]`); else None."""
    elements: list[cst.BaseExpression] | None = None
    for stmt in scope:
        mentioned, contains_use = _mentions(stmt, name, use)
        if contains_use:
            return elements
        if not mentioned:
            continue
        step = _list_step(stmt, name, elements)
        if step is _UNKNOWN:
            elements = None
            return None
        elements = step
    return None


_UNKNOWN = object()


def _list_step(stmt: cst.BaseStatement, name: str, elements: list | None):
    """Apply one simple statement to the known list, or return _UNKNOWN."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return _UNKNOWN
    small = stmt.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
        new = _list_elements(small.value)
        return new if new is not None and not _mentions(small.value, name)[0] else _UNKNOWN
    if elements is None:
        return _UNKNOWN
    if isinstance(small, cst.AugAssign) and isinstance(small.operator, cst.AddAssign) and isinstance(small.target, cst.Name):
        more = _list_elements(small.value)
        return elements + more if more is not None else _UNKNOWN
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        call = small.value
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == name and len(call.args) == 1:
            if func.attr.value == "append":
                return elements + [call.args[0].value]
            if func.attr.value == "extend":
                more = _list_elements(call.args[0].value)
                return elements + more if more is not None else _UNKNOWN
    return _UNKNOWN


def _added_module(stmt: cst.BaseStatement, target: str) -> tuple[str | None, cst.BaseExpression] | None:
    """(name, layer) of `<target>.add_module("name", layer)` / `<target>.append(layer)`."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1 or not isinstance(stmt.body[0], cst.Expr):
        return None
    call = stmt.body[0].value
    if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute) or dotted_name(call.func.value) != target:
        return None
    if any(arg.star or arg.keyword for arg in call.args):
        return None
    if call.func.attr.value == "append" and len(call.args) == 1:
        return None, call.args[0].value
    if call.func.attr.value == "add_module" and len(call.args) == 2:
        name = literal(call.args[0].value)
        return (name if isinstance(name, str) else "?"), call.args[1].value
    return None


def dotted_name_mentioned(stmt: cst.CSTNode, target: str, head: str) -> bool:
    """Whether `stmt` mentions the dotted name `target` (a bare Name when target is its head)."""
    for node in walk(stmt):
        if isinstance(node, cst.Name) and node.value == head == target:
            return True
        if isinstance(node, cst.Attribute) and dotted_name(node) == target:
            return True
    return False


class SequentialLowering:
    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.consumed: set[int] = set()
        self._extended: dict[int, list[tuple]] = {}
        self.constants = Constants(source.module, source.index)
        self._helpers: dict[str, tuple[cst.Call, Sequence[cst.BaseStatement]]] | None = None
        self._inlining: list[str] = []
        self._calls = 0

    def graphs(self) -> list[LayerGraph]:
        if "Sequential" not in self.source.text:
            return []  # the visitor costs as much as the parse: skip files that cannot match
        graphs = []
        for call, scope in _sequential_calls(self.source):
            if id(call) in self.consumed:
                continue
            graph = LayerGraph("nn.Sequential", self._target(call, scope)[0] or "")
            for node in self.lower_sequential(graph, call, [], scope):
                graph.mark_output(node)
            graphs.append(graph)
        return graphs

    def lower_sequential(self, graph: LayerGraph, call: cst.Call, tail: list[Node], scope) -> list[Node]:
        self.consumed.add(id(call))
        tail = self._lower_arguments(graph, call, tail, scope)
        for name, expr in self._extensions(call, scope):
            tail = self.lower_layer(graph, expr, tail, scope, name) if expr is not None else [
                graph.add("opaque", "(later changes)", tail, site=name)]
        return tail

    def _target(self, call: cst.Call, scope) -> tuple[str | None, int]:
        """The dotted name a statement of `scope` assigns the Sequential to, and that statement's index."""
        for index, stmt in enumerate(scope):
            if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
                small = stmt.body[0]
                if isinstance(small, cst.Assign) and small.value is call and len(small.targets) == 1:
                    return dotted_name(small.targets[0].target), index
                if isinstance(small, cst.AnnAssign) and small.value is call:
                    return dotted_name(small.target), index
        return None, -1

    def _extensions(self, call: cst.Call, scope) -> list[tuple]:
        """`seq.add_module(name, layer)` / `seq.append(layer)` in straight-line code after
        `seq = nn.Sequential(...)`: (name, layer) pairs; a later statement that touches `seq`
        any other way ends the list with (its node, None): unknown from there on."""
        if id(call) in self._extended:
            return self._extended[id(call)]
        found: list[tuple] = []
        self._extended[id(call)] = found
        target, index = self._target(call, scope)
        if not target or (".add_module(" not in self.source.text and ".append(" not in self.source.text):
            return found
        head = target.split(".")[0]
        for stmt in scope[index + 1:]:
            step = _added_module(stmt, target)
            if step is not None:
                found.append(step)
                continue
            if dotted_name_mentioned(stmt, target, head):
                found.append((stmt, None))
                break
        return found

    def _lower_arguments(self, graph: LayerGraph, call: cst.Call, tail: list[Node], scope) -> list[Node]:
        entries = self._named_entries(call)
        if entries is not None:
            for name, expr in entries:
                tail = self.lower_layer(graph, expr, tail, scope, name)
            return tail
        for arg in call.args:
            if arg.keyword is not None:
                continue
            if arg.star == "*":
                elements = _list_elements(arg.value)
                if elements is None and isinstance(arg.value, cst.Name):
                    elements = straight_line_list(arg.value.value, scope, call)
                if elements is None:
                    tail = [graph.add("opaque", self.source.code(arg.value), tail, site=arg.value)]
                    continue
                for element in elements:
                    tail = self.lower_layer(graph, element, tail, scope)
            elif not arg.star:
                tail = self.lower_layer(graph, arg.value, tail, scope)
                mark_entry(tail, arg.value, call, call.args.index(arg))
        return tail

    def _named_entries(self, call: cst.Call) -> list[tuple[str, cst.BaseExpression]] | None:
        """Entries of `nn.Sequential(OrderedDict(...))`, or None for the positional form."""
        if len(call.args) != 1 or call.args[0].star or call.args[0].keyword:
            return None
        inner = call.args[0].value
        if not isinstance(inner, cst.Call) or self.source.imports.resolve(inner.func) not in ORDERED_DICTS:
            return None
        entries: list[tuple[str, cst.BaseExpression]] = []
        for arg in inner.args:
            if arg.keyword is not None:
                entries.append((arg.keyword.value, arg.value))
            elif isinstance(arg.value, cst.Dict):
                for el in arg.value.elements:
                    if not isinstance(el, cst.DictElement):
                        return entries + [("?", el.value)]
                    entries.append((str(literal(el.key) or self.source.code(el.key)), el.value))
            elif isinstance(arg.value, (cst.List, cst.Tuple)):
                for el in arg.value.elements:
                    pair = el.value
                    if isinstance(pair, cst.Tuple) and len(pair.elements) == 2:
                        key = literal(pair.elements[0].value)
                        entries.append((str(key) if key is not None else "?", pair.elements[1].value))
                    else:
                        entries.append(("?", pair))
            else:
                entries.append(("?", arg.value))
        return entries

    def lower_layer(self, graph: LayerGraph, expr: cst.BaseExpression, tail: list[Node], scope, name: str | None = None) -> list[Node]:
        if isinstance(expr, cst.Call):
            qualified = self.source.imports.resolve(expr.func)
            if qualified == SEQUENTIAL:
                return self.lower_sequential(graph, expr, tail, scope)
            if qualified is None and isinstance(expr.func, cst.Name):
                helper = self.helpers().get(expr.func.value)
                if helper is not None and expr.func.value not in self._inlining:
                    return self._inline_helper(graph, expr.func.value, helper, tail)
            spec = layer_spec(qualified)
            if spec is not None:
                cls = qualified.rsplit(".", 1)[-1]
                attrs = constant_arguments(expr, spec.params, self.constants)
                return [graph.add(spec.op, self._label(expr, cls, name), tail, site=expr, cls=cls, **attrs)]
        return [graph.add("opaque", self._label(expr, None, name), tail, site=expr)]

    def helpers(self) -> dict[str, tuple[cst.Call, Sequence[cst.BaseStatement]]]:
        """Module-level functions (defined once) whose last statement is `return nn.Sequential(...)`."""
        if self._helpers is None:
            self._helpers = {}
            names: dict[str, int] = {}
            for stmt in self.source.module.body:
                if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                    names[stmt.name.value] = names.get(stmt.name.value, 0) + 1
            for stmt in self.source.module.body:
                if not isinstance(stmt, cst.FunctionDef) or names[stmt.name.value] != 1:
                    continue
                body = stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else ()
                last = body[-1] if body else None
                if isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], cst.Return):
                    value = last.body[-1].value
                    if isinstance(value, cst.Call) and self.source.imports.resolve(value.func) == SEQUENTIAL:
                        self._helpers[stmt.name.value] = (value, body)
        return self._helpers

    def _inline_helper(self, graph: LayerGraph, name: str, helper, tail: list[Node]) -> list[Node]:
        """`nn.Sequential(conv_block(3, 32), ...)`: the helper's Sequential, in place. Its nodes carry
        attrs["via"] (see graph.ir.inside_same_call): the helper's own graph reports what is inside it."""
        call, body = helper
        start = len(graph.nodes)
        consumed = set(self.consumed)  # the helper's Sequential keeps its own graph
        self._inlining.append(name)
        try:
            tail = self.lower_sequential(graph, call, tail, body)
        finally:
            self._inlining.pop()
            self.consumed = consumed
        self._calls += 1
        key = (("helper", self._calls), None, None)
        for node in graph.nodes[start:]:
            node.attrs["via"] = (key,) + tuple(node.attrs.get("via", ()))
        return tail

    def _label(self, expr: cst.BaseExpression, cls: str | None, name: str | None) -> str:
        if name is not None and name != "?":
            return f"'{name}' ({cls})" if cls else f"'{name}'"
        code = self.source.code(expr)
        if len(code) <= _MAX_LABEL and "\n" not in code:
            return code
        return cls or "layer"


def sequential_graphs(source: SourceFile) -> list[LayerGraph]:
    return SequentialLowering(source).graphs()

