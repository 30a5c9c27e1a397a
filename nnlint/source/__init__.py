"""The libcst front end: reads Python source into layer graphs (and, later, training facts)."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from nnlint.source.imports import ImportResolver

_EMPTY = cst.Module(body=[])


@dataclass
class SourceFile:
    """A parsed file and what every front-end pass shares about it."""

    path: str
    text: str
    module: cst.Module
    imports: ImportResolver = field(init=False)

    def __post_init__(self) -> None:
        self.imports = ImportResolver(self.module)

    @classmethod
    def parse(cls, path: str, text: str) -> SourceFile:
        return cls(path, text, cst.parse_module(text))

    @staticmethod
    def code(node: cst.CSTNode) -> str:
        return _EMPTY.code_for_node(node)


def layer_graphs(source: SourceFile) -> list:
    """Every layer graph the source front end can read from one file."""
    from nnlint.source.keras import keras_graphs
    from nnlint.source.module import module_graphs
    from nnlint.source.sequential import SequentialLowering

    sequentials = SequentialLowering(source)
    graphs = sequentials.graphs()
    graphs += module_graphs(source, sequentials)
    graphs += keras_graphs(source)
    return graphs
