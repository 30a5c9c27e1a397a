"""TF1 low-level graphs lowered to layer-graph nodes (KerasFlow calls this before its own TF calls).

TF1 tutorials build layers by hand: `W = tf.Variable(tf.truncated_normal([784, 256]))`, then
`tf.nn.relu(tf.matmul(x, W) + b)`, `tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding='SAME')`.
A variable is a `Weight` value (not a tensor): its literal shape and whether it starts constant.
A matmul (or `@`, `tf.nn.xw_plus_b`) of a tensor by a Weight is a linear layer whose in/out
features come from the weight's shape; a conv with a Weight filter is a conv layer whose kernel
and channels come from its shape ([kh, kw, in, out]); `+ b` / `tf.nn.bias_add` with a Weight `b`
is that layer's bias. A matmul whose operand is no variable (attention scores `tf.matmul(q, k)`)
stays opaque: silence beats a guess.

Every node made here carries keras=True (the TF per-sample shape pass reads it) and tf1=True.
Linear/conv nodes carry what NN110 reads: attrs["kernel_init"] "zero" | "constant" and
attrs["kernel_init_site"] (the init expression) when the weight starts constant (absent when
random or unknown); attrs["bias"] whether a bias was added, and then attrs["bias_init"]
"zero" | "constant" | None (None: random or unknown). Conv and pool nodes carry attrs["window"]
= (size, strides, padding) for the spatial arithmetic, absent when a size is unknown or the
layout is channels-first.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from nnlint import lazy_libcst as cst

from nnlint.graph import Node
from nnlint.source.functional import Ref, _body
from nnlint.source.literals import call_arguments, literal
from nnlint.source.walk import walk

if TYPE_CHECKING:
    from nnlint.source import SourceFile
    from nnlint.source.constants import Constants
    from nnlint.source.keras import KerasFlow

_V1 = "tensorflow.compat.v1."


def tf_name(qualified: str | None) -> str | None:
    """`tensorflow.compat.v1.X` -> `tensorflow.X` (one API under two spellings)."""
    if qualified and qualified.startswith(_V1):
        return "tensorflow." + qualified[len(_V1):]
    return qualified


@dataclass
class Weight(Ref):
    """A `tf.Variable` / `tf.get_variable`: its literal shape (None dims unknown; None: unknown
    shape), how it starts ("zero" | "constant" | None for random or unknown) and where that is said."""

    call: cst.Call
    shape: tuple | None
    init: str | None
    init_site: cst.CSTNode | None


@dataclass
class Weights(Ref):
    """A dict literal of variables (`weights = {'h1': tf.Variable(...), ...}`)."""

    items: dict[str, Weight]


# -- variables and their initial values ---------------------------------------------------------
_RANDOM = frozenset(f"tensorflow.{n}" for n in (
    "random_normal truncated_normal random_uniform random.normal random.truncated_normal random.uniform "
    "random.stateless_normal random_gamma".split()))
_ZERO_INITIALIZERS = frozenset(f"tensorflow.{n}" for n in (
    "zeros_initializer initializers.zeros initializers.Zeros keras.initializers.zeros".split())) | frozenset(
    {"keras.initializers.Zeros", "keras.initializers.zeros"})
_ONE_INITIALIZERS = frozenset(f"tensorflow.{n}" for n in "ones_initializer initializers.ones initializers.Ones".split()) \
    | frozenset({"keras.initializers.Ones", "keras.initializers.ones"})
_CONSTANT_INITIALIZERS = frozenset(f"tensorflow.{n}" for n in (
    "constant_initializer initializers.constant initializers.Constant".split())) | frozenset(
    {"keras.initializers.Constant", "keras.initializers.constant"})


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class TF1Module:
    """What every scope of one file shares: constants, module-level variables, which module-level
    functions build TF1 layers (and so are inlined where they are called)."""

    def __init__(self, source: SourceFile, constants: Constants) -> None:
        self.source = source
        self.constants = constants
        self._weights: dict[str, Weight | Weights] | None = None
        self._builds: dict[cst.FunctionDef, bool] = {}
        self.api: Any = _UNSET

    @property
    def weights(self) -> dict[str, Weight | Weights]:
        if self._weights is None:
            self._weights = {}
            self._weights = module_weights(self)
        return self._weights

    def function(self, func: cst.BaseExpression) -> cst.FunctionDef | None:
        """The module-level def a called name refers to (defined once, not an import)."""
        if not isinstance(func, cst.Name) or self.source.imports.resolve(func) is not None:
            return None
        return self.source.index.unique_functions.get(func.value)

    def builds(self, fn: cst.FunctionDef) -> bool:
        """Whether a function calls a TF1 op this module lowers, itself or through such a function."""
        if fn not in self._builds:
            self._builds[fn] = False  # in progress: recursion answers no
            found = False
            for node in walk(fn.body, prune=lambda n: isinstance(n, (cst.FunctionDef, cst.ClassDef, cst.Lambda))):
                if not isinstance(node, cst.Call):
                    continue
                name = tf_name(self.source.imports.resolve(node.func))
                if name is not None and (name in _LOWERED or _contrib(name) in ("batch_norm", "dropout")):
                    found = True
                    break
                inner = self.function(node.func)
                if inner is not None and inner is not fn and self.builds(inner):
                    found = True
                    break
            self._builds[fn] = found
        return self._builds[fn]


# A frame binds the parameters of an inlined helper (or factory) to what its call passed:
# name -> (expression, the call it is an argument of, the frame to read that expression in);
# expression None: unknown.
Frame = dict


class TF1Lowering:
    """The TF1 part of one KerasFlow: variables, matmul/conv/pool/bias/dropout/batch-norm calls,
    module-level helper functions inlined with their arguments."""

    MAX_DEPTH = 4

    def __init__(self, module: TF1Module, flow: KerasFlow | None = None) -> None:
        self.flow = flow  # None: variables only (module_weights)
        self.module = module
        self.source = module.source
        self.constants = module.constants
        self._frame: Frame | None = None
        self._active: list[cst.FunctionDef] = []

    # -- arguments of inlined helpers -------------------------------------------------------------
    @contextmanager
    def resolved(self, expr: cst.BaseExpression | None, call: cst.Call) -> Iterator[tuple]:
        """`expr` with helper parameters followed to what the call passed (and the frame switched to
        where that was written) for the block; (None, call) when unknown."""
        saved = self._frame
        frame, steps = self._frame, 0
        while isinstance(expr, cst.Name) and frame is not None and expr.value in frame and steps < 16:
            expr, call, frame = frame[expr.value]
            steps += 1
        self._frame = frame
        try:
            yield expr, call
        finally:
            self._frame = saved

    def literal(self, expr: cst.BaseExpression | None, call: cst.Call) -> Any:
        with self.resolved(expr, call) as (expr, call):
            return literal(expr) if expr is not None else None

    # -- names and constants ------------------------------------------------------------------
    def qualified(self, func: cst.BaseExpression) -> str | None:
        return tf_name(self.source.imports.resolve(func))

    def number(self, expr: cst.BaseExpression | None, call: cst.Call) -> Any:
        """The number an argument of `call` stands for: a literal, a constant (module level, or a
        parameter default), what an inlined helper was passed, `+ - * //` of them (`7 * 7 * 64`);
        None when unknown."""
        with self.resolved(expr, call) as (expr, call):
            if expr is None:
                return None
            value = literal(expr)
            if _number(value):
                return value
            if isinstance(expr, cst.BinaryOperation):
                left, right = self.number(expr.left, call), self.number(expr.right, call)
                if not (_number(left) and _number(right)):
                    return None
                kind = type(expr.operator).__name__
                if kind == "Add":
                    return left + right
                if kind == "Subtract":
                    return left - right
                if kind == "Multiply":
                    return left * right
                if kind == "FloorDivide" and isinstance(left, int) and isinstance(right, int) and right:
                    return left // right
                return None
            return self.constants.value(expr, call) if isinstance(expr, cst.Name) else None

    def shape(self, expr: cst.BaseExpression | None, call: cst.Call) -> tuple | None:
        """A literal shape `[784, 256]` / `(5, 5, 1, 32)` (an argument of `call`; None and -1 as None dims)."""
        with self.resolved(expr, call) as (expr, call):
            if not isinstance(expr, (cst.List, cst.Tuple)):
                return None
            dims = []
            for el in expr.elements:
                if isinstance(el, cst.StarredElement):
                    return None
                if isinstance(el.value, cst.Name) and el.value.value == "None":
                    dims.append(None)
                    continue
                value = self.number(el.value, call)
                if not isinstance(value, int) or isinstance(value, bool):
                    return None
                dims.append(value if value >= 0 else None)
            return tuple(dims)

    def label(self, expr: cst.CSTNode) -> str:
        """How a message names a layer: the code as written when short (`tf.matmul(x, weights['h1'])`),
        else the dataflow's abbreviation."""
        text = self.flow.text(expr)
        if "[...]" in text:
            written = self.source.code(expr)
            if len(written) <= 48 and "\n" not in written:
                return written
        return text

    # -- variables ----------------------------------------------------------------------------
    def weight(self, call: cst.Call, qualified: str) -> Weight | None:
        if qualified == "tensorflow.Variable":
            initial = call_arguments(call, ("initial_value",)).get("initial_value")
            shape, init, site = self._initial_value(initial)
            return Weight(call, shape, init, site)
        if qualified == "tensorflow.get_variable":
            bound = call_arguments(call, ("name", "shape", "dtype", "initializer"))
            shape = self.shape(bound.get("shape"), call)
            initializer = bound.get("initializer")
            if initializer is None:
                return Weight(call, shape, None, None)  # glorot_uniform
            value_shape, init, site = self._initial_value(initializer)
            if init is None:
                init = self._initializer(initializer)
                site = initializer if init is not None else None
            return Weight(call, shape if shape is not None else value_shape, init, site)
        return None

    def _initial_value(self, expr: cst.BaseExpression | None) -> tuple[tuple | None, str | None, cst.CSTNode | None]:
        """(shape, init, site) of a variable's initial tensor: `tf.zeros([10])`, `tf.random_normal([784, 256])`."""
        if isinstance(expr, cst.Name):
            with self.resolved(expr, None) as (value, _):
                return self._initial_value(value) if value is not expr else (None, None, None)
        if not isinstance(expr, cst.Call):
            return None, None, None
        name = self.qualified(expr.func)
        if name in _RANDOM:
            return self.shape(call_arguments(expr, ("shape",)).get("shape"), expr), None, None
        if name in ("tensorflow.zeros", "tensorflow.ones"):
            shape = self.shape(call_arguments(expr, ("shape",)).get("shape"), expr)
            return shape, "zero" if name.endswith("zeros") else "constant", expr
        if name == "tensorflow.fill":
            bound = call_arguments(expr, ("dims", "value"))
            value = self.number(bound.get("value"), expr)
            if not _number(value):
                return self.shape(bound.get("dims"), expr), None, None
            return self.shape(bound.get("dims"), expr), "zero" if value == 0 else "constant", expr
        if name == "tensorflow.constant":
            bound = call_arguments(expr, ("value", "dtype", "shape"))
            value = self.number(bound.get("value"), expr)
            if not _number(value):
                return None, None, None  # a list of values: not one constant
            shape = self.shape(bound.get("shape"), expr) if "shape" in bound else ()
            return shape, "zero" if value == 0 else "constant", expr
        return None, None, None

    def _initializer(self, expr: cst.BaseExpression) -> str | None:
        """"zero" / "constant" for a constant initializer object (`tf.zeros_initializer()`,
        `tf.constant_initializer(0.1)`); None for random or unknown ones."""
        if isinstance(expr, cst.Name):
            with self.resolved(expr, None) as (value, _):
                return self._initializer(value) if value is not expr else None
        if not isinstance(expr, cst.Call):
            return None
        name = self.qualified(expr.func)
        if name in _ZERO_INITIALIZERS:
            return "zero"
        if name in _ONE_INITIALIZERS:
            return "constant"
        if name in _CONSTANT_INITIALIZERS:
            value = call_arguments(expr, ("value",)).get("value")
            if value is None:
                return "zero"  # the default value is 0
            number = self.number(value, expr)
            return None if not _number(number) else "zero" if number == 0 else "constant"
        return None

    def weights(self, expr: cst.BaseExpression, env: dict[str, Any]) -> Weight | None:
        """The variable an expression stands for: a name bound to one, `weights['h1']`."""
        if isinstance(expr, cst.Name):
            value = env.get(expr.value)
            if isinstance(value, Weight):
                return value
            if expr.value in env or self._frame is None or expr.value not in self._frame:
                return None
            with self.resolved(expr, None) as (value, _):  # a factory's local: `w = tf.Variable(...); return w`
                return self.weights(value, env) if value is not None and value is not expr else None
        if isinstance(expr, cst.Subscript) and isinstance(expr.value, cst.Name) and len(expr.slice) == 1:
            table = env.get(expr.value.value)
            index = expr.slice[0].slice
            key = literal(index.value) if isinstance(index, cst.Index) else None
            if isinstance(table, Weights) and isinstance(key, str):
                return table.items.get(key)
        if isinstance(expr, cst.Call):
            name = self.qualified(expr.func)
            if name is not None:
                return self.weight(expr, name)
            fn = self.module.function(expr.func)
            if fn is not None:
                return self.factory(fn, expr)
        return None

    # -- module-level helper functions ---------------------------------------------------------------
    def frame(self, fn: cst.FunctionDef, call: cst.Call) -> Frame | None:
        """The parameters of `fn` bound for `call` (None when the call cannot be matched: *args, **kw)."""
        params = fn.params
        if any(arg.star for arg in call.args) or isinstance(params.star_arg, cst.Param) \
                or isinstance(params.star_kwarg, cst.Param):
            return None
        positional = [*params.posonly_params, *params.params]
        names = [p.name.value for p in positional]
        bound = call_arguments(call, tuple(names))
        every = positional + list(params.kwonly_params)
        if any(name not in {p.name.value for p in every} for name in bound):
            return None
        frame: Frame = {}
        for p in every:
            name = p.name.value
            if name in bound:
                frame[name] = (bound[name], call, self._frame)
            else:
                frame[name] = (p.default, None, None)  # a default: read at module level, not passed
        return frame

    def factory(self, fn: cst.FunctionDef, call: cst.Call) -> Weight | None:
        """A variable factory (`def weight_variable(shape): initial = tf.truncated_normal(shape,
        stddev=0.1); return tf.Variable(initial)`): the variable its call makes."""
        if fn in self._active or len(self._active) >= self.MAX_DEPTH:
            return None
        frame = self.frame(fn, call)
        if frame is None:
            return None
        local = dict(frame)
        body = list(_body(fn))
        for index, stmt in enumerate(body):
            if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
                return None
            small = stmt.body[0]
            if isinstance(small, cst.Expr) and index == 0 and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
                continue  # docstring
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                local[small.targets[0].target.value] = (small.value, call, local)
                continue
            if isinstance(small, cst.Return) and small.value is not None:
                saved = self._frame
                self._frame, self._active = local, self._active + [fn]
                try:
                    made = self.weights(small.value, {})
                    # each call makes its own variable: report its constant start at the call, not in the factory
                    return replace(made, init_site=call) if made is not None and made.init is not None else made
                finally:
                    self._frame, self._active = saved, self._active[:-1]
            return None
        return None

    def inline(self, call: cst.Call, env: dict[str, Any]) -> Any:
        """A call of a module-level function: the variable a factory makes, or the value a helper
        that builds TF1 layers returns, lowered with its arguments bound (its nodes carry a TF1
        "via" entry: reported at this call when the finding involves a layer outside it).
        None for any other call."""
        fn = self.module.function(call.func)
        if fn is None or isinstance(env.get(call.func.value), Ref) or call.func.value in env:
            return None
        weight = self.factory(fn, call)
        if weight is not None:
            return weight
        if not self.module.builds(fn) or fn in self._active or len(self._active) >= self.MAX_DEPTH:
            return None
        frame = self.frame(fn, call)
        if frame is None:
            return None
        inner: dict[str, Any] = {k: v for k, v in self.module.weights.items() if k not in frame}
        for name, (expr, _call, _frame) in frame.items():
            inner[name] = self.flow.expr(expr, env) if expr is not None and _call is not None else []
        saved = (self._frame, self.flow.via)
        self._frame, self._active = frame, self._active + [fn]
        self.flow.via = self.flow.via + ((("tf1", id(call)), call, self.label(call)),)
        try:
            return self.flow.run_function(fn, inner)
        finally:
            (self._frame, self.flow.via), self._active = saved, self._active[:-1]

    # -- expressions KerasFlow hands over -------------------------------------------------------
    def expr(self, e: cst.BaseExpression, env: dict[str, Any]) -> Any:
        """The value of `e` when it is TF1-specific (a weight dict, a subscript of one, `x @ W`,
        `h + b`); None to let the generic dataflow handle it."""
        if isinstance(e, cst.Dict) and e.elements:
            items = {}
            for el in e.elements:
                key = literal(el.key) if isinstance(el, cst.DictElement) else None
                weight = self.weights(el.value, env) if isinstance(key, str) else None
                if weight is None:
                    return None
                items[key] = weight
            return Weights(items)
        if isinstance(e, cst.Subscript):
            weight = self.weights(e, env)
            return weight
        if isinstance(e, cst.BinaryOperation):
            kind = type(e.operator).__name__
            if kind == "MatrixMultiply":
                weight = self.weights(e.right, env)
                if weight is not None and self.weights(e.left, env) is None:
                    return self.linear(e, e, self.flow.value(e.left, env), weight, False, "matmul")
            if kind == "Add":
                for layer_side, bias_side in ((e.left, e.right), (e.right, e.left)):
                    bias = self.weights(bias_side, env)
                    if bias is not None and self.weights(layer_side, env) is None:
                        return self.biased(e, self.flow.value(layer_side, env), bias)
        return None

    def call(self, call: cst.Call, qualified: str, env: dict[str, Any]) -> Any:
        """The value of a TF1 call (`qualified` with compat.v1 folded), None when not one of ours."""
        weight = self.weight(call, qualified)
        if weight is not None:
            return weight
        if qualified in ("tensorflow.matmul", "tensorflow.linalg.matmul"):
            return self._matmul(call, env)
        if qualified == "tensorflow.nn.xw_plus_b":
            bound = call_arguments(call, ("x", "weights", "biases"))
            weight = self.weights(bound["weights"], env) if "weights" in bound else None
            if weight is None or "x" not in bound:
                return None
            layer = self.linear(call, call, self.flow.value(bound["x"], env), weight, False, "tf.nn.xw_plus_b")
            bias = self.weights(bound["biases"], env) if "biases" in bound else None
            return self.biased(call, layer, bias) if bias is not None else layer
        if qualified in ("tensorflow.add", "tensorflow.math.add", "tensorflow.nn.bias_add"):
            bound = call_arguments(call, ("x", "y") if qualified != "tensorflow.nn.bias_add" else ("x", "y"))
            if "x" in bound and "y" in bound and not any(arg.star for arg in call.args):
                bias = self.weights(bound["y"], env)
                if bias is not None and self.weights(bound["x"], env) is None:
                    return self.biased(call, self.flow.value(bound["x"], env), bias)
            return None
        if qualified == "tensorflow.placeholder":
            # the graph's input: attrs["shape"] is the per-sample shape (batch dimension dropped)
            shape = self.shape(call_arguments(call, ("dtype", "shape", "name")).get("shape"), call)
            attrs = {"shape": shape[1:]} if shape is not None and len(shape) >= 2 else {}
            return [self.flow.add("input", self.label(call), (), call, cls="placeholder", keras=True, **attrs)]
        if qualified == "tensorflow.nn.dropout":
            return self._dropout(call, env)
        if qualified in _CONVS:
            return self._conv(call, qualified, env)
        if qualified in _POOLS:
            return self._pool(call, qualified, env)
        contrib = _contrib(qualified)
        if contrib == "dropout":  # contrib.layers.dropout(inputs, keep_prob=0.5, ...)
            bound = call_arguments(call, ("inputs", "keep_prob"))
            if "inputs" not in bound:
                return None
            attrs = {}
            keep = self.number(bound.get("keep_prob"), call)
            if _number(keep):
                with self.resolved(bound["keep_prob"], call) as (written, _):
                    attrs.update(p=round(1 - keep, 10), keep_prob=keep, p_site=written)
            return [self.flow._add("dropout", self.label(call), self.flow.value(bound["inputs"], env), call,
                                   cls="tf.contrib.layers.dropout", keras=True, tf1=True, **attrs)]
        if contrib == "batch_norm":
            first = call_arguments(call, ("inputs",)).get("inputs")
            if first is None:
                return None
            return [self.flow._add("batchnorm", self.label(call), self.flow.value(first, env), call,
                                   cls="tf.contrib.layers.batch_norm", keras=True, tf1=True)]
        if qualified in ("tensorflow.nn.batch_normalization", "tensorflow.nn.fused_batch_norm"):
            first = call_arguments(call, ("x",)).get("x")
            if first is None:
                return None
            return [self.flow._add("batchnorm", self.label(call), self.flow.value(first, env), call,
                                   cls=qualified.replace("tensorflow.", "tf."), keras=True, tf1=True)]
        return None

    # -- layers ---------------------------------------------------------------------------------
    def _matmul(self, call: cst.Call, env: dict[str, Any]) -> Any:
        bound = call_arguments(call, ("a", "b", "transpose_a", "transpose_b"))
        if "a" not in bound or "b" not in bound or any(arg.star for arg in call.args):
            return None
        weight = self.weights(bound["b"], env)
        if weight is None or self.weights(bound["a"], env) is not None:
            return None  # no variable operand (attention scores, a product of two variables): opaque
        if any(self.literal(bound[k], call) is not False for k in ("transpose_a", "adjoint_a", "adjoint_b") if k in bound):
            return None
        if any(arg.keyword is not None and arg.keyword.value in ("adjoint_a", "adjoint_b", "a_is_sparse") for arg in call.args):
            return None
        flipped = self.literal(bound["transpose_b"], call) if "transpose_b" in bound else False
        if not isinstance(flipped, bool):
            return None
        return self.linear(call, call, self.flow.value(bound["a"], env), weight, flipped, "tf.matmul")

    def linear(self, site: cst.CSTNode, call: cst.CSTNode, inputs: Sequence[Node], weight: Weight, flipped: bool,
               cls: str) -> list[Node]:
        attrs: dict[str, Any] = {"bias": False}
        shape = weight.shape
        if shape is not None and len(shape) == 2:
            fan_in, fan_out = (shape[1], shape[0]) if flipped else shape
            if fan_in is not None:
                attrs["in_features"] = fan_in
            if fan_out is not None:
                attrs["out_features"] = fan_out
        self._init(attrs, weight)
        return [self.flow._add("linear", self.label(call), inputs, site, cls=cls, keras=True, tf1=True, **attrs)]

    def _conv(self, call: cst.Call, qualified: str, env: dict[str, Any]) -> list[Node] | None:
        """`tf.nn.conv2d(x, w, strides=[1, s, s, 1], padding='SAME')` with a variable filter
        [kh, kw, in, out] (conv1d [k, in, out], conv3d [kd, kh, kw, in, out], depthwise [kh, kw, in, multiplier])."""
        rank, depthwise = _CONVS[qualified]
        if any(arg.star for arg in call.args):
            return None
        bound = call_arguments(call, ("input", "filters", "strides", "padding"))
        for alias, name in (("filter", "filters"), ("value", "input"), ("stride", "strides")):
            if alias in bound:
                bound.setdefault(name, bound[alias])
        weight = self.weights(bound["filters"], env) if "filters" in bound else None
        if weight is None or "input" not in bound or self.weights(bound["input"], env) is not None:
            return None  # no variable filter: opaque
        attrs: dict[str, Any] = {"bias": False}
        shape = weight.shape if weight.shape is not None and len(weight.shape) == rank + 2 else None
        channels_last = self._channels_last(bound.get("data_format"), call)
        strides = self._spatial(bound.get("strides"), rank, channels_last, call)
        padding = self.literal(bound.get("padding"), call)
        padding = padding.lower() if isinstance(padding, str) and padding.lower() in ("same", "valid") else None
        dilated = any(k in bound for k in ("dilations", "rate")) and not self._ones(
            bound.get("dilations", bound.get("rate")), rank, channels_last, call)
        if shape is not None:
            fan_in, fan_out = shape[rank], shape[rank + 1]
            if depthwise:
                fan_out = fan_in * fan_out if fan_in is not None and fan_out is not None else None
                if fan_in is not None:
                    attrs["groups"] = fan_in
            if fan_in is not None:
                attrs["in_channels"] = fan_in
            if fan_out is not None:
                attrs["out_channels"] = fan_out
            kernel = shape[:rank]
            if None not in kernel:
                attrs["kernel_size"] = kernel
                if strides is not None and padding is not None and channels_last and not dilated:
                    attrs["window"] = (kernel, strides, padding)
        if not depthwise:
            attrs["groups"] = 1
        if strides is not None and not dilated:
            attrs["stride"] = strides if len(set(strides)) > 1 else strides[0]
        if channels_last:
            attrs["channels_last"] = True
        self._init(attrs, weight)
        return [self.flow._add("conv", self.label(call), self.flow.value(bound["input"], env), call,
                               cls=qualified.replace("tensorflow.", "tf."), keras=True, tf1=True, **attrs)]

    def _pool(self, call: cst.Call, qualified: str, env: dict[str, Any]) -> list[Node] | None:
        """`tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding='SAME')`."""
        rank = _POOLS[qualified]
        if any(arg.star for arg in call.args):
            return None
        bound = call_arguments(call, ("input", "ksize", "strides", "padding"))
        if "value" in bound:
            bound.setdefault("input", bound["value"])
        if "input" not in bound:
            return None
        attrs: dict[str, Any] = {}
        channels_last = self._channels_last(bound.get("data_format"), call)
        size = self._spatial(bound.get("ksize"), rank, channels_last, call)
        strides = self._spatial(bound.get("strides"), rank, channels_last, call)
        padding = self.literal(bound.get("padding"), call)
        padding = padding.lower() if isinstance(padding, str) and padding.lower() in ("same", "valid") else None
        if size is not None and strides is not None and padding is not None and channels_last:
            attrs["window"] = (size, strides, padding)
        return [self.flow._add("pool", self.label(call), self.flow.value(bound["input"], env), call,
                               cls=qualified.replace("tensorflow.", "tf."), keras=True, tf1=True, **attrs)]

    def _channels_last(self, expr: cst.BaseExpression | None, call: cst.Call) -> bool:
        """NHWC (the default) unless data_format says otherwise; False when it cannot be read."""
        if expr is None:
            return True
        value = self.literal(expr, call)
        return isinstance(value, str) and value.upper() in ("NHWC", "NWC", "NDHWC", "CHANNELS_LAST")

    def _spatial(self, expr: cst.BaseExpression | None, rank: int, channels_last: bool, call: cst.Call) -> tuple | None:
        """Per-spatial-dimension values of a strides/ksize argument: an int, [s] (every dimension),
        [sh, sw], or the full [1, sh, sw, 1] (channels last) / [1, 1, sh, sw] (channels first)."""
        if expr is None:
            return None
        value = self.number(expr, call)
        if isinstance(value, int):
            return (value,) * rank
        dims = self.shape(expr, call)
        if dims is None or None in dims:
            return None
        if len(dims) == 1:
            return dims * rank
        if len(dims) == rank:
            return dims
        if len(dims) == rank + 2:
            inner = dims[1:-1] if channels_last else dims[2:]
            outer = (dims[0], dims[-1]) if channels_last else dims[:2]
            return inner if outer == (1, 1) else None
        return None

    def _ones(self, expr: cst.BaseExpression | None, rank: int, channels_last: bool, call: cst.Call) -> bool:
        dims = self._spatial(expr, rank, channels_last, call) if expr is not None else (1,)
        return dims is not None and set(dims) == {1}

    @staticmethod
    def _init(attrs: dict[str, Any], weight: Weight) -> None:
        if weight.init is not None:
            attrs["kernel_init"] = weight.init
            attrs["kernel_init_site"] = weight.init_site

    def biased(self, site: cst.CSTNode, layer: list[Node], bias: Weight) -> list[Node] | None:
        """`layer + b`: the bias of the linear/conv layer just made (the same node); a bias added
        to anything else is opaque."""
        if len(layer) == 1 and layer[0].attrs.get("tf1") and layer[0].op in ("linear", "conv") \
                and not layer[0].attrs.get("bias"):
            node = layer[0]
            node.attrs["bias"] = True
            node.attrs["bias_init"] = bias.init
            return layer
        return self.flow.opaque(site, layer) if layer else []

    def _dropout(self, call: cst.Call, env: dict[str, Any]) -> list[Node] | None:
        """`tf.nn.dropout(x, keep_prob=...)` (TF1), `rate=` (TF2); the second positional argument
        is keep_prob in TF1 and rate in TF2: read only when the file says which API it uses."""
        if not call.args or call.args[0].keyword is not None or call.args[0].star:
            return None
        attrs: dict[str, Any] = {}
        second = call.args[1] if len(call.args) > 1 and call.args[1].keyword is None and not call.args[1].star else None
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        if "rate" in keywords:
            name, expr = "rate", keywords["rate"]
        elif "keep_prob" in keywords:
            name, expr = "keep_prob", keywords["keep_prob"]
        elif second is not None:
            v1 = str(self.source.imports.resolve(call.func)).startswith(_V1) or self.api() == 1
            name, expr = ("keep_prob" if v1 else None), second.value
        else:
            name, expr = None, None
        value = self.number(expr, call) if name is not None else None
        if _number(value):
            with self.resolved(expr, call) as (written, _):
                site = written
            attrs["p"] = value if name == "rate" else round(1 - value, 10)
            attrs["p_site"] = site
            if name == "keep_prob":
                attrs["keep_prob"] = value
        inputs = self.flow.value(call.args[0].value, env)
        return [self.flow._add("dropout", self.label(call), inputs, call, cls="tf.nn.dropout", keras=True, tf1=True,
                               **attrs)]

    def api(self) -> int | None:
        """1 when the file is written against the TF1 API itself (`tf.placeholder`, `tf.Session`,
        `tf.get_variable`, `tf.contrib`... spelled under `tensorflow.`, not `tensorflow.compat.v1.`:
        TF2 code borrows those and keeps TF2's tf.nn.dropout); None when it cannot be told."""
        if self.module.api is _UNSET:
            self.module.api = _api_of(self.source)
        return self.module.api


_UNSET = object()
# tf.nn convolutions: spatial rank, depthwise
_CONVS = {"tensorflow.nn.conv1d": (1, False), "tensorflow.nn.conv2d": (2, False), "tensorflow.nn.conv3d": (3, False),
          "tensorflow.nn.depthwise_conv2d": (2, True), "tensorflow.nn.depthwise_conv2d_native": (2, True)}
_POOLS = {f"tensorflow.nn.{kind}_pool{suffix}": rank for kind in ("max", "avg")
          for suffix, rank in (("", 2), ("2d", 2), ("1d", 1), ("3d", 3))}
# What this module lowers: a function calling one of these builds TF1 layers (inlined where called).
_LOWERED = frozenset({"tensorflow.matmul", "tensorflow.linalg.matmul", "tensorflow.nn.xw_plus_b", "tensorflow.nn.bias_add",
                      "tensorflow.nn.dropout", "tensorflow.nn.batch_normalization", "tensorflow.nn.fused_batch_norm",
                      "tensorflow.Variable", "tensorflow.get_variable", *_CONVS, *_POOLS})
_CONTRIB = ("tensorflow.contrib.layers.", "tensorflow.contrib.slim.layers.", "tensorflow.contrib.slim.")


def _contrib(qualified: str) -> str | None:
    """`tf.contrib.layers.X` / `slim.X` -> "X"."""
    for prefix in _CONTRIB:
        if qualified.startswith(prefix):
            return qualified[len(prefix):]
    return None

TF1_ONLY = frozenset(f"tensorflow.{n}" for n in (
    "placeholder Session InteractiveSession get_variable variable_scope global_variables_initializer "
    "initialize_all_variables train.AdamOptimizer train.GradientDescentOptimizer train.MomentumOptimizer "
    "train.RMSPropOptimizer train.AdagradOptimizer contrib".split()))


def _api_of(source: SourceFile) -> int | None:
    for call, _ in source.index.every_call:
        name = source.imports.resolve(call.func)
        if name is not None and (name in TF1_ONLY or name.startswith("tensorflow.contrib.")):
            return 1
    return None


def module_weights(module: TF1Module) -> dict[str, Weight | Weights]:
    """Variables bound once at module level (`W1 = tf.Variable(...)`, `weights = {...}`, a
    factory's `w = init_weights([784, 625])`), as a function that reads them sees them."""
    source = module.source
    tf1 = TF1Lowering(module)
    assigns = source.index.module.assigns
    found: dict[str, Weight | Weights] = {}
    for stmt in _module_statements(source.module.body):
        small = stmt.body[0] if len(stmt.body) == 1 else None
        if not isinstance(small, cst.Assign) or len(small.targets) != 1 or not isinstance(small.targets[0].target, cst.Name):
            continue
        name = small.targets[0].target.value
        if len(assigns.get(name, ())) != 1:
            continue
        value = tf1.expr(small.value, found) if isinstance(small.value, cst.Dict) else tf1.weights(small.value, found)
        if isinstance(value, (Weight, Weights)):
            found[name] = value
    return found


def _module_statements(body: Sequence[cst.BaseStatement]):
    """Simple statements at module level, inside `with tf.variable_scope(...)` blocks too."""
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield stmt
        elif isinstance(stmt, cst.With) and isinstance(stmt.body, cst.IndentedBlock):
            yield from _module_statements(stmt.body.body)
