"""Keras and TensorFlow models lowered to layer graphs.

- `Sequential([...])` (keras, tf.keras, tensorflow.keras) and `model.add(layer)` after it, in
  straight-line code, branches and loops (keras_adds: one chain per path a run can take; origin
  "keras", name = the variable), last layers marked output.
- Subclassed models and layers (`class M(keras.Model)`): keras_model.
- The functional API in any function or at module level: `x = Dropout(0.5)(x)`, a layer bound to
  a name and called (`dense = Dense(8); y = dense(x)`), `Input(...)`, `Concatenate()([a, b])`,
  `Model(inputs, outputs)` (outputs marked); and TF1 layer chains `x = tf.layers.dense(x, 10)`,
  `tf.nn.relu(x)`, `tf.nn.dropout(x, rate=...)`. One graph per scope that builds any (origin
  "keras", name = the function name or "<module>").
- TF1 layer functions take the tensor by position or as `inputs=`; tf.contrib.layers/slim
  calls have their own names and defaults (num_outputs, activation_fn=relu, keep_prob).
- Keras 1 / multi-backend Keras 2 arguments (nb_filter, border_mode, subsample, dim_ordering,
  output_dim, p, init) are renamed to today's; which Keras a file speaks (keras_dialect) decides
  whether `Conv2D(32, 3, 3)` is a 3x3 kernel, strides 3, or unknown.
- `activation=` keyword or positional (`Dense(10, 'softmax')`) adds an activation node after the
  layer. BatchNormalization stores keras=True and momentum in torch convention (1 - m).
- Dense/Conv nodes carry what NN110 reads (nnlint.source.initializers): kernel_init "zero" |
  "constant" and kernel_init_site when the kernel starts constant, and bias_init.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from nnlint import lazy_libcst as cst

from nnlint.graph import LayerGraph, Node
from nnlint.graph.ir import mark_entry
from nnlint.source import SourceFile
from nnlint.source.functional import Dataflow, Ref, _body
from nnlint.source.initializers import kernel_init_attrs
from nnlint.source.keras_adds import Growth
from nnlint.source.keras_dialect import (UNKNOWN_ORDER, KerasDialect, conv_rank, kernel_from_keywords,
                                         legacy_kernel, ordering, today)
from nnlint.source.literals import call_arguments, literal
from nnlint.source.tf1 import TF1Lowering, TF1Module, tf_name as _tf_name


@dataclass(frozen=True)
class KerasSpec:
    op: str
    params: tuple[str, ...] = ()  # positional parameter names (after `inputs` for tf.layers functions)
    activation: str | None = None  # the parameter that names an activation, if any
    default_activation: str | None = None  # applied when the call omits it (tf.contrib.layers: relu)


def _specs(op: str, names: str, params: tuple[str, ...] = (), activation: str | None = None) -> dict[str, KerasSpec]:
    return {name: KerasSpec(op, params, activation) for name in names.split()}


def _tf(prefixes: tuple[str, ...], specs: dict[str, KerasSpec]) -> dict[str, KerasSpec]:
    return {f"{prefix}{name}": spec for prefix in prefixes for name, spec in specs.items()}


_CONV = ("filters", "kernel_size", "strides", "padding")
_BN = ("axis", "momentum", "epsilon", "center", "scale")

# keras.layers.<name>
KERAS_LAYERS: dict[str, KerasSpec] = {
    **_specs("linear", "Dense", ("units", "activation", "use_bias"), "activation"),
    **_specs("linear", "EinsumDense", (), "activation"),
    **_specs("conv", "Conv1D Conv2D Conv3D Convolution1D Convolution2D Convolution3D Conv1DTranspose Conv2DTranspose "
             "Conv3DTranspose Convolution2DTranspose SeparableConv1D SeparableConv2D SeparableConvolution1D "
             "SeparableConvolution2D", _CONV, "activation"),
    **_specs("conv", "DepthwiseConv1D DepthwiseConv2D", ("kernel_size", "strides", "padding"), "activation"),
    **_specs("dropout", "Dropout SpatialDropout1D SpatialDropout2D SpatialDropout3D AlphaDropout", ("rate",)),
    **_specs("batchnorm", "BatchNormalization SyncBatchNormalization", _BN),
    **_specs("layernorm", "LayerNormalization RMSNormalization"),
    **_specs("groupnorm", "GroupNormalization"),
    **_specs("relu", "ReLU"),
    **_specs("leaky_relu", "LeakyReLU"),
    **_specs("prelu", "PReLU"),
    **_specs("elu", "ELU"),
    **_specs("threshold", "ThresholdedReLU"),
    **_specs("softmax", "Softmax", ("axis",)),
    **_specs("flatten", "Flatten"),
    **_specs("reshape", "Reshape", ("target_shape",)),
    **_specs("transpose", "Permute", ("dims",)),
    **_specs("identity", "Identity"),
    **_specs(
        "pool",
        "MaxPooling1D MaxPooling2D MaxPooling3D AveragePooling1D AveragePooling2D AveragePooling3D MaxPool1D MaxPool2D "
        "MaxPool3D AvgPool1D AvgPool2D AvgPool3D GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D "
        "GlobalMaxPooling1D GlobalMaxPooling2D GlobalMaxPooling3D GlobalAvgPool1D GlobalAvgPool2D GlobalAvgPool3D "
        "GlobalMaxPool1D GlobalMaxPool2D GlobalMaxPool3D",
        ("pool_size", "strides", "padding"),
    ),
    **_specs("rnn", "LSTM GRU SimpleRNN CuDNNLSTM CuDNNGRU", ("units",)),
    **_specs("embedding", "Embedding", ("input_dim", "output_dim")),
    **_specs("attention", "MultiHeadAttention Attention AdditiveAttention", ("num_heads", "key_dim")),
    **_specs("concat", "Concatenate", ("axis",)),
    **_specs("add", "Add"),
    **_specs("input", "InputLayer", ("input_shape",)),
}
KERAS_ACTIVATION_LAYER = "Activation"
KERAS_WRAPPERS = frozenset({"Bidirectional", "TimeDistributed"})
KERAS_MERGE_FUNCTIONS = {"concatenate": "concat", "add": "add"}
SEQUENTIALS = frozenset({"keras.Sequential", "keras.models.Sequential"})
MODELS = frozenset({"keras.Model", "keras.models.Model"})
# Bases of a subclassed model or layer: layers built in __init__, dataflow in call().
SUBCLASS_BASES = MODELS | frozenset({"keras.layers.Layer", "keras.Layer", "keras.engine.base_layer.Layer"})
INPUTS = frozenset({"keras.Input", "keras.layers.Input"})

# Activation names (strings, keras.activations.<name>, tf.nn.<name>) -> op kind; None: no activation.
ACTIVATIONS: dict[str, str | None] = {
    "linear": None, "relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "hard_sigmoid": "hardsigmoid",
    "tanh": "tanh", "softmax": "softmax", "log_softmax": "log_softmax", "elu": "elu", "selu": "selu",
    "gelu": "gelu", "swish": "silu", "silu": "silu", "softplus": "softplus", "softsign": "softsign",
    "leaky_relu": "leaky_relu", "mish": "mish", "hard_swish": "hardswish", "hard_silu": "hardswish",
}

CONTRIB_PREFIXES = ("tensorflow.contrib.layers.", "tensorflow.contrib.slim.", "tf_slim.", "tf_slim.layers.")

# TF functions on tensors: qualified (after folding tensorflow.compat.v1 into tensorflow) -> spec.
# params: the parameters after the tensor.
_TF_ACTIVATIONS = {f"tensorflow.nn.{name}": KerasSpec(op) for name, op in ACTIVATIONS.items() if op and name != "linear"}
TF_FUNCTIONS: dict[str, KerasSpec] = {
    **_TF_ACTIVATIONS,
    "tensorflow.nn.softmax": KerasSpec("softmax", ("axis",)),
    "tensorflow.nn.log_softmax": KerasSpec("log_softmax", ("axis",)),
    "tensorflow.sigmoid": KerasSpec("sigmoid"), "tensorflow.tanh": KerasSpec("tanh"),
    "tensorflow.math.sigmoid": KerasSpec("sigmoid"), "tensorflow.math.tanh": KerasSpec("tanh"),
    "tensorflow.log": KerasSpec("log"), "tensorflow.math.log": KerasSpec("log"),
    "tensorflow.reshape": KerasSpec("reshape", ("shape",)), "tensorflow.transpose": KerasSpec("transpose"),
    **_tf(("tensorflow.layers.",), {
        "dense": KerasSpec("linear", ("units", "activation", "use_bias"), "activation"),
        **{name: KerasSpec("conv", _CONV, "activation") for name in (
            "conv1d", "conv2d", "conv3d", "conv2d_transpose", "conv3d_transpose", "separable_conv1d", "separable_conv2d")},
        "dropout": KerasSpec("dropout", ("rate",)),
        "batch_normalization": KerasSpec("batchnorm", _BN),
        "flatten": KerasSpec("flatten"),
        **{f"{kind}_pooling{d}d": KerasSpec("pool", ("pool_size", "strides", "padding"))
           for kind in ("max", "average") for d in (1, 2, 3)},
    }),
    # tf.contrib.layers and slim: activation_fn is ReLU unless the call says otherwise
    **_tf(CONTRIB_PREFIXES, {
        "fully_connected": KerasSpec("linear", ("num_outputs", "activation_fn"), "activation_fn", "relu"),
        "linear": KerasSpec("linear", ("num_outputs",)),
        **{name: KerasSpec("conv", ("num_outputs", "kernel_size", "stride", "padding"), "activation_fn", "relu")
           for name in ("conv1d", "conv2d", "conv3d", "convolution1d", "convolution2d", "convolution3d",
                        "conv2d_transpose", "convolution2d_transpose", "conv3d_transpose")},
        "separable_conv2d": KerasSpec("conv", ("num_outputs", "kernel_size", "depth_multiplier", "stride", "padding"),
                                      "activation_fn", "relu"),
        "dropout": KerasSpec("dropout", ("keep_prob",)),
        "batch_norm": KerasSpec("batchnorm", ("decay", "center", "scale", "epsilon", "activation_fn"), "activation_fn"),
        "flatten": KerasSpec("flatten"),
        **{name: KerasSpec("pool", ("kernel_size", "stride", "padding")) for name in (
            "max_pool2d", "avg_pool2d", "max_pool3d", "avg_pool3d")},
    }),
}


def _layer_name(qualified: str | None) -> str | None:
    """`keras.layers.Dense` (any submodule path under keras.layers) -> "Dense"; TF1's Keras-style
    layer classes (`tf.layers.Dense`, `tf.compat.v1.layers.Conv2D`) too."""
    if qualified and qualified.startswith("keras.layers."):
        return qualified.rsplit(".", 1)[-1]
    tf = _tf_name(qualified)
    if tf and tf.startswith("tensorflow.layers.") and tf.count(".") == 2 and tf.rsplit(".", 1)[-1][:1].isupper():
        return tf.rsplit(".", 1)[-1]
    return None


def _is_none(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _contrib(qualified: str) -> bool:
    return qualified.startswith(CONTRIB_PREFIXES)


def _shape(expr: cst.BaseExpression | None) -> tuple | None:
    if isinstance(expr, (cst.Tuple, cst.List)):
        values = []
        for el in expr.elements:
            if isinstance(el.value, cst.Name) and el.value.value == "None":
                values.append(None)
                continue
            value = literal(el.value)
            if not isinstance(value, int) or isinstance(value, bool):
                return None
            values.append(value)
        return tuple(values)
    value = literal(expr) if expr is not None else None
    return (value,) if isinstance(value, int) and not isinstance(value, bool) else None


class KerasLayers:
    """Lowers one Keras layer constructor (or a tf.layers call) into nodes appended to a chain."""

    def __init__(self, source: SourceFile, text) -> None:
        self.source = source
        self.text = text
        self._constants = None
        self._dialect: KerasDialect | None = None
        self._tf1: TF1Module | None = None

    @property
    def constants(self):
        """Module constants and parameter defaults (nnlint.source.constants), built on first use."""
        if self._constants is None:
            from nnlint.source.constants import Constants

            self._constants = Constants(self.source.module, self.source.index)
        return self._constants

    @property
    def tf1(self) -> TF1Module:
        """What the file's TF1 low-level code shares between scopes (nnlint.source.tf1), built on first use."""
        if self._tf1 is None:
            self._tf1 = TF1Module(self.source, self.constants)
        return self._tf1

    def is_layer(self, call: cst.Call) -> bool:
        name = _layer_name(self.source.imports.resolve(call.func))
        return name is not None and (name in KERAS_LAYERS or name in KERAS_WRAPPERS or name == KERAS_ACTIVATION_LAYER)

    def lower(self, add, call: cst.Call, tail: Sequence[Node], site: cst.CSTNode | None = None) -> list[Node] | None:
        """Nodes for the layer `call` applied to `tail` (None when `call` is no Keras layer).
        `add(op, label, inputs, site, **attrs)` makes a node."""
        name = _layer_name(self.source.imports.resolve(call.func))
        if name is None:
            return None
        site = site if site is not None else call
        label = self.text(call)
        if name == KERAS_ACTIVATION_LAYER:
            bound = call_arguments(call, ("activation",))
            op = self.activation(bound.get("activation"))
            if op is None:
                return list(tail) if "activation" in bound and self._is_linear(bound["activation"]) else [
                    add("opaque", label, tail, site)]
            return [add(op, label, tail, site, cls=name, keras=True, **({"dim": -1} if "softmax" in op else {}))]
        if name in KERAS_WRAPPERS:
            inner = call.args[0].value if call.args and not call.args[0].keyword else None
            if name == "Bidirectional" and isinstance(inner, cst.Call) and _layer_name(self.source.imports.resolve(inner.func)) in (
                    "LSTM", "GRU", "SimpleRNN"):
                attrs = self._attrs(KERAS_LAYERS["LSTM"], inner)
                return [add("rnn", label, tail, site, cls=name, keras=True, bidirectional=True, **attrs)]
            return [add("opaque", label, tail, site)]
        spec = KERAS_LAYERS.get(name)
        if spec is None:
            return None
        attrs = self._attrs(spec, call)
        node = add(spec.op, label, tail, site, cls=name, keras=True, call=call, **attrs)
        return self._activation(add, spec, call, node, label)

    def lower_tf(self, add, spec: KerasSpec, call: cst.Call, tail: Sequence[Node], name: str,
                 qualified: str = "") -> list[Node]:
        """A TF function call on a tensor (`tf.layers.dense(x, 10)`, `tf.nn.relu(x)`), the tensor
        positional or `inputs=`; tf.contrib.layers/slim calls with their defaults (ReLU, SAME)."""
        contrib = _contrib(qualified)
        attrs = self._attrs(spec, call, skip_first=True, tf=True, contrib=contrib)
        if contrib:  # its own parameter names (num_outputs, stride, keep_prob) for rules that read the call
            attrs["params"] = ("inputs",) + spec.params
        node = add(spec.op, self.text(call), tail, call, cls=name, keras=True, **attrs)
        if contrib:
            node = self._normalizer(add, call, node)
        return self._activation(add, spec, call, node, self.text(call), skip_first=True, contrib=contrib)

    def _normalizer(self, add, call: cst.Call, node: Node) -> Node:
        """contrib `normalizer_fn=`: applied to the layer's output before its activation."""
        expr = self._bound(KerasSpec("linear"), call, skip_first=True).get("normalizer_fn")
        if expr is None or _is_none(expr):
            return node
        qualified = _tf_name(self.source.imports.resolve(expr)) or ""
        if qualified.endswith((".batch_norm", ".batch_normalization")):
            return add("batchnorm", f"{self.text(expr)} of {self.text(call)}", [node], expr, cls="batch_norm", keras=True)
        return add("opaque", f"{self.text(expr)} of {self.text(call)}", [node], expr)

    def _activation(self, add, spec: KerasSpec, call: cst.Call, node: Node, label: str, skip_first: bool = False,
                    contrib: bool = False) -> list[Node]:
        if spec.activation is None:
            return [node]
        expr = self._bound(spec, call, skip_first).get("activation")
        if expr is None and spec.default_activation is not None:
            if contrib and self.dialect.arg_scope:  # an arg_scope may have changed the default
                return [add("opaque", f"activation of {label}", [node], call)]
            return [add(spec.default_activation, f"default {spec.default_activation} activation of {label}", [node], call,
                        cls=node.attrs.get("cls"), keras=True, activation=True)]
        if expr is None or self._is_linear(expr):
            return [node]
        op = self.activation(expr)
        if op is None:
            return [add("opaque", f"activation {self.text(expr)} of {label}", [node], expr)]
        extra = {"dim": -1} if op in ("softmax", "log_softmax") else {}
        return [add(op, f"{self.text(expr)} activation of {label}", [node], expr, cls=node.attrs.get("cls"), keras=True,
                    activation=True, **extra)]

    def activation(self, expr: cst.BaseExpression | None) -> str | None:
        if expr is None:
            return None
        value = literal(expr)
        if isinstance(value, str):
            return ACTIVATIONS.get(value)
        qualified = _tf_name(self.source.imports.resolve(expr))
        if qualified and (qualified.startswith(("keras.activations.", "tensorflow.nn.", "tensorflow.math."))):
            return ACTIVATIONS.get(qualified.rsplit(".", 1)[-1])
        if qualified in ("tensorflow.sigmoid", "tensorflow.tanh"):
            return qualified.rsplit(".", 1)[-1]
        return None

    @staticmethod
    def _is_linear(expr: cst.BaseExpression) -> bool:
        return literal(expr) == "linear" or (isinstance(expr, cst.Name) and expr.value == "None")

    @property
    def dialect(self) -> KerasDialect:
        if self._dialect is None:
            self._dialect = KerasDialect.of(self.source)
        return self._dialect

    def _bound(self, spec: KerasSpec, call: cst.Call, skip_first: bool = False) -> dict[str, cst.BaseExpression]:
        """The call's arguments by today's Keras names (Keras 1 and contrib spellings renamed)."""
        params = (("inputs",) + spec.params) if skip_first else spec.params
        return today(spec.op, call_arguments(call, params), pool=spec.op == "pool")

    def _attrs(self, spec: KerasSpec, call: cst.Call, skip_first: bool = False, tf: bool = False,
               contrib: bool = False) -> dict[str, Any]:
        bound = self._bound(spec, call, skip_first)
        values = {k: literal(v) for k, v in bound.items()}
        attrs: dict[str, Any] = {}

        def number(key: str) -> Any:
            v = values.get(key)
            return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None

        if spec.op == "linear" and number("units") is not None:
            attrs["out_features"] = number("units")
        if spec.op in ("linear", "conv") and isinstance(values.get("use_bias"), bool):
            attrs["bias"] = values["use_bias"]
        if contrib and spec.op in ("linear", "conv") and (
                ("normalizer_fn" in bound and not _is_none(bound["normalizer_fn"])) or _is_none(bound.get("bias_initializer"))):
            attrs["bias"] = False  # contrib drops the bias under a normalizer_fn, or with biases_initializer=None
        if spec.op == "conv":
            if number("filters") is not None:
                attrs["out_channels"] = number("filters")
            attrs.update(self._conv_window(spec, call, bound, values, tf, contrib))
        if spec.op in ("linear", "conv"):
            attrs.update(kernel_init_attrs(self.source, bound))  # NN110 (Keras 1 init=, contrib weights_initializer)
        if spec.op == "pool":
            attrs.update(self._pool_window(call, bound, values, tf, contrib))
        if spec.op == "dropout":
            if "keep_prob" in bound:
                keep = number("keep_prob")
                attrs["p_site"] = bound["keep_prob"]
                if keep is not None:
                    attrs.update(p=round(1 - keep, 10), keep_prob=keep)
            elif "keep_prob" in spec.params and "rate" not in bound:
                attrs.update(p=0.5, keep_prob=0.5)  # contrib dropout's default keep_prob
            elif number("rate") is not None:
                attrs["p"] = number("rate")
                attrs["p_site"] = bound["rate"]
                if any(a.keyword is not None and a.keyword.value == "p" for a in call.args):
                    attrs["p_name"] = "p"  # Keras 1 spelling, for messages
        if spec.op == "batchnorm":
            if number("momentum") is not None:
                attrs["momentum"] = round(1 - number("momentum"), 10)
            if isinstance(values.get("center"), bool):
                attrs["affine"] = values["center"]
        if spec.op == "rnn" and number("units") is not None:
            attrs["hidden_size"] = number("units")
        if spec.op == "embedding":
            if number("input_dim") is not None:
                attrs["num_embeddings"] = number("input_dim")
            if number("output_dim") is not None:
                attrs["embedding_dim"] = number("output_dim")
        if spec.op == "softmax":
            attrs["dim"] = number("axis") if number("axis") is not None else -1
        for key in ("input_shape", "batch_input_shape"):
            if key in bound:
                shape = _shape(bound[key])
                if shape is not None:
                    attrs["input_shape"] = shape if key == "input_shape" else shape[1:]
        if "input_dim" in bound and spec.op == "linear" and "input_shape" not in attrs:
            dim = _shape(bound["input_dim"])
            if dim is not None and len(dim) == 1:
                attrs["input_shape"] = dim
        return attrs

    def _order(self, call: cst.Call, bound: dict[str, cst.BaseExpression], tf: bool) -> str:
        """channels_first / channels_last / unknown for a conv or pooling layer."""
        standalone = not tf and self.dialect.standalone(self.source, call.func)
        if "data_format" in bound:
            value = literal(bound["data_format"])
            return ordering(value, self.dialect, standalone) if isinstance(value, str) else UNKNOWN_ORDER
        return "channels_last" if tf else ordering(None, self.dialect, standalone)

    def _conv_window(self, spec, call, bound, values, tf: bool, contrib: bool) -> dict[str, Any]:
        """kernel_size, stride, padding, data_format of a conv. A standalone Keras Conv2D/3D with
        its kernel as separate ints (`Convolution2D(64, 5, 5)`) is read as Keras <= 2.3 reads it
        when the file shows that Keras; left unknown (no kernel) when it could be Keras 3."""
        attrs: dict[str, Any] = {"data_format": self._order(call, bound, tf)}
        cls = _layer_name(self.source.imports.resolve(call.func)) or ""
        rank = None if tf else conv_rank(cls)
        legacy = rank is not None and self.dialect.standalone(self.source, call.func)
        kernel: Any = kernel_from_keywords(bound)
        if legacy:
            read, positional = legacy_kernel(call, rank, self.dialect.legacy)
            if not read:
                return {**attrs, "data_format": UNKNOWN_ORDER}  # Keras 2.3 or Keras 3: the window is unknown
            if positional is not None:
                kernel = positional  # strides and padding only by keyword then
                bound = today(spec.op, {a.keyword.value: a.value for a in call.args if a.keyword is not None})
                values = {k: literal(v) for k, v in bound.items()}
        if kernel is None:
            kernel = _shape(bound.get("kernel_size"))
        if kernel is not None:
            attrs["kernel_size"] = kernel[0] if len(kernel) == 1 else kernel
        strides = _shape(bound.get("strides")) if "strides" in bound else (1,)
        if strides is not None:
            attrs["stride"] = strides[0] if len(strides) == 1 else strides
        padding = values.get("padding", "same" if contrib else "valid")
        if isinstance(padding, str):
            attrs["padding"] = padding.lower()
        if "dilation_rate" in bound or (contrib and "rate" in bound):
            attrs["data_format"] = UNKNOWN_ORDER  # a dilated window: sizes not computed
        if contrib and self.dialect.arg_scope:
            for key, name in (("stride", "strides"), ("padding", "padding")):
                if name not in bound:
                    attrs.pop(key, None)
        return attrs

    def _pool_window(self, call, bound, values, tf: bool, contrib: bool) -> dict[str, Any]:
        attrs: dict[str, Any] = {"data_format": self._order(call, bound, tf)}
        size = _shape(bound.get("pool_size")) if "pool_size" in bound else None if contrib else (2,)
        if size is not None:
            attrs["pool_size"] = size[0] if len(size) == 1 else size
        default_strides = (2,) if contrib else size
        strides = _shape(bound.get("strides")) if "strides" in bound and not (
            isinstance(bound["strides"], cst.Name) and bound["strides"].value == "None") else default_strides
        if strides is not None:
            attrs["stride"] = strides[0] if len(strides) == 1 else strides
        padding = values.get("padding", "valid")
        if isinstance(padding, str):
            attrs["padding"] = padding.lower()
        if contrib and self.dialect.arg_scope:
            for key, name in (("stride", "strides"), ("padding", "padding")):
                if name not in bound:
                    attrs.pop(key, None)
        return attrs


# -- Sequential models ------------------------------------------------------------------------
def _statement_lists(source: SourceFile) -> list[Sequence[cst.BaseStatement]]:
    """Every statement list: the module body and every indented block inside it."""
    return [source.module.body] + [n.body for n in source.index.every_block]


def _assign(stmt: cst.BaseStatement) -> tuple[str, cst.BaseExpression, cst.CSTNode] | None:
    """`name = value` (a Name or dotted target, one target) as (target text, value, statement)."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        target = small.target
    else:
        return None
    from nnlint.source.imports import dotted_name

    name = dotted_name(target)
    return (name, small.value, stmt) if name else None


class KerasLowering:
    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self._text = Dataflow(source, LayerGraph()).text
        self.layers = KerasLayers(source, self._text)

    def graphs(self) -> list[LayerGraph]:
        graphs: list[LayerGraph] = []
        for body in _statement_lists(self.source):
            graphs += self.sequentials(body)
        done: set[int] = set()
        from nnlint.source.keras_model import KerasClasses, subclassed_graph

        classes = KerasClasses(self.source, self.layers.is_layer)
        for cls in classes.ordered:
            graph = subclassed_graph(self, classes, cls)
            call = _methods(cls).get("call")
            if call is not None:
                done.add(id(_body(call)))
            if graph is not None:
                graphs.append(graph)
        weights = self.layers.tf1.weights
        for name, body, fn in _function_scopes(self.source):
            if id(body) in done:
                continue
            done.add(id(body))
            graph = LayerGraph("keras", name)
            flow = KerasFlow(self.source, graph, self.layers)
            # module-level TF1 variables a function reads (its parameters shadow them)
            params = {p.name.value for p in _parameters(fn)} if fn is not None else set()
            returned = flow.run_body(body, {k: v for k, v in weights.items() if k not in params} if fn is not None else {})
            if flow.built:
                for node in flow.model_outputs or returned:
                    graph.mark_output(node)
                graphs.append(graph)
        return graphs

    def sequentials(self, body: Sequence[cst.BaseStatement]) -> list[LayerGraph]:
        graphs = []
        for index, stmt in enumerate(body):
            call = _sequential_in(stmt, self.source)
            if call is None:
                continue
            assigned = _assign(stmt)
            target = assigned[0] if assigned and assigned[1] is call else None
            graph = LayerGraph("keras", target or "")
            bound = call_arguments(call, ("layers",))
            layers = bound.get("layers")
            entries: list[cst.BaseExpression] = []
            if isinstance(layers, (cst.List, cst.Tuple)):
                entries = [e.value for e in layers.elements]
            elif layers is not None:
                entries = [layers]
            # one chain per path of `.add` calls after it (branches, loops: keras_adds)
            for added in Growth(target).after(body[index + 1:]) if target else [[]]:
                tail: list[Node] = []
                for position, entry in enumerate(entries + added):
                    tail = self.entry(graph, entry, tail)
                    if isinstance(layers, (cst.List, cst.Tuple)) and position < len(layers.elements):
                        mark_entry(tail, entry, layers, position)
                for node in tail:
                    graph.mark_output(node)
            if graph.nodes:
                graphs.append(graph)
        return graphs

    def entry(self, graph: LayerGraph, expr: cst.BaseExpression, tail: list[Node]) -> list[Node]:
        def add(op, label, inputs, site, **attrs):
            return graph.add(op, label, inputs, site=site, **attrs)

        if isinstance(expr, cst.StarredElement):
            return [graph.add("opaque", self._text(expr), tail, site=expr)]
        if isinstance(expr, cst.Call):
            if self.source.imports.resolve(expr.func) in INPUTS:
                shape = _shape(call_arguments(expr, ("shape",)).get("shape"))
                return [graph.add("input", self._text(expr), tail, site=expr, **({"shape": shape} if shape else {}))]
            nodes = self.layers.lower(add, expr, tail)
            if nodes is not None:
                return nodes
        return [graph.add("opaque", self._text(expr), tail, site=expr)]


def _sequential_in(stmt: cst.BaseStatement, source: SourceFile) -> cst.Call | None:
    """The Sequential(...) call a statement builds (`model = Sequential([...])` or a bare/returned one)."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    value = getattr(small, "value", None)
    if isinstance(value, cst.Call) and source.imports.resolve(value.func) in SEQUENTIALS:
        return value
    return None


def _methods(cls: cst.ClassDef) -> dict[str, cst.FunctionDef]:
    return {s.name.value: s for s in _body(cls) if isinstance(s, cst.FunctionDef)}


def _function_scopes(source: SourceFile) -> list[tuple[str, Sequence[cst.BaseStatement], cst.FunctionDef | None]]:
    return [("<module>", source.module.body, None)] + [(f.name.value, _body(f), f) for f in source.index.every_function]


def _parameters(fn: cst.FunctionDef) -> list[cst.Param]:
    p = fn.params
    return [*p.posonly_params, *p.params, *p.kwonly_params,
            *(s for s in (p.star_arg, p.star_kwarg) if isinstance(s, cst.Param))]


# -- the functional API and TF1 chains -------------------------------------------------------
@dataclass
class LayerInstance(Ref):
    """A Keras layer bound to a name (`dense = Dense(8)`), applied when called."""

    call: cst.Call


class KerasFlow(Dataflow):
    def __init__(self, source: SourceFile, graph: LayerGraph, layers: KerasLayers) -> None:
        super().__init__(source, graph)
        self.layers = layers
        self.built = False  # any Keras/TF node made
        self.model_outputs: list[Node] = []
        self.tf1 = TF1Lowering(layers.tf1, self)

    def expr(self, e: cst.BaseExpression, env: dict[str, Any]) -> Any:
        if isinstance(e, (cst.Dict, cst.Subscript, cst.BinaryOperation)):
            value = self.tf1.expr(e, env)  # weight dicts, `x @ W`, `h + b`
            if value is not None:
                return value
        return super().expr(e, env)

    def run_body(self, body: Sequence[cst.BaseStatement], env: dict[str, Any] | None = None) -> list[Node]:
        self.returns.append([])
        self.block(body, dict(env or {}))
        return self.returns.pop()

    def statement(self, stmt: cst.BaseStatement, env: dict[str, Any]) -> bool:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            return False  # their own scopes
        return super().statement(stmt, env)

    def _add(self, op, label, inputs, site, **attrs):
        self.built = True
        return self.add(op, label, inputs, site, **attrs)

    def call(self, call: cst.Call, env: dict[str, Any]) -> Any:
        func = call.func
        qualified = self.source.imports.resolve(func)
        # Dense(10)(x), Concatenate()([a, b])
        if isinstance(func, cst.Call) and self.layers.is_layer(func):
            inputs = self.call_inputs(call, env)
            return self.layers.lower(self._add, func, inputs, site=call) or []
        if isinstance(func, cst.Name) and isinstance(env.get(func.value), LayerInstance):
            inputs = self.call_inputs(call, env)
            return self.layers.lower(self._add, env[func.value].call, inputs, site=call) or []
        if qualified is not None:
            if self.layers.is_layer(call):
                return LayerInstance(call)
            if qualified in INPUTS:
                bound = call_arguments(call, ("shape",))
                shape = _shape(bound.get("shape"))
                return [self._add("input", self.text(call), (), call, **({"shape": shape} if shape else {}))]
            if qualified in MODELS:
                bound = call_arguments(call, ("inputs", "outputs"))
                if "outputs" in bound:
                    self.model_outputs += self.value(bound["outputs"], env)
                return []
            name = _layer_name(qualified)
            if name in KERAS_MERGE_FUNCTIONS:
                return [self._add(KERAS_MERGE_FUNCTIONS[name], self.text(call), self.call_inputs(call, env), call, cls=name)]
            tf = _tf_name(qualified)
            lowered = self.tf1.call(call, tf, env)
            if lowered is not None:
                return lowered
            spec = TF_FUNCTIONS.get(tf)
            tensor = _tensor_argument(call) if spec is not None else None
            if tensor is not None:
                return self.layers.lower_tf(self._add, spec, call, self.value(tensor, env), tf.rsplit(".", 1)[-1], tf)
            if tf in ("tensorflow.concat", "tensorflow.keras.backend.concatenate") and call.args:
                return [self._add("concat", self.text(call), self.value(call.args[0].value, env), call, cls="concat")]
            if tf == "tensorflow.add" and len(call.args) >= 2:
                inputs = self.value(call.args[0].value, env) + self.value(call.args[1].value, env)
                return [self._add("add", self.text(call), inputs, call, cls="add")]
        if isinstance(func, cst.Name):
            inlined = self.tf1.inline(call, env)  # a variable factory, a helper building TF1 layers
            if inlined is not None:
                return inlined
        return self.unknown_call(call, env)


_TENSOR_KEYWORDS = ("inputs", "features", "logits", "x", "tensor")


def _tensor_argument(call: cst.Call) -> cst.BaseExpression | None:
    """The tensor a TF function applies to: its first positional argument or `inputs=` (`features=`...)."""
    if call.args and call.args[0].keyword is None and not call.args[0].star:
        return call.args[0].value
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in _TENSOR_KEYWORDS:
            return arg.value
    return None


def keras_graphs(source: SourceFile) -> list[LayerGraph]:
    if not source.imports.imports_any(("keras", "tensorflow", "tf_keras", "tf_slim")):
        return []
    return KerasLowering(source).graphs()
