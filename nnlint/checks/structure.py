"""NN1: model structure — check intermediate outputs and connections."""

from __future__ import annotations

from typing import Any, Iterator

from nnlint.diagnostics import Severity
from nnlint.graph import LayerGraph
from nnlint.graph.ops import BATCHNORM, DROPOUT, TRANSPARENT
from nnlint.registry import Finding, Rule


def _via(between: list) -> str:
    return " directly" if not between else " through " + ", ".join(n.label for n in between)


class DropoutBeforeBatchNorm(Rule):
    """Dropout changes the variance of its output between training and evaluation; a
    BatchNorm right after it learns running statistics under the training variance and
    normalizes with the wrong ones at inference (Li et al., 2019)."""

    code = "NN101"
    name = "dropout-before-batchnorm"
    severity = Severity.WARNING
    summary = "Dropout output reaches a BatchNorm with no learned layer in between."
    front_ends = "SFO"
    requires = (("ropout",), ("atchNorm", "atch_norm"))

    def check(self, graph: LayerGraph, options: dict[str, Any]) -> Iterator[Finding]:
        reported: set[int] = set()
        for drop, norm, between in graph.pairs(DROPOUT, BATCHNORM, through=TRANSPARENT):
            if drop.id in reported:
                continue
            reported.add(drop.id)
            yield self.report(
                drop,
                f"{drop.label} feeds {norm.label}{_via(between)}; apply dropout after the "
                "normalization (variance shift)",
                related=((norm, f"{norm.label} normalizes the dropped-out activations"),),
            )
