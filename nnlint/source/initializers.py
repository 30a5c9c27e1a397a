"""Keras/TF weight initializers read from source: which ones start every weight at one value.

NN110 asks whether a layer's kernel starts constant (every unit identical) or all zero. Keras and
TF spell that many ways: names ('zeros', 'Zeros', Keras 1 'zero', 'ones', 'constant'), classes
(`Zeros()`, `Ones()`, `Constant(0.1)`), TF functions (`tf.zeros_initializer()`,
`tf.constant_initializer(0.)`, `tf.initializers.constant(...)`). A constant initializer of a value
that is no number literal may hold an array (pretrained weights, `Constant(embedding_matrix)`):
unknown, like every other initializer (random ones included).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnlint import lazy_libcst as cst

from nnlint.source.literals import call_arguments, literal

if TYPE_CHECKING:
    from nnlint.source import SourceFile

ZERO, CONSTANT = "zero", "constant"

# Initializer names Keras' `initializers.get` accepts (Keras 1/2 aliases included) -> kind.
# `Constant()` defaults to value 0.
_NAMES = {
    "zeros": ZERO, "zero": ZERO, "Zeros": ZERO, "constant": ZERO, "Constant": ZERO,
    "ones": CONSTANT, "one": CONSTANT, "Ones": CONSTANT,
}
# Qualified initializer callables (tensorflow.compat.v1 folded) -> kind, or None: a constant whose value decides.
_CALLS: dict[str, str | None] = {
    **{f"keras.initializers.{n}": k for n, k in _NAMES.items() if n not in ("constant", "Constant")},
    "keras.initializers.Constant": None, "keras.initializers.constant": None,
    "tensorflow.zeros_initializer": ZERO, "tensorflow.ones_initializer": CONSTANT,
    "tensorflow.constant_initializer": None,
    "tensorflow.initializers.zeros": ZERO, "tensorflow.initializers.Zeros": ZERO,
    "tensorflow.initializers.ones": CONSTANT, "tensorflow.initializers.Ones": CONSTANT,
    "tensorflow.initializers.constant": None, "tensorflow.initializers.Constant": None,
}
_V1 = "tensorflow.compat.v1."


def initializer_kind(source: SourceFile, expr: cst.BaseExpression | None) -> str | None:
    """"zero" | "constant" for an initializer expression that starts every weight at one value;
    None for a random, default or unknown one."""
    if expr is None:
        return None
    value = literal(expr)
    if value is None and isinstance(expr, cst.Name):
        value = source.index.constants().get(expr.value)  # INIT = "zeros" at module level
    if isinstance(value, str):
        return _NAMES.get(value)
    if not isinstance(expr, cst.Call):
        return None
    qualified = source.imports.resolve(expr.func) or ""
    if qualified.startswith(_V1):
        qualified = "tensorflow." + qualified[len(_V1):]
    if qualified.startswith("keras.initializers."):  # keras.initializers.initializers_v2.Zeros
        qualified = "keras.initializers." + qualified.rsplit(".", 1)[-1]
    if qualified not in _CALLS:
        return None
    kind = _CALLS[qualified]
    if kind is not None:
        return kind
    constant = call_arguments(expr, ("value",)).get("value")
    number = 0 if constant is None else literal(constant)
    if not isinstance(number, (int, float)) or isinstance(number, bool):
        return None  # an array, or a value only known at run time
    return ZERO if number == 0 else CONSTANT


def kernel_init_attrs(source: SourceFile, bound: dict[str, Any], bias_default: str | None = ZERO) -> dict[str, Any]:
    """What NN110 reads on a Keras/TF weight layer from its bound arguments: kernel_init and
    kernel_init_site when the kernel starts constant, and bias_init (Keras and tf.layers default
    bias_initializer is zeros)."""
    attrs: dict[str, Any] = {}
    if literal(bound.get("trainable")) is False:
        return attrs  # a frozen constant kernel is a fixed operator (a sum, a selection), not a layer to train
    site = bound.get("kernel_initializer", bound.get("init"))  # Keras 1: init=
    kind = initializer_kind(source, site)
    if kind is not None:
        attrs["kernel_init"] = kind
        attrs["kernel_init_site"] = site
    bias = bound.get("bias_initializer")
    attrs["bias_init"] = bias_default if bias is None else initializer_kind(source, bias)
    return attrs
