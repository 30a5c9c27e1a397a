"""nn.Module subclasses lowered to one layer graph per class: __init__ layers + forward() dataflow.

The layers a class assigns in __init__ (`self.fc = nn.Linear(...)`, Sequential, ModuleList,
ModuleDict, project classes of the same file) form its attribute table; forward() is then
followed as dataflow (functional.Dataflow): `self.fc(x)` is a node whose site is that call,
whose label is "'self.fc' (Linear)" and whose attrs come from the constructor (plus
attrs["definition"]: the __init__ assignment). Project submodules are inlined through their
own forward; their nodes carry attrs["via"] so rules can report at the submodule's call
(nnlint.graph.ir.seen_from). Anything the analysis cannot resolve is opaque.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Sequence

from nnlint import lazy_libcst as cst

from nnlint.graph import LayerGraph, Node
from nnlint.source import SourceFile
from nnlint.source.functional import Dataflow, Ref, _body
from nnlint.source.literals import call_arguments, literal, literal_arguments
from nnlint.source.sequential import ORDERED_DICTS, SEQUENTIAL, SequentialLowering, straight_line_list
from nnlint.source.torch_nn import LayerSpec, layer_spec

MODULE_LIST = "torch.nn.ModuleList"
MODULE_DICT = "torch.nn.ModuleDict"
MODULE_BASES = frozenset({"torch.nn.Module", "lightning.LightningModule", "lightning.pytorch.LightningModule",
                          "pytorch_lightning.LightningModule"})
MODULE_BASE_SUFFIXES = (".PreTrainedModel", ".LightningModule")
MAX_DEPTH = 8  # nested submodule inlining
MAX_UNROLL = 32  # ModuleList elements unrolled in a loop


# -- what __init__ assigns ------------------------------------------------------------------
@dataclass
class LayerRef(Ref):
    spec: LayerSpec
    cls: str
    ctor: cst.Call
    name: str
    definition: cst.CSTNode | None
    scope: Sequence[cst.BaseStatement] = ()


@dataclass
class SeqRef(Ref):
    ctor: cst.Call
    scope: Sequence[cst.BaseStatement]
    name: str
    definition: cst.CSTNode | None


@dataclass
class ListRef(Ref):
    elements: list[cst.BaseExpression]
    count: int | None  # None: the elements repeat an unknown number of times (>= 1 assumed)
    scope: Sequence[cst.BaseStatement]
    name: str
    definition: cst.CSTNode | None


@dataclass
class DictRef(Ref):
    entries: dict[str, cst.BaseExpression]
    scope: Sequence[cst.BaseStatement]
    name: str
    definition: cst.CSTNode | None


@dataclass
class ClassRef(Ref):
    info: ClassInfo
    name: str
    definition: cst.CSTNode | None
    ctor: cst.Call | None = None


@dataclass
class SelfRef(Ref):
    """`self` of a class being lowered; bindings: its __init__ parameters' static values
    (literal defaults, or this instantiation's literal arguments), valid in `scope`."""

    info: ClassInfo
    bindings: dict[str, Any] = field(default_factory=dict)
    scope: Sequence[cst.BaseStatement] = ()


@dataclass
class MethodRef(Ref):
    info: ClassInfo
    func: cst.FunctionDef


@dataclass
class ClassInfo:
    node: cst.ClassDef
    name: str
    bases: list[ClassInfo] = field(default_factory=list)
    methods: dict[str, cst.FunctionDef] = field(default_factory=dict)
    _table: dict[str, Any] | None = None
    _consts: dict[str, cst.BaseExpression] = field(default_factory=dict)  # self.<attr> = <literal or name>

    def method(self, name: str) -> tuple[ClassInfo, cst.FunctionDef] | None:
        """The method as Python finds it: own first, then the project bases in order."""
        if name in self.methods:
            return self, self.methods[name]
        for base in self.bases:
            found = base.method(name)
            if found is not None:
                return found
        return None


class _Events:
    """`self.<attr> = ...`, `self.<attr>.append/extend(...)` in __init__ statements (a plain walk
    over statements: a libcst visitor costs as much as the parse)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, cst.CSTNode, cst.BaseExpression, bool]] = []

    def walk(self, stmts: Sequence[cst.BaseStatement], in_loop: bool = False, cond: bool = False) -> None:
        """cond: under an if/try, where a container's appends may or may not happen."""
        for stmt in stmts:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    self.small(small, in_loop, cond)
            elif isinstance(stmt, (cst.For, cst.While)):
                self.walk(_body(stmt), True, cond)
                if stmt.orelse is not None:
                    self.walk(_body(stmt.orelse), True, True)
            elif isinstance(stmt, cst.If):
                self.walk(_body(stmt), in_loop, True)
                if stmt.orelse is not None:
                    self.walk([stmt.orelse] if isinstance(stmt.orelse, cst.If) else _body(stmt.orelse), in_loop, True)
            elif isinstance(stmt, cst.With):
                self.walk(_body(stmt), in_loop, cond)
            elif isinstance(stmt, cst.Try):
                self.walk(_body(stmt), in_loop, True)
                for handler in stmt.handlers:
                    self.walk(_body(handler), in_loop, True)
                for extra in (stmt.orelse, stmt.finalbody):
                    if extra is not None:
                        self.walk(_body(extra), in_loop, True)

    def small(self, small: cst.BaseSmallStatement, in_loop: bool, cond: bool = False) -> None:
        if isinstance(small, cst.Assign):
            for target in small.targets:
                attr = _self_attr(target.target)
                if attr:
                    self.events.append((attr, "assign", small, small.value, in_loop))
                elif isinstance(target.target, (cst.Tuple, cst.List)):
                    for element in target.target.elements:
                        attr = _self_attr(element.value)
                        if attr:
                            self.events.append((attr, "other", small, small.value, True))
        elif isinstance(small, cst.AnnAssign):
            attr = _self_attr(small.target)
            if attr and small.value is not None:
                self.events.append((attr, "assign", small, small.value, in_loop))
        elif isinstance(small, cst.AugAssign):
            attr = _self_attr(small.target)
            if attr:
                self.events.append((attr, "other", small, small.value, True))
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            node = small.value
            func = node.func
            if isinstance(func, cst.Attribute):
                attr = _self_attr(func.value)
                if attr:
                    kind = func.attr.value if func.attr.value in ("append", "extend") and len(node.args) == 1 else "other"
                    if cond and kind != "other" or cond and func.attr.value == "add_module":
                        kind = "conditional"  # `if ...: self.layers.append(...)`: the contents are unknown
                    value = node.args[0].value if node.args else node
                    self.events.append((attr, kind, node, value, in_loop))
                elif isinstance(func.value, cst.Name) and func.value.value == "self" and func.attr.value in (
                        "add_module", "register_module"):
                    name = literal(node.args[0].value) if node.args else None
                    self.events.append((name if isinstance(name, str) else "*", "other", node, node, True))
            elif isinstance(func, cst.Name) and func.value == "setattr":
                self.events.append(("*", "other", node, node, True))


def _self_attr(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
        return expr.attr.value
    return None


class ModuleIndex:
    """The nn.Module classes of one file, their attribute tables, and the lowering of each."""

    def __init__(self, source: SourceFile, sequentials: SequentialLowering) -> None:
        self.source = source
        self.sequentials = sequentials
        self.classes: dict[str, ClassInfo] = {}
        index = source.index
        self.functions: dict[str, cst.FunctionDef] = dict(index.unique_functions)
        for node in index.unique_classes.values():
            info = self._class_info(node)
            if info is not None:
                self.classes[info.name] = info
        self.constants = index.constants()

    def _class_info(self, node: cst.ClassDef) -> ClassInfo | None:
        project_bases: list[ClassInfo] = []
        is_module = False
        for arg in node.bases:
            if arg.keyword is not None:
                continue
            qualified = self.source.imports.resolve(arg.value)
            if qualified and (qualified in MODULE_BASES or qualified.endswith(MODULE_BASE_SUFFIXES)):
                is_module = True
            elif isinstance(arg.value, cst.Name) and arg.value.value in self.classes:
                project_bases.append(self.classes[arg.value.value])
                is_module = True
        if not is_module:
            return None
        methods = dict(self.source.index.class_info[node].own_methods())
        return ClassInfo(node, node.name.value, project_bases, methods)

    # -- attribute tables ---------------------------------------------------------------------
    def table(self, info: ClassInfo) -> dict[str, Any]:
        """attr -> Ref (a known callable), None (assigned, unknown) for one class, bases merged."""
        if info._table is not None:
            return info._table
        info._table = {}
        table: dict[str, Any] = {}
        for base in reversed(info.bases):
            table.update(self.table(base))
            info._consts.update(base._consts)
        init = info.methods.get("__init__")
        if init is not None:
            table.update(self._init_table(info, init))
        info._table = table
        return table

    def _init_table(self, info: ClassInfo, init: cst.FunctionDef) -> dict[str, Any]:
        events = _Events()
        events.walk(_body(init))
        scope = _body(init)
        by_attr: dict[str, list] = {}
        for attr, kind, node, value, in_loop in events.events:
            by_attr.setdefault(attr, []).append((kind, node, value, in_loop))
        table: dict[str, Any] = {}
        for attr, steps in by_attr.items():
            if attr == "*":
                continue
            kind, node, value, in_loop = steps[0]
            if kind != "assign" or in_loop:
                table[attr] = None
                continue
            if len([s for s in steps if s[0] == "assign"]) > 1:
                table[attr] = None  # assigned twice (often `None`, then a layer under a condition)
                continue
            if literal(value) is not None or isinstance(value, cst.Name):
                info._consts[attr] = value
            ref = self.ref(value, scope, f"self.{attr}", node)
            for kind, step, extra, in_loop in steps[1:]:
                ref = _grow(ref, kind, extra, in_loop, step)
            table[attr] = ref
        return table

    def ref(self, expr: cst.BaseExpression, scope: Sequence[cst.BaseStatement], name: str, definition: cst.CSTNode | None) -> Ref | None:
        """What a constructor expression builds, when the analysis knows it."""
        if isinstance(expr, (cst.List, cst.Tuple)):
            elements = _elements(expr)
            return ListRef(elements, len(elements), scope, name, definition) if elements is not None else None
        if not isinstance(expr, cst.Call):
            return None
        qualified = self.source.imports.resolve(expr.func)
        if qualified == SEQUENTIAL:
            return SeqRef(expr, scope, name, definition)
        if qualified == MODULE_LIST:
            if not expr.args:
                return ListRef([], 0, scope, name, definition)
            arg = expr.args[0]
            if arg.keyword is not None and arg.keyword.value != "modules" or arg.star:
                return None
            return self._list(arg.value, scope, name, definition, expr)
        if qualified == MODULE_DICT:
            entries = self._dict_entries(expr)
            return DictRef(entries, scope, name, definition) if entries is not None else None
        spec = layer_spec(qualified)
        if spec is not None:
            return LayerRef(spec, qualified.rsplit(".", 1)[-1], expr, name, definition, scope)
        if isinstance(expr.func, cst.Name):
            local = expr.func.value
            if local in self.classes:
                return ClassRef(self.classes[local], name, definition, expr)
            helper = self.functions.get(local)
            if helper is not None:
                returned = _returned_sequential(self.source, helper)
                if returned is not None:
                    return SeqRef(returned, _body(helper), name, definition)
        return None

    def _list(self, value: cst.BaseExpression, scope, name: str, definition, use: cst.CSTNode) -> ListRef | None:
        elements = _elements(value)
        if elements is not None:
            return ListRef(elements, len(elements), scope, name, definition)
        if isinstance(value, cst.ListComp) or isinstance(value, cst.GeneratorExp):
            repeated = _comprehension(value)
            if repeated is not None:
                return ListRef([value.elt], repeated if repeated >= 0 else None, scope, name, definition)
            return None
        if isinstance(value, cst.Name):
            found = straight_line_list(value.value, scope, use)
            if found is not None:
                return ListRef(found, len(found), scope, name, definition)
        return None

    def _dict_entries(self, call: cst.Call) -> dict[str, cst.BaseExpression] | None:
        if len(call.args) != 1 or call.args[0].star or call.args[0].keyword:
            return None if call.args else {}
        value = call.args[0].value
        if isinstance(value, cst.Call) and self.source.imports.resolve(value.func) in ORDERED_DICTS and len(value.args) == 1:
            value = value.args[0].value
        entries: dict[str, cst.BaseExpression] = {}
        if isinstance(value, cst.Dict):
            for el in value.elements:
                if not isinstance(el, cst.DictElement) or not isinstance(literal(el.key), str):
                    return None
                entries[literal(el.key)] = el.value
            return entries
        if isinstance(value, (cst.List, cst.Tuple)):
            for el in value.elements:
                pair = el.value
                if not (isinstance(pair, cst.Tuple) and len(pair.elements) == 2 and isinstance(literal(pair.elements[0].value), str)):
                    return None
                entries[literal(pair.elements[0].value)] = pair.elements[1].value
            return entries
        return None

    # -- graphs -------------------------------------------------------------------------------
    def graphs(self) -> list[LayerGraph]:
        graphs = []
        for info in self.classes.values():
            found = info.method("forward")
            if found is None:
                continue
            _owner, forward = found
            graph = LayerGraph("nn.Module", info.name)
            ForwardLowering(self, graph).lower_forward(info, forward)
            graphs.append(graph)
        return graphs


def _grow(ref: Any, kind: str, value: cst.BaseExpression, in_loop: bool, step: cst.CSTNode) -> Any:
    """`self.layers.append(x)` / `.extend([...])` after `self.layers = nn.ModuleList(...)`;
    `self.seq.add_module(...)`/`.append(...)` after a Sequential (sequential.py follows those)."""
    if isinstance(ref, SeqRef):
        method = step.func.attr.value if isinstance(step, cst.Call) and isinstance(step.func, cst.Attribute) else None
        return ref if method in ("add_module", "append") and not in_loop and kind != "conditional" else None
    if not isinstance(ref, ListRef) or ref.count is None or kind not in ("append", "extend"):
        return None
    more = [value] if kind == "append" else _elements(value)
    if more is None:
        return None
    if in_loop:
        # `for i in range(n): self.layers.append(Block(...))`: one repeated element, count unknown.
        if ref.elements or len(more) != 1:
            return None
        return ListRef(more, None, ref.scope, ref.name, ref.definition)
    return ListRef(ref.elements + more, ref.count + len(more), ref.scope, ref.name, ref.definition)


def _elements(expr: cst.BaseExpression) -> list[cst.BaseExpression] | None:
    if isinstance(expr, (cst.List, cst.Tuple)) and not any(isinstance(e, cst.StarredElement) for e in expr.elements):
        return [e.value for e in expr.elements]
    return None


def _comprehension(comp: cst.ListComp | cst.GeneratorExp) -> int | None:
    """`[elt for _ in range(N)]`: N (-1 when N is not a literal); None for any other shape."""
    clause = comp.for_in
    if clause.inner_for_in is not None or clause.ifs or clause.asynchronous is not None:
        return None
    it = clause.iter
    if isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value == "range" and len(it.args) == 1:
        n = literal(it.args[0].value)
        return n if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else -1
    return -1


def _returned_sequential(source: SourceFile, func: cst.FunctionDef) -> cst.Call | None:
    """A helper whose last statement is `return nn.Sequential(...)`."""
    body = _body(func)
    if not body or not isinstance(body[-1], cst.SimpleStatementLine):
        return None
    last = body[-1].body[-1] if body[-1].body else None
    if isinstance(last, cst.Return) and isinstance(last.value, cst.Call) and source.imports.resolve(last.value.func) == SEQUENTIAL:
        return last.value
    return None


# -- forward() dataflow ---------------------------------------------------------------------
class ForwardLowering(Dataflow):
    def __init__(self, index: ModuleIndex, graph: LayerGraph) -> None:
        super().__init__(index.source, graph)
        self.index = index
        self.active: list[tuple[str, str]] = []  # (class, method) being lowered: recursion guard
        self.calls = itertools.count(1)
        self.owners: list[SelfRef] = []  # `self` of the class whose code is being lowered

    def lower_forward(self, info: ClassInfo, forward: cst.FunctionDef) -> None:
        owner = self.self_ref(info, None, None)
        self.owners.append(owner)
        env: dict[str, Any] = {"self": owner}
        params = list(forward.params.params)
        for param in params[1:] + list(forward.params.kwonly_params):
            env[param.name.value] = [self.add("input", f"'{param.name.value}'", (), site=param)]
        self.active.append((info.name, "forward"))
        for node in self.run_function(forward, env):
            self.graph.mark_output(node)
        self.active.pop()
        self.owners.pop()

    # -- values ---------------------------------------------------------------------------
    def attribute(self, e: cst.Attribute, env: dict[str, Any]) -> Any:
        owner = env.get(e.value.value) if isinstance(e.value, cst.Name) else None
        if isinstance(owner, SelfRef):
            attr = e.attr.value
            table = self.index.table(owner.info)
            if attr in table:
                return table[attr] if table[attr] is not None else []
            found = owner.info.method(attr)
            if found is not None:
                return MethodRef(*found)
            return []
        return super().attribute(e, env)

    def subscript(self, e: cst.Subscript, base: Any, env: dict[str, Any]) -> Any:
        if isinstance(base, SeqRef):
            base = self.sequence_items(base) or []
        if isinstance(base, (ListRef, DictRef)):
            key = _index(e)
            if isinstance(base, DictRef) and isinstance(key, str) and key in base.entries:
                return self.element(base, key)
            if isinstance(base, ListRef) and isinstance(key, int) and not isinstance(key, bool) and base.count is not None:
                if -base.count <= key < base.count:
                    return self.element(base, key % base.count)
            return []
        return super().subscript(e, base, env)

    def sequence_items(self, ref: SeqRef) -> ListRef | None:
        """The layers of a Sequential attribute as a list (iterating or indexing it in forward)."""
        lowering = self.index.sequentials
        entries = lowering._named_entries(ref.ctor)
        if entries is not None:
            exprs = [expr for _name, expr in entries]
        elif any(arg.star or arg.keyword for arg in ref.ctor.args):
            return None
        else:
            exprs = [arg.value for arg in ref.ctor.args]
        for _name, expr in lowering._extensions(ref.ctor, ref.scope):
            if expr is None:
                return None
            exprs.append(expr)
        return ListRef(exprs, len(exprs), ref.scope, ref.name, ref.definition)

    def element(self, container: ListRef | DictRef, key: int | str) -> Ref | list:
        expr = container.entries[key] if isinstance(container, DictRef) else container.elements[key % len(container.elements)]
        label = f"{container.name}[{key!r}]"
        ref = self.index.ref(expr, container.scope, label, container.definition)
        return ref if ref is not None else []

    def constant(self, expr: cst.BaseExpression, scope: Sequence[cst.BaseStatement] | None = None) -> Any:
        """A literal, a module constant, an __init__ parameter's static value (in `scope`, the
        current class's __init__), or `self.<attr>` assigned one of those in __init__."""
        value = literal(expr)
        if value is not None:
            return value
        owner = self.owners[-1] if self.owners else None
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self" and owner:
            self.index.table(owner.info)
            assigned = owner.info._consts.get(expr.attr.value)
            return self.constant(assigned, owner.scope) if assigned is not None else None
        if isinstance(expr, cst.Name):
            if owner is not None and scope is not None and scope is owner.scope and expr.value in owner.bindings:
                return owner.bindings[expr.value]
            return self.index.constants.get(expr.value)
        return None

    def self_ref(self, info: ClassInfo, ctor: cst.Call | None, caller: SelfRef | None) -> SelfRef:
        """`self` of `info`: its __init__ parameters bound to literal defaults, or to the
        instantiation's arguments when they are static (unknown otherwise)."""
        init = info.method("__init__")
        if init is None:
            return SelfRef(info)
        func = init[1]
        scope = _body(func)
        params = list(func.params.params)[1:]
        bindings: dict[str, Any] = {}
        for param in params + list(func.params.kwonly_params):
            if param.default is not None and literal(param.default) is not None:
                bindings[param.name.value] = literal(param.default)
        if ctor is not None:
            position = 0
            for arg in ctor.args:
                if arg.star:
                    position = len(params)
                    bindings = {k: v for k, v in bindings.items() if k in {p.name.value for p in func.params.kwonly_params}}
                    continue
                name = arg.keyword.value if arg.keyword is not None else (params[position].name.value if position < len(params) else None)
                if arg.keyword is None:
                    position += 1
                if name is None:
                    continue
                value = self.constant(arg.value, caller.scope if caller else None)
                if value is None:
                    bindings.pop(name, None)
                else:
                    bindings[name] = value
            if any(a.star == "**" for a in ctor.args):
                bindings = {}
        return SelfRef(info, bindings, scope)

    # -- calls ----------------------------------------------------------------------------
    def call(self, call: cst.Call, env: dict[str, Any]) -> Any:
        func = call.func
        callee = self.callee(func, env)
        if callee is not None:
            if isinstance(callee, Ref):
                return self.call_ref(callee, call, env)
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and isinstance(env.get(func.value.value), SelfRef):
                # self.<unknown>(x): a layer the analysis cannot see (built by a factory, passed in...)
                inputs = self.call_inputs(call, env)
                return self.opaque(call, inputs)
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call) and _is_super(func.value):
            return self.super_call(func.attr.value, call, env)
        return super().call(call, env)

    def callee(self, func: cst.BaseExpression, env: dict[str, Any]) -> Any:
        """What a call's function is, when it is `self.<attr>`, a name bound to a Ref, or an
        item of a container Ref; None otherwise (evaluating it would add nodes)."""
        if isinstance(func, cst.Name):
            return env.get(func.value)
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and isinstance(env.get(func.value.value), SelfRef):
            return self.attribute(func, env)
        if isinstance(func, cst.Subscript):
            base = self.callee(func.value, env)
            if isinstance(base, (ListRef, DictRef, SeqRef)):
                return self.subscript(func, base, env)
        return None

    def call_ref(self, ref: Ref, call: cst.Call, env: dict[str, Any]) -> Any:
        positional = [a.value for a in call.args if not a.keyword and not a.star]
        inputs = [n for value in positional for n in self.value(value, env)]
        if self.full:
            return self.opaque(call, inputs)
        if isinstance(ref, LayerRef):
            attrs = literal_arguments(ref.ctor, ref.spec.params)
            for key, value in list(attrs.items()):
                if value is None:
                    del attrs[key]
            for key, expr in call_arguments(ref.ctor, ref.spec.params).items():
                if key not in attrs:
                    value = self.constant(expr, ref.scope)
                    if value is not None:
                        attrs[key] = value
            attrs["cls"] = ref.cls
            attrs["call"] = ref.ctor
            if ref.definition is not None:
                attrs["definition"] = ref.definition
            return [self.add(ref.spec.op, f"'{ref.name}' ({ref.cls})", inputs, site=call, **attrs)]
        if isinstance(ref, SeqRef):
            start = len(self.graph.nodes)
            key = (next(self.calls), None, None)
            tail = self.index.sequentials.lower_sequential(self.graph, ref.ctor, list(inputs), ref.scope)
            via = self.via + (key,)
            for node in self.graph.nodes[start:]:
                node.attrs["via"] = via + tuple(node.attrs.get("via", ()))
            return list(tail)
        if isinstance(ref, ClassRef):
            found = ref.info.method("forward")
            if found is None or len(self.active) >= MAX_DEPTH or any(c == ref.info.name for c, _m in self.active):
                return self.opaque(call, inputs)
            label = f"'{ref.name}' ({ref.info.name})"
            owner = self.self_ref(ref.info, ref.ctor, self.owners[-1] if self.owners else None)
            return self.inline(found[0], found[1], call, env, owner, (next(self.calls), call, label))
        if isinstance(ref, MethodRef):
            if len(self.active) >= MAX_DEPTH or (ref.info.name, ref.func.name.value) in self.active:
                return self.opaque(call, inputs)
            owner = next((v for v in [env.get("self")] if isinstance(v, SelfRef)), SelfRef(ref.info))
            return self.inline(ref.info, ref.func, call, env, owner, None)
        return self.opaque(call, inputs)

    def super_call(self, method: str, call: cst.Call, env: dict[str, Any]) -> Any:
        owner = env.get("self")
        if isinstance(owner, SelfRef) and self.active:
            current = self.index.classes.get(self.active[-1][0])
            for base in current.bases if current else ():
                found = base.method(method)
                if found is not None and (found[0].name, method) not in self.active:
                    return self.inline(found[0], found[1], call, env, owner, None)
        return self.opaque(call, self.call_inputs(call, env))

    def inline(self, info: ClassInfo, func: cst.FunctionDef, call: cst.Call, env: dict[str, Any], owner: SelfRef, entry) -> list[Node]:
        """Lower `func` for this call: arguments bound to its parameters, its returns are the value."""
        inner: dict[str, Any] = {"self": owner}
        params = list(func.params.params)[1:]
        names = [p.name.value for p in params] + [p.name.value for p in func.params.kwonly_params]
        for p in params + list(func.params.kwonly_params):
            inner[p.name.value] = []
        bound = call_arguments(call, tuple(p.name.value for p in params))
        inner.update((name, self.expr(value, env)) for name, value in bound.items() if name in names)
        saved = self.via
        if entry is not None:
            self.via = self.via + (entry,)
        self.active.append((info.name, func.name.value))
        self.owners.append(owner)
        try:
            result = self.run_function(func, inner)
        finally:
            self.active.pop()
            self.owners.pop()
            self.via = saved
        return result

    def loop(self, stmt: cst.For | cst.While, env: dict[str, Any]) -> bool:
        if isinstance(stmt, cst.For):
            it, target = stmt.iter, stmt.target
            enumerated = False
            if isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value == "enumerate" and len(it.args) == 1 \
                    and "enumerate" not in env and isinstance(target, cst.Tuple) and len(target.elements) == 2:
                it, target, enumerated = it.args[0].value, target.elements[1].value, True
            container = self.expr(it, env)
            if isinstance(container, SeqRef):
                container = self.sequence_items(container)
            if isinstance(container, ListRef) and isinstance(target, cst.Name) and container.elements:
                count = container.count if container.count is not None else 1
                for i in range(min(count, MAX_UNROLL)):
                    if enumerated:
                        self.bind_unknown(stmt.target.elements[0].value, env)
                    ref = self.element(container, i)
                    env[target.value] = ref
                    if self.block(_body(stmt), env):
                        return True
                if stmt.orelse is not None:
                    self.block(_body(stmt.orelse), env)
                return False
        return super().loop(stmt, env)

def _index(e: cst.Subscript) -> Any:
    if len(e.slice) != 1 or not isinstance(e.slice[0].slice, cst.Index):
        return None
    return literal(e.slice[0].slice.value)


def _is_super(call: cst.Call) -> bool:
    return isinstance(call.func, cst.Name) and call.func.value == "super"


def module_graphs(source: SourceFile, sequentials: SequentialLowering) -> list[LayerGraph]:
    return ModuleIndex(source, sequentials).graphs()
