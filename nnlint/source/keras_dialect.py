"""Which Keras a file speaks, and its layer arguments in today's names.

The same call means different layers in different Keras versions: `Conv2D(32, 3, 3)` is a 3x3
kernel in standalone Keras 1 and 2.0-2.3 (Keras 2's legacy-argument converter), but a 3-wide
kernel with strides 3 in tf.keras and Keras 3. Keras 1 spells the arguments differently
(`nb_filter`, `border_mode`, `subsample`, `dim_ordering`, `output_dim`, `p`, `init`), and its
channel order came from the user's keras.json unless the layer says `dim_ordering`.
TF1's `tf.contrib.layers` (and slim) spell them differently again (`num_outputs`, `stride`,
`activation_fn` with ReLU by default, `keep_prob`). The file's imports and the API it uses
decide the reading; where they cannot, the reading is unknown (silence beats a guess).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nnlint import lazy_libcst as cst

from nnlint.source import SourceFile
from nnlint.source.imports import dotted_name
from nnlint.source.literals import literal

# Keyword arguments only Keras 1 layers take (Keras 2.0-2.3 still converted them, with a warning).
KERAS1_KEYWORDS = frozenset({
    "nb_filter", "nb_row", "nb_col", "border_mode", "subsample", "subsample_length", "filter_length", "init",
    "dim_ordering", "W_regularizer", "b_regularizer", "W_constraint", "b_constraint", "pool_length",
    "kernel_dim1", "kernel_dim2", "kernel_dim3",
})
# Training keywords of Keras 1 (fit/fit_generator) and its layers that left with Keras 2.
KERAS1_CALL_KEYWORDS = frozenset({"nb_epoch", "samples_per_epoch", "nb_val_samples"})
# Modules and backend functions only multi-backend Keras (<= 2.3) had.
_KERAS23_MODULES = ("keras.legacy", "keras.backend.tensorflow_backend", "keras.backend.theano_backend",
                    "keras.backend.cntk_backend", "keras.engine.topology")
_KERAS23_FUNCTIONS = frozenset({"image_dim_ordering", "set_image_dim_ordering"})
_ORDERING_SETTERS = frozenset({"set_image_dim_ordering", "set_image_data_format"})

_ORDERINGS = {"th": "channels_first", "tf": "channels_last", "channels_first": "channels_first",
              "channels_last": "channels_last", "NCHW": "channels_first", "NHWC": "channels_last",
              "NCW": "channels_first", "NWC": "channels_last", "NCDHW": "channels_first", "NDHWC": "channels_last"}
UNKNOWN_ORDER = "unknown"


@dataclass(frozen=True)
class KerasDialect:
    """What a file tells about its Keras: Keras 1 arguments, multi-backend Keras (<= 2.3), a
    file-wide channel order set through the backend, slim/contrib `arg_scope` defaults."""

    keras1: bool = False  # Keras 1 arguments: channel order from keras.json unless a layer says
    legacy: bool = False  # standalone Keras <= 2.3: Conv2D(32, 3, 3) is a 3x3 kernel
    ordering: str | None = None  # set_image_dim_ordering / set_image_data_format, one value for the file
    arg_scope: bool = False  # defaults of contrib/slim layers may be changed by an arg_scope
    keras_names: frozenset[str] = frozenset()  # local names imported from standalone keras
    keras_star: bool = False  # the only framework star import is from standalone keras

    @classmethod
    def of(cls, source: SourceFile) -> "KerasDialect":
        keras1 = legacy = arg_scope = False
        settings: set[str] = set()
        for call, _ in source.index.every_call:
            func = call.func
            attr = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
            keywords = {a.keyword.value for a in call.args if a.keyword is not None}
            if not keywords and attr not in _LEGACY_KERNEL_RANK and attr not in _KERAS23_FUNCTIONS | _ORDERING_SETTERS:
                continue
            if keywords & KERAS1_CALL_KEYWORDS:
                keras1 = True
            if attr in _KERAS23_FUNCTIONS:
                legacy = True
            if attr == "arg_scope":
                arg_scope = True
            if attr in _ORDERING_SETTERS:
                value = literal(call.args[0].value) if call.args else None
                settings.add(_ORDERINGS.get(value, UNKNOWN_ORDER) if isinstance(value, str) else UNKNOWN_ORDER)
            if keywords & KERAS1_KEYWORDS or _keras1_positional(source, call) or (
                    keywords & {"output_dim"} and _layer(source, call) == "Dense"):
                keras1 = keras1 or _layer(source, call) is not None
        if any(m == p or m.startswith(p + ".") for m in source.index.imported_modules() for p in _KERAS23_MODULES):
            legacy = True
        ordering = settings.pop() if len(settings) == 1 else (UNKNOWN_ORDER if settings else None)
        bindings = source.index.import_bindings()
        frameworks = [m for m in source.index.imported_modules() if m.split(".")[0] in ("keras", "tensorflow", "tf_keras")]
        return cls(keras1=keras1, legacy=legacy or keras1, ordering=ordering, arg_scope=arg_scope,
                   keras_names=frozenset(k for k, v in bindings.items() if v is not None and v.split(".")[0] == "keras"),
                   keras_star=bool(frameworks) and all(m.split(".")[0] == "keras" for m in frameworks))

    def standalone(self, source: SourceFile, func: cst.BaseExpression) -> bool:
        """Whether a layer name comes from the standalone `keras` package (not tensorflow.keras)."""
        name = dotted_name(func)
        if not name:
            return False
        head = name.split(".")[0]
        if head in self.keras_names:
            return True
        return self.keras_star and head not in source.index.import_bindings()

    def default_ordering(self, standalone: bool) -> str | None:
        """The channel order of a layer that does not name one (None: channels_last)."""
        if self.ordering is not None:
            return self.ordering
        return UNKNOWN_ORDER if standalone and self.keras1 else None


def _layer(source: SourceFile, call: cst.Call) -> str | None:
    qualified = source.index.resolve(call.func)
    return qualified.rsplit(".", 1)[-1] if qualified and qualified.startswith("keras.layers.") else None


_LEGACY_KERNEL_RANK = {"Convolution2D": 2, "Convolution3D": 3}


def _positional(call: cst.Call) -> list[cst.BaseExpression]:
    args = []
    for arg in call.args:
        if arg.star or arg.keyword is not None:
            break
        args.append(arg.value)
    return args


def _keras1_positional(source: SourceFile, call: cst.Call) -> bool:
    """`Convolution2D(64, 5, 5)` / `Convolution3D(32, 3, 3, 3)`: Keras 1's (nb_filter, nb_row, nb_col)."""
    rank = _LEGACY_KERNEL_RANK.get(_layer(source, call) or "")
    if rank is None:
        return False
    args = _positional(call)
    return len(args) > rank and all(_is_int(literal(a)) for a in args[1:rank + 1])


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def conv_rank(cls: str) -> int | None:
    """2 for Conv2D/Convolution2D/SeparableConv2D, 3 for 3-D convs; None otherwise."""
    if "Depthwise" in cls:
        return None
    return 2 if cls.endswith("2D") else 3 if cls.endswith("3D") else None


def legacy_kernel(call: cst.Call, rank: int, legacy: bool) -> tuple[bool, Any]:
    """(read, kernel) for a standalone Keras conv with more positional arguments than
    (filters, kernel_size): read False when the call is ambiguous (Keras <= 2.3 converts the
    extra ints into the kernel, Keras 3 reads the third as strides); kernel the literal
    (rows, cols[, depth]) or None when not literal."""
    args = _positional(call)
    if len(args) <= 2:
        return True, None
    if not legacy:
        return False, None
    values = [literal(a) for a in args[1:rank + 1]]
    if len(values) == rank and all(_is_int(v) for v in values):
        return True, tuple(values)
    return False, None


def ordering(value: Any, dialect: KerasDialect, standalone: bool) -> str:
    """A layer's `data_format` / `dim_ordering` literal as channels_first/last (or unknown)."""
    if value == "default" or value is None:
        return dialect.default_ordering(standalone) or "channels_last"
    return _ORDERINGS.get(value, UNKNOWN_ORDER) if isinstance(value, str) else UNKNOWN_ORDER


# Keras 1 / contrib keyword -> today's Keras name (per op where it differs).
_RENAMES = {
    "nb_filter": "filters", "filter_length": "kernel_size", "subsample_length": "strides", "subsample": "strides",
    "border_mode": "padding", "bias": "use_bias", "dim_ordering": "data_format", "pool_length": "pool_size",
    "activation_fn": "activation", "stride": "strides", "decay": "momentum",
    "weights_initializer": "kernel_initializer", "biases_initializer": "bias_initializer",
}
_OP_RENAMES = {
    "linear": {"output_dim": "units", "num_outputs": "units"},
    "conv": {"num_outputs": "filters"},
    "dropout": {"p": "rate"},
}


def today(op: str, bound: dict[str, cst.BaseExpression], pool: bool = False) -> dict[str, cst.BaseExpression]:
    """Bound arguments renamed to the Keras 2+ names (`border_mode` -> `padding`); a name the
    call also passes under its new spelling keeps the new one."""
    renames = {**_RENAMES, **_OP_RENAMES.get(op, {})}
    if pool:
        renames["kernel_size"] = "pool_size"
    out: dict[str, cst.BaseExpression] = {}
    for name, expr in bound.items():
        new = renames.get(name, name)
        if new not in out or new == name:
            out[new] = expr
    return out


def kernel_from_keywords(bound: dict[str, cst.BaseExpression]) -> Any:
    """Keras 1 `nb_row=3, nb_col=3` (or kernel_dim1..3) as a kernel tuple; None if absent or not literal."""
    for names in (("nb_row", "nb_col"), ("kernel_dim1", "kernel_dim2", "kernel_dim3")):
        if names[0] in bound:
            values = [literal(bound.get(n)) for n in names]
            return tuple(values) if all(_is_int(v) for v in values) else None
    return None
