"""NN4: regularization — penalties and weight decay strong enough to dominate the loss."""

from __future__ import annotations

from typing import Any, Iterator

from nnlint.diagnostics import Severity
from nnlint.registry import Finding, Option, Rule
from nnlint.source import SourceFile
from nnlint.source.training import training_facts


class RegularizationDominatesLoss(Rule):
    """A parameter-norm penalty summed over every weight grows with the model: a coefficient
    that looks small next to the data loss can outweigh it, and training minimizes the norm
    instead of the error."""

    code = "NN401"
    name = "regularization-dominates-loss"
    severity = Severity.WARNING
    summary = "An explicit parameter penalty with a large coefficient is added to the loss."
    kind = "source"
    requires = (("parameters()", "regularizers"), ("pow(", "**", "norm(", "abs(", "square(", "l1", "l2", "L1", "L2"))
    options = (Option("max-coefficient", float, 1e-2, "smallest penalty coefficient reported"),)

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        limit = float(options["max-coefficient"])
        facts = training_facts(source)
        for penalty in facts.penalties:
            if penalty.coefficient >= limit:
                yield self.report(
                    penalty.span, f"this parameter-norm penalty has coefficient {penalty.coefficient:g} "
                    f"(>= {limit:g}); summed over the model's weights it can dominate the data loss; use a smaller "
                    "coefficient (1e-5 to 1e-4), or the optimizer's weight_decay for an L2 penalty")
        for reg in facts.regularizers:
            if reg.coefficient >= limit:
                yield self.report(
                    reg.span, f"'{reg.text}' {_keras_penalty(reg.text, reg.coefficient)} (>= {limit:g}); use a "
                    "smaller factor (1e-5 to 1e-4)")


def _keras_penalty(text: str, coefficient: float) -> str:
    """What a Keras regularizer adds to the loss, by its name: l2 sums squared weights, l1 absolute values."""
    name = text.split("(", 1)[0].rsplit(".", 1)[-1].lower()
    summed = {"l2": "squared weights", "l1": "absolute weights"}.get(name)
    if summed is None:  # l1_l2: the larger of its two factors
        return f"adds the L1 and L2 sums of the weights it regularizes to the loss, weighted up to {coefficient:g}"
    return f"adds {coefficient:g} x the sum of the {summed} it regularizes to the loss"


_COUPLED = {"SGD", "Adam", "Adagrad", "Adadelta", "Adamax", "RMSprop", "NAdam", "RAdam", "ASGD", "Nadam"}
_ADAM_COUPLED = {"Adam", "Adamax", "NAdam", "RAdam", "Nadam"}


class WeightDecayTooLarge(Rule):
    """In SGD/Adam weight_decay is an L2 term added to the gradient; 0.1 there is ten to a
    thousand times the usual 1e-4..5e-4 and shrinks the weights faster than they learn."""

    code = "NN402"
    name = "weight-decay-too-large"
    severity = Severity.WARNING
    summary = "Coupled L2 weight decay far above the usual range."
    kind = "source"
    requires = (("weight_decay",),)
    options = (Option("max-weight-decay", float, 1e-2, "smallest coupled weight decay reported"),)

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        limit = float(options["max-weight-decay"])
        for opt in training_facts(source).optimizers:
            if opt.cls not in _COUPLED or opt.decoupled or opt.weight_decay is None or opt.framework == "keras":
                continue
            value, span = opt.weight_decay
            if value >= limit:
                # AdamW is the decoupled form of Adam only; for SGD the two forms differ by the lr alone
                alternative = ", or use AdamW for decoupled decay" if opt.cls in _ADAM_COUPLED else ""
                yield self.report(
                    span, f"weight_decay={value:g} in {opt.cls} is an L2 term added to every gradient "
                    f"(>= {limit:g}); typical values are 1e-4 to 5e-4{alternative}")


class AdamCoupledWeightDecay(Rule):
    """Adam divides the L2 gradient by the running RMS of the gradients, so weights with large
    gradients are barely decayed (Loshchilov & Hutter, 2019); AdamW decays all weights alike."""

    code = "NN403"
    name = "adam-coupled-weight-decay"
    severity = Severity.INFO
    summary = "Adam with weight_decay: coupled L2; AdamW decouples it."
    kind = "source"
    requires = (("weight_decay",), ("Adam",))

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        for opt in training_facts(source).optimizers:
            if opt.cls != "Adam" or opt.decoupled or opt.weight_decay is None or opt.framework == "keras":
                continue
            value, span = opt.weight_decay
            if value > 0:
                yield self.report(span, f"Adam(weight_decay={value:g}) applies coupled L2 that Adam's "
                                        "adaptive step weakens unevenly; use torch.optim.AdamW for weight decay")
