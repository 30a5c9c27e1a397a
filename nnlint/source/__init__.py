"""The libcst front end: reads Python source into layer graphs (and, later, training facts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from nnlint import lazy_libcst as cst

from nnlint.diagnostics import Span
from nnlint.source.imports import ImportResolver

if TYPE_CHECKING:
    from nnlint.source.index import SemanticIndex


@cache
def _empty_module() -> cst.Module:
    return cst.Module(body=[])


@dataclass
class SourceFile:
    """A parsed file and what every front-end pass shares about it."""

    path: str
    text: str
    module: cst.Module
    imports: ImportResolver = field(init=False)
    _positions: Any = field(init=False, default=None, repr=False)
    _index: Any = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.imports = ImportResolver(self.module)

    def span(self, node: cst.CSTNode) -> Span:
        """Where a node of this file is (1-based). Positions cost a code generation of the module
        (nnlint.source.positions), so it runs once per file, and only as far as something asks."""
        if self._positions is None:
            from nnlint.source.positions import Positions

            self._positions = Positions(self.module, self.text)
        return self._positions.span(node)

    @property
    def index(self) -> SemanticIndex:
        """The file's semantic index (nnlint.source.index), built on first use."""
        if self._index is None:
            from nnlint.source.index import SemanticIndex

            self._index = SemanticIndex(self.module, self.imports)
        return self._index

    @classmethod
    def parse(cls, path: str, text: str) -> SourceFile:
        return cls(path, text, cst.parse_module(text))

    @staticmethod
    def code(node: cst.CSTNode) -> str:
        return _empty_module().code_for_node(node)


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
