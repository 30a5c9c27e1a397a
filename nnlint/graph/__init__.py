"""The layer graph: one small IR that every front end lowers into and graph rules read."""

from nnlint.graph.ir import LayerGraph, Node

__all__ = ["LayerGraph", "Node"]
