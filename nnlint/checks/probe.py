"""NN6: probe — confirm the loss and the connections on one real forward/backward pass.

These rules judge what `--probe` measured (nnlint.probe.worker, in its own process, on a
seeded random batch): check(measured, options) gets that plain data and reports at the user's
lines (the module's definition, the loss call when the training code's facts know it).
They never run without --probe on the command line.
"""

from __future__ import annotations

import math
from typing import Any, Iterator

from nnlint.diagnostics import Severity, Span
from nnlint.project import At
from nnlint.registry import Finding, Option, Rule


def site(value: Any) -> At | None:
    """[path, line, column, end_line, end_column] -> At."""
    return At(value[0], Span(*value[1:5])) if value else None


def _label(entry: dict) -> str:
    return f"'{entry['name']}' ({entry['type']})"


class _ProbeRule(Rule):
    kind = "probe"
    front_ends = "P"

    @staticmethod
    def model_site(measured: dict) -> At | None:
        return site(measured["model"]["site"])

    @staticmethod
    def loss_site(measured: dict) -> At | None:
        """The loss call the facts found; else the layer that made the model's output."""
        known = site(measured.get("loss_site"))
        if known is not None:
            return known
        output = measured.get("output")
        return site(output["site"]) if output else site(measured["model"]["site"])


class LossAtInit(_ProbeRule):
    """A fresh classifier predicts near-uniform probabilities, so its cross-entropy is about
    ln(C); far above, the last layer starts over-confident (weights too large); far below, the
    loss reads the wrong tensor (log-probabilities missing, a target leaked into the input)."""

    code = "NN601"
    name = "loss-at-init"
    severity = Severity.WARNING
    summary = "The classification loss at initialization is far from ln(number of classes)."
    options = (Option("max-ratio", (int, float), 3.0, "report when the loss is above ratio x ln(C) or below ln(C) / ratio"),)

    def check(self, measured: dict, options: dict[str, Any]) -> Iterator[Finding]:
        loss = measured.get("loss")
        if not loss or loss["kind"] not in ("cross_entropy", "nll", "bce", "bce_with_logits") or (loss["classes"] or 0) < 2:
            return
        expected, value, ratio = math.log(loss["classes"]), loss["value"], float(options["max-ratio"])
        if not math.isfinite(value) or expected / ratio <= value <= expected * ratio:
            return
        what = f"{loss['classes']} classes" if loss["kind"] in ("cross_entropy", "nll") else "binary targets"
        hint = ("the last layer starts over-confident: scale its initial weights down (or zero them)"
                if value > expected else "the loss may read the wrong tensor (log-probabilities expected?)")
        yield self.report(self.loss_site(measured),
                          f"{loss['kind']} at initialization is {value:g} on the probe batch; an untrained model "
                          f"with {what} should give about ln({loss['classes']}) = {expected:.3g}; {hint}")


class ParameterWithoutGradient(_ProbeRule):
    """A trainable parameter that gets no gradient never learns: a branch detached from the
    graph (`.detach()`, `.data`, `torch.no_grad()` inside forward), a submodule never used, a
    multiplication by zero."""

    code = "NN602"
    name = "parameter-without-gradient"
    severity = Severity.ERROR
    summary = "A trainable parameter gets no (or an all-zero) gradient from the loss."

    def check(self, measured: dict, options: dict[str, Any]) -> Iterator[Finding]:
        for entry in measured["gradients"]["missing"]:
            names = entry["none"] + entry["zero"]
            what = ("no gradient" if not entry["zero"] else "an all-zero gradient" if not entry["none"]
                    else "no or an all-zero gradient")
            yield self.report(site(entry["site"]),
                              f"{_label(entry)} gets {what} for {', '.join(names)} after backward on the probe batch: "
                              "it learns nothing from that batch; look for .detach()/.data/torch.no_grad() on its "
                              "path, a module forward() does not use, or a branch this batch does not take")


class NonFiniteValues(_ProbeRule):
    """NaN or Inf at initialization spreads to every weight at the first step."""

    code = "NN603"
    name = "non-finite-values"
    severity = Severity.ERROR
    summary = "NaN/Inf in an output, the loss or a gradient on the probe batch."

    def check(self, measured: dict, options: dict[str, Any]) -> Iterator[Finding]:
        found = measured.get("non_finite")
        if not found:
            return
        where = {"output": "makes the first NaN/Inf output", "loss": "gives a NaN/Inf loss",
                 "gradient": "gets the first NaN/Inf gradient"}[found["where"]]
        yield self.report(site(found["site"]),
                          f"{_label(found)} {where} on the probe batch; look for log/sqrt/division of values that "
                          "can be zero or negative, or an overflowing initialization")


class DeadOrSaturatedActivation(_ProbeRule):
    """A ReLU whose output is almost all zero passes no gradient (dead units); a sigmoid or tanh
    pinned at its bounds has a derivative near zero (saturated): the layers below stop learning."""

    code = "NN604"
    name = "dead-or-saturated-activation"
    severity = Severity.WARNING
    summary = "A ReLU-family output is mostly zero, or a sigmoid/tanh output mostly saturated, at init."
    options = (Option("max-fraction", (int, float), 0.9, "largest share of dead or saturated units not reported"),)

    def check(self, measured: dict, options: dict[str, Any]) -> Iterator[Finding]:
        limit = float(options["max-fraction"])
        for entry in measured["activations"]:
            if entry["fraction"] <= limit:
                continue
            if entry["kind"] == "dead":
                text = ("of its outputs are zero: those units pass no gradient; check the initialization "
                        "and the scale of its input (normalize it), or use LeakyReLU/GELU")
            else:
                text = ("of its outputs are saturated (within 1% of its bounds), where its derivative is "
                        "near zero; normalize its input or scale the previous layer's initial weights down")
            yield self.report(site(entry["site"]), f"{_label(entry)}: {entry['fraction']:.0%} {text}")


class GradientScaleSpread(_ProbeRule):
    """Per-layer gradient norms spread over many orders of magnitude at init: one learning rate
    cannot suit both ends (vanishing gradients in one layer, exploding in another)."""

    code = "NN605"
    name = "gradient-scale-spread"
    severity = Severity.WARNING
    summary = "Largest/smallest per-layer weight-gradient norm above 1e4 at initialization."
    options = (Option("max-ratio", (int, float), 1e4, "largest ratio of per-layer gradient norms not reported"),)

    def check(self, measured: dict, options: dict[str, Any]) -> Iterator[Finding]:
        norms = measured["gradients"]["norms"]
        if not measured.get("loss") or len(norms) < 2:
            return
        low = min(norms, key=lambda e: e["norm"])
        high = max(norms, key=lambda e: e["norm"])
        ratio = high["norm"] / low["norm"]
        if ratio <= float(options["max-ratio"]):
            return
        yield self.report(site(low["site"]),
                          f"the weight gradient of {_label(low)} has norm {low['norm']:.3g}, {ratio:.3g}x smaller than "
                          f"{_label(high)}'s ({high['norm']:.3g}) at initialization: gradients vanish or explode "
                          "across the depth; check the initialization scale and add normalization or residual paths",
                          related=((site(high["site"]), f"{_label(high)} has the largest weight gradient"),))


class RegularizationDominatesAtInit(_ProbeRule):
    """The penalty the training code adds (NN401's coefficient, or an optimizer's coupled
    weight_decay) computed on the real parameters: larger than the data loss, training
    shrinks weights before it fits anything."""

    code = "NN606"
    name = "regularization-dominates-at-init"
    severity = Severity.WARNING
    summary = "The known penalty or coupled weight decay, on the real parameters, exceeds the data loss at init."

    def check(self, measured: dict, options: dict[str, Any]) -> Iterator[Finding]:
        for term in measured.get("regularization") or []:
            if not term["value"] > term["data_loss"]:
                continue
            what = (f"weight_decay={term['coefficient']:g} acts as an L2 penalty of {term['value']:.4g}"
                    if term["kind"] == "weight_decay" else
                    f"this penalty is {term['value']:.4g} on {measured['model']['name']}'s parameters")
            yield self.report(site(term["site"]),
                              f"{what} at initialization, more than the data loss ({term['data_loss']:.4g}): training "
                              "minimizes the weights' norm before the error; lower the coefficient (1e-5 to 1e-4)")


class CannotOverfitOneBatch(_ProbeRule):
    """A model that cannot memorize one small batch cannot learn the data set: the output is
    clamped or bounded, a layer is frozen or disconnected, or the loss reads the wrong tensor."""

    code = "NN607"
    name = "cannot-overfit-one-batch"
    severity = Severity.WARNING
    summary = "With --probe-steps N, the loss on the one probe batch falls by less than 90%."
    options = (Option("min-drop", (int, float), 0.9, "smallest relative fall of the loss not reported"),)

    def check(self, measured: dict, options: dict[str, Any]) -> Iterator[Finding]:
        run = measured.get("overfit")
        if not run or run["done"] < run["steps"] or not run["start"] > 0 or not math.isfinite(run["end"]):
            return
        drop = (run["start"] - run["end"]) / run["start"]
        if drop >= float(options["min-drop"]):
            return
        yield self.report(self.loss_site(measured),
                          f"after {run['steps']} steps of {run['optimizer']} on the one probe batch of "
                          f"{measured['batch']}, the loss went from {run['start']:g} to {run['end']:g} "
                          f"({drop:.0%} lower, expected at least {float(options['min-drop']):.0%}): the model did not "
                          "fit a single batch; look for a clamped or bounded output, frozen layers, or a wrong target")
