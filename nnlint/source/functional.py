"""Dataflow through Python function bodies, lowered to a layer graph.

`Dataflow` follows tensor values through one function body: assignments (tuple targets give
opaque values), nested calls, `torch.nn.functional` / `torch.*` calls and tensor methods
(tables below), binary operators (`+` is "add", `torch.cat` is "concat"), simple if/else (both
branches feed the join), for/while bodies (lowered once), and `return`. Front ends subclass
it and handle the calls they know (`self.fc(x)` in forward(), `Dense(10)(x)` in Keras).

A value is a list of the nodes that may produce it (several after an if/else join, none for
constants and names the analysis does not know). Anything unknown becomes an "opaque" node:
it breaks chains, so rules stay silent where the analysis cannot see.
"""

from __future__ import annotations

from typing import Any, Sequence

from nnlint import lazy_libcst as cst

from nnlint.graph import LayerGraph, Node
from nnlint.source import SourceFile
from nnlint.source.literals import call_arguments, literal

MAX_NODES = 4000  # per graph: beyond it, calls are opaque (bounded time on huge forwards)
_MAX_LABEL = 40


class Fn:
    """What a functional call or tensor method is: op kind, parameter names (the tensor
    first), which parameters carry attributes, and how inputs are read."""

    __slots__ = ("op", "params", "attrs", "inputs")

    def __init__(self, op: str, params: tuple[str, ...] = ("input",), attrs: tuple[str, ...] = (), inputs: str = "first") -> None:
        self.op, self.params, self.attrs, self.inputs = op, params, attrs, inputs


def _fns(op: str, names: str, params: tuple[str, ...] = ("input",), attrs: tuple[str, ...] = (), inputs: str = "first") -> dict[str, Fn]:
    return {name: Fn(op, params, attrs, inputs) for name in names.split()}


_DROPOUT = ("input", "p", "training", "inplace")
_BATCH_NORM = ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps")
_ACTIVATIONS = (
    "relu relu6 elu selu celu gelu silu mish sigmoid tanh hardtanh hardswish hardsigmoid softplus "
    "softsign tanhshrink threshold logsigmoid rrelu softshrink hardshrink glu prelu"
)

# torch.nn.functional.<name>
FUNCTIONAL: dict[str, Fn] = {
    **_fns("dropout", "dropout dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout", _DROPOUT, ("p",)),
    **_fns("batchnorm", "batch_norm", _BATCH_NORM, ("momentum",)),
    **_fns("layernorm", "layer_norm rms_norm"),
    **_fns("groupnorm", "group_norm"),
    **_fns("instancenorm", "instance_norm"),
    **_fns("localresponsenorm", "local_response_norm"),
    **_fns("linear", "linear bilinear"),
    **_fns("conv", "conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d"),
    **{name: Fn(name) for name in _ACTIVATIONS.split()},
    **{name + "_": Fn(name) for name in ("relu", "elu", "celu", "selu", "leaky_relu", "hardtanh", "rrelu", "threshold")},
    "leaky_relu": Fn("leaky_relu"),
    **_fns("softmax", "softmax softmin", ("input", "dim"), ("dim",)),
    **_fns("log_softmax", "log_softmax", ("input", "dim"), ("dim",)),
    **_fns(
        "pool",
        "max_pool1d max_pool2d max_pool3d avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d "
        "adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool2d adaptive_max_pool3d lp_pool1d lp_pool2d lp_pool3d",
    ),
    **_fns("attention", "scaled_dot_product_attention multi_head_attention_forward", inputs="all"),
    **_fns("embedding", "embedding embedding_bag"),
}

# torch.<name>
TORCH: dict[str, Fn] = {
    **_fns("dropout", "dropout alpha_dropout feature_dropout feature_alpha_dropout", ("input", "p", "train"), ("p",)),
    **_fns("batchnorm", "batch_norm", _BATCH_NORM, ("momentum",)),
    **_fns("layernorm", "layer_norm rms_norm"),
    **_fns("groupnorm", "group_norm"),
    **_fns("instancenorm", "instance_norm"),
    **_fns("conv", "conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d"),
    **{name: Fn(name) for name in "relu sigmoid tanh selu celu rrelu prelu hardshrink".split()},
    **{name + "_": Fn(name) for name in "relu sigmoid tanh selu celu rrelu".split()},
    **_fns("softmax", "softmax", ("input", "dim"), ("dim",)),
    **_fns("log_softmax", "log_softmax", ("input", "dim"), ("dim",)),
    **_fns("log", "log"),
    **_fns("flatten", "flatten", ("input", "start_dim", "end_dim"), ("start_dim", "end_dim")),
    **_fns("reshape", "reshape squeeze unsqueeze"),
    **_fns("transpose", "transpose permute t swapaxes movedim"),
    **_fns("concat", "cat concat concatenate stack hstack vstack", ("tensors", "dim"), inputs="sequence"),
    **_fns("add", "add", ("input", "other"), inputs="two"),
    **_fns("pool", "max_pool1d max_pool2d max_pool3d avg_pool1d adaptive_avg_pool1d adaptive_max_pool1d"),
}

# <tensor>.<name>(...)
METHODS: dict[str, Fn] = {
    **{name: Fn(name, ("self",)) for name in "relu sigmoid tanh".split()},
    **{name + "_": Fn(name, ("self",)) for name in "relu sigmoid tanh".split()},
    **_fns("softmax", "softmax", ("self", "dim"), ("dim",)),
    **_fns("log_softmax", "log_softmax", ("self", "dim"), ("dim",)),
    **_fns("log", "log log_", ("self",)),
    **_fns("flatten", "flatten", ("self", "start_dim", "end_dim"), ("start_dim", "end_dim")),
    **_fns("reshape", "view reshape view_as reshape_as squeeze unsqueeze squeeze_ unsqueeze_ unflatten", ("self",)),
    **_fns("transpose", "transpose permute t mT swapaxes movedim transpose_", ("self",)),
    **_fns("identity", "contiguous clone detach float half double bfloat16 to type type_as cuda cpu", ("self",)),
    **_fns("add", "add add_", ("self", "other"), inputs="two"),
}


# `x.T`, `x.mT`, `x.H`, `x.mH`: transposed views of a tensor.
_TRANSPOSE_ATTRIBUTES = frozenset({"T", "mT", "H", "mH"})


class Ref:
    """A callable the analysis knows (a layer, a container, a project module): front ends subclass it."""


class Dataflow:
    """Lowers function bodies into one graph. Subclasses override `call` for their own callables."""

    def __init__(self, source: SourceFile, graph: LayerGraph) -> None:
        self.source = source
        self.graph = graph
        self.via: tuple = ()  # the submodule calls being inlined (see module.py)
        self.returns: list[list[Node]] = []  # one collector per function being lowered

    # -- nodes ------------------------------------------------------------------------------
    def add(self, op: str, label: str, inputs: Sequence[Node] = (), site: Any = None, **attrs: Any) -> Node:
        if self.via:
            attrs["via"] = self.via
        return self.graph.add(op, label, _unique(inputs), site=site, **attrs)

    def opaque(self, expr: cst.CSTNode, inputs: Sequence[Node]) -> list[Node]:
        return [self.add("opaque", short_text(expr), inputs, site=expr)]

    def text(self, expr: cst.CSTNode) -> str:
        """A label for an expression (short_text, cut at _MAX_LABEL characters)."""
        text = short_text(expr)
        if len(text) <= _MAX_LABEL:
            return text
        if isinstance(expr, cst.Call) and expr.args:
            func, first = short_text(expr.func), short_text(expr.args[0].value, 1)
            text = f"{func}({first}, ...)" if len(expr.args) > 1 else f"{func}({first})"
            if len(text) <= _MAX_LABEL:
                return text
            return f"{func}(...)" if len(func) < _MAX_LABEL - 5 else func[: _MAX_LABEL - 3] + "..."
        return text[: _MAX_LABEL - 3] + "..."

    def constant(self, expr: cst.BaseExpression) -> Any:
        """The static value of an argument (a literal; front ends know more names)."""
        return literal(expr)

    @property
    def full(self) -> bool:
        return len(self.graph.nodes) >= MAX_NODES

    # -- function bodies --------------------------------------------------------------------
    def run_function(self, func: cst.FunctionDef, env: dict[str, Any]) -> list[Node]:
        """Lower one function body in `env` (its parameters bound); the union of its returns."""
        self.returns.append([])
        self.block(_body(func), env)
        return _unique(self.returns.pop())

    def block(self, stmts: Sequence[cst.BaseStatement], env: dict[str, Any]) -> bool:
        """Lower statements in order, updating env; True when the block always leaves (return/raise)."""
        for stmt in stmts:
            if self.statement(stmt, env):
                return True
        return False

    def statement(self, stmt: cst.BaseStatement, env: dict[str, Any]) -> bool:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if self.small_statement(small, env):
                    return True
            return False
        if isinstance(stmt, cst.If):
            return self.if_statement(stmt, env)
        if isinstance(stmt, (cst.For, cst.While)):
            return self.loop(stmt, env)
        if isinstance(stmt, cst.With):
            return self.block(_body(stmt), env)
        if isinstance(stmt, cst.Try):
            # The body as straight-line code; handlers may run instead: their names join.
            before = dict(env)
            left = self.block(_body(stmt), env)
            for handler in stmt.handlers:
                branch = dict(before)
                if not self.block(_body(handler), branch):
                    _join_into(env, branch, left)
                    left = False
            if stmt.orelse is not None and not left:
                left = self.block(_body(stmt.orelse), env)
            if stmt.finalbody is not None:
                self.block(_body(stmt.finalbody), env)
            return left
        return False  # def/class inside a function: not followed

    def small_statement(self, small: cst.BaseSmallStatement, env: dict[str, Any]) -> bool:
        if isinstance(small, cst.Return):
            if small.value is not None and self.returns:
                self.returns[-1].extend(self.value(small.value, env))
            return True
        if isinstance(small, cst.Raise):
            return True
        if isinstance(small, cst.Assign):
            value = self.expr(small.value, env)
            for target in small.targets:
                self.bind(target.target, value, small.value, env)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self.bind(small.target, self.expr(small.value, env), small.value, env)
        elif isinstance(small, cst.AugAssign):
            self.aug_assign(small, env)
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            self.expression_call(small.value, env)
        return False

    def bind(self, target: cst.BaseExpression, value: Any, expr: cst.BaseExpression, env: dict[str, Any]) -> None:
        if isinstance(target, cst.Name):
            env[target.value] = value
        elif isinstance(target, (cst.Tuple, cst.List)):
            names = [e.value for e in target.elements]
            if isinstance(expr, (cst.Tuple, cst.List)) and len(expr.elements) == len(names) and not any(
                isinstance(e, cst.StarredElement) for e in expr.elements
            ):
                for name, element in zip(names, expr.elements):
                    self.bind(name, self.expr(element.value, env), element.value, env)
                return
            # `out, state = self.lstm(x)`: each part derives from the call, through an unknown split.
            parts = self.value(value, env) if not isinstance(value, list) else value
            for name in names:
                self.bind(name, self.opaque(name, parts) if parts else [], name, env)
        elif isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) and target.value.value in env:
            # `x[mask] = y` changes x in place: unknown from here on.
            old = env[target.value.value]
            if isinstance(old, list) and old:
                env[target.value.value] = self.opaque(target, old + self.value(value, env))
        elif isinstance(target, cst.StarredElement):
            self.bind(target.value, value, expr, env)

    def aug_assign(self, small: cst.AugAssign, env: dict[str, Any]) -> None:
        if not isinstance(small.target, cst.Name):
            return
        name = small.target.value
        left = self.value(env.get(name, []), env)
        right = self.value(self.expr(small.value, env), env)
        if isinstance(small.operator, (cst.AddAssign, cst.SubtractAssign)) and left:
            env[name] = [self.add("add", self.text(small), left + right, site=small)]
        elif left or right:
            env[name] = self.opaque(small, left + right)

    def expression_call(self, call: cst.Call, env: dict[str, Any]) -> None:
        """`x.relu_()` as a statement rebinds x; other calls are lowered for their effect only."""
        func = call.func
        result = self.expr(call, env)
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.attr.value.endswith("_"):
            name = func.value.value
            if isinstance(env.get(name), list) and env[name]:
                env[name] = self.value(result, env)

    def if_statement(self, stmt: cst.If, env: dict[str, Any]) -> bool:
        self.expr(stmt.test, env)
        then_env, else_env = dict(env), dict(env)
        then_left = self.block(_body(stmt), then_env)
        if isinstance(stmt.orelse, cst.If):
            else_left = self.if_statement(stmt.orelse, else_env)
        elif isinstance(stmt.orelse, cst.Else):
            else_left = self.block(_body(stmt.orelse), else_env)
        else:
            else_left = False
        if then_left and else_left:
            return True
        env.clear()
        if then_left:
            env.update(else_env)
        elif else_left:
            env.update(then_env)
        else:
            env.update(then_env)
            _join_into(env, else_env, False)
        return False

    def loop(self, stmt: cst.For | cst.While, env: dict[str, Any]) -> bool:
        """A loop body is lowered once, its loop variable unknown (subclasses unroll what they know)."""
        if isinstance(stmt, cst.For):
            self.expr(stmt.iter, env)
            self.bind_unknown(stmt.target, env)
        else:
            self.expr(stmt.test, env)
        self.block(_body(stmt), env)
        if stmt.orelse is not None:
            self.block(_body(stmt.orelse), env)
        return False

    def bind_unknown(self, target: cst.BaseExpression, env: dict[str, Any]) -> None:
        if isinstance(target, cst.Name):
            env[target.value] = []
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.bind_unknown(element.value, env)

    # -- expressions ------------------------------------------------------------------------
    def value(self, value: Any, env: dict[str, Any]) -> list[Node]:
        """A tensor value: an expression's nodes, or the nodes already in a value."""
        if isinstance(value, cst.BaseExpression):
            value = self.expr(value, env)
        return value if isinstance(value, list) else []

    def expr(self, e: cst.BaseExpression, env: dict[str, Any]) -> Any:
        """The value of an expression: a list of nodes, or a Ref for callables front ends know."""
        if isinstance(e, cst.Name):
            return env.get(e.value, [])
        if isinstance(e, cst.Call):
            return self.call(e, env)
        if isinstance(e, cst.BinaryOperation):
            left, right = self.value(e.left, env), self.value(e.right, env)
            if not left and not right:
                return []
            if isinstance(e.operator, (cst.Add, cst.Subtract)) and left and right:
                return [self.add("add", self.text(e), left + right, site=e)]
            if isinstance(e.operator, (cst.Multiply, cst.Divide)) and not (left and right):
                return [self.add("scale", self.text(e), left + right, site=e)]  # `self.scale * x`, `x / 2`
            return self.opaque(e, left + right)
        if isinstance(e, (cst.Tuple, cst.List, cst.Set)):
            return _unique([n for el in e.elements for n in self.value(el.value, env)])
        if isinstance(e, cst.Dict):
            return _unique([n for el in e.elements if isinstance(el, cst.DictElement) for n in self.value(el.value, env)])
        if isinstance(e, cst.IfExp):
            self.expr(e.test, env)
            return _unique(self.value(e.body, env) + self.value(e.orelse, env))
        if isinstance(e, cst.Attribute):
            return self.attribute(e, env)
        if isinstance(e, cst.Subscript):
            base = self.expr(e.value, env)
            return self.subscript(e, base, env)
        if isinstance(e, cst.UnaryOperation):
            inner = self.value(e.expression, env)
            return self.opaque(e, inner) if inner else []
        if isinstance(e, (cst.NamedExpr,)):
            value = self.expr(e.value, env)
            self.bind(e.target, value, e.value, env)
            return value
        if isinstance(e, cst.Await):
            return self.expr(e.expression, env)
        return []

    def attribute(self, e: cst.Attribute, env: dict[str, Any]) -> Any:
        base = self.value(e.value, env)
        if base and e.attr.value in _TRANSPOSE_ATTRIBUTES:
            return [self.add("transpose", self.text(e), base, site=e, cls=e.attr.value)]
        return self.opaque(e, base) if base else []

    def subscript(self, e: cst.Subscript, base: Any, env: dict[str, Any]) -> Any:
        base = base if isinstance(base, list) else []
        return self.opaque(e, base) if base else []

    def call(self, call: cst.Call, env: dict[str, Any]) -> Any:
        """Functional calls and tensor methods; subclasses handle their own callables first."""
        func = call.func
        qualified = self.source.imports.resolve(func)
        if qualified:
            fn = _function(qualified)
            if fn is not None:
                return self.apply(fn, call, env, qualified.rsplit(".", 1)[-1], bound_self=None)
        if isinstance(func, cst.Attribute) and not qualified:
            fn = METHODS.get(func.attr.value)
            if fn is not None:
                base = self.value(func.value, env)
                if base:
                    return self.apply(fn, call, env, func.attr.value, bound_self=base)
        return self.unknown_call(call, env)

    def unknown_call(self, call: cst.Call, env: dict[str, Any]) -> list[Node]:
        inputs = self.call_inputs(call, env)
        if isinstance(call.func, cst.Attribute) and not self.source.imports.resolve(call.func):
            inputs = self.value(call.func.value, env) + inputs
        return self.opaque(call, inputs) if inputs else []

    def call_inputs(self, call: cst.Call, env: dict[str, Any]) -> list[Node]:
        return _unique([n for arg in call.args for n in self.value(arg.value, env)])

    def apply(self, fn: Fn, call: cst.Call, env: dict[str, Any], name: str, bound_self: list[Node] | None) -> list[Node]:
        params = fn.params[1:] if bound_self is not None else fn.params
        bound = call_arguments(call, params)
        if fn.inputs == "all":
            inputs = self.call_inputs(call, env)
        elif fn.inputs == "sequence":
            seq = bound.get(params[0]) if bound_self is None else None
            inputs = self.value(seq, env) if seq is not None else []
        elif fn.inputs == "two":
            first = bound_self if bound_self is not None else self.value(bound.get(params[0]), env) if bound.get(params[0]) is not None else []
            other = bound.get("other")
            inputs = first + (self.value(other, env) if other is not None else [])
        else:
            first = bound.get(params[0]) if bound_self is None else None
            inputs = bound_self if bound_self is not None else (self.value(first, env) if first is not None else [])
        attrs: dict[str, Any] = {"cls": name}
        for param in fn.attrs:
            if param in bound:
                value = self.constant(bound[param])
                if value is not None:
                    attrs[param] = value
        return [self.add(fn.op, self.text(call), inputs, site=call, **attrs)]


def short_text(expr: cst.CSTNode, depth: int = 0) -> str:
    """A cheap label (code generation is costly): names and literals as written, a call with
    its simple arguments (`F.dropout(x, 0.3, training=self.training)`), nested calls as `f(...)`."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return f"{short_text(expr.value, depth)}.{expr.attr.value}"
    if isinstance(expr, cst.Call):
        func = short_text(expr.func, depth)
        if not expr.args:
            return f"{func}()"
        if depth > 0 or len(expr.args) > 4:
            return f"{func}(...)"
        parts = []
        for arg in expr.args:
            text = short_text(arg.value, depth + 1)
            parts.append(f"{arg.star}{arg.keyword.value}={text}" if arg.keyword is not None else f"{arg.star}{text}")
        return f"{func}({', '.join(parts)})"
    if isinstance(expr, cst.Subscript):
        return f"{short_text(expr.value, depth)}[...]"
    if isinstance(expr, cst.BinaryOperation):
        op = _OPERATORS.get(type(expr.operator).__name__, "?")
        return f"{short_text(expr.left, depth + 1)} {op} {short_text(expr.right, depth + 1)}"
    if isinstance(expr, cst.AugAssign):
        op = _OPERATORS.get(type(expr.operator).__name__, "?")
        return f"{short_text(expr.target, depth)} {op}= {short_text(expr.value, depth + 1)}"
    if isinstance(expr, (cst.Integer, cst.Float, cst.SimpleString)):
        return expr.value
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        return "-" + short_text(expr.expression, depth)
    return "..."


_OPERATORS = {"Add": "+", "Subtract": "-", "Multiply": "*", "Divide": "/", "MatrixMultiply": "@",  # by class name
              "FloorDivide": "//", "Power": "**", "Modulo": "%", "AddAssign": "+", "SubtractAssign": "-",
              "MultiplyAssign": "*", "DivideAssign": "/"}


def _function(qualified: str) -> Fn | None:
    if qualified.startswith("torch.nn.functional."):
        return FUNCTIONAL.get(qualified[len("torch.nn.functional."):])
    if qualified.startswith("torch.") and qualified.count(".") == 1:
        return TORCH.get(qualified[len("torch."):])
    if qualified.startswith("torch.special.") and qualified.endswith(("softmax", "log_softmax")):
        return TORCH.get(qualified.rsplit(".", 1)[-1])
    return None


def _body(node: cst.CSTNode) -> Sequence[cst.BaseStatement]:
    body = getattr(node, "body", None)
    if isinstance(body, cst.IndentedBlock):
        return body.body
    if isinstance(body, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=body.body)]
    return ()


def _unique(nodes: Sequence[Node]) -> list[Node]:
    seen: set[int] = set()
    out = []
    for node in nodes:
        if node.id not in seen:
            seen.add(node.id)
            out.append(node)
    return out


def _join_into(env: dict[str, Any], other: dict[str, Any], replace: bool) -> None:
    """After an if/else: a name may hold either branch's value."""
    if replace:
        env.clear()
        env.update(other)
        return
    for name, value in other.items():
        mine = env.get(name)
        if mine is value or name not in env:
            env[name] = value
        elif isinstance(mine, list) and isinstance(value, list):
            env[name] = _unique(mine + value)
        else:
            env[name] = []  # a module in one branch, something else in the other: unknown
