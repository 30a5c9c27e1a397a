"""Per-file facts: plain picklable data the project pass joins across files.

One flow-sensitive walk over a file's functions and module body follows values through
assignments, calls and attributes (`self.criterion`, `model = Net().to(device)`,
`loss_fn = F.cross_entropy`, function arguments bound at every call site in the file) and
records what the NN2 rules need: what each model class's forward returns, which loss each
loss call is and what reaches it, and Keras `compile` calls. Anything the walk cannot follow
is None (unknown); rules stay silent on unknowns.

Values are small tuples, interpreted in the file that holds them (the project pass resolves
names across files):
    ("act", kind, span, label)   a tensor straight out of an op: kind "softmax", "log_softmax",
                                 "logprob" (log of a softmax), "sigmoid", "linear" (Linear/Conv
                                 output), or another activation kind of graph/ops.py
    ("new", name)                the result of calling `name` (a class: an instance; a function:
                                 what it returns); name is dotted as written in this file
    ("call", value)              the result of calling `value` (an instance: its forward output)
    ("fields", (("logits", value),)) an output object constructed with `logits=` (a ModelOutput,
                                 dataclass, namedtuple, dict); ("field", ("call", ...), "logits") the
                                 `.logits` / `["logits"]` of a model's output (resolved by the project pass)
    ("tflog", value, times)      tf.log(value); times: multiplied by something (`y * tf.log(p)`, the inside
                                 of a hand-written cross-entropy)
    ("loss", kind, label)        a loss callable: kind "cross_entropy", "bce_with_logits", "nll", "bce"
    ("keras", final, span, label) a Keras model whose last layer's activation is `final`
                                 ("softmax", "sigmoid", "linear", or None if unknown)
    ("layer", op, cls, span)     a torch.nn layer object; ("seq", last) an nn.Sequential and its last layer
    ("kloss", kind, from_logits, label), ("klayer", final, span, label), ("ktensor", ...): Keras losses,
                                 layers and functional-API tensors
No libcst node is stored: locations are nnlint.diagnostics.Span.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Callable, Iterator, Sequence

from nnlint import lazy_libcst as cst

from nnlint.diagnostics import Span
from nnlint.source.imports import canonical, dotted_name
from nnlint.source.keras import SUBCLASS_BASES as KERAS_SUBCLASS_BASES
from nnlint.source.literals import literal
from nnlint.source.torch_nn import layer_spec
from nnlint.source.walk import children

Value = tuple

# A file can hold facts only if it mentions one of these (the engine's text prefilter);
# __init__.py files always do (re-exports). Areas that add facts extend this tuple.
FACT_MARKERS: list[str] = ["forward", "loss", "Loss", "cross_entropy", "compile(", "Sequential", "Model(", "tf.log(",
                           "math.log(", "def call("]

# Other areas' per-file extractors: name -> fn(SourceFile) -> picklable data, stored in FileFacts.extra.
EXTRACTORS: dict[str, Callable[[Any], Any]] = {}


def may_have_facts(path: str, text: str) -> bool:
    return os.path.basename(path) == "__init__.py" or any(m in text for m in FACT_MARKERS)


# -- the facts ------------------------------------------------------------------------------
@dataclass
class ClassFacts:
    name: str
    bases: tuple[str, ...]  # dotted names as written
    returns: tuple[Value | None, ...] | None  # forward's return values; None: no forward
    has_call: bool  # defines __call__ (then forward is not what a call runs)
    loss: tuple[str, int, str] | None  # a loss wrapper: (loss kind, input parameter index, label)
    span: Span  # reserved (not resolved: Span.point())


@dataclass
class FunctionFacts:
    name: str
    returns: tuple[Value | None, ...]  # one value per return statement (None: unknown)
    loss: tuple[str, int, str] | None


@dataclass
class LossUse:
    """A loss computed on a tensor: `criterion(out, y)`, `F.nll_loss(x, t)`."""

    loss: str  # "cross_entropy", "bce_with_logits", "nll", "bce"
    label: str  # how messages name the loss: "nn.CrossEntropyLoss", "F.cross_entropy"
    span: Span  # the loss call
    input: Value  # what reaches the loss's prediction argument


@dataclass
class KerasCompile:
    span: Span  # the compile call
    loss_span: Span  # the loss argument
    loss: str  # "categorical" or "binary"
    label: str  # the loss as written
    from_logits: bool
    model: Value


@dataclass
class FileFacts:
    path: str
    imports: dict[str, str | None] = field(default_factory=dict)
    classes: dict[str, ClassFacts] = field(default_factory=dict)
    functions: dict[str, FunctionFacts] = field(default_factory=dict)
    variables: dict[str, Value | None] = field(default_factory=dict)
    loss_uses: list[LossUse] = field(default_factory=list)
    keras_compiles: list[KerasCompile] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


# -- what library names mean ----------------------------------------------------------------
_F = "torch.nn.functional."
LOSS_CLASSES = {
    "torch.nn.CrossEntropyLoss": ("cross_entropy", "nn.CrossEntropyLoss"),
    "torch.nn.BCEWithLogitsLoss": ("bce_with_logits", "nn.BCEWithLogitsLoss"),
    "torch.nn.NLLLoss": ("nll", "nn.NLLLoss"),
    "torch.nn.BCELoss": ("bce", "nn.BCELoss"),
}
# qualified -> (kind, label, input position, input keyword)
LOSS_FUNCTIONS = {
    _F + "cross_entropy": ("cross_entropy", "F.cross_entropy", 0, "input"),
    _F + "binary_cross_entropy_with_logits": ("bce_with_logits", "F.binary_cross_entropy_with_logits", 0, "input"),
    _F + "nll_loss": ("nll", "F.nll_loss", 0, "input"),
    _F + "binary_cross_entropy": ("bce", "F.binary_cross_entropy", 0, "input"),
}
for _tf in ("tensorflow.", "tensorflow.compat.v1.", "tf."):
    LOSS_FUNCTIONS.update({
        _tf + "losses.softmax_cross_entropy": ("cross_entropy", "tf.losses.softmax_cross_entropy", 1, "logits"),
        _tf + "losses.sparse_softmax_cross_entropy": ("cross_entropy", "tf.losses.sparse_softmax_cross_entropy", 1, "logits"),
        _tf + "losses.sigmoid_cross_entropy": ("bce_with_logits", "tf.losses.sigmoid_cross_entropy", 1, "logits"),
        _tf + "nn.softmax_cross_entropy_with_logits": ("cross_entropy", "tf.nn.softmax_cross_entropy_with_logits", -1, "logits"),
        _tf + "nn.softmax_cross_entropy_with_logits_v2": ("cross_entropy", "tf.nn.softmax_cross_entropy_with_logits_v2", 1, "logits"),
        _tf + "nn.sparse_softmax_cross_entropy_with_logits": ("cross_entropy", "tf.nn.sparse_softmax_cross_entropy_with_logits", -1, "logits"),
        _tf + "nn.sigmoid_cross_entropy_with_logits": ("bce_with_logits", "tf.nn.sigmoid_cross_entropy_with_logits", -1, "logits"),
        _tf + "losses.log_loss": ("probabilities", "tf.losses.log_loss", 1, "predictions"),
    })
TF_DENSE = {"tensorflow.layers.dense", "tf.layers.dense"}
# A hand-written cross-entropy `-tf.reduce_sum(y * tf.log(p))` (NN206): its parts.
TF_MATMUL = {"tensorflow.matmul", "tf.matmul", "tensorflow.linalg.matmul", "tf.linalg.matmul"}
TF_LOG = {"tensorflow.log", "tf.log", "tensorflow.math.log", "tf.math.log"}
TF_REDUCE = {"tensorflow.reduce_sum", "tf.reduce_sum", "tensorflow.math.reduce_sum", "tf.math.reduce_sum",
             "tensorflow.reduce_mean", "tf.reduce_mean", "tensorflow.math.reduce_mean", "tf.math.reduce_mean"}
TF_PASS = {"tensorflow.clip_by_value", "tf.clip_by_value", "tensorflow.nn.bias_add", "tf.nn.bias_add"}

# Functions returning an activation of their first argument: qualified -> kind
ACTIVATION_FUNCTIONS: dict[str, str] = {}
for _name, _kind in (("softmax", "softmax"), ("log_softmax", "log_softmax"), ("sigmoid", "sigmoid"),
                     ("relu", "relu"), ("tanh", "tanh"), ("relu6", "relu6"), ("hardtanh", "hardtanh"),
                     ("hardsigmoid", "hardsigmoid"), ("softplus", "softplus")):
    ACTIVATION_FUNCTIONS[_F + _name] = _kind
for _name, _kind in (("softmax", "softmax"), ("log_softmax", "log_softmax"), ("sigmoid", "sigmoid"),
                     ("relu", "relu"), ("tanh", "tanh"), ("special.expit", "sigmoid"), ("special.softmax", "softmax"),
                     ("special.log_softmax", "log_softmax")):
    ACTIVATION_FUNCTIONS["torch." + _name] = _kind
for _tf in ("tensorflow.", "tf."):
    for _name, _kind in (("nn.softmax", "softmax"), ("math.softmax", "softmax"), ("nn.log_softmax", "log_softmax"),
                         ("math.log_softmax", "log_softmax"), ("nn.sigmoid", "sigmoid"), ("math.sigmoid", "sigmoid"),
                         ("sigmoid", "sigmoid"), ("nn.relu", "relu"), ("nn.tanh", "tanh"), ("math.tanh", "tanh"),
                         ("tanh", "tanh")):
        ACTIVATION_FUNCTIONS[_tf + _name] = _kind

# Softmax constructors and functions (NN209 checks their dim): qualified -> position of dim
SOFTMAX_CALLS = {"torch.nn.Softmax": 0, "torch.nn.LogSoftmax": 0, "torch.nn.functional.softmax": 1,
                 "torch.nn.functional.log_softmax": 1}
TENSOR_ACTIVATION_METHODS = {"softmax": "softmax", "log_softmax": "log_softmax", "sigmoid": "sigmoid",
                             "relu": "relu", "tanh": "tanh"}
LOG_FUNCTIONS = {"torch.log"}
# Methods and functions that keep what a value is (shape, dtype, device, wrappers).
PASS_METHODS = {"view", "reshape", "squeeze", "float", "double", "half", "contiguous", "flatten", "permute",
                "transpose", "clone", "to", "cuda", "cpu", "type_as", "view_as", "reshape_as", "train", "eval",
                "requires_grad_", "detach"}
PASS_FUNCTIONS = {"torch.squeeze", "torch.flatten", "torch.nn.DataParallel", "torch.nn.parallel.DistributedDataParallel",
                  "torch.nn.parallel.DataParallel", "torch.compile"}
PASS_OPS = {"dropout", "identity", "flatten", "reshape"}
LINEAR_OPS = {"linear", "conv"}

KERAS_PROB_LOSSES = {
    "categorical_crossentropy": "categorical", "sparse_categorical_crossentropy": "categorical",
    "binary_crossentropy": "binary",
}
KERAS_LOSS_CLASSES = {"CategoricalCrossentropy": "categorical", "SparseCategoricalCrossentropy": "categorical",
                      "BinaryCrossentropy": "binary"}
KERAS_PASS_LAYERS = {"Dropout", "Flatten", "Reshape", "GaussianNoise", "GaussianDropout", "AlphaDropout",
                     "ActivityRegularization", "InputLayer"}
_LIBRARIES = {"torch", "tensorflow", "tf", "keras", "numpy", "np", "jax", "scipy", "math", "os", "sys", "re",
              "collections", "functools", "itertools", "typing", "logging", "json", "time", "random",
              "torchvision", "transformers", "timm", "sklearn", "pandas", "matplotlib", "einops"}
KERAS_ACTIVATIONS = {"softmax": "softmax", "sigmoid": "sigmoid", "linear": "linear", None: "linear",
                     # bounded or one-sided: NN210 when the loss expects logits
                     "relu": "relu", "relu6": "relu6", "tanh": "tanh", "softplus": "softplus",
                     "hard_sigmoid": "hardsigmoid"}


def _keras_name(qualified: str | None) -> str | None:
    """`keras.layers.Dense` -> `Dense` (tf.keras / keras / tf_keras spellings folded by canonical())."""
    if not qualified:
        return None
    for prefix in ("keras.layers.", "keras.losses.", "keras.models.", "keras.", "tf.keras.layers.",
                   "tf.keras.losses.", "tf.keras.models.", "tf.keras.", "tensorflow.keras."):
        if qualified.startswith(prefix):
            return qualified[len(prefix):]
    return None


def _tf_losses(qualified: str | None) -> str | None:
    """TF2's tf.losses is tf.keras.losses for the Keras names (TF1's tf.losses.* are in LOSS_FUNCTIONS)."""
    if qualified and qualified.startswith("tensorflow.losses."):
        rest = qualified[len("tensorflow.losses."):]
        if rest in KERAS_LOSS_CLASSES or rest in KERAS_PROB_LOSSES:
            return "keras.losses." + rest
    return qualified


def _keras_loss_function(name: str) -> Value | None:
    """keras.losses.categorical_crossentropy (`name` as _keras_name gives it; also keras.metrics.,
    keras.backend.): a Keras loss function value, from_logits=False unless the call says otherwise."""
    short = name.rsplit(".", 1)[-1]
    if short in KERAS_PROB_LOSSES and (name == short or name.startswith(("losses.", "metrics.", "backend."))):
        return ("kloss", KERAS_PROB_LOSSES[short], False, name, "function")
    return None


# -- the walk -------------------------------------------------------------------------------
@cache
def _empty_module() -> cst.Module:
    return cst.Module(body=[])


def _code(node: cst.CSTNode) -> str:
    return _empty_module().code_for_node(node)


def _short(node: cst.CSTNode, limit: int = 48) -> str:
    text = " ".join(_code(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _agree(values: Sequence[Value | None]) -> Value | None:
    first = values[0] if values else None
    return first if first is not None and all(v == first for v in values[1:]) else None


def _merge(a: dict, b: dict) -> dict:
    """Names bound alike on both paths keep their value; any disagreement is unknown (a Keras
    model stays a Keras model whose last layer is unknown: a later `.add` decides it)."""
    merged = {}
    for k in set(a) | set(b):
        x, y = a.get(k), b.get(k)
        if x == y:
            merged[k] = x
        elif x is not None and y is not None and x[0] == y[0] == "keras":
            merged[k] = ("keras", None, None, x[3])
        else:
            merged[k] = None
    return merged


class _Scope:
    """What the walk knows while it reads one function body (or the module body)."""

    def __init__(self, env: dict, cls: str | None, func: str | None, params: dict[str, int]) -> None:
        self.env = env
        self.cls = cls
        self.func = func
        self.params = params
        self.returns: list[Value | None] = []
        self.loss_inputs: list[tuple[str, int, str]] = []  # loss calls fed by a parameter
        self.attrs: dict[str, Value | None] | None = None  # in __init__: what self.<name> is bound to


@dataclass
class LogOfSoftmax:
    """For NN208 (in-process only: holds libcst nodes)."""

    log_call: cst.Call
    softmax_call: cst.Call | None  # the softmax call when written inline
    softmax_label: str


class Analysis:
    """The walk over one file. `facts()` is the plain-data result; `log_of_softmax` serves NN208."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.imports = source.imports
        self.record = False
        self.uses: list[LossUse] = []
        self.compiles: list[KerasCompile] = []
        self.log_of_softmax: list[LogOfSoftmax] = []
        self.softmax_calls: list[tuple[cst.Call, str]] = []  # for NN209 (in-process only)
        # For the NN2 fixes (nnlint.source.rewrites, in-process only): softmax/sigmoid calls,
        # calls of model objects (node, callee value), and loss input expressions (kind, node).
        self.acts: list[cst.Call] = []
        self.model_calls: list[tuple[cst.Call, Value]] = []
        self.loss_inputs: list[tuple[str, cst.BaseExpression]] = []
        self.module_names: set[str] = set()
        self.classes: dict[str, cst.ClassDef] = {}
        self.functions: dict[str, cst.FunctionDef] = {}
        self.class_attrs: dict[str, dict[str, Value | None]] = {}
        self.globals: dict[str, Value | None] = {}
        self.bindings: dict[str, dict[int, list]] = {}  # function key -> param index -> values at call sites
        self.wrappers: dict[str, tuple[str, int, str]] = {}  # function/class key -> loss wrapper
        self.returns: dict[str, list[Value | None]] = {}
        self.calls: dict[str, dict] = {}
        self.reassigned: dict[str, set[str]] = {}
        self._collect_definitions()

    # -- positions ----------------------------------------------------------------------
    def span(self, node: cst.CSTNode) -> Span:
        return self.source.span(node)

    # -- definitions --------------------------------------------------------------------
    def _collect_definitions(self) -> None:
        index = self.source.index
        self.classes = dict(index.unique_classes)  # defined twice: unknown
        self.functions = dict(index.unique_functions)
        self.module_names = set(index.defined)
        for name, cls in self.classes.items():  # `class MyLoss(nn.CrossEntropyLoss)` without its own forward
            bases = [self.imports.resolve(b.value) for b in cls.bases]
            if len(bases) == 1 and bases[0] in LOSS_CLASSES and "forward" not in self._methods(cls):
                kind, label = LOSS_CLASSES[bases[0]]
                self.wrappers[name] = (kind, 0, f"{name} ({label})")

    def _methods(self, cls: cst.ClassDef) -> dict[str, cst.FunctionDef]:
        """The defs of a module-level class of this file (one of self.classes)."""
        return self.source.index.class_info[cls].own_methods()

    # -- driver -------------------------------------------------------------------------
    def run(self) -> Analysis:
        # Pass 1: class attributes, loss wrappers, call-site arguments. Pass 2: bound and recorded.
        for final in (False, True):
            self.record = final
            self.uses, self.compiles, self.log_of_softmax, self.softmax_calls = [], [], [], []
            self.acts, self.model_calls, self.loss_inputs = [], [], []
            self.returns = {}
            self._nested: list[cst.FunctionDef] = []
            self.calls, self.bindings = self.bindings, {}
            for name, cls in self.classes.items():
                init = self._methods(cls).get("__init__")
                attrs: dict[str, Value | None] = {}
                if init is not None:
                    scope = self._function_scope(init, name, f"{name}.__init__")
                    scope.attrs = attrs
                    self._block(init.body, scope)
                for attr in self.reassigned.get(name, ()):
                    attrs[attr] = None
                self.class_attrs[name] = attrs
            module = _Scope({}, None, None, {})
            self._block(self.source.module.body, module)
            self.globals = {k: v for k, v in module.env.items() if k not in self.module_names}
            for name, cls in self.classes.items():
                for mname, method in self._methods(cls).items():
                    if mname == "__init__":
                        continue
                    key = f"{name}.{mname}"
                    scope = self._function_scope(method, name, key)
                    self._block(method.body, scope)
                    self.returns[key] = scope.returns
                    self._note_wrapper(key, scope, name if mname == "forward" else None)
            for name, func in self.functions.items():
                scope = self._function_scope(func, None, name)
                self._block(func.body, scope)
                self.returns[name] = scope.returns
                self._note_wrapper(name, scope, None)
            self._nested_functions()
        return self

    def _nested_functions(self) -> None:
        """Functions defined inside functions (collected by the walk): read with module globals only."""
        done = 0
        while done < len(self._nested):
            func = self._nested[done]
            done += 1
            scope = self._function_scope(func, None, None)
            self._block(func.body, scope)

    def _note_wrapper(self, key: str, scope: _Scope, cls: str | None) -> None:
        if self.record or len(scope.loss_inputs) != 1:
            return
        self.wrappers[key] = scope.loss_inputs[0]
        if cls is not None:
            self.wrappers[cls] = scope.loss_inputs[0]

    def _function_scope(self, func: cst.FunctionDef, cls: str | None, key: str | None) -> _Scope:
        """Parameters: ("param", i) in the first pass (finds loss wrappers); in the second, the
        value every call site in this file agrees on (with the default for sites that omit it)."""
        env: dict[str, Value | None] = {}
        params: dict[str, int] = {}
        plist = list(func.params.posonly_params) + list(func.params.params)
        sites = self.calls.get(key or "", {})
        calls = len(sites.get("n", ()))
        wrapped = self.wrappers.get(key or "")
        empty = _Scope({}, None, None, {})
        index = 0
        for i, param in enumerate(plist):
            pname = param.name.value
            if i == 0 and cls is not None and pname in ("self", "cls"):
                env[pname] = ("new", cls) if pname == "self" else None
                continue
            params[pname] = index
            default = self.expr(param.default, empty) if param.default is not None else None
            if not self.record or (wrapped and wrapped[1] == index):
                env[pname] = default if default is not None and default[0] == "loss" else ("param", index)
            elif sites.get("star") or not calls:
                env[pname] = default if not sites.get("star") else None
            else:
                given = sites.get(index, []) + sites.get(pname, [])
                if len(given) < calls:
                    given = given + [default] if param.default is not None else [None]
                env[pname] = _agree(given)
            index += 1
        for param in list(func.params.kwonly_params):
            default = self.expr(param.default, empty) if param.default is not None else None
            given = sites.get(param.name.value, [])
            if self.record and calls and not sites.get("star"):
                env[param.name.value] = _agree(given + ([default] if len(given) < calls else []))
            else:
                env[param.name.value] = default if default is not None and default[0] == "loss" else None
        for star in (func.params.star_arg, func.params.star_kwarg):
            if isinstance(star, cst.Param):
                env[star.name.value] = None
        return _Scope(env, cls, key, params)

    # -- statements ---------------------------------------------------------------------
    def _block(self, body: Any, scope: _Scope) -> None:
        if isinstance(body, cst.SimpleStatementSuite):
            for small in body.body:
                self._small(small, scope)
            return
        statements = body.body if isinstance(body, cst.IndentedBlock) else body
        for stmt in statements:
            self._statement(stmt, scope)

    def _statement(self, stmt: cst.CSTNode, scope: _Scope) -> None:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self._small(small, scope)
        elif isinstance(stmt, cst.If):
            self.expr(stmt.test, scope)
            before = dict(scope.env)
            self._block(stmt.body, scope)
            after_body = scope.env
            scope.env = dict(before)
            if stmt.orelse is not None:
                if isinstance(stmt.orelse, cst.If):
                    self._statement(stmt.orelse, scope)
                else:
                    self._block(stmt.orelse.body, scope)
            scope.env = _merge(after_body, scope.env)
        elif isinstance(stmt, (cst.For, cst.While)):
            if isinstance(stmt, cst.For):
                self.expr(stmt.iter, scope)
            else:
                self.expr(stmt.test, scope)
            before = dict(scope.env)
            if isinstance(stmt, cst.For):
                self._clear_targets(stmt.target, scope)
            self._block(stmt.body, scope)
            if stmt.orelse is not None:
                self._block(stmt.orelse.body, scope)
            scope.env = _merge(before, scope.env)
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                self.expr(item.item, scope)
                if item.asname is not None:
                    self._clear_targets(item.asname.name, scope)
            self._block(stmt.body, scope)
        elif isinstance(stmt, cst.Try) or type(stmt).__name__ == "TryStar":
            before = dict(scope.env)
            self._block(stmt.body, scope)
            merged = scope.env
            for handler in stmt.handlers:
                scope.env = dict(before)
                if handler.name is not None:
                    self._clear_targets(handler.name.name, scope)
                self._block(handler.body, scope)
                merged = _merge(merged, scope.env)
            scope.env = merged
            if stmt.orelse is not None:
                self._block(stmt.orelse.body, scope)
            if stmt.finalbody is not None:
                self._block(stmt.finalbody.body, scope)
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            if scope.func is not None or scope.cls is not None:
                scope.env[stmt.name.value] = None
                if isinstance(stmt, cst.FunctionDef) and len(self._nested) < 500:
                    self._nested.append(stmt)
        else:
            for name in _assigned_names(stmt):
                scope.env[name] = None

    def _clear_targets(self, target: cst.CSTNode, scope: _Scope) -> None:
        for name in _target_names(target):
            scope.env[name] = None

    def _small(self, small: cst.CSTNode, scope: _Scope) -> None:
        if isinstance(small, cst.Assign):
            value = self.expr(small.value, scope)
            for target in small.targets:
                self._assign(target.target, value, scope)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self._assign(small.target, self.expr(small.value, scope), scope)
        elif isinstance(small, cst.AugAssign):
            self.expr(small.value, scope)
            self._assign(small.target, None, scope)
        elif isinstance(small, cst.Return):
            scope.returns.append(self.expr(small.value, scope) if small.value is not None else None)
        elif isinstance(small, cst.Expr):
            self.expr(small.value, scope)
        elif isinstance(small, (cst.Global, cst.Nonlocal)):
            for name in small.names:
                scope.env[name.name.value] = None
        elif isinstance(small, cst.Del):
            self._clear_targets(small.target, scope)
        elif isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
            for alias in small.names:
                if alias.asname is not None:
                    names = _target_names(alias.asname.name)
                else:
                    names = [(dotted_name(alias.name) or "").split(".")[0]]
                for name in names:
                    scope.env.pop(name, None)

    def _assign(self, target: cst.CSTNode, value: Value | None, scope: _Scope) -> None:
        if isinstance(target, cst.Name):
            scope.env[target.value] = value
        elif (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
              and target.value.value == "self" and scope.cls is not None):
            attrs = scope.attrs
            if attrs is not None:  # __init__
                name = target.attr.value
                attrs[name] = value if name not in attrs or attrs[name] == value else None
            else:  # reassigned outside __init__: unknown
                self.class_attrs.get(scope.cls, {})[target.attr.value] = None
                self.reassigned.setdefault(scope.cls, set()).add(target.attr.value)
        else:
            self._clear_targets(target, scope)

    # -- expressions --------------------------------------------------------------------
    def lookup(self, name: str, scope: _Scope) -> Value | None:
        if name in scope.env:
            return scope.env[name]
        if scope.func is not None and name in self.globals:
            return self.globals[name]
        return None

    def qualify(self, node: cst.BaseExpression, scope: _Scope) -> str | None:
        """Qualified library name of a dotted expression, unless its head is a local value."""
        name = dotted_name(node)
        if not name:
            return None
        head = name.split(".")[0]
        if head in scope.env or head in self.module_names or (scope.func is not None and head in self.globals):
            return None
        qualified = self.imports.qualify(name)
        if qualified and qualified.startswith("tensorflow.compat.v1."):
            qualified = "tensorflow." + qualified[len("tensorflow.compat.v1."):]
        return canonical(qualified) if qualified else None

    def expr(self, node: cst.BaseExpression | None, scope: _Scope) -> Value | None:
        if node is None:
            return None
        if isinstance(node, cst.Name):
            return self.lookup(node.value, scope)
        if isinstance(node, cst.Call):
            return self.call(node, scope)
        if isinstance(node, cst.Attribute):
            if isinstance(node.value, cst.Name) and node.value.value == "self" and scope.cls is not None:
                return self.class_attrs.get(scope.cls, {}).get(node.attr.value)
            qualified = self.qualify(node, scope)
            if qualified in LOSS_FUNCTIONS:
                kind, label, *_ = LOSS_FUNCTIONS[qualified]
                return ("loss", kind, label)
            keras = _keras_name(_tf_losses(qualified))
            if keras is not None:  # a Keras loss function or class named, not called
                if _keras_loss_function(keras) is not None:
                    return _keras_loss_function(keras)
                short = keras.rsplit(".", 1)[-1]
                if short in KERAS_LOSS_CLASSES and keras in (short, "losses." + short):
                    return ("kloss", KERAS_LOSS_CLASSES[short], False, _short(node), "class")
            receiver = self.expr(node.value, scope)
            return _field(receiver, node.attr.value)
        if isinstance(node, cst.Subscript):
            receiver = self.expr(node.value, scope)
            for element in node.slice:
                self._children(element, scope)
            index = node.slice[0].slice if len(node.slice) == 1 else None
            key = literal(index.value) if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString) else None
            return _field(receiver, key)
        if isinstance(node, cst.Dict):
            logits = None
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    self.expr(element.key, scope)
                    value = self.expr(element.value, scope)
                    if isinstance(element.key, cst.SimpleString) and literal(element.key) == "logits":
                        logits = value
                else:
                    self.expr(element.value, scope)
            return ("fields", (("logits", logits),)) if logits is not None else None
        if isinstance(node, cst.BinaryOperation):
            left, right = self.expr(node.left, scope), self.expr(node.right, scope)
            if isinstance(node.operator, cst.Multiply):  # `y * tf.log(p)`
                logs = [v for v in (left, right) if v is not None and v[0] == "tflog"]
                return ("tflog", logs[0][1], True) if len(logs) == 1 else None
            if (isinstance(node.operator, cst.Add) and left is not None and left[:2] == ("act", "linear")
                    and isinstance(node.left, cst.Call) and self.qualify(node.left.func, scope) in TF_MATMUL):
                return left  # `tf.matmul(x, W) + b`
            return None
        if isinstance(node, cst.NamedExpr):
            value = self.expr(node.value, scope)
            self._assign(node.target, value, scope)
            return value
        if isinstance(node, cst.IfExp):
            self.expr(node.test, scope)
            return _agree([self.expr(node.body, scope), self.expr(node.orelse, scope)])
        if isinstance(node, (cst.Lambda, cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            inner = _Scope(dict(scope.env), scope.cls, scope.func, scope.params)
            for name in _bound_in(node):
                inner.env[name] = None
            self._children(node, inner)
            return None
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            return None  # no calls inside; a long implicit concatenation nests one level per literal
        self._children(node, scope)
        return None

    def _children(self, node: cst.CSTNode, scope: _Scope) -> None:
        # walk.children, not libcst's `node.children` (which rebuilds the subtree): the same
        # expressions in the same order, without the whitespace and punctuation nodes
        for child in children(node):
            if isinstance(child, cst.BaseExpression):
                self.expr(child, scope)
            elif not isinstance(child, (cst.BaseSuite, cst.BaseStatement)):
                self._children(child, scope)

    def _args(self, call: cst.Call, scope: _Scope) -> list[Value | None]:
        return [self.expr(arg.value, scope) for arg in call.args]

    def _argument_index(self, call: cst.Call, position: int, keyword: str | None) -> int | None:
        for i, arg in enumerate(call.args):
            if arg.keyword is not None and arg.keyword.value == keyword:
                return i
        positional = [i for i, a in enumerate(call.args) if a.keyword is None]
        if any(call.args[i].star for i in positional[: position + 1]):
            return None
        return positional[position] if 0 <= position < len(positional) else None

    def _argument(self, call: cst.Call, position: int, keyword: str | None) -> cst.BaseExpression | None:
        index = self._argument_index(call, position, keyword)
        return call.args[index].value if index is not None else None

    def _act(self, kind: str, call: cst.Call, label: str) -> Value:
        if self.record and kind in ("softmax", "sigmoid"):
            self.acts.append(call)
        return ("act", kind, call if self.record else None, label)

    def _model_call(self, call: cst.Call, callee: Value) -> Value:
        if self.record:
            self.model_calls.append((call, callee))
        return ("call", callee)

    def call(self, call: cst.Call, scope: _Scope) -> Value | None:
        args = self._args(call, scope)
        value = self._call(call, args, scope)
        if value is None or value[0] == "new":
            # `SequenceClassifierOutput(logits=x)`, a dataclass/namedtuple, `dict(logits=x)`:
            # a constructor (a capitalized name, or dict) holding the logits as a field.
            index = next((i for i, a in enumerate(call.args) if a.keyword is not None and a.keyword.value == "logits"), None)
            name = (dotted_name(call.func) or "").rsplit(".", 1)[-1]
            if index is not None and args[index] is not None and (name[:1].isupper() or name == "dict"):
                return ("fields", (("logits", args[index]),))
        return value

    def _call(self, call: cst.Call, args: list, scope: _Scope) -> Value | None:
        func = call.func
        first = args[0] if args and call.args[0].keyword is None and not call.args[0].star else None
        qualified = self.qualify(func, scope)
        if qualified is not None:
            return self._library_call(qualified, call, args, first, scope)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            is_self_attr = isinstance(func.value, cst.Name) and func.value.value == "self" and scope.cls is not None
            if not is_self_attr:
                receiver = self.expr(func.value, scope)
                if (method in TENSOR_ACTIVATION_METHODS and _tensor_method_args(method, call)
                        and not (receiver and receiver[0] in ("new", "keras", "loss", "layer", "seq", "fields"))):
                    return self._act(TENSOR_ACTIVATION_METHODS[method], call, _short(call))
                if method == "log" and not call.args:
                    return self._log_of(call, func.value, receiver)
                if method in PASS_METHODS:
                    return receiver
                if method == "forward" and receiver is not None and receiver[0] in ("new", "call"):
                    return self._model_call(call, receiver)
                if method == "add" and receiver is not None and receiver[0] == "keras" and len(call.args) == 1:
                    self._keras_add(func.value, receiver, args[0], scope)
                    return None
                if method == "compile" and receiver is not None:
                    self._keras_compile(call, receiver, scope)
                    return None
                return None
            elif method == "forward":
                return self._model_call(call, ("new", scope.cls))
            elif scope.cls in self.classes and method in self._methods(self.classes[scope.cls]):
                self._bind_sites(f"{scope.cls}.{method}", call, args)
                if f"{scope.cls}.{method}" in self.wrappers:
                    return self._loss_call(self.wrappers[f"{scope.cls}.{method}"], call, args, scope)
        callee = self.expr(func, scope)
        if callee is None and isinstance(func, cst.Name) and func.value not in scope.env:
            name = func.value
            if name in self.functions:
                self._bind_sites(name, call, args)
                if name in self.wrappers:
                    return self._loss_call(self.wrappers[name], call, args, scope)
            elif name in self.classes:
                self._bind_sites(f"{name}.__init__", call, args)
            if name not in self.module_names and name in self.globals:
                self._model_call(call, None)  # a module-level object of unknown kind: maybe a model
            return ("new", name) if name in self.module_names else None
        if callee is None:
            self._model_call(call, None)  # a local, parameter or self attribute of unknown kind: maybe a model
            return None
        tag = callee[0]
        if tag == "loss":
            return self._loss_call((callee[1], 0, callee[2]), call, args, scope)
        if tag == "layer":
            return self._layer_call(callee, call, first, func)
        if tag == "seq":
            last = callee[1]
            return self._layer_call(last, call, first, func, True) if last and last[0] == "layer" else (
                ("call", last) if last and last[0] in ("new", "call") else None)
        if tag == "klayer":
            return self._keras_apply(callee, call, first)
        if tag == "keras" and callee[1] != "empty":  # a Sequential/Model applied to a tensor (a submodel)
            return ("ktensor", callee[1], callee[2], callee[3])
        if tag == "kloss":
            return self._keras_loss_call(callee, call, args, scope)
        if tag in ("new", "call"):
            target = callee
            if tag == "new" and callee[1] in self.classes and callee[1] in self.wrappers:
                return self._loss_call(self.wrappers[callee[1]], call, args, scope)
            return self._model_call(call, target)
        return None

    def _bind_sites(self, key: str, call: cst.Call, args: list) -> None:
        """Remember what a call site in this file passes to a function of this file."""
        sites = self.bindings.setdefault(key, {})
        sites.setdefault("n", []).append(call)
        positional = 0
        for arg, value in zip(call.args, args):
            if value is not None and value[0] == "param":
                value = None
            if arg.star:
                sites["star"] = True
            elif arg.keyword is None:
                sites.setdefault(positional, []).append(value)
                positional += 1
            else:
                sites.setdefault(arg.keyword.value, []).append(value)

    def _library_call(self, qualified: str, call: cst.Call, args: list, first: Value | None, scope: _Scope) -> Value | None:
        if self.record and qualified in SOFTMAX_CALLS:
            self.softmax_calls.append((call, qualified))
        if qualified in LOSS_CLASSES:
            kind, label = LOSS_CLASSES[qualified]
            return ("loss", kind, label)
        if qualified in LOSS_FUNCTIONS:
            kind, label, position, keyword = LOSS_FUNCTIONS[qualified]
            return self._loss_call((kind, position, label), call, args, scope, keyword)
        if qualified in ACTIVATION_FUNCTIONS:
            return self._act(ACTIVATION_FUNCTIONS[qualified], call, _short(call))
        if qualified in LOG_FUNCTIONS and len(call.args) >= 1 and call.args[0].keyword is None:
            return self._log_of(call, call.args[0].value, first)
        if qualified in PASS_FUNCTIONS or qualified in TF_PASS:
            return first
        if qualified in TF_MATMUL:
            return self._act("linear", call, _short(call))
        if qualified in TF_LOG:
            return ("tflog", first, False) if first is not None and first[0] in ("act", "new", "call", "field") else None
        if qualified in TF_REDUCE:
            if first is not None and first[0] == "tflog" and first[2] and self.record:
                self.uses.append(LossUse("probabilities", f"the cross-entropy {_short(call)}", call, first[1]))
            return None
        if qualified in TF_DENSE:
            node = self._argument(call, 2, "activation")
            kind = "linear" if node is None or literal(node) is None and _code(node) == "None" else (
                self._keras_activation(node, scope))
            return self._act(kind, call, _short(call)) if kind in set(KERAS_ACTIVATIONS.values()) else None
        if qualified == "torch.nn.Sequential":
            layers = [a for a, v in zip(call.args, args) if not a.keyword and not a.star]
            if len(layers) != len(call.args) or not layers:
                return ("seq", None)
            values = [v for v in args]
            while values and values[-1] and values[-1][0] == "layer" and values[-1][1] in ("dropout", "identity"):
                values.pop()
            return ("seq", values[-1] if values else None)
        spec = layer_spec(qualified)
        if spec is not None:
            return ("layer", spec.op, qualified.rsplit(".", 1)[-1], call if self.record else None)
        keras = _keras_name(_tf_losses(qualified))
        if keras is not None:
            return self._keras_construct(keras, call, args, scope)
        if qualified.split(".")[0] in _LIBRARIES:
            return None
        return ("new", dotted_name(call.func))

    def _layer_call(self, layer: Value, call: cst.Call, first: Value | None, func: cst.BaseExpression,
                    last_of_sequential: bool = False) -> Value | None:
        op, cls = layer[1], layer[2]
        label = f"'{_code(func)}' ({cls})"
        if last_of_sequential and layer[3] is not None:
            label = f"{_short(layer[3])} at the end of '{_short(func)}'"
            call = layer[3]
        if op in PASS_OPS:
            return first
        if op in LINEAR_OPS:
            return self._act("linear", call, label)
        if op in ("softmax", "log_softmax", "sigmoid", "relu", "tanh", "relu6", "hardtanh", "hardsigmoid", "softplus"):
            if cls == "Softmin" or cls == "Softmax2d":
                return None
            return self._act(op, call, label)
        return None

    def _log_of(self, call: cst.Call, inner: cst.BaseExpression, value: Value | None) -> Value | None:
        if value is None or value[0] != "act" or value[1] != "softmax":
            return None
        if self.record:
            inline = inner if isinstance(inner, cst.Call) else None
            self.log_of_softmax.append(LogOfSoftmax(call, inline, value[3]))
        return self._act("logprob", call, _short(call))

    def _loss_call(self, wrapper: tuple[str, int, str], call: cst.Call, args: list, scope: _Scope,
                   keyword: str | None = "input") -> None:
        kind, position, label = wrapper
        index = self._argument_index(call, position, keyword)
        if index is None:
            return None
        value = args[index]
        if self.record:
            self.loss_inputs.append((kind, call.args[index].value))
        if value is not None and value[0] == "param":
            scope.loss_inputs.append((kind, value[1], label))
        elif value is not None and self.record and value[0] in ("act", "new", "call", "field", "ktensor"):
            self.uses.append(LossUse(kind, label, call, value))
        return None

    # -- Keras ----------------------------------------------------------------------------
    def _keras_construct(self, name: str, call: cst.Call, args: list, scope: _Scope) -> Value | None:
        short = name.rsplit(".", 1)[-1]
        loss_function = _keras_loss_function(name)
        if loss_function is not None:  # keras.losses.sparse_categorical_crossentropy(y, p, from_logits=...)
            return self._keras_loss_call(loss_function, call, args, scope)
        if short in ("Sequential",):
            if not call.args:
                return ("keras", "empty", None, _short(call))
            layers = call.args[0].value if call.args[0].keyword is None else None
            if isinstance(layers, (cst.List, cst.Tuple)):
                final: Value | None = ("keras", "empty", None, _short(call))
                for element in layers.elements:
                    if isinstance(element, cst.StarredElement):
                        return None
                    final = self._keras_stack(final, self.expr(element.value, scope))
                return final
            return None
        if short in ("Model", "Functional"):
            node = self._argument(call, 1, "outputs")
            value = self.expr(node, scope) if node is not None else None
            if value is not None and value[0] == "ktensor":
                return ("keras", value[1], value[2], value[3])
            return None
        if short in KERAS_LOSS_CLASSES:
            from_logits = literal(self._argument(call, 0, "from_logits"))
            if self._argument(call, 0, "from_logits") is None:
                from_logits = False
            if not isinstance(from_logits, bool):
                return None
            return ("kloss", KERAS_LOSS_CLASSES[short], from_logits, _short(call))
        if short in ("Dense",):
            node = self._argument(call, 1, "activation")
            return ("klayer", self._keras_activation(node, scope), call if self.record else None, _short(call))
        if short == "Activation":
            node = self._argument(call, 0, "activation")
            kind = self._keras_activation(node, scope) if node is not None else None
            return ("klayer", kind, call if self.record else None, _short(call))
        if short == "Softmax":
            return ("klayer", "softmax", call if self.record else None, _short(call))
        if short == "ReLU":
            return ("klayer", "relu", call if self.record else None, _short(call))
        if short in KERAS_PASS_LAYERS:
            return ("klayer", "pass", None, _short(call))
        if short.startswith("layers.") or short[:1].isupper():
            return ("klayer", None, None, _short(call))
        return None

    def _keras_loss_call(self, loss: Value, call: cst.Call, args: list, scope: _Scope) -> Value | None:
        """`loss_fn(y_true, y_pred)` with a Keras loss (an instance, a loss function, which also
        takes from_logits= at the call): a LossUse of kind keras_<categorical|binary>_<logits|probs>.
        A loss class named, not instantiated, constructs an instance when called."""
        form = loss[4] if len(loss) > 4 else "instance"
        from_logits = loss[2]
        if form == "class":
            node = self._argument(call, 0, "from_logits")
            value = False if node is None else literal(node)
            return ("kloss", loss[1], value, _short(call)) if isinstance(value, bool) else None
        if form == "function":
            node = self._argument(call, 2, "from_logits")
            if node is not None:
                from_logits = literal(node)
                if not isinstance(from_logits, bool):
                    return None
        index = self._argument_index(call, 1, "y_pred")
        if index is None:
            index = self._argument_index(call, 1, "output")  # keras.backend.categorical_crossentropy(target, output)
        if index is None or from_logits is None:
            return None
        kind = f"keras_{loss[1]}_{'logits' if from_logits else 'probs'}"
        label = _short(call.func) if form == "function" else loss[3]
        value = args[index]
        if value is not None and value[0] == "param":
            scope.loss_inputs.append((kind, value[1], label))
        elif value is not None and self.record and value[0] in ("act", "new", "call", "field", "ktensor"):
            self.uses.append(LossUse(kind, label, call, value))
        return None

    def _keras_activation(self, node: cst.BaseExpression | None, scope: _Scope) -> str | None:
        if node is None:
            return "linear"
        value = literal(node)
        if isinstance(value, str) or value is None and isinstance(node, cst.Name) and node.value == "None":
            return KERAS_ACTIVATIONS.get(value, "other")
        qualified = self.qualify(node, scope) or ""
        for name, kind in KERAS_ACTIVATIONS.items():
            if name and name != "linear" and (qualified.endswith("activations." + name)
                                              or qualified in (f"tensorflow.nn.{name}", f"tf.nn.{name}")):
                return kind
        return None

    def _keras_stack(self, model: Value | None, layer: Value | None) -> Value | None:
        if model is None:
            return None
        if layer is None:
            return ("keras", None, None, model[3])
        if layer[0] == "klayer":
            return model if layer[1] == "pass" else ("keras", layer[1], layer[2], layer[3])
        if layer[0] == "keras":
            return ("keras", layer[1], layer[2], layer[3])
        return ("keras", None, None, model[3])

    def _keras_add(self, target: cst.BaseExpression, model: Value, layer: Value | None, scope: _Scope) -> None:
        if isinstance(target, cst.Name) and target.value in scope.env:
            scope.env[target.value] = self._keras_stack(model, layer)

    def _keras_apply(self, layer: Value, call: cst.Call, first: Value | None) -> Value | None:
        if layer[1] == "pass":
            return first
        return ("ktensor", layer[1], layer[2], layer[3])

    def _keras_compile(self, call: cst.Call, model: Value, scope: _Scope) -> None:
        if model[0] not in ("keras", "new") or not self.record:
            return
        node = self._argument(call, 1, "loss")
        if node is None:
            return
        loss = self.expr(node, scope)
        text = literal(node)
        if isinstance(text, str) and text in KERAS_PROB_LOSSES:
            loss = ("kloss", KERAS_PROB_LOSSES[text], False, repr(text))
        else:
            qualified = self.qualify(node, scope) or ""
            name = _keras_name(qualified) or ""
            short = name.rsplit(".", 1)[-1]
            if short in KERAS_PROB_LOSSES and name.startswith(("losses.", "metrics.")):
                loss = ("kloss", KERAS_PROB_LOSSES[short], False, _short(node))
        if loss is None or loss[0] != "kloss":
            return
        self.compiles.append(KerasCompile(call, node, loss[1], loss[3], loss[2], model))

    # -- result ---------------------------------------------------------------------------
    def freeze(self, value: Any) -> Any:
        """A walk value with its libcst nodes replaced by Spans (plain data)."""
        if isinstance(value, cst.CSTNode):
            return self.span(value)
        if isinstance(value, tuple):
            if value[:1] == ("act",) and value[1] == "linear":
                return ("act", "linear", None, value[3])
            return tuple(self.freeze(v) for v in value)
        return value

    def facts(self) -> FileFacts:
        facts = FileFacts(self.source.path)
        facts.imports = self.source.index.import_bindings()
        freeze = self.freeze
        for name, cls in self.classes.items():
            methods = self._methods(cls)
            returns = None
            if "forward" in methods:
                returns = tuple(freeze(v) for v in self.returns.get(f"{name}.forward", ())) or (None,)
            elif "call" in methods and any(self.imports.resolve(b.value) in KERAS_SUBCLASS_BASES for b in cls.bases):
                returns = tuple(freeze(v) for v in self.returns.get(f"{name}.call", ())) or (None,)  # keras.Model.call
            bases = tuple(dotted_name(b.value) or "?" for b in cls.bases)
            facts.classes[name] = ClassFacts(name, bases, returns, "__call__" in methods, self.wrappers.get(name),
                                             Span.point())
        for name in self.functions:
            facts.functions[name] = FunctionFacts(name, tuple(freeze(v) for v in self.returns.get(name, ())) or (None,),
                                                  self.wrappers.get(name))
        facts.variables = {k: freeze(v) for k, v in sorted(self.globals.items()) if v is not None and v[0] != "param"}
        facts.loss_uses = [LossUse(u.loss, u.label, freeze(u.span), freeze(u.input)) for u in self.uses]
        facts.keras_compiles = [KerasCompile(freeze(c.span), freeze(c.loss_span), c.loss, c.label, c.from_logits,
                                             freeze(c.model)) for c in self.compiles]
        return facts


def _field(receiver: Value | None, name: Any) -> Value | None:
    """`outputs.logits`, `outputs["logits"]`: the field of a constructed output, or of a model's
    output (resolved by the project pass through forward's return)."""
    if name != "logits" or receiver is None:
        return None
    if receiver[0] == "fields":
        return dict(receiver[1]).get(name)
    if receiver[0] == "call":
        return ("field", receiver, name)
    return None


def _tensor_method_args(method: str, call: cst.Call) -> bool:
    """`x.softmax(1)`, `x.softmax(dim=-1)`, `x.sigmoid()`: the arguments of the Tensor method."""
    if method not in ("softmax", "log_softmax"):
        return not call.args
    if len(call.args) == 0:
        return False
    first = call.args[0]
    if first.keyword is not None:
        return first.keyword.value == "dim"
    value = literal(first.value)
    return isinstance(value, int) and not isinstance(value, bool)


def _target_names(target: cst.CSTNode) -> Iterator[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _target_names(target.value)


class _AssignedNames:
    """The visit methods of a libcst visitor; the class is made on first use (nnlint.lazy_libcst)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.names.update(_target_names(node.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.names.update(_target_names(node.target))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.names.update(_target_names(node.target))

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.names.update(_target_names(node.target))

    def visit_For(self, node: cst.For) -> None:
        self.names.update(_target_names(node.target))

    def visit_AsName(self, node: cst.AsName) -> None:
        self.names.update(_target_names(node.name))

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if node.asname is None:
            name = dotted_name(node.name)
            if name:
                self.names.add(name.split(".")[0])

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.names.add(node.name.value)
        return False


@cache
def _assigned_visitor() -> type:
    return type("_Assigned", (_AssignedNames, cst.CSTVisitor), {})


def _assigned_names(node: cst.CSTNode) -> set[str]:
    visitor = _assigned_visitor()()
    node.visit(visitor)
    return visitor.names


def _bound_in(node: cst.CSTNode) -> set[str]:
    """Names a lambda or comprehension binds (its parameters, its for-targets)."""
    names: set[str] = set()
    if isinstance(node, cst.Lambda):
        params = node.params
        names |= {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                names.add(star.name.value)
        return names
    for_in = getattr(node, "for_in", None)
    while for_in is not None:
        names.update(_target_names(for_in.target))
        for_in = for_in.inner_for_in
    return names


def analysis(source: Any) -> Analysis:
    """The file's walk, computed once per SourceFile (shared by the facts and NN208)."""
    cached = getattr(source, "_nn2_analysis", None)
    if cached is None:
        cached = Analysis(source).run()
        source._nn2_analysis = cached
    return cached


def extract_facts(source: Any) -> FileFacts:
    facts = analysis(source).facts()
    for name, extractor in sorted(EXTRACTORS.items()):
        facts.extra[name] = extractor(source)
    return facts
