"""Rules that only a whole graph can answer (front ends F and O): what the model computes
and then throws away."""

from __future__ import annotations

from typing import Any, Iterator

from nnlint.diagnostics import Severity
from nnlint.graph import LayerGraph
from nnlint.graph.ops import IDENTITY, OPAQUE, RESHAPE
from nnlint.registry import Finding, Rule

_NOT_COMPUTED = frozenset({"input"})
# Plumbing, not layers: a dead branch made only of these (the unused half of a returned tuple,
# sliced and reshaped) wastes nothing worth a warning. Unknown ops count as plumbing (precision).
_GLUE = RESHAPE | IDENTITY | frozenset({"transpose", "concat", "scale", OPAQUE})


class DanglingGraphNode(Rule):
    """A node whose value reaches no graph output was computed for nothing: usually a layer
    the forward pass builds and forgets to use (a branch never added back, a head never returned)."""

    code = "NN112"
    name = "dangling-graph-node"
    severity = Severity.WARNING
    summary = "A graph node whose outputs reach no graph output."
    front_ends = "FO"

    def check(self, graph: LayerGraph, options: dict[str, Any]) -> Iterator[Finding]:
        if not graph.outputs:
            return  # a graph that returns nothing we know of: cannot tell dead from alive
        # Graph inputs (fx placeholders) are not computed: an unused argument is not a dead layer.
        live: set[int] = {n.id for n in graph.nodes if n.op in _NOT_COMPUTED}
        stack = list(graph.outputs)
        seen_live: set[int] = set()
        while stack:
            node = graph.nodes[stack.pop()]
            if node.id not in seen_live:
                seen_live.add(node.id)
                live.add(node.id)
                stack.extend(node.inputs)
        seen: set[int] = set()
        for first in graph.nodes:  # node order: the first node of each dead subgraph comes first
            if first.id in live or first.id in seen:
                continue
            dead = self._component(graph, first, live)
            seen |= dead
            if all(graph.nodes[i].op in _GLUE for i in dead):
                continue
            others = len(dead) - 1
            more = f" (and {others} more node{'s' if others > 1 else ''} of the same dead branch)" if others else ""
            yield self.report(
                first,
                f"{first.label}{more} reaches no graph output; its result is computed and thrown "
                "away: use it or remove it",
            )

    @staticmethod
    def _component(graph: LayerGraph, start: Any, live: set[int]) -> set[int]:
        """The dead nodes connected to `start` (either direction): one dead subgraph."""
        found = {start.id}
        stack = [start]
        while stack:
            node = stack.pop()
            for other in graph.producers(node) + graph.consumers(node):
                if other.id not in live and other.id not in found:
                    found.add(other.id)
                    stack.append(other)
        return found
