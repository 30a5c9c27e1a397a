"""Node and LayerGraph: what feeds what, and where each layer was written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator


@dataclass
class Node:
    """One layer or operation.

    op: normalized kind (graph.ops); label: how a message names it ("'drop' (Dropout)");
    attrs: what rules need (p, momentum, features...); site: where to report it
    (a libcst node, resolved to a position only if a rule reports, or a diagnostics.Span).
    """

    id: int
    op: str
    label: str
    attrs: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[int, ...] = ()
    site: Any = None


class LayerGraph:
    """A directed graph of Nodes, built once by a front end, then only read."""

    def __init__(self, origin: str = "", name: str = "") -> None:
        self.origin = origin  # what was lowered: "nn.Sequential", "nn.Module", "keras", "onnx", "fx"
        self.name = name  # the model's name where it has one: class name, variable, graph name
        self.nodes: list[Node] = []
        self.outputs: list[int] = []  # ids of the nodes whose values the model returns
        self._consumers: dict[int, list[int]] = {}

    def add(self, op: str, label: str, inputs: Iterable[Node] = (), site: Any = None, **attrs: Any) -> Node:
        node = Node(len(self.nodes), op, label, attrs, tuple(n.id for n in inputs), site)
        self.nodes.append(node)
        for i in node.inputs:
            self._consumers.setdefault(i, []).append(node.id)
        return node

    def mark_output(self, node: Node) -> None:
        if node.id not in self.outputs:
            self.outputs.append(node.id)

    def output_nodes(self) -> list[Node]:
        return [self.nodes[i] for i in self.outputs]

    def consumers(self, node: Node) -> list[Node]:
        return [self.nodes[i] for i in self._consumers.get(node.id, ())]

    def producers(self, node: Node) -> list[Node]:
        return [self.nodes[i] for i in node.inputs]

    def of(self, ops: Iterable[str]) -> Iterator[Node]:
        ops = frozenset(ops)
        return (n for n in self.nodes if n.op in ops)

    def pairs(self, sources: Iterable[str], targets: Iterable[str], through: Iterable[str] = ()) -> Iterator[tuple[Node, Node, list[Node]]]:
        """Yield (source, target, between) for every source whose output reaches a target
        through `through` ops only; `between` lists the ops passed on the way.
        Each (source, target) pair is yielded once, in node order."""
        targets, through = frozenset(targets), frozenset(through)
        for src in self.of(sources):
            seen: set[int] = set()
            stack: list[tuple[Node, list[Node]]] = [(c, []) for c in reversed(self.consumers(src))]
            while stack:
                node, between = stack.pop()
                if node.id in seen:
                    continue
                seen.add(node.id)
                if node.op in targets:
                    yield src, node, between
                elif node.op in through:
                    stack.extend((c, between + [node]) for c in reversed(self.consumers(node)))


def mark_entry(nodes: list[Node], site: Any, container: Any, index: int) -> None:
    """Tag the one layer an element of a layer list (nn.Sequential's arguments, a Keras list)
    lowered to with attrs["entry"] = (id of the list, position in it)."""
    if len(nodes) == 1 and nodes[0].site is site:
        nodes[0].attrs["entry"] = (id(container), index)


def neighbours(a: Node, b: Node) -> bool:
    """`b` is the element right after `a` in the same layer list (see mark_entry)."""
    ea, eb = a.attrs.get("entry"), b.attrs.get("entry")
    return ea is not None and eb is not None and ea[0] == eb[0] and eb[1] == ea[1] + 1


def inside_same_call(a: Node, b: Node) -> bool:
    """True when both nodes were inlined from the same submodule (or Sequential attribute) call:
    that submodule's own graph reports what happens between them, so a rule skips the pair here."""
    va, vb = module_calls(a), module_calls(b)
    return bool(va) and bool(vb) and va[0] == vb[0]


def module_calls(node: Node) -> tuple:
    """The submodule calls a node was inlined through (attrs["via"]), outermost first. TF1 helper
    functions inlined with their arguments bound (source/tf1.py, key ("tf1", ...)) are left out:
    their own graphs, lowered without those arguments, cannot report what this one sees."""
    return tuple(e for e in node.attrs.get("via", ()) if not (isinstance(e[0], tuple) and e[0][:1] == ("tf1",)))


def seen_from(node: Node, other: Node) -> Node:
    """`node` as a finding that also involves `other` should name and place it.

    Source front end: nodes inlined from a project submodule carry attrs["via"], the chain of
    (key, call site, call label) of the submodule calls they came through, outermost first. When
    `node` sits inside a submodule call that `other` is not inside, the finding belongs at that
    call ("'self.drop' (Dropout) inside 'self.block' (ConvBlock)"); otherwise at the node itself.
    """
    mine, theirs = node.attrs.get("via", ()), other.attrs.get("via", ())
    common = 0
    while common < len(mine) and common < len(theirs) and mine[common] == theirs[common]:
        common += 1
    for _key, site, label in mine[common:]:
        if site is not None:
            return Node(node.id, node.op, f"{node.label} inside {label}", node.attrs, node.inputs, site)
    return node
