"""NN2: loss wiring — confirm your loss.

The wiring rules read the facts the source front end records per file (nnlint.source.facts):
each loss call, and what reaches it — an op written inline or a model's output, resolved by
the project pass through the model's class, across files. NN208 also reads layer graphs
(ONNX Softmax -> Log); NN208 and NN209 read the source itself.
"""

from __future__ import annotations

from typing import Any, Iterator

from nnlint import lazy_libcst as cst

from nnlint.diagnostics import Edit, Fix, Severity, Span
from nnlint.graph import LayerGraph
from nnlint.graph.ops import IDENTITY, RESHAPE
from nnlint.project import At, Output, Project
from nnlint.registry import Finding, Rule
from nnlint.source import rewrites as _rewrites  # noqa: F401 - records the NN2 fixes' rewrites per file

_WIRING_TEXT = (("loss", "Loss", "cross_entropy", "compile("),)
# Keras losses called in a GradientTape loop or a train_step (nnlint.source.facts LossUse kinds)
KERAS_LOGIT_LOSSES = frozenset({"keras_categorical_logits", "keras_binary_logits"})
KERAS_PROB_LOSSES = frozenset({"keras_categorical_probs", "keras_binary_probs"})
BOUNDED = frozenset({"relu", "relu6", "tanh", "hardtanh", "hardsigmoid", "softplus", "sigmoid"})
_ONE_SIDED = frozenset({"relu", "softplus"})  # bounded below only

_WHAT = {
    "cross_entropy": "cross-entropy applies log-softmax to its input itself",
    "bce_with_logits": "it applies the sigmoid to its input itself",
    "nll": "it expects log-probabilities",
    "bce": "it expects probabilities in [0, 1]",
}


def _made_by(out: Output) -> str:
    where = f" returned by {out.owner}.{out.method}" if out.owner else ""
    return f"{out.label}{where}"


# Graph ops a prediction passes through unchanged on its way into a loss (`logits.view(-1, C)`).
_PLUMBING = IDENTITY | RESHAPE | frozenset({"transpose"})
# Op kinds of tensors, as the facts name them, to graph ops.
_GRAPH_OPS = {"linear": frozenset({"linear", "conv"})}


class _LossInput(Rule):
    """Fires when the tensor a loss receives is of `kinds`. On source, the project pass joins the
    files' loss calls with the models' classes (check_project); on a torch.fx graph, a loss node
    ("loss.cross_entropy", ...) whose prediction input comes from such an op (check)."""

    kind = "graph"
    reads_source = True  # the source side is the project pass, not the file's layer graphs
    project_pass = True
    front_ends = "SF"
    requires = _WIRING_TEXT
    losses: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()

    def message(self, loss: str, out: Output, kind: str) -> str:
        raise NotImplementedError

    def fires(self, loss: str, out: Output) -> bool:
        return out.kind in self.kinds

    def check(self, subject: Any, options: dict[str, Any]) -> Iterator[Finding]:
        if not isinstance(subject, LayerGraph):
            return
        graph = subject
        for loss in graph.nodes:
            if not loss.op.startswith("loss.") or loss.op[5:] not in self.losses or not loss.inputs:
                continue
            producer = graph.nodes[loss.inputs[0]]
            while producer.op in _PLUMBING and producer.inputs:
                producer = graph.nodes[producer.inputs[0]]
            kind = next((k for k, ops in _GRAPH_OPS.items() if producer.op in ops), producer.op)
            out = Output(kind, None, producer.label, "")
            if self.fires(loss.op[5:], out):
                yield self.report(loss, self.message(loss.label, out, loss.op[5:]),
                                  related=((producer, f"{producer.label} is a {kind} output"),))

    def check_project(self, project: Project, options: dict[str, Any]) -> Iterator[Finding]:
        reported: set[tuple] = set()
        for path, facts in project:
            for use in facts.loss_uses:
                if use.loss not in self.losses or (path, use.span) in reported:
                    continue
                out = project.output_of(path, use.input)
                if out is None or not self.fires(use.loss, out):
                    continue
                reported.add((path, use.span))
                related = ((out.at, f"{_made_by(out)} is a {out.kind} output"),) if out.at else ()
                yield self.report(At(path, use.span), self.message(use.label, out, use.loss), related=related,
                                  fix=self.fix(project, path, use, out))

    def fix(self, project: Project, path: str, use: Any, out: Output) -> Fix | None:
        return None


# -- the NN2 fixes: rewrites the facts recorded per file (nnlint.source.rewrites) ---------------
def _rewrite(project: Project, out: Output) -> Any:
    if out.at is None:
        return None
    found = project.files[out.at.path].extra.get("rewrites")
    return found.acts.get(out.at.span) if found is not None else None


def _inline(path: str, use: Any, out: Output) -> bool:
    """The activation is written inside the loss call itself: `loss_fn(torch.sigmoid(z), y)`."""
    at = out.at
    return (at is not None and at.path == path and not out.owner
            and (use.span.line, use.span.column) <= (at.span.line, at.span.column)
            and (at.span.end_line, at.span.end_column) <= (use.span.end_line, use.span.end_column))


def _ends_forward(project: Project, path: str, out: Output, rewrite: Any) -> bool:
    """The softmax is what a forward of this file returns (and all it returns), and every call
    of a model in this file whose forward returns it is used only as logits (a cross-entropy
    input, argmax): taking the softmax out changes nothing else here."""
    facts = project.files.get(path)
    cls = facts.classes.get(out.owner) if facts is not None and out.owner else None
    if cls is None or out.at is None or out.at.path != path or not rewrite.alone or not cls.returns:
        return False
    if any(r is None or r[:2] != ("act", "softmax") or r[2] != out.at.span for r in cls.returns):
        return False
    for callee, as_logits in facts.extra["rewrites"].model_calls:
        instance = project.instance_of(path, callee)
        if instance is None:
            return False  # some model this file calls cannot be resolved: it may be this one
        if instance[0] == "class" and not as_logits:
            made = project.forward_output(instance[1])
            if made is None or made.at == out.at:
                return False
    return True


class SoftmaxIntoCrossEntropy(_LossInput):
    code = "NN201"
    fixable = True
    name = "softmax-into-cross-entropy"
    severity = Severity.ERROR
    summary = "A softmax output reaches a loss that expects logits (CrossEntropyLoss, F.cross_entropy)."
    losses = frozenset({"cross_entropy"})
    kinds = frozenset({"softmax"})

    def message(self, loss: str, out: Output, kind: str) -> str:
        return (f"{loss} receives the softmax output of {_made_by(out)}; {_WHAT['cross_entropy']}, so the "
                "softmax is applied twice: the loss can no longer get near 0 and its gradients shrink; pass the logits")

    def fix(self, project: Project, path: str, use: Any, out: Output) -> Fix | None:
        rewrite = _rewrite(project, out)
        if rewrite is None or rewrite.unwrap is None:
            return None
        if _inline(path, use, out):
            return Fix("Remove the softmax: pass the logits", rewrite.unwrap, safe=False)
        if _ends_forward(project, path, out, rewrite):
            return Fix(f"Remove the softmax at the end of {out.owner}.forward: return the logits", rewrite.unwrap,
                       safe=False)
        return None


class SigmoidIntoBCEWithLogits(_LossInput):
    code = "NN202"
    fixable = True
    name = "sigmoid-into-bce-with-logits"
    severity = Severity.ERROR
    summary = "A sigmoid output reaches BCEWithLogitsLoss/binary_cross_entropy_with_logits."
    losses = frozenset({"bce_with_logits"})
    kinds = frozenset({"sigmoid"})

    def message(self, loss: str, out: Output, kind: str) -> str:
        return (f"{loss} receives the sigmoid output of {_made_by(out)}; {_WHAT['bce_with_logits']}, so the "
                "sigmoid is applied twice; pass the logits")

    def fix(self, project: Project, path: str, use: Any, out: Output) -> Fix | None:
        rewrite = _rewrite(project, out)
        if rewrite is None or rewrite.unwrap is None or not _inline(path, use, out):
            return None
        return Fix("Remove the sigmoid: pass the logits", rewrite.unwrap, safe=False)


class ProbabilitiesIntoNLLLoss(_LossInput):
    code = "NN203"
    fixable = True
    name = "probabilities-into-nll-loss"
    severity = Severity.ERROR
    summary = "A softmax (not log_softmax) output reaches NLLLoss/F.nll_loss."
    losses = frozenset({"nll"})
    kinds = frozenset({"softmax"})

    def message(self, loss: str, out: Output, kind: str) -> str:
        return (f"{loss} receives the softmax output of {_made_by(out)}; {_WHAT['nll']}, not probabilities; "
                "use log_softmax")

    def fix(self, project: Project, path: str, use: Any, out: Output) -> Fix | None:
        rewrite = _rewrite(project, out)
        if rewrite is None or rewrite.log is None or not _inline(path, use, out):
            return None
        return Fix("Use log_softmax with the same dim", rewrite.log, safe=False)


class LogitsIntoNLLLoss(_LossInput):
    code = "NN204"
    name = "logits-into-nll-loss"
    severity = Severity.WARNING
    summary = "NLLLoss/F.nll_loss receives raw Linear/Conv outputs, not log-probabilities."
    losses = frozenset({"nll"})
    kinds = frozenset({"linear"})

    def message(self, loss: str, out: Output, kind: str) -> str:
        return (f"{loss} receives the raw output of {_made_by(out)} (no log_softmax); {_WHAT['nll']}; "
                "add log_softmax or use CrossEntropyLoss")


class LogitsIntoBCELoss(_LossInput):
    code = "NN205"
    name = "logits-into-bce-loss"
    severity = Severity.WARNING
    summary = "BCELoss/F.binary_cross_entropy receives raw Linear/Conv outputs (no sigmoid)."
    losses = frozenset({"bce"})
    kinds = frozenset({"linear"})

    def message(self, loss: str, out: Output, kind: str) -> str:
        return (f"{loss} receives the raw output of {_made_by(out)} (no sigmoid); {_WHAT['bce']}; "
                "use BCEWithLogitsLoss on the logits")


class BoundedActivationBeforeLogitLoss(_LossInput):
    code = "NN210"
    name = "bounded-activation-before-logit-loss"
    severity = Severity.WARNING
    summary = "A loss that expects logits receives a ReLU/Tanh/Sigmoid-like (bounded or one-sided) output."
    losses = frozenset({"cross_entropy", "bce_with_logits", *KERAS_LOGIT_LOSSES})
    kinds = BOUNDED

    def fires(self, loss: str, out: Output) -> bool:
        if loss in ("bce_with_logits", *KERAS_LOGIT_LOSSES) and out.kind == "sigmoid":
            return False  # NN202, NN207
        return out.kind in self.kinds

    def message(self, loss: str, out: Output, kind: str) -> str:
        return (f"{loss} receives the {out.kind} output of {_made_by(out)}; {_bounded_effect(out.kind, kind)}; "
                "feed the last linear layer's output")

    def check_project(self, project: Project, options: dict[str, Any]) -> Iterator[Finding]:
        yield from super().check_project(project, options)
        # Keras: a loss compiled with from_logits=True on a model whose last activation is bounded
        # (a final sigmoid is NN207)
        for path, c, (_, final, at, label) in keras_compiles(project):
            if c.from_logits and final in BOUNDED and final != "sigmoid":
                related = ((at, f"{label} applies {final}"),) if at else ()
                yield self.report(
                    At(path, c.loss_span),
                    f"{c.label} says from_logits=True but the model ends in {label} ({final}); "
                    f"{_bounded_effect(final, 'cross_entropy' if c.loss == 'categorical' else 'bce_with_logits')}; "
                    "drop the final activation",
                    related=related,
                )


def _bounded_effect(activation: str, loss: str) -> str:
    """What a bounded or one-sided final activation does to the logits a loss (cross_entropy or
    bce_with_logits) receives."""
    if activation not in _ONE_SIDED:
        return "the logits are bounded, which caps how confident the predicted probabilities can get"
    if loss == "bce_with_logits":
        return "the logits are never negative, so the predicted probability never falls below 0.5"
    if activation == "relu":
        return "the logits are never negative, and a logit the ReLU holds at 0 passes no gradient back"
    return "the logits are never negative, and near 0 the softplus passes almost no gradient back"


def keras_compiles(project: Project) -> Iterator[tuple[str, Any, tuple]]:
    """Every Keras `compile(loss=...)` whose model is known: (path, compile, ("keras", final, at, label))."""
    for path, facts in project:
        for c in facts.keras_compiles:
            model = project.instance_of(path, c.model)
            if model is not None and model[0] == "class":
                model = _subclassed_keras_model(project, model[1])
            if model is not None and model[0] == "keras":
                yield path, c, model


class _KerasCompile(Rule):
    kind = "project"
    front_ends = "S"
    requires = (("compile(",),)

    def compiles(self, project: Project) -> Iterator[tuple[str, Any, tuple]]:
        return keras_compiles(project)


def _subclassed_keras_model(project: Project, symbol: Any) -> tuple | None:
    """A subclassed Keras model (`class M(keras.Model)`): its final activation is what every
    return of call() was made by (a Keras layer applied last); None when unknown or mixed."""
    facts = symbol.facts(project)
    returns = facts.returns if facts is not None else None
    if not returns or any(r is None or r[0] != "ktensor" for r in returns):
        return None
    if any(r[1] != returns[0][1] for r in returns):
        return None
    final, span, label = returns[0][1:]
    return ("keras", final, At(symbol.path, span) if span else None, label)


class MissingSoftmaxForProbabilityLoss(_KerasCompile):
    code = "NN206"
    name = "missing-softmax-for-probability-loss"
    severity = Severity.ERROR
    summary = "A Keras loss that expects probabilities (from_logits=False) gets a model without softmax/sigmoid."

    requires = (("compile(", "log_loss", "reduce_sum", "reduce_mean"),)

    def check(self, project: Project, options: dict[str, Any]) -> Iterator[Finding]:
        for path, facts in project:
            for use in facts.loss_uses:
                out = project.output_of(path, use.input) if use.loss == "probabilities" else None
                if out is not None and out.kind == "linear":
                    yield self.report(
                        At(path, use.span),
                        f"{use.label} expects probabilities but receives the raw output of {_made_by(out)}; "
                        "apply a sigmoid/softmax first or use a cross-entropy on logits",
                        related=((out.at, f"{out.label} has no activation"),) if out.at else (),
                    )
            for use in facts.loss_uses:
                out = project.output_of(path, use.input) if use.loss in KERAS_PROB_LOSSES else None
                if out is not None and out.kind == "linear":
                    act = "softmax" if use.loss == "keras_categorical_probs" else "sigmoid"
                    yield self.report(
                        At(path, use.span),
                        f"{use.label} expects probabilities but receives the raw output of {_made_by(out)}; "
                        f"the loss treats raw scores as probabilities; pass from_logits=True or add a {act}",
                        related=((out.at, f"{out.label} has no activation"),) if out.at else (),
                    )
        for path, c, (_, final, at, label) in self.compiles(project):
            if final == "linear" and not c.from_logits:
                act = "softmax" if c.loss == "categorical" else "sigmoid"
                related = ((at, f"{label} is the model's last layer, with no activation"),) if at else ()
                yield self.report(
                    At(path, c.span),
                    f"loss {c.label} expects probabilities but the model ends in {label} with no activation; "
                    f"the loss treats raw scores as probabilities; pass from_logits=True or add a {act}",
                    related=related,
                )


class SoftmaxWithFromLogits(_KerasCompile):
    code = "NN207"
    name = "softmax-with-from-logits"
    severity = Severity.ERROR
    summary = "A Keras loss with from_logits=True gets a model that ends in softmax/sigmoid."

    def check(self, project: Project, options: dict[str, Any]) -> Iterator[Finding]:
        for path, facts in project:
            for use in facts.loss_uses:
                out = project.output_of(path, use.input) if use.loss in KERAS_LOGIT_LOSSES else None
                if out is not None and out.kind in ("softmax", "sigmoid"):
                    effect, fix = _twice(use.loss == "keras_categorical_logits", out.kind)
                    yield self.report(
                        At(path, use.span),
                        f"{use.label} says from_logits=True but receives the {out.kind} output of {_made_by(out)}; "
                        f"{effect}; {fix}",
                        related=((out.at, f"{out.label} applies {out.kind}"),) if out.at else (),
                    )
        for path, c, (_, final, at, label) in self.compiles(project):
            if final in ("softmax", "sigmoid") and c.from_logits:
                related = ((at, f"{label} applies {final}"),) if at else ()
                effect, fix = _twice(c.loss == "categorical", final)
                yield self.report(
                    At(path, c.loss_span),
                    f"{c.label} says from_logits=True but the model ends in {label} ({final}); {effect}; {fix}",
                    related=related,
                )


def _twice(categorical: bool, final: str) -> tuple[str, str]:
    """What a from_logits=True loss does on top of the model's final softmax/sigmoid, and the fix."""
    own = "softmax" if categorical else "sigmoid"  # what the loss applies to logits
    if own == final:
        return f"the {final} is applied twice", f"drop the final {final} or set from_logits=False"
    # a sigmoid model with a categorical loss, a softmax one with a binary loss
    return f"the loss applies a {own} on top of the {final}", f"drop the final {final}"


# -- NN208, NN209: read the source itself -------------------------------------------------
_FIXABLE_SOFTMAX = {"torch.nn.functional.softmax": "log_softmax", "torch.softmax": "log_softmax",
                    "torch.special.softmax": "log_softmax"}


class LogOfSoftmax(Rule):
    code = "NN208"
    name = "log-of-softmax"
    severity = Severity.WARNING
    summary = "log(softmax(x)) in any spelling: numerically unstable; use log_softmax."
    front_ends = "SFO"
    fixable = True
    kind = "graph"
    reads_source = True
    requires = (("softmax", "Softmax"), ("log",))

    def check(self, subject: Any, options: dict[str, Any]) -> Iterator[Finding]:
        if isinstance(subject, LayerGraph):
            yield from self._graph(subject)
        else:
            yield from self._source(subject)

    def _graph(self, graph: LayerGraph) -> Iterator[Finding]:
        for softmax, log, _ in graph.pairs({"softmax"}, {"log"}, through=IDENTITY | RESHAPE):
            yield self.report(
                log,
                f"{log.label} takes the log of {softmax.label}; log(softmax) underflows to -inf for small "
                "probabilities; use LogSoftmax",
                related=((softmax, f"{softmax.label} is the softmax"),),
            )

    def _source(self, source: Any) -> Iterator[Finding]:
        from nnlint.source.facts import analysis

        for found in analysis(source).log_of_softmax:
            yield self.report(
                found.log_call,
                f"log of {found.softmax_label} underflows to -inf for small probabilities; "
                "use log_softmax with the same dim",
                fix=self._fix(source, found),
            )

    @staticmethod
    def _fix(source: Any, found: Any) -> Fix | None:
        call = found.softmax_call
        if call is None or found.softmax_label.startswith("'") or not isinstance(call.func, cst.Attribute):
            return None
        func = call.func
        if func.attr.value != "softmax":
            return None
        qualified = source.imports.resolve(func)
        if qualified is not None and qualified not in _FIXABLE_SOFTMAX:
            return None
        if qualified is None and (isinstance(func.value, cst.Name) and func.value.value in ("self", "nn", "F", "torch")):
            return None
        log = found.log_call
        if call.lpar or call.rpar or len(log.args) > (0 if log.func is not None and _is_method_log(log, call) else 1):
            return None
        # only the log goes and the name changes: the softmax's arguments stay as written
        outer, inner = source.span(log), source.span(call)
        before = Span(outer.line, outer.column, inner.line, inner.column)
        after = Span(inner.end_line, inner.end_column, outer.end_line, outer.end_column)
        edits = [Edit(span, "") for span in (before, after) if (span.line, span.column) != (span.end_line, span.end_column)]
        return Fix("use log_softmax with the same dim", (*edits, Edit(func.attr, "log_softmax")))


def _is_method_log(log: cst.Call, softmax: cst.Call) -> bool:
    """`softmax(...).log()` (the softmax is the receiver), as opposed to `torch.log(softmax(...))`."""
    return isinstance(log.func, cst.Attribute) and log.func.value is softmax


class SoftmaxWithoutDim(Rule):
    code = "NN209"
    name = "softmax-without-dim"
    severity = Severity.WARNING
    summary = "nn.Softmax()/nn.LogSoftmax()/F.softmax/F.log_softmax without dim (implicit dim is deprecated)."
    kind = "source"
    requires = (("oftmax",),)

    def check(self, source: Any, options: dict[str, Any]) -> Iterator[Finding]:
        from nnlint.source.facts import SOFTMAX_CALLS, analysis

        for call, qualified in analysis(source).softmax_calls:
            if any(a.star for a in call.args):
                continue
            dim = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "dim"), None)
            positional = [a for a in call.args if a.keyword is None]
            if dim is None and len(positional) > SOFTMAX_CALLS[qualified]:
                dim = positional[SOFTMAX_CALLS[qualified]].value
            if dim is not None and not (isinstance(dim, cst.Name) and dim.value == "None"):
                continue
            rank = _rank(positional[0].value) if SOFTMAX_CALLS[qualified] == 1 and positional else None
            yield self.report(call, f"{source.code(call.func)} without dim {_implicit_dim(rank)}")


def _implicit_dim(rank: int | None) -> str:
    """What torch's implicit choice (dim 0 for 0-, 1- and 3-D inputs, dim 1 otherwise) does here."""
    if rank is None:
        return ("picks the axis from the input's rank: dim 1 for a 2-D (batch, classes) input, right there but "
                "deprecated; dim 0 for a 3-D input, the batch axis of (batch, sequence, classes), so each sample's "
                "probabilities depend on the rest of the batch; pass dim explicitly (usually dim=-1)")
    if rank == 3:
        return ("on this 3-D input picks dim 0, the batch axis: each sample's probabilities then depend on the "
                "rest of the batch; pass the class axis explicitly (usually dim=-1)")
    dim, axis = (0, "its only axis") if rank <= 1 else (1, "the class axis of (batch, classes)") if rank == 2 \
        else (1, "the channel axis of (batch, channels, ...)")
    return (f"on this {rank}-D input picks dim {dim}, {axis}: right here, but the implicit choice is deprecated; "
            f"pass dim={dim}")


def _rank(expr: cst.BaseExpression) -> int | None:
    """The rank of a tensor expression when it is written down: `x.view(b, -1)`, `x.reshape((b, t, c))`,
    `x.flatten(1)`, `torch.flatten(x, 1)`."""
    if not isinstance(expr, cst.Call) or any(a.star or a.keyword is not None for a in expr.args):
        return None
    func, args = expr.func, [a.value for a in expr.args]
    if not isinstance(func, cst.Attribute):
        return None
    name = func.attr.value
    if name in ("view", "reshape") and args:
        if len(args) == 1 and isinstance(args[0], (cst.Tuple, cst.List)):
            return None if any(e.star for e in args[0].elements) else len(args[0].elements)
        single = args[0].expression if len(args) == 1 and isinstance(args[0], cst.UnaryOperation) else args[0]
        return len(args) if len(args) > 1 or isinstance(single, cst.Integer) else None  # view(shape): unknown
    if name == "flatten" and isinstance(func.value, cst.Name) and func.value.value == "torch":
        args = args[1:]  # torch.flatten(x, start_dim)
    if name == "flatten" and len(args) <= 1:
        start = args[0] if args else cst.Integer("0")
        return int(start.value) + 1 if isinstance(start, cst.Integer) else None
    return None
