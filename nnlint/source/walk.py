"""A fast pre-order walk over a libcst tree.

libcst's visitor protocol rebuilds every node it passes (visit is a transform), which costs
about as much as the parse. Rules that only look read the dataclass fields directly, skipping
the whitespace and punctuation fields.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

from nnlint import lazy_libcst as cst

_SKIP = ("whitespace", "lpar", "rpar", "comma", "leading_lines", "header", "footer", "semicolon",
         "lines_after_decorators", "newline", "equal", "colon", "dot")
_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(node: cst.CSTNode) -> tuple[str, ...]:
    names = _FIELDS.get(type(node))
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(node) if not any(s in f.name for s in _SKIP))
        _FIELDS[type(node)] = names
    return names


_IS_NODE: dict[type, bool] = {}


def _is_node(value: object) -> bool:
    """isinstance(value, CSTNode), memoized per type: CSTNode is an ABC, and ABC instance
    checks were a third of the walk's time."""
    kind = type(value)
    known = _IS_NODE.get(kind)
    if known is None:
        known = _IS_NODE[kind] = isinstance(value, cst.CSTNode)
    return known


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The child nodes that carry code (not whitespace or punctuation), in source order."""
    found: list[cst.CSTNode] = []
    for name in _fields(node):
        value = getattr(node, name)
        kind = type(value)
        if kind is list or kind is tuple:
            found.extend(v for v in value if _is_node(v))
        elif _is_node(value):
            found.append(value)
    return found


def walk(node: cst.CSTNode, prune: Callable[[cst.CSTNode], bool] | None = None) -> Iterator[cst.CSTNode]:
    """Every node of the tree in source order; `prune(n)` true: yield n but not its subtree."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if prune is not None and prune(current) and current is not node:
            continue
        stack.extend(reversed(children(current)))


def collect(node: cst.CSTNode, accept: Callable[[cst.CSTNode], bool],
            prune: Callable[[cst.CSTNode], bool] | None = None) -> list:
    return [n for n in walk(node, prune) if accept(n)]
