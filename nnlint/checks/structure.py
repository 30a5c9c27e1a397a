"""NN1: model structure — check intermediate outputs and connections."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from nnlint import lazy_libcst as cst

from nnlint.diagnostics import Edit, Fix, Severity
from nnlint.fixes import add_argument, one_line_code
from nnlint.graph import LayerGraph, Node
from nnlint.graph.ir import inside_same_call, module_calls, neighbours, seen_from
from nnlint.graph.ops import (ACTIVATION, BATCHNORM, CONV, DROPOUT, IDENTITY, LINEAR, OTHER_NORM, POOL, RESHAPE,
                              TRANSPARENT, TRANSPOSE)
from nnlint.registry import Finding, Option, Rule
from nnlint.source.literals import call_arguments, literal
from nnlint.source.keras import KERAS_LAYERS, TF_FUNCTIONS
from nnlint.source.torch_nn import TORCH_NN


def _via(between: list) -> str:
    return " directly" if not between else " through " + ", ".join(n.label for n in between)


# What a dropout's variance shift crosses on its way to a norm: RULES.md's transparent ops, and
# transpose/permute (reshape-like for NN101: every value keeps its inflated variance, whichever axis
# the norm then normalizes over).
_DROPOUT_TO_NORM = TRANSPARENT | TRANSPOSE


class DropoutBeforeBatchNorm(Rule):
    """Dropout changes the variance of its output between training and evaluation; a
    BatchNorm right after it learns running statistics under the training variance and
    normalizes with the wrong ones at inference (Li et al., 2019)."""

    code = "NN101"
    name = "dropout-before-batchnorm"
    severity = Severity.WARNING
    summary = "Dropout output reaches a BatchNorm with no learned layer in between."
    front_ends = "SFO"
    fixable = True
    requires = (("ropout",), ("atchNorm", "atch_norm"))

    def check(self, graph: LayerGraph, options: dict[str, Any]) -> Iterator[Finding]:
        reported: set[int] = set()
        for drop, norm, between in graph.pairs(DROPOUT, BATCHNORM, through=_DROPOUT_TO_NORM):
            if drop.id in reported or inside_same_call(drop, norm):
                continue  # inside one submodule: its own graph reports it
            reported.add(drop.id)
            at, seen_norm = seen_from(drop, norm), seen_from(norm, drop)
            related = [(seen_norm, f"{seen_norm.label} normalizes the dropped-out activations")]
            if "definition" in drop.attrs and at is drop:
                related.append((drop.attrs["definition"], f"{drop.label} is defined here"))
            yield self.report(
                at,
                f"{at.label} feeds {seen_norm.label}{_via(between)}; apply dropout after the "
                "normalization (variance shift)",
                related=tuple(related),
                fix=_swapped(drop, norm) if not between else None,
            )


def _swapped(drop: Node, norm: Node) -> Fix | None:
    """NN101's fix: swap the dropout and the norm when they are neighbours in one
    nn.Sequential/Keras layer list. Unsafe: the layers' indices, and so the state_dict keys
    of a Sequential, change."""
    if not neighbours(drop, norm) or not isinstance(drop.site, cst.Call) or not isinstance(norm.site, cst.Call):
        return None
    first, second = one_line_code(drop.site), one_line_code(norm.site)
    if first is None or second is None:
        return None
    # the two layers trade places; the list's layout (commas, line breaks, comments) stays
    return Fix("Swap the dropout and the normalization (renumbers the Sequential's state_dict keys)",
               (Edit(drop.site, second), Edit(norm.site, first)), safe=False)


# --- what a layer's constructor said -------------------------------------------------------
# Front ends store literal/resolved arguments in attrs; an absent key is unknown. A source
# layer also carries the constructor call (attrs["call"], or its site for a Sequential entry):
# an argument the call omits has the framework default, one it passes but could not be
# resolved stays unknown.
_UNKNOWN = object()


def _constructor(node: Node) -> cst.Call | None:
    call = node.attrs.get("call")
    if call is None:
        call = node.site
    return call if isinstance(call, cst.Call) else None


# TF1 functions on a tensor (`tf.layers.conv2d(x, 32, 5)`, `tf.reshape(x, shape)`): cls is the function's name.
_TF_PARAMS = {name.rsplit(".", 1)[-1]: ("inputs",) + spec.params
              for name, spec in TF_FUNCTIONS.items() if name.startswith(("tensorflow.layers.", "tensorflow.reshape"))}

_FUNCTIONAL_PARAMS = {
    **{name: ("input", "p", "training", "inplace")
       for name in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout")},
    "batch_norm": ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"),
}


def _bound_arguments(node: Node) -> dict[str, cst.BaseExpression] | None:
    """The constructor's arguments by parameter name, or None when they cannot be matched."""
    call = _constructor(node)
    if call is None or any(arg.star for arg in call.args):
        return None
    params = _parameters(node)
    if params is None:
        if any(arg.keyword is None for arg in call.args):
            return None
        return {arg.keyword.value: arg.value for arg in call.args}
    return call_arguments(call, params)


def _parameters(node: Node) -> tuple[str, ...] | None:
    """The positional parameter names of the layer's constructor (or functional call)."""
    cls = str(node.attrs.get("cls"))
    if isinstance(node.attrs.get("params"), tuple):
        return node.attrs["params"]
    if node.attrs.get("keras"):
        spec = KERAS_LAYERS.get(cls)
        return spec.params if spec is not None else _TF_PARAMS.get(cls)
    if cls in TORCH_NN:
        return TORCH_NN[cls].params
    return _FUNCTIONAL_PARAMS.get(cls)


def _keras_name(node: Node, name: str) -> str:
    """What the user calls a parameter: Keras says rate where torch says p."""
    return _KERAS_NAMES.get(name, name) if node.attrs.get("keras") else name


_KERAS_NAMES = {"p": "rate", "bias": "use_bias", "affine": "center", "stride": "strides"}


def argument(node: Node, name: str, default: Any) -> Any:
    """The value of a constructor argument: attrs, else the default when the call omits it."""
    if name in node.attrs:
        return node.attrs[name]
    bound = _bound_arguments(node)
    return default if bound is not None and _keras_name(node, name) not in bound else _UNKNOWN


def argument_site(node: Node, name: str) -> Any:
    """Where the user wrote argument `name` of the layer: its expression, else the layer."""
    site = node.attrs.get(f"{name}_site")
    if site is None:
        site = (_bound_arguments(node) or {}).get(_keras_name(node, name))
    return site if site is not None else node


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _inlined(node: Node) -> bool:
    """A node inlined from a submodule or Sequential attribute: that one's own graph has it too."""
    return bool(module_calls(node))


def _site_key(node: Node) -> Any:
    """One diagnostic per bug site: a layer called twice in forward() is one constructor."""
    call = _constructor(node)
    return id(call) if call is not None else ("node", node.id)


class BiasBeforeBatchNorm(Rule):
    """A Linear/Conv bias feeding straight into BatchNorm is removed again by the mean
    subtraction; the BatchNorm's own shift (beta) does its job. The parameter is wasted."""

    code = "NN102"
    name = "bias-before-batchnorm"
    severity = Severity.INFO
    summary = "Linear/Conv bias that the following BatchNorm cancels."
    front_ends = "SFO"
    fixable = True
    requires = (("Linear", "Conv", "Dense"), ("atchNorm", "atch_norm"))

    def check(self, graph: LayerGraph, options: dict[str, Any]) -> Iterator[Finding]:
        reported: set[Any] = set()
        for layer in graph.of(LINEAR | CONV):
            consumers = graph.consumers(layer)
            if argument(layer, "bias", True) is not True or len(consumers) != 1 or layer.id in graph.outputs:
                continue
            norm = consumers[0]
            if norm.op not in BATCHNORM or argument(norm, "affine", True) is not True or inside_same_call(layer, norm):
                continue
            if _site_key(layer) in reported:
                continue
            reported.add(_site_key(layer))
            at, seen_norm = seen_from(layer, norm), seen_from(norm, layer)
            if graph.origin == "onnx":  # an exported graph: no constructor to edit, and BN uses stored statistics
                said = (f"{at.label} has a bias that {seen_norm.label} makes redundant (its mean subtraction and "
                        "shift absorb any per-channel constant); drop the bias in the model that was exported")
            else:
                said = (f"{at.label} has a bias that {seen_norm.label} cancels (it subtracts the batch mean); "
                        + ("remove the bias" if layer.attrs.get("tf1") else f"pass {_keras_name(layer, 'bias')}=False"))
            yield self.report(
                at,
                said,
                related=((seen_norm, f"{seen_norm.label} absorbs the bias" if graph.origin == "onnx"
                          else f"{seen_norm.label} removes the bias with the batch mean"),),
                fix=_bias_off(layer),
            )


def _bias_off(layer: Node) -> Fix | None:
    """NN102's fix: `bias=False` (Keras: `use_bias=False`) in the layer's constructor call.
    Unsafe: the state_dict loses the bias keys, so old checkpoints no longer load strictly."""
    call, bound = _constructor(layer), _bound_arguments(layer)
    if call is None or bound is None or layer.attrs.get("tf1"):
        return None
    name = _keras_name(layer, "bias")
    message = f"Pass {name}=False (removes the bias from the state_dict)"
    edit = Edit(bound[name], "False") if name in bound else add_argument(call, f"{name}=False")
    return Fix(message, (edit,), safe=False) if edit is not None else None

class BatchNormMomentumConvention(Rule):
    """PyTorch's BatchNorm momentum is the weight of the NEW batch statistics (default 0.1);
    Keras/TF's is the weight of the OLD running average (default 0.99). A Keras value ported
    as-is makes the running statistics follow the last few batches only."""

    code = "NN103"
    name = "batchnorm-momentum-convention"
    severity = Severity.WARNING
    summary = "torch BatchNorm momentum > 0.5: the Keras/TF convention ported as-is."
    front_ends = "SF"
    requires = (("atchNorm",),)

    def check(self, graph: LayerGraph, options: dict[str, Any]) -> Iterator[Finding]:
        if graph.origin in ("keras", "onnx"):
            return  # both store 1 - m already: a Keras momentum means what it says there
        reported: set[Any] = set()
        for norm in graph.of(BATCHNORM):
            momentum = norm.attrs.get("momentum")
            if not _number(momentum) or momentum <= 0.5 or _inlined(norm) \
                    or str(norm.attrs.get("cls")).startswith("BatchNormalization"):
                continue
            if _site_key(norm) in reported:
                continue
            reported.add(_site_key(norm))
            yield self.report(
                argument_site(norm, "momentum"),
                f"{norm.label} has momentum={momentum}: in PyTorch momentum weighs the new batch "
                f"(default 0.1), so this is the Keras/TF convention; use momentum={round(1 - momentum, 6):g}",
            )


# Ops between two layers of the same kind that add no nonlinearity.
_LINEAR_IN_BETWEEN = DROPOUT | RESHAPE | BATCHNORM | OTHER_NORM | POOL | IDENTITY


def _nonlinear(node: Node) -> bool:
    """Max/Lp pooling and per-sample normalizations (LayerNorm, GroupNorm, InstanceNorm) are not
    linear maps; dropout, reshapes, average pooling and BatchNorm (an affine map at evaluation) are."""
    if node.op in POOL:
        cls = str(node.attrs.get("cls", "")).lower()
        return "max" in cls or "lp" in cls
    return node.op in OTHER_NORM


def _width(node: Node, name: str) -> int | None:
    value = node.attrs.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class MissingNonlinearity(Rule):
    """Two Linear (or two Conv) layers with nothing nonlinear in between compose into one
    linear map: the extra layer adds parameters and depth but no expressive power."""

    code = "NN104"
    name = "missing-nonlinearity"
    severity = Severity.WARNING
    summary = "Linear→Linear or Conv→Conv with no activation in between."
    front_ends = "SFO"
    requires = (("Linear", "Conv", "Dense", "Gemm", "MatMul", "matmul", "xw_plus_b", "conv", "fully_connected",
                 "Variable", "get_variable", "dense"),)

    def check(self, graph: LayerGraph, options: dict[str, Any]) -> Iterator[Finding]:
        reported: set[Any] = set()
        for kind, (width_in, width_out), noun in ((LINEAR, ("in_features", "out_features"), "Linear"),
                                                   (CONV, ("in_channels", "out_channels"), "Conv")):
            for first, second, between in graph.pairs(kind, kind, through=_LINEAR_IN_BETWEEN):
                if _site_key(second) in reported or inside_same_call(first, second) \
                        or self._deliberate(graph, first, second, between, width_in, width_out):
                    continue
                reported.add(_site_key(second))
                at, seen_first = seen_from(second, first), seen_from(first, second)
                if second.attrs.get("keras") and not second.attrs.get("tf1"):  # TF1 matmul/conv: Linear/Conv
                    noun = str(second.attrs.get("cls", noun))
                yield self.report(
                    at,
                    f"{at.label} follows {seen_first.label}{_via(between)} with no activation in between: "
                    + self._consequence(first, second, between, noun, width_in, width_out),
                    related=((seen_first, f"{seen_first.label} feeds {at.label} with no activation"),),
                )

    @staticmethod
    def _consequence(first: Node, second: Node, between: list[Node], noun: str, width_in: str, width_out: str) -> str:
        """What the missing activation means for what stands between: two linear maps compose
        into one; max pooling or a per-sample normalization is nonlinear, but no activation."""
        nonlinear = sorted({"max pooling" if n.op in POOL else "normalization" for n in between if _nonlinear(n)})
        if nonlinear:
            said = (f"{' and '.join(nonlinear)} {'is' if len(nonlinear) == 1 else 'are'} the only nonlinearity "
                    f"there, so the {noun} stack is missing its activations; add one (e.g. ReLU) after {first.label}")
        else:
            said = f"the two {noun} layers collapse into one linear map; add a nonlinearity between them"
        if None in (_width(first, width_in), _width(first, width_out), _width(second, width_out)):
            said += " (if this is a deliberate low-rank factorization, silence it with # noqa: NN104)"
        return said

    @staticmethod
    def _deliberate(graph: LayerGraph, first: Node, second: Node, between: list[Node], width_in: str, width_out: str) -> bool:
        if "Bilinear" in (first.attrs.get("cls"), second.attrs.get("cls")):
            return True
        # layers of different modules (a projector's last Linear, the next module's first):
        # where one module ends and the next begins is an architecture decision, not a slip
        if _module_path(first) != _module_path(second):
            return True
        # two bias-free layers meeting directly are one factorized weight (W = B @ A: LoRA,
        # adapters, low-rank gates), whatever the widths; in model code (not in an exported
        # ONNX graph, where a missing bias input says nothing of intent)
        # (a TF1 `tf.matmul(x, W)` without `+ b` states no such intent: tutorials often omit biases)
        if graph.origin != "onnx" and not any(n.op in BATCHNORM | OTHER_NORM for n in between) \
                and argument(first, "bias", True) is False and argument(second, "bias", True) is False \
                and not first.attrs.get("tf1"):
            return True
        # strided or transposed convolutions are learned resampling (patch embeddings, FPN necks)
        if first.op in CONV and any(argument(n, "stride", 1) not in (1, (1,), (1, 1), (1, 1, 1))
                                    or "Transpose" in str(n.attrs.get("cls")) for n in (first, second)):
            return True
        # a branch point: the value also feeds something else (q/k/v projections, a residual)
        if any(len(graph.consumers(n)) > 1 or n.id in graph.outputs for n in [first, *between]):
            return True
        # depthwise-separable and grouped convolutions factor one convolution on purpose
        if first.op in CONV and any(argument(n, "groups", 1) != 1 for n in (first, second)):
            return True
        outer_in, inner, outer_out = _width(first, width_in), _width(first, width_out), _width(second, width_out)
        if None not in (outer_in, inner, outer_out) and inner <= outer_in and inner < outer_out:
            return True  # a low-rank factorization, a linear bottleneck (projection, then expansion), an adapter
        return None in (outer_in, inner, outer_out) and _feeds_residual(graph, second)  # a branch of unknown rank


def _module_path(node: Node) -> tuple:
    """Which module's code the node belongs to: the submodule calls it was inlined through
    (source front end), or the enclosing module calls of the trace (fx)."""
    return module_calls(node) if "via" in node.attrs else tuple(node.attrs.get("scope", ()))


def _feeds_residual(graph: LayerGraph, node: Node, steps: int = 4) -> bool:
    """Does the node's output reach an add through a few unlearned ops (a scale, a dropout)?"""
    frontier = graph.consumers(node)
    for _ in range(steps):
        if any(n.op == "add" for n in frontier):
            return True
        frontier = [c for n in frontier if n.op not in _LEARNED for c in graph.consumers(n)]
    return False


_LEARNED = LINEAR | CONV | {"attention", "rnn", "embedding"}


# Activations that can be "the same twice in a row" (GLU halves its input, PReLU/Threshold are
# parametric: a second one is a different function).
_REPEATABLE = (ACTIVATION - {"glu", "prelu", "threshold"}) | {"softmax", "log_softmax"}
# f(f(x)) = f(x): the second one is a no-op.
_IDEMPOTENT = frozenset({"relu", "relu6", "hardtanh", "hardshrink", "log_softmax"})
# Bounded, saturating maps: a second one squeezes the already bounded values into a narrower band.
_SQUASHING = frozenset({"sigmoid", "tanh", "hardsigmoid", "softsign", "softmax"})


class RedundantActivation(Rule):
    """The same activation applied twice in a row: at best a no-op, at worst (softmax,
    sigmoid, tanh) it squashes the values twice and flattens the gradients."""

    code = "NN105"
    name = "redundant-activation"
    severity = Severity.WARNING
    summary = "The same activation twice in a row."
    front_ends = "SFO"
    requires = (("LU", "lu", "oftmax", "igmoid", "anh", "ctivation", "ish", "hrink", "oftplus", "oftsign", "ardswish"),)

    def check(self, graph: LayerGraph, options: dict[str, Any]) -> Iterator[Finding]:
        reported: set[Any] = set()
        for first, second, between in graph.pairs(_REPEATABLE, _REPEATABLE, through=IDENTITY):
            if first.op != second.op or _site_key(second) in reported or inside_same_call(first, second):
                continue
            reported.add(_site_key(second))
            first, second = seen_from(first, second), seen_from(second, first)
            effect = ("does nothing the first did not" if second.op in _IDEMPOTENT
                      else "squashes the values a second time (outputs bunch up, gradients shrink)"
                      if second.op in _SQUASHING
                      else f"is not a no-op: {second.op}({second.op}(x)) is a different function from {second.op}(x)")
            yield self.report(
                second,
                f"{second.label} applies {second.op} again right after {first.label}"
                f"{_via(between) if between else ''}: "
                f"it {effect}; remove one",
                related=((first, f"{first.label} already applies {first.op}"),),
            )


# --- sizes flowing along the graph (NN106) -------------------------------------------------
# A size is (axis, n, producer): axis "last" (features of Linear/RNN/Embedding outputs) or
# "channel" (dim 1 of Conv outputs), n its extent, producer the node that fixed it.
_KEEPS_SIZE = (DROPOUT | ACTIVATION | IDENTITY | OTHER_NORM | {"softmax", "log_softmax"}) - {"glu"}


class LayerShapeMismatch(Rule):
    """Consecutive layers whose sizes are written down and disagree: the model crashes on
    its first batch, or (LazyLinear, reshapes) silently learns on a different layout."""

    code = "NN106"
    name = "layer-shape-mismatch"
    severity = Severity.ERROR
    summary = "Consecutive layers whose statically known sizes disagree."
    front_ends = "SFO"
    requires = (("Linear", "Conv", "Norm", "LSTM", "GRU", "RNN", "Embedding", "Dense", "layers.", "reshape", "matmul",
                 "xw_plus_b", "conv", "Variable", "get_variable", "slim."),)

    def check(self, graph: LayerGraph, options: dict[str, Any]) -> Iterator[Finding]:
        sizes: dict[int, tuple[str, int, Node] | None] = {}
        reported: set[Any] = set()
        for node in graph.nodes:
            incoming = self._incoming(node, sizes)
            expected = self._expects(node)
            if expected is not None and incoming is not None:
                axis, n = expected
                if (axis == incoming[0] or axis == "any") and n != incoming[1] and _site_key(node) not in reported \
                        and not inside_same_call(incoming[2], node):
                    reported.add(_site_key(node))
                    at, producer = seen_from(node, incoming[2]), seen_from(incoming[2], node)
                    noun = "features" if incoming[0] == "last" else "channels"
                    yield self.report(
                        at,
                        f"{at.label} expects {n} input {noun} but {producer.label} produces {incoming[1]}; "
                        "make the sizes agree",
                        related=((producer, f"{producer.label} produces {incoming[1]} {noun}"),),
                    )
            sizes[node.id] = self._produces(node, incoming)
            if graph.origin in ("fx", "onnx") and isinstance(node.attrs.get("shape_error"), str) and _site_key(node) not in reported:
                reported.add(_site_key(node))  # the traced input shape fails at this layer
                yield self.report(node, f"{node.label} {node.attrs['shape_error']}; make the layer sizes (kernel, "
                                        "stride, padding, reshape target) fit that input")
        if graph.origin == "keras" or any(n.attrs.get("keras") for n in graph.nodes[:1]):
            for node, message in _KerasShapes(graph).problems:
                if _site_key(node) not in reported:
                    reported.add(_site_key(node))
                    yield self.report(node, message)

    @staticmethod
    def _incoming(node: Node, sizes: dict) -> tuple[str, int, Node] | None:
        if any(i not in sizes for i in node.inputs):
            return None  # not in topological order: unknown
        known = [sizes[i] for i in node.inputs]
        if len(known) == 1:
            return known[0]
        if node.op == "add" and known and all(k is not None for k in known) and len({k[:2] for k in known}) == 1:
            return known[0]
        return None

    @staticmethod
    def _expects(node: Node) -> tuple[str, int] | None:
        cls = str(node.attrs.get("cls"))
        if node.op == "linear" and cls != "Bilinear":
            n, axis = _width(node, "in_features"), "last"
        elif node.op == "conv":
            n, axis = _width(node, "in_channels"), "channel"
        elif node.op == "rnn":
            n, axis = _width(node, "input_size"), "last"
        elif node.op == "batchnorm":
            n, axis = _width(node, "num_features"), ("any" if cls.endswith("1d") else "channel")
        elif node.op == "groupnorm":
            n, axis = _width(node, "num_channels"), "channel"
        elif node.op == "layernorm":
            n, axis = _width(node, "normalized_shape"), "last"
        else:
            return None
        return (axis, n) if n is not None else None

    @staticmethod
    def _produces(node: Node, incoming: tuple[str, int, Node] | None) -> tuple[str, int, Node] | None:
        if node.op == "linear":
            n = _width(node, "out_features")
            return ("last", n, node) if n is not None else None
        if node.op == "conv":
            n = _width(node, "out_channels")
            return ("channel", n, node) if n is not None else None
        if node.op == "embedding":
            n = _width(node, "embedding_dim")
            return ("last", n, node) if n is not None else None
        if node.op == "rnn":
            hidden = _width(node, "hidden_size")
            bidirectional = argument(node, "bidirectional", False)
            projected = argument(node, "proj_size", 0)
            if hidden is None or not isinstance(bidirectional, bool) or projected != 0:
                return None
            return ("last", hidden * (2 if bidirectional else 1), node)
        if node.op == "batchnorm":
            if incoming is not None:
                return incoming
            n = _width(node, "num_features")
            return ("channel", n, node) if n is not None and not str(node.attrs.get("cls")).endswith("1d") else None
        if node.op in _KEEPS_SIZE:
            return incoming
        if node.op in POOL:
            return incoming if incoming is not None and incoming[0] == "channel" else None
        if node.op == "add":
            return incoming
        return None


# --- static per-sample shapes (NN106, Keras: channels-last, the batch dimension left out) ------
def _ints(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    if isinstance(value, tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return value
    return None


def _window(node: Node, size_name: str, default_size: Any) -> tuple[tuple, tuple, str] | None:
    """(size, strides, padding) of a Keras conv/pool window, defaults filled in; None if unknown.
    The front end's attrs win (it read Keras 1 and contrib spellings); a channel order it could
    not know (Keras 1 without dim_ordering, a dilated window) leaves the window unknown."""
    if node.attrs.get("tf1"):
        return node.attrs.get("window")  # TF1 tf.nn conv/pool: read by the front end (source/tf1.py)
    order = node.attrs.get("data_format")
    if order == "unknown":
        return None
    if all(k in node.attrs for k in (size_name, "stride", "padding")):
        size, strides, padding = (_ints(node.attrs[size_name]), _ints(node.attrs["stride"]), node.attrs["padding"])
        return (size, strides, padding) if size and strides and padding in ("valid", "same") else None
    bound = _bound_arguments(node)
    if bound is None or "dilation_rate" in bound or ("data_format" in bound and order is None):
        return None
    values = {name: literal_tuple(expr) for name, expr in bound.items()}
    size = _ints(node.attrs.get("kernel_size") if size_name == "kernel_size" else values.get(size_name, default_size)
                 if size_name in bound else default_size)
    strides = _ints(node.attrs.get("stride")) if "stride" in node.attrs else (
        _ints(values.get("strides")) if "strides" in bound else size if size_name == "pool_size" else (1,))
    padding = node.attrs.get("padding") or (values.get("padding") if "padding" in bound else "valid")
    if size is None or strides is None or padding not in ("valid", "same"):
        return None
    return size, strides, padding


def literal_tuple(expr: cst.BaseExpression) -> Any:
    if isinstance(expr, (cst.Tuple, cst.List)):
        values = tuple(_folded(e.value) for e in expr.elements)
        return values if all(isinstance(v, int) and not isinstance(v, bool) for v in values) else None
    return literal(expr)


_FOLD = {"Add": lambda a, b: a + b, "Subtract": lambda a, b: a - b, "Multiply": lambda a, b: a * b}  # by class name


def _folded(expr: cst.BaseExpression) -> Any:
    """A literal, or + - * of int literals (`7 * 7 * 64`)."""
    if isinstance(expr, cst.BinaryOperation) and type(expr.operator).__name__ in _FOLD:
        a, b = _folded(expr.left), _folded(expr.right)
        if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool) and not isinstance(b, bool):
            return _FOLD[type(expr.operator).__name__](a, b)
        return None
    return literal(expr)


def _channels_first(node: Node) -> bool:
    return node.attrs.get("data_format") == "channels_first"


def _spatial(shape: tuple, window: tuple[tuple, tuple, str], channels_first: bool = False) -> list[int] | None:
    size, strides, padding = window
    dims = shape[1:] if channels_first else shape[:-1]
    if len(size) == 1:
        size = size * len(dims)
    if len(strides) == 1:
        strides = strides * len(dims)
    if len(size) != len(dims) or len(strides) != len(dims) or any(d is None for d in dims):
        return None
    if padding == "same":
        return [-(-d // st) for d, st in zip(dims, strides)]
    return [(d - k) // st + 1 for d, k, st in zip(dims, size, strides)]


def _product(values: Iterable[int]) -> int:
    total = 1
    for v in values:
        total *= v
    return total


class _KerasShapes:
    """Per-sample output shapes of a Keras graph from a static input shape; problems found on the way."""

    def __init__(self, graph: LayerGraph) -> None:
        self.shapes: dict[int, tuple | None] = {}
        self.problems: list[tuple[Node, str]] = []
        for node in graph.nodes:
            self.shapes[node.id] = self._out(node, self._in(node))

    def _in(self, node: Node) -> tuple | None:
        given = node.attrs.get("input_shape")
        if isinstance(given, tuple) and all(isinstance(d, int) for d in given):
            return given
        if len(node.inputs) != 1:
            return None
        return self.shapes.get(node.inputs[0])

    def _out(self, node: Node, shape: tuple | None) -> tuple | None:
        if node.op == "input":
            given = node.attrs.get("shape")
            return given if isinstance(given, tuple) and all(isinstance(d, int) for d in given) else None
        if shape is None or not node.attrs.get("keras"):
            return None
        cls = str(node.attrs.get("cls"))
        if node.op in (ACTIVATION | DROPOUT | IDENTITY | BATCHNORM | OTHER_NORM | {"softmax", "log_softmax"}) - {"glu"}:
            return shape
        if node.attrs.get("tf1") and node.op in ("linear", "conv"):
            self._tf1_inputs(node, shape)
        if node.op == "linear" and cls in ("Dense", "dense", "fully_connected", "linear"):
            units = node.attrs.get("out_features")
            return shape[:-1] + (units,) if isinstance(units, int) else None
        if node.op == "linear" and node.attrs.get("tf1"):
            units = node.attrs.get("out_features")
            return (units,) if isinstance(units, int) and len(shape) == 1 else None
        if node.op == "flatten":
            return (_product(shape),) if None not in shape else None
        if node.op == "reshape" and cls == "Reshape":
            return self._reshape(node, shape)
        if node.op == "reshape" and cls == "reshape":
            return self._tf_reshape(node, shape)
        if node.op == "conv" and not any(w in cls.lower() for w in ("transpose", "depthwise")):
            window = _window(node, "kernel_size", None)
            filters = node.attrs.get("out_channels")
            return self._shrink(node, shape, window, filters if isinstance(filters, int) else None)
        if node.op in POOL:
            if cls.startswith("Global"):
                return None if "keepdims" in (_bound_arguments(node) or {}) else \
                    shape[:1] if _channels_first(node) else shape[-1:]
            return self._shrink(node, shape, _window(node, "pool_size", (2,)), shape[0] if _channels_first(node) else shape[-1])
        return None

    def _tf1_inputs(self, node: Node, shape: tuple) -> None:
        """A TF1 matmul/conv weight whose input size disagrees with the per-sample shape it gets
        (a placeholder's, a reshape's): `tf.matmul(x, W)` with W [1568, 1024] after a reshape to 3136."""
        linear = node.op == "linear"
        wanted = node.attrs.get("in_features" if linear else "in_channels")
        got = shape[-1] if shape else None
        if linear and len(shape) != 1 or not linear and not node.attrs.get("channels_last"):
            return
        if isinstance(wanted, int) and isinstance(got, int) and wanted != got:
            noun = "features" if linear else "channels"
            self.problems.append((node, f"{node.label} expects {wanted} input {noun} (its weight's shape) but its "
                                        f"input has {got} (per-sample shape {shape}); make the sizes agree"))

    def _shrink(self, node: Node, shape: tuple, window, channels: int | None) -> tuple | None:
        first = _channels_first(node)
        dims = _spatial(shape, window, first) if window is not None else None
        if dims is None:
            return None
        if any(d < 1 for d in dims):
            size, strides, _ = window
            self.problems.append((node, f"{node.label} shrinks its {'x'.join(map(str, shape[1:] if first else shape[:-1]))} input to "
                                        f"{'x'.join(map(str, dims))} ('valid' padding, window {size[0] if len(size) == 1 else size}, "
                                        f"stride {strides[0] if len(strides) == 1 else strides}): the model cannot be "
                                        "built; use padding='same' or a smaller window or stride"))
            return None
        if channels is None:
            return None
        return (channels,) + tuple(dims) if first else tuple(dims) + (channels,)

    def _reshape(self, node: Node, shape: tuple) -> tuple | None:
        target = (_bound_arguments(node) or {}).get("target_shape")
        target = literal_tuple(target) if target is not None else None
        if not isinstance(target, tuple) or None in shape or target.count(-1) > 1:
            return None
        size, known = _product(shape), _product(d for d in target if d != -1)
        if (-1 in target and (known == 0 or size % known)) or (-1 not in target and known != size):
            self.problems.append((node, f"{node.label} reshapes {shape} ({size} values per sample) to {target}, "
                                        f"which {'cannot hold' if -1 in target else 'holds ' + str(known) + ' and cannot hold'} "
                                        f"{size}; make the target shape multiply to {size}"))
            return None
        return tuple(size // known if d == -1 else d for d in target)

    def _tf_reshape(self, node: Node, shape: tuple) -> tuple | None:
        """`tf.reshape(x, [-1, ...])`: the target includes the batch dimension (-1). Reported only when the
        per-sample size is no multiple of the other dimensions (a multiple merges rows into the batch)."""
        target = (_bound_arguments(node) or {}).get("shape")
        target = literal_tuple(target) if target is not None else None
        if not isinstance(target, tuple) or len(target) < 2 or target[0] != -1 or -1 in target[1:] or None in shape:
            return None
        size, known = _product(shape), _product(target[1:])
        if known > 0 and size % known:
            self.problems.append((node, f"{node.label} reshapes the per-sample shape {shape} ({size} values) into rows "
                                        f"of {known} values: {size} is not a multiple of {known}, so the batch does "
                                        f"not split into such rows; make the non-batch dimensions multiply to {size}"))
            return None
        return target[1:] if known == size else None


class DropoutProbabilitySuspicious(Rule):
    """A drop probability outside [0, 1) is an error; a very high one usually is TF1's
    keep_prob (the probability to KEEP a unit) ported as PyTorch's p (the probability to drop)."""

    code = "NN109"
    name = "dropout-probability-suspicious"
    severity = Severity.WARNING
    summary = "Dropout p outside [0, 1), or so high it looks like a keep probability."
    front_ends = "SFO"
    requires = (("ropout",),)
    options = (Option("suspicious-p", float, 0.8, "p at or above this looks like a keep probability"),)

    def check(self, graph: LayerGraph, options: dict[str, Any]) -> Iterator[Finding]:
        threshold = options.get("suspicious-p", 0.8)
        reported: set[Any] = set()
        for drop in graph.of(DROPOUT):
            p = drop.attrs.get("p")
            if not _number(p) or _site_key(drop) in reported or _inlined(drop):
                continue
            name = drop.attrs.get("p_name") or _keras_name(drop, "p")
            keep = drop.attrs.get("keep_prob")  # TF1 spells the probability to keep
            if _number(keep) and (p < 0 or p >= threshold):
                message = (f"{drop.label} has keep_prob={keep}: a keep probability must be in (0, 1]; fix the value"
                           if p < 0 or p >= 1 else
                           f"{drop.label} keeps only {keep:.0%} of the activations: keep_prob={keep} looks like a "
                           f"drop rate ported as the keep probability; use keep_prob={round(1 - keep, 6):g}")
            elif p < 0 or p >= 1:
                message = (f"{drop.label} has {name}={p}: a drop probability must be in [0, 1) "
                           f"({'the framework raises a ValueError for it' if p < 0 or p > 1 else f'{name}=1 zeroes every activation'}); "
                           "fix the value")
            elif p >= threshold:
                message = (f"{drop.label} drops {p:.0%} of the activations: {name}={p} looks like a keep "
                           f"probability (TF1 keep_prob) ported as the drop probability; use {name}={round(1 - p, 6):g}")
            else:
                continue
            reported.add(_site_key(drop))
            yield self.report(argument_site(drop, "p"), message)
