"""Static values of expressions: literals only; anything else is unknown (None)."""

from __future__ import annotations

from typing import Any

from nnlint import lazy_libcst as cst

UNKNOWN = None


def literal(node: cst.BaseExpression | None) -> Any:
    """The value of a numeric/bool/None/string literal (with unary minus), else None."""
    if node is None:
        return UNKNOWN
    if isinstance(node, cst.Integer):
        return int(node.value, 0)
    if isinstance(node, cst.Float):
        return float(node.value)
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        inner = literal(node.expression)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner if isinstance(node.operator, cst.Minus) else inner
        return UNKNOWN
    if isinstance(node, cst.SimpleString):
        try:
            return node.evaluated_value
        except Exception:  # noqa: BLE001 - odd prefixes: unknown, not a crash
            return UNKNOWN
    return UNKNOWN


def call_arguments(call: cst.Call, params: tuple[str, ...]) -> dict[str, cst.BaseExpression]:
    """Map a call's arguments to parameter names (positional by `params`, then keywords).
    Starred arguments end positional matching (their length is unknown)."""
    bound: dict[str, cst.BaseExpression] = {}
    position = 0
    for arg in call.args:
        if arg.star:
            position = len(params)
            continue
        if arg.keyword is not None:
            bound[arg.keyword.value] = arg.value
        elif position < len(params):
            bound[params[position]] = arg.value
            position += 1
    return bound


def literal_arguments(call: cst.Call, params: tuple[str, ...]) -> dict[str, Any]:
    """The arguments of a call whose values are literals, by parameter name."""
    values = {}
    for name, expr in call_arguments(call, params).items():
        value = literal(expr)
        if value is not UNKNOWN or (isinstance(expr, cst.Name) and expr.value == "None"):
            values[name] = value
    return values
