"""Keras subclassed models and layers (`class M(keras.Model)`, `class B(keras.layers.Layer)`):
the layers their methods assign to `self`, applied by `call()`, lowered to one layer graph per class.

What `self.<attr>` may hold, when the class assigns it exactly once (in `__init__` or `build`)
and never mutates it (`self.attr.append(...)`, `self.attr[i] = ...`, `+=`): a Keras layer; a
list/tuple/dict of layers (`self.blocks = [Dense(64), Dropout(0.5)]`, also grown by
`self.blocks.append(...)` right after it in `__init__`, followed per path by keras_adds) applied in
a loop (`for layer in self.blocks: x = layer(x)`, unrolled once per element) or by literal index;
a `keras.Sequential([...])` (grown by straight-line `.add` after it) whose layers are lowered
in place; an instance of another subclassed Layer/Model of the same file, whose `call()` is
lowered inline (its nodes carry attrs["via"], so a finding that crosses the call is reported
at it, and what lies wholly inside it is left to that class's own graph). `super().call(...)`
lowers the base class's `call()` with the same `self`. Classes deriving from such a class of
the same file are subclassed models too (their bases' layers merged, their own winning).
Anything else is opaque.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Sequence

from nnlint import lazy_libcst as cst

from nnlint.graph import LayerGraph, Node
from nnlint.source import SourceFile
from nnlint.source.functional import Ref, _body
from nnlint.source.functional import _join_into
from nnlint.source.functional import _unique as _unique_nodes
from nnlint.source.keras import SEQUENTIALS, SUBCLASS_BASES, KerasFlow
from nnlint.source.keras_adds import Growth
from nnlint.source.literals import call_arguments, literal
from nnlint.source.walk import walk

MAX_DEPTH = 8  # nested subclassed layers lowered inline
MAX_UNROLL = 32  # list elements unrolled in a loop
_MUTATORS = frozenset({"append", "extend", "insert", "add", "pop", "remove", "clear", "update", "setdefault",
                       "__setitem__", "reverse", "sort"})
_LAYER_METHODS = ("__init__", "build")


@dataclass
class LayerList(Ref):
    """`self.blocks = [Dense(64), Dropout(0.5)]` (a list, tuple or dict of layer expressions).
    variants: the lists the paths through `self.blocks.append(...)` calls after it build
    (keras_adds), when there are any; elements/keys: the list when it has one value."""

    name: str
    elements: list[cst.BaseExpression]
    keys: list[Any]
    variants: list[list[cst.BaseExpression]] | None = None


@dataclass
class GrownSequential(Ref):
    """`self.seq = keras.Sequential([...])` grown by `self.seq.add(...)` right after it in
    `__init__`: the layer lists the paths build (keras_adds)."""

    name: str
    variants: list[list[cst.BaseExpression]]


@dataclass
class Element(Ref):
    """One element of a LayerList, bound to a loop variable or picked by index."""

    expr: cst.BaseExpression
    label: str
    at_entry: bool  # reported at its entry in the list (else at the call)


@dataclass
class SelfTable(Ref):
    """`self` in a subclassed model's methods: what its attributes hold (see the module docstring)."""

    cls: cst.ClassDef
    layers: dict[str, Any]  # attr -> layer expression (a Call) or LayerList


class KerasClasses:
    """The subclassed Keras models and layers of one file and the tables of their `self`."""

    def __init__(self, source: SourceFile, is_layer) -> None:
        self.source = source
        self.is_layer = is_layer
        self.classes: dict[str, cst.ClassDef] = {}  # module-level name -> class (the first of each name)
        self.bases: dict[int, list[cst.ClassDef]] = {}  # id(class) -> its same-file Keras bases, in order
        self.ordered: list[cst.ClassDef] = []
        for node in walk(source.module):
            if not isinstance(node, cst.ClassDef):
                continue
            own: list[cst.ClassDef] = []
            keras = False
            for arg in node.bases:
                if arg.keyword is not None:
                    continue
                if source.imports.resolve(arg.value) in SUBCLASS_BASES:
                    keras = True
                elif isinstance(arg.value, cst.Name) and arg.value.value in self.classes:
                    own.append(self.classes[arg.value.value])
                    keras = True
            if keras:
                self.ordered.append(node)
                self.bases[id(node)] = own
                self.classes.setdefault(node.name.value, node)
        self._tables: dict[int, dict[str, Any]] = {}

    def method(self, cls: cst.ClassDef, name: str) -> tuple[cst.ClassDef, cst.FunctionDef] | None:
        """The method as Python finds it among the same-file classes (own first, then bases in order)."""
        own = _methods(cls).get(name)
        if own is not None:
            return cls, own
        for base in self.bases.get(id(cls), ()):
            found = self.method(base, name)
            if found is not None:
                return found
        return None

    def base_method(self, cls: cst.ClassDef, name: str) -> tuple[cst.ClassDef, cst.FunctionDef] | None:
        """What `super().<name>` finds from a method of `cls`."""
        for base in self.bases.get(id(cls), ()):
            found = self.method(base, name)
            if found is not None:
                return found
        return None

    def table(self, cls: cst.ClassDef) -> dict[str, Any]:
        """attr -> what `self.<attr>` holds; bases first, the class's own assignments win."""
        key = id(cls)
        if key in self._tables:
            return self._tables[key]
        self._tables[key] = {}
        table: dict[str, Any] = {}
        for base in reversed(self.bases.get(key, ())):
            table.update(self.table(base))
        for attr, value in self._own_table(cls).items():
            if value is None:
                table.pop(attr, None)
            else:
                table[attr] = value
        self._tables[key] = table
        return table

    def _own_table(self, cls: cst.ClassDef) -> dict[str, Any]:
        """The class's own `self.<attr> = ...` (None: assigned but unknown, or mutated)."""
        assigned: dict[str, list[tuple[cst.BaseExpression, str, Sequence[cst.BaseStatement], int]]] = {}
        mutated: set[str] = set()
        appended: dict[str, set[int]] = {}  # `self.attr.append(layer)` statements
        added: dict[str, set[int]] = {}  # `self.attr.add(layer)` statements
        for name, func in _methods(cls).items():
            for stmt_list in [b.body for b in walk(func) if isinstance(b, cst.IndentedBlock)]:
                for index, stmt in enumerate(stmt_list):
                    if not isinstance(stmt, cst.SimpleStatementLine):
                        continue
                    for small in stmt.body:
                        for attr, value in _self_assignments(small):
                            assigned.setdefault(attr, []).append((value, name, stmt_list, index))
                        append = _self_append(small) if len(stmt.body) == 1 else None
                        if append is not None and append[2] == "add":
                            added.setdefault(append[0], set()).add(id(append[1]))
                            continue
                        if append is not None:
                            appended.setdefault(append[0], set()).add(id(append[1]))
                        else:
                            mutated |= _self_mutations(small)
        table: dict[str, Any] = {}
        for attr, values in assigned.items():
            if len(values) != 1 or attr in mutated or values[0][1] not in _LAYER_METHODS or values[0][0] is None:
                table[attr] = None
                continue
            value, method, stmt_list, index = values[0]
            held = self._held(attr, value, cls)
            if attr in appended:
                held = _grown(held, stmt_list[index + 1:], appended[attr])
            if attr in added:
                held = _grown_sequential(held, f"self.{attr}", stmt_list[index + 1:], added[attr], self.source)
            table[attr] = held
        for attr in (mutated | set(appended) | set(added)) - set(assigned):
            table[attr] = None
        return table

    def _held(self, attr: str, value: cst.BaseExpression, cls: cst.ClassDef) -> Any:
        name = f"self.{attr}"
        if isinstance(value, (cst.List, cst.Tuple)):
            if any(isinstance(e, cst.StarredElement) for e in value.elements):
                return None
            elements = [e.value for e in value.elements]
            return LayerList(name, elements, list(range(len(elements))))
        if isinstance(value, cst.Dict):
            keys, elements = [], []
            for el in value.elements:
                key = literal(el.key) if isinstance(el, cst.DictElement) else None
                if not isinstance(key, str):
                    return None
                keys.append(key)
                elements.append(el.value)
            return LayerList(name, elements, keys)
        if not isinstance(value, cst.Call):
            return None
        if self.source.imports.resolve(value.func) in SEQUENTIALS:
            return value
        if self.is_layer(value) or (isinstance(value.func, cst.Name) and value.func.value in self.classes):
            return value
        return None


def _methods(cls: cst.ClassDef) -> dict[str, cst.FunctionDef]:
    return {s.name.value: s for s in _body(cls) if isinstance(s, cst.FunctionDef)}


def _self_attr(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
        return expr.attr.value
    return None


def _self_assignments(small: cst.BaseSmallStatement) -> list[tuple[str, cst.BaseExpression | None]]:
    """(attr, value) of `self.attr = value`; value None when the target is part of a tuple."""
    found: list[tuple[str, cst.BaseExpression | None]] = []
    if isinstance(small, cst.Assign):
        for target in small.targets:
            attr = _self_attr(target.target)
            if attr:
                found.append((attr, small.value))
            elif isinstance(target.target, (cst.Tuple, cst.List)):
                found += [(a, None) for a in (_self_attr(e.value) for e in target.target.elements) if a]
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        attr = _self_attr(small.target)
        if attr:
            found.append((attr, small.value))
    return found


def _self_append(small: cst.BaseSmallStatement) -> tuple[str, cst.Call, str] | None:
    """(attr, call, method) of the statement `self.attr.append(layer)` or `self.attr.add(layer)`."""
    call = small.value if isinstance(small, cst.Expr) else None
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value in ("append", "add"):
        attr = _self_attr(call.func.value)
        if attr:
            return attr, call, call.func.attr.value
    return None


def _grown_sequential(held: Any, name: str, after: Sequence[cst.BaseStatement], adds: set[int],
                      source: SourceFile) -> GrownSequential | None:
    """A Sequential attribute grown by `.add` right after it: its layers on each path; unknown
    unless every `.add` of the class is on those paths and nothing stopped the analysis."""
    if not isinstance(held, cst.Call) or source.imports.resolve(held.func) not in SEQUENTIALS:
        return None
    start = _listed_layers(held)
    growth = Growth(name, "add")
    variants = growth.after(after)
    if start is None or not growth.complete or growth.seen != adds or not variants:
        return None
    return GrownSequential(name, [start + more for more in variants])


def _grown(held: Any, after: Sequence[cst.BaseStatement], appends: set[int]) -> LayerList | None:
    """A list literal grown by `self.attr.append(...)` in the statements after it: the list each
    path builds (keras_adds). Unknown unless every append of the class is on those paths and
    nothing stopped the analysis (a layer left out would join its neighbours falsely)."""
    if not isinstance(held, LayerList) or held.keys != list(range(len(held.elements))):
        return None
    growth = Growth(held.name, "append")
    variants = growth.after(after)
    if not growth.complete or growth.seen != appends or not variants:
        return None
    lists = [held.elements + added for added in variants]
    if len(lists) == 1:
        return LayerList(held.name, lists[0], list(range(len(lists[0]))))
    return LayerList(held.name, [], [], lists)


def _self_mutations(small: cst.BaseSmallStatement) -> set[str]:
    """Attributes a statement changes in place: `self.a.append(...)`, `self.a[k] = ...`, `self.a += ...`,
    `del self.a[...]`, `setattr(self, ...)` (every attribute: "*")."""
    found: set[str] = set()
    if isinstance(small, cst.AugAssign):
        attr = _self_attr(small.target)
        if attr:
            found.add(attr)
    targets: list[cst.BaseExpression] = []
    if isinstance(small, cst.Assign):
        targets = [t.target for t in small.targets]
    elif isinstance(small, cst.Del):
        targets = [small.target]
    for target in targets:
        for node in walk(target) if not isinstance(target, cst.Subscript) else [target]:
            if isinstance(node, cst.Subscript):
                attr = _self_attr(node.value)
                if attr:
                    found.add(attr)
    for node in walk(small):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _MUTATORS:
            attr = _self_attr(node.func.value)
            if attr:
                found.add(attr)
    return found


def subclassed_graph(lowering, classes: KerasClasses, cls: cst.ClassDef) -> LayerGraph | None:
    """One class's graph: `call()` (own or inherited from a same-file base) over its `self` table;
    the tensor parameters of call are the inputs (`training`/`mask` and parameters with defaults are not)."""
    found = classes.method(cls, "call")
    if found is None:
        return None
    owner, call = found
    graph = LayerGraph("keras", cls.name.value)
    flow = SubclassFlow(lowering, classes, graph)
    env: dict[str, Any] = {"self": SelfTable(cls, classes.table(cls))}
    for param in list(call.params.params)[1:]:
        if param.name.value not in ("training", "mask") and param.default is None:
            env[param.name.value] = [graph.add("input", f"'{param.name.value}'", (), site=param)]
    flow.active.append(owner)
    returned = flow.run_function(call, env)
    if not flow.built:
        return None
    for node in returned:
        graph.mark_output(node)
    return graph


class SubclassFlow(KerasFlow):
    """KerasFlow plus what `self` holds in a subclassed model (see the module docstring)."""

    def __init__(self, lowering, classes: KerasClasses, graph: LayerGraph) -> None:
        super().__init__(lowering.source, graph, lowering.layers)
        self.lowering = lowering
        self.classes = classes
        self.active: list[cst.ClassDef] = []  # classes whose call() is being lowered: recursion guard
        self.calls = itertools.count(1)

    def call(self, call: cst.Call, env: dict[str, Any]) -> Any:
        func = call.func
        owner = env.get(func.value.value) if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) else None
        if isinstance(owner, SelfTable) and isinstance(owner.layers.get(func.attr.value), GrownSequential):
            grown = owner.layers[func.attr.value]
            inputs = [n for a in call.args if a.keyword is None and not a.star for n in self.value(a.value, env)]
            return _unique_nodes([n for entries in grown.variants for n in self.lower_entries(entries, inputs)])
        held = self.held(func, env)
        if held is not None:
            return self.apply(held, call, env)
        if isinstance(func, cst.Attribute) and func.attr.value == "call" and isinstance(func.value, cst.Call) \
                and isinstance(func.value.func, cst.Name) and func.value.func.value == "super" and self.active:
            return self.super_call(call, env)
        return super().call(call, env)

    def held(self, func: cst.BaseExpression, env: dict[str, Any]) -> Element | None:
        """What a called expression holds when it is a layer of `self`: `self.attr`, an element
        bound to a loop variable, `self.blocks[0]`; None otherwise (KerasFlow decides)."""
        if isinstance(func, cst.Name) and isinstance(env.get(func.value), Element):
            return env[func.value]
        owner = env.get(func.value.value) if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) else None
        if isinstance(owner, SelfTable):
            value = owner.layers.get(func.attr.value)
            if isinstance(value, cst.Call):
                return Element(value, f"'self.{func.attr.value}'", False)
            return None
        if isinstance(func, cst.Subscript) and len(func.slice) == 1 and isinstance(func.slice[0].slice, cst.Index):
            container = self.container(func.value, env)
            if container is not None:
                key = literal(func.slice[0].slice.value)
                if key in container.keys and not isinstance(key, bool):
                    index = container.keys.index(key)
                elif isinstance(key, int) and not isinstance(key, bool) and -len(container.keys) <= key < 0 \
                        and container.keys == list(range(len(container.keys))):
                    index = key % len(container.keys)
                else:
                    return None
                return Element(container.elements[index], f"'{container.name}[{key!r}]'", True)
        return None

    def container(self, expr: cst.BaseExpression, env: dict[str, Any]) -> LayerList | None:
        """`self.blocks` holding a LayerList (or `self.blocks.values()` of a dict)."""
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "values" \
                and not expr.args:
            found = self.container(expr.func.value, env)
            return found if found is not None and all(isinstance(k, str) for k in found.keys) else None
        owner = env.get(expr.value.value) if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) else None
        if isinstance(owner, SelfTable):
            value = owner.layers.get(expr.attr.value)
            return value if isinstance(value, LayerList) else None
        return None

    def apply(self, held: Element, call: cst.Call, env: dict[str, Any]) -> list[Node]:
        """Apply the held layer expression to the call's positional tensor arguments."""
        inputs = [n for a in call.args if a.keyword is None and not a.star for n in self.value(a.value, env)]
        expr = held.expr
        if isinstance(expr, cst.Call):
            # an element of a layer list is reported at its entry in the list; a layer attribute at its call
            site = expr if held.at_entry else call
            nodes = self.layers.lower(self._add, expr, inputs, site=site)
            if nodes is not None:
                return nodes
            if self.source.imports.resolve(expr.func) in SEQUENTIALS:
                return self.sequential(expr, inputs)
            if isinstance(expr.func, cst.Name) and expr.func.value in self.classes.classes:
                return self.inline(self.classes.classes[expr.func.value], call, env, inputs, held.label, site)
        return self.opaque(call, inputs) if inputs else []

    def sequential(self, ctor: cst.Call, inputs: list[Node]) -> list[Node]:
        """A `keras.Sequential([...])` attribute called in call(): its layers in place. Its own
        graph reports what lies inside it (attrs["via"], with no call site: a finding that
        crosses it is reported at the layer's entry)."""
        entries = _listed_layers(ctor)
        if entries is None:
            return self.opaque(ctor, inputs)
        return self.lower_entries(entries, inputs)

    def lower_entries(self, entries: list[cst.BaseExpression], inputs: list[Node]) -> list[Node]:
        start = len(self.graph.nodes)
        tail = list(inputs)
        for entry in entries:
            tail = self.lowering.entry(self.graph, entry, tail)
        self.built = True
        via = self.via + ((("sequential", next(self.calls)), None, None),)
        for node in self.graph.nodes[start:]:
            node.attrs["via"] = via + tuple(node.attrs.get("via", ()))
        return tail

    def inline(self, cls: cst.ClassDef, call: cst.Call, env: dict[str, Any], inputs: list[Node], label: str,
               site: cst.CSTNode) -> list[Node]:
        """Another subclassed layer of this file: its call() lowered for this call."""
        found = self.classes.method(cls, "call")
        if found is None or len(self.active) >= MAX_DEPTH or any(c is cls for c in self.active):
            return self.opaque(call, inputs)
        owner, method = found
        entry = (("layer", next(self.calls)), site, f"{label} ({cls.name.value})")
        inner = {"self": SelfTable(cls, self.classes.table(cls))}
        return self._run(owner, method, call, env, inner, entry)

    def super_call(self, call: cst.Call, env: dict[str, Any]) -> list[Node]:
        found = self.classes.base_method(self.active[-1], "call")
        me = env.get("self")
        if found is None or not isinstance(me, SelfTable) or any(c is found[0] for c in self.active):
            return self.opaque(call, self.call_inputs(call, env))
        return self._run(found[0], found[1], call, env, {"self": me}, None)

    def _run(self, owner: cst.ClassDef, method: cst.FunctionDef, call: cst.Call, env: dict[str, Any],
             inner: dict[str, Any], entry: tuple | None) -> list[Node]:
        params = [p.name.value for p in list(method.params.params)[1:]]
        for name in params + [p.name.value for p in method.params.kwonly_params]:
            inner[name] = []
        bound = call_arguments(call, tuple(params))
        for name, value in bound.items():
            if name in inner and name not in ("training", "mask"):
                inner[name] = self.value(value, env)
        saved = self.via
        if entry is not None:
            self.via = self.via + (entry,)
        self.active.append(owner)
        try:
            return self.run_function(method, inner)
        finally:
            self.active.pop()
            self.via = saved

    def loop(self, stmt: cst.For | cst.While, env: dict[str, Any]) -> bool:
        """`for layer in self.blocks:` (or `enumerate(self.blocks)`, `self.blocks.values()`):
        the body once per element, the loop variable bound to it."""
        if isinstance(stmt, cst.For):
            it, target, counter = stmt.iter, stmt.target, None
            if isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value == "enumerate" \
                    and len(it.args) == 1 and isinstance(target, cst.Tuple) and len(target.elements) == 2:
                it, counter, target = it.args[0].value, target.elements[0].value, target.elements[1].value
            container = self.container(it, env)
            if container is not None and isinstance(target, cst.Name) and container.variants:
                # one list per path that built it: each unrolled from the same start, then joined
                start, joined, left = dict(env), None, True
                for elements in container.variants:
                    branch = dict(start)
                    if self.unroll(stmt, target, counter, LayerList(container.name, elements,
                                                                    list(range(len(elements)))), branch):
                        continue
                    left = False
                    if joined is None:
                        joined = branch
                    else:
                        _join_into(joined, branch, False)
                if left:
                    return True
                env.clear()
                env.update(joined or start)
                return False
            if container is not None and isinstance(target, cst.Name) and container.elements:
                return self.unroll(stmt, target, counter, container, env)
        return super().loop(stmt, env)

    def unroll(self, stmt: cst.For, target: cst.Name, counter: cst.BaseExpression | None, container: LayerList,
               env: dict[str, Any]) -> bool:
        """The loop body once per element, the loop variable bound to it; True when it always leaves."""
        for index, element in enumerate(container.elements[:MAX_UNROLL]):
            if counter is not None:
                self.bind_unknown(counter, env)
            env[target.value] = Element(element, f"'{container.name}[{container.keys[index]!r}]'", True)
            if self.block(_body(stmt), env):
                return True
        if stmt.orelse is not None:
            self.block(_body(stmt.orelse), env)
        return False


def _listed_layers(ctor: cst.Call) -> list[cst.BaseExpression] | None:
    """The layers of `keras.Sequential([...])` given as a literal list (no argument: none)."""
    layers = call_arguments(ctor, ("layers",)).get("layers")
    if layers is None:
        return [] if not any(a.star for a in ctor.args) else None
    if isinstance(layers, (cst.List, cst.Tuple)) and not any(isinstance(e, cst.StarredElement) for e in layers.elements):
        return [e.value for e in layers.elements]
    return None
