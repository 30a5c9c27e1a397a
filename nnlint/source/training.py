"""Training-loop facts: what the NN3/NN4/NN5 rules read about how a model is trained.

One pass over a parsed file builds a small index of its scopes (module, functions, methods,
classes, assignments, call sites); from it come plain, picklable facts:

- `Loop`: a for/while body (or a function) that calls `<x>.backward()` and an optimizer step,
  with the events of one iteration in execution order (zero_grad, backward, clip, unscale,
  step, scheduler step), each with its branch path (events in different arms of one `if` never
  run in the same iteration), and the model it trains as a `Model` (layer kinds it contains,
  transitively through submodules and constructor arguments; None when unresolved).
- `Optimizer`: class, family, lr / weight_decay values with their spans, decoupled flag, clipping
  (Keras clipnorm/clipvalue/global_clipnorm); also OpenMMLab-style `dict(type='SGD', ...)`.
- `FrameworkLoop`: Lightning/d2l `Trainer.fit`, Hugging Face `Trainer`, Keras `model.fit`.
- `EvalLoop`: a loop over batches under no_grad/inference_mode that calls a model.
- `Penalty`: an explicit parameter-norm penalty added to a loss, with its coefficient.
- `DataLoaderFact`, seeds and trackers.

Locations are `nnlint.diagnostics.Span`s. Positions are computed only when a file has a loop,
an optimizer or a framework fit (the text prefilter of the rules already narrowed the files).
When something cannot be resolved the fact says so (None): rules stay silent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from nnlint import lazy_libcst as cst

from nnlint.diagnostics import Span
from nnlint.source import SourceFile
from nnlint.source.imports import dotted_name
from nnlint.source.index import Scope
from nnlint.source.literals import literal
from nnlint.source.torch_nn import layer_spec
from nnlint.source.tf_training import KERAS_FITS, TF_CLIPS, KerasTraining, gradient_names, mentions
from nnlint.source.walk import collect, walk

# ---------------------------------------------------------------------------------------------
# Facts (plain data)


@dataclass(frozen=True)
class Event:
    kind: str  # zero_grad backward clip unscale step sched_step
    span: Span
    order: int
    branch: tuple[tuple[int, int], ...]  # (if id, arm) from the unit's top down
    receiver: str = ""  # `optimizer` in optimizer.step(); the optimizer for scaler.step(opt)
    depth: int = 0  # nesting of inner loops inside the unit
    guarded: bool = False  # under an accumulation guard (`if (i + 1) % k == 0:`)
    detail: str = ""  # scheduler class, clip function name

    def exclusive(self, other: Event) -> bool:
        """Never both in one iteration: they sit in different arms of the same `if`."""
        for (a_if, a_arm), (b_if, b_arm) in zip(self.branch, other.branch):
            if a_if != b_if:
                return False
            if a_arm != b_arm:
                return True
        return False


@dataclass(frozen=True)
class Model:
    """What a trained/evaluated model contains: normalized layer kinds ("rnn", "batchnorm",
    "dropout", ...), and where it was constructed. `classes` names the project classes seen."""

    ops: frozenset[str]
    label: str
    classes: tuple[str, ...] = ()
    external: tuple[str, ...] = ()  # imported classes it is built from, as written ("models.GRUNet")


@dataclass
class Loop:
    kind: str  # "for" | "while" | "function"
    span: Span  # the loop keyword (or the def name)
    function: str  # enclosing function's qualified name, "" at module level
    events: list[Event]
    nested: bool  # runs inside an outer loop (an epoch loop)
    models: list[Model] | None  # alternatives; None = unresolved
    optimizers: tuple[str, ...]  # receivers stepped
    loader_batch_size: tuple[int, Span] | None = None  # DataLoader(batch_size=1) iterated here
    scaler: bool = False  # a GradScaler scales the loss in this loop
    optimizer_sites: tuple[Span, ...] = ()  # constructions of the optimizers stepped here
    reachable_from_main: bool = False
    framework: str = "torch"  # "tf": a GradientTape loop (tape.gradient, optimizer.apply_gradients)
    optimizer_clips: bool | None = False  # TF: the optimizer clips (clipnorm=...); None: unknown

    def of(self, *kinds: str) -> list[Event]:
        return [e for e in self.events if e.kind in kinds]


@dataclass
class Optimizer:
    cls: str  # class as written, e.g. "Adam"
    family: str  # "adam" | "sgd" | "other"
    framework: str  # "torch" | "keras" | "config"
    span: Span
    target: str  # variable it is bound to ("" if none)
    lr: tuple[float, Span] | None = None
    weight_decay: tuple[float, Span] | None = None
    decoupled: bool = False
    clips: bool = False  # Keras clipnorm/clipvalue/global_clipnorm
    lr_schedule: bool = False  # Keras learning_rate=<schedule object>


@dataclass
class FrameworkLoop:
    kind: str  # "lightning" | "d2l" | "hf" | "keras"
    span: Span  # the fit()/train() call (or the Trainer construction)
    clips: bool | None  # None when unknown
    models: list[Model] | None
    epochs: int | None = None
    scheduled: bool = False
    tracked: bool = False
    reachable_from_main: bool = False
    optimizer_site: Span | None = None  # Keras: the optimizer object given to compile()


@dataclass
class EvalLoop:
    span: Span  # the `with torch.no_grad()` (or the decorated function's loop)
    model: str  # the model expression as written
    models: list[Model]


@dataclass
class Penalty:
    span: Span  # the penalty term (coefficient * penalty)
    coefficient: float
    text: str


@dataclass
class TrainingFacts:
    path: str
    loops: list[Loop] = field(default_factory=list)
    optimizers: list[Optimizer] = field(default_factory=list)
    frameworks: list[FrameworkLoop] = field(default_factory=list)
    eval_loops: list[EvalLoop] = field(default_factory=list)
    penalties: list[Penalty] = field(default_factory=list)
    regularizers: list[Penalty] = field(default_factory=list)  # Keras kernel_regularizer=l2(c)
    early_schedulers: list[Event] = field(default_factory=list)  # scheduler.step() before the first optimizer step
    scheduled: bool = False  # some LR schedule exists in the file
    other_framework: bool = False  # the file imports mxnet/paddle/oneflow/jittor/mindspore (other grad semantics)
    seeded: bool = False
    tracked: bool = False

    def training_sites(self) -> list[tuple[Span, bool]]:
        """(first line of each training loop or framework fit, reachable from main), in order.
        A function that only does one step (a loss scaler's __call__) is not a loop of its own."""
        sites = [(loop.span, loop.reachable_from_main) for loop in self.loops if loop.kind != "function"]
        sites += [(fw.span, fw.reachable_from_main) for fw in self.frameworks]
        return sorted(sites, key=lambda s: (s[0].line, s[0].column))


# ---------------------------------------------------------------------------------------------
# Vocabulary

CLIP_NAMES = {"clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "clip_grads_with_norm_", "clip_gradients",
              "clip_grad", "dispatch_clip_grad", "clip_grad_norm_fp32", "clip_master_grads"}
ADAM_FAMILY = {"Adam", "AdamW", "NAdam", "RAdam", "Adamax", "Nadam", "SparseAdam", "AdamWeightDecay"}
DECOUPLED = {"AdamW", "AdamWeightDecay", "SGDW", "Lion", "LAMB", "Lamb", "Adafactor"}
COUPLED_L2 = {"SGD", "Adam", "Adagrad", "Adadelta", "Adamax", "RMSprop", "NAdam", "RAdam", "ASGD"}
TORCH_OPTIMIZERS = COUPLED_L2 | {"AdamW", "SparseAdam", "LBFGS", "Rprop", "Adafactor", "Muon"}
KERAS_OPTIMIZERS = {"Adam", "AdamW", "Nadam", "Adamax", "SGD", "RMSprop", "Adagrad", "Adadelta", "Ftrl", "Lion", "Adafactor"}
KERAS_RNN = {"LSTM": "rnn", "GRU": "rnn", "SimpleRNN": "rnn", "CuDNNLSTM": "rnn", "CuDNNGRU": "rnn", "RNN": "rnn",
             "LSTMCell": "rnn", "GRUCell": "rnn", "SimpleRNNCell": "rnn", "ConvLSTM2D": "rnn",
             "BatchNormalization": "batchnorm", "Dropout": "dropout", "SpatialDropout1D": "dropout",
             "SpatialDropout2D": "dropout"}
CONTAINERS = {"torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.ModuleDict", "torch.nn.DataParallel",
              "torch.nn.parallel.DistributedDataParallel", "torch.nn.parallel.DataParallel",
              "torch.compile", "collections.OrderedDict"}
# Constructors of well-known models and what they contain that behaves differently in training:
# torchvision's families as built by default (the first matching prefix wins; "droppath" is
# stochastic depth); timm.create_model builds any architecture, so its dropout/batch norm is assumed.
LIBRARY_MODELS = (
    (re.compile(r"^torchvision\.models\.(vgg\.)?vgg\d+_bn\b"), frozenset({"dropout", "batchnorm"})),
    (re.compile(r"^torchvision\.models\.(vgg|alexnet|squeezenet)"), frozenset({"dropout"})),
    (re.compile(r"^torchvision\.models\.(resnet|resnext|wide_resnet|densenet|shufflenet|regnet)"),
     frozenset({"batchnorm"})),
    (re.compile(r"^torchvision\.models\.(mobilenet|efficientnet|inception|googlenet|mnasnet)"),
     frozenset({"dropout", "batchnorm"})),
    (re.compile(r"^torchvision\.models\.convnext"), frozenset({"droppath"})),
    (re.compile(r"^timm\.(models\.)?create_model$"), frozenset({"dropout", "batchnorm", "assumed"})),
)


# Layers that behave differently in training and evaluation mode (NN307's question).
_MODE_DEPENDENT = frozenset({"dropout", "batchnorm", "droppath"})


def library_model_ops(qualified: str) -> frozenset[str] | None:
    return next((ops for pattern, ops in LIBRARY_MODELS if pattern.match(qualified)), None)


SEED_CALLS = re.compile(r"(manual_seed|seed_everything|set_seed|set_random_seed|random\.seed|seed_all|fix_seed|setup_seed|init_seed)")
TRACKERS = ("comet_ml", "wandb", "mlflow", "SummaryWriter", "aim", "neptune", "clearml", "tensorboardX",
            "torch.utils.tensorboard", "lightning.pytorch.loggers", "pytorch_lightning.loggers", "dvclive",
            "keras.callbacks.TensorBoard", "keras.callbacks.CSVLogger", "swanlab", "trackio", "tensorflow.summary")
SCHEDULE_NAMES = re.compile(r"(lr_scheduler|get_\w*schedule\w*|LearningRateScheduler|ReduceLROnPlateau|"
                            r"optimizers\.schedules|CosineDecay|ExponentialDecay|PiecewiseConstantDecay|"
                            r"PolynomialDecay|InverseTimeDecay|OneCycleLR|create_scheduler)")
NO_GRAD = {"torch.no_grad", "torch.inference_mode", "torch.set_grad_enabled", "torch.autograd.no_grad",
           "torch.autograd.grad_mode.no_grad"}
MAX_DEPTH = 6
# Packages whose classes are never project classes.
_LIBRARIES = {"torch", "keras", "tensorflow", "tf_keras", "transformers", "timm", "torchvision", "lightning",
              "pytorch_lightning", "numpy", "d2l", "jax", "flax", "sklearn", "collections", "typing",
              "functools", "dataclasses", "accelerate", "torchaudio", "torchtext"}


def _last(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


# ---------------------------------------------------------------------------------------------
# Scopes: the file's semantic index (nnlint.source.index)

def _scopes() -> tuple[type, ...]:
    return (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def _prune_scopes(node: cst.CSTNode) -> bool:
    return isinstance(node, _scopes())


# ---------------------------------------------------------------------------------------------
# The extractor


class _Extractor:
    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.imports = source.imports
        self.index = source.index
        self._class_ops: dict[str, frozenset[str] | None] = {}
        self._if_ids = 0
        self.calls_by_func = self.index.calls_by_func
        self.calls_by_attr = self.index.calls_by_attr

    # -- positions --------------------------------------------------------------------------
    def span(self, node: cst.CSTNode) -> Span:
        return self.source.span(node)

    def code(self, node: cst.CSTNode) -> str:
        return SourceFile.code(node)

    def qualify(self, node: cst.BaseExpression) -> str | None:
        return self.imports.resolve(node)

    # -- value resolution -------------------------------------------------------------------
    def definitions(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0,
                    seen: frozenset = frozenset()) -> list[tuple[cst.BaseExpression, Scope]] | None:
        """The expressions a name/attribute/parameter may hold (following assignments, self
        attributes and same-file call sites); None when any of them is unknown."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(expr, cst.Name):
            key = (id(scope), expr.value)
            if key in seen:
                return []
            seen = seen | {key}
            s: Scope | None = scope
            while s is not None:
                if expr.value in s.assigns:
                    out: list = []
                    for value in s.assigns[expr.value]:
                        if value is None:
                            return None
                        found = self.definitions(value, s, depth + 1, seen)
                        if found is None:
                            return None
                        out += found
                    return out
                if expr.value in s.params:
                    return self.argument_values(s, expr.value, depth + 1, seen)
                s = s.parent
            return [(expr, scope)] if self.qualify(expr) else None
        if (isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self"
                and scope.cls is not None):
            key = (id(scope.cls), expr.attr.value)
            if key in seen:
                return []
            seen = seen | {key}
            assigns = scope.cls.self_assigns.get(expr.attr.value)
            if not assigns:
                return None
            out = []
            for value, where in assigns:
                if value is None:
                    return None
                found = self.definitions(value, where, depth + 1, seen)
                if found is None:
                    return None
                out += found
            return out
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in (
                "to", "cuda", "cpu", "double", "float", "half", "train", "requires_grad_", "bfloat16"):
            return self.definitions(expr.func.value, scope, depth + 1, seen)
        return [(expr, scope)]

    def argument_values(self, scope: Scope, param: str, depth: int, seen: frozenset) -> list | None:
        """What same-file call sites pass for a parameter (None if not all are known)."""
        if scope.node is None or depth > MAX_DEPTH:
            return None
        position = scope.params.index(param)
        if scope.cls is not None:
            if scope.name == "__init__":
                sites = self.calls_by_func.get(scope.cls.name, [])
            else:
                sites = self.calls_by_attr.get(scope.name, [])
            position -= 1  # self
        else:
            sites = self.calls_by_func.get(scope.name, [])
        if not sites:
            default = scope.defaults.get(param)
            return self.definitions(default, scope, depth + 1, seen) if default is not None else None
        out: list = []
        for call, caller in sites:
            value = _bind_argument(call, param, position)
            if value is None:
                value = scope.defaults.get(param)
                if value is None or any(a.star for a in call.args):
                    return None
                found = self.definitions(value, scope, depth + 1, seen)
            else:
                found = self.definitions(value, caller, depth + 1, seen)
            if found is None:
                return None
            out += found
        return out

    def number(self, expr: cst.BaseExpression | None, scope: Scope) -> float | None:
        """A numeric value: a literal, simple arithmetic of literals, or a name bound to one."""
        if expr is None:
            return None
        value = literal(expr)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(expr, cst.BinaryOperation):
            left, right = self.number(expr.left, scope), self.number(expr.right, scope)
            if left is None or right is None:
                return None
            try:
                if isinstance(expr.operator, cst.Multiply):
                    return left * right
                if isinstance(expr.operator, cst.Divide):
                    return left / right
                if isinstance(expr.operator, cst.Power):
                    return float(left ** right)
            except (ZeroDivisionError, OverflowError):
                return None
            return None
        if isinstance(expr, (cst.Name, cst.Attribute)):
            defs = self.definitions(expr, scope)
            if not defs:
                return None
            values = {self.number(d, s) if not isinstance(d, (cst.Name, cst.Attribute)) else None for d, s in defs}
            if len(values) == 1:
                return values.pop()
        return None

    # -- models -------------------------------------------------------------------------------
    def models(self, expr: cst.BaseExpression, scope: Scope) -> list[Model] | None:
        defs = self.definitions(expr, scope)
        if not defs:
            return None
        out = []
        for value, where in defs:
            model = self.model_of(value, where, 0)
            if model is None:
                external = self.external_class(value)
                if external is None:
                    return None
                args = self._union([a.value for a in value.args], where, 1)
                model = Model(args, self.code(value)[:60], (), (external,))
            out.append(model)
        return out

    def external_class(self, expr: cst.BaseExpression) -> str | None:
        """`GRUNet(...)` / `models.GRUNet(...)` of an imported, non-library class: its dotted name."""
        if not isinstance(expr, cst.Call):
            return None
        name = dotted_name(expr.func)
        qual = self.qualify(expr.func)
        if not name or not qual or not _last(name)[:1].isupper():
            return None
        if qual.split(".")[0] in _LIBRARIES:
            return None
        return name

    def class_external(self, name: str, seen: frozenset = frozenset()) -> tuple[str, ...]:
        """Imported classes a same-file class builds in __init__ (transitively through same-file classes)."""
        if name in seen or name not in self.index.classes:
            return ()
        seen = seen | {name}
        info = self.index.classes[name]
        found: list[str] = []
        exprs = list(info.bases)
        has_other_methods = any(m != "__init__" for m in info.methods)
        for attr, values in info.self_assigns.items():
            if has_other_methods and attr not in info.used_attrs:
                continue
            exprs += [v for v, _ in values if v is not None]
        for expr in exprs:
            for call in [expr] if isinstance(expr, (cst.Name, cst.Attribute)) else _calls_in(expr):
                if isinstance(call, cst.Call):
                    ext = self.external_class(call)
                    if ext:
                        found.append(ext)
                    elif isinstance(call.func, cst.Name) and call.func.value in self.index.classes:
                        found += self.class_external(call.func.value, seen)
                elif isinstance(call, cst.Name) and call.value in self.index.classes:
                    found += self.class_external(call.value, seen)
                elif isinstance(call, (cst.Name, cst.Attribute)) and self.qualify(call) and \
                        (self.qualify(call) or "").split(".")[0] not in _LIBRARIES:
                    found.append(dotted_name(call) or "")
        return tuple(dict.fromkeys(f for f in found if f))

    def model_of(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> Model | None:
        ops = self.contents(expr, scope, depth)
        if ops is None:
            return None
        return Model(ops, self.code(expr)[:60], ())

    def contents(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> frozenset[str] | None:
        """Layer kinds an expression's module value contains (None: not a recognizable model)."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(expr, cst.Call):
            qual = self.qualify(expr.func)
            spec = layer_spec(qual)
            args = [a.value for a in expr.args]
            if spec is not None:
                return frozenset({spec.op})
            if qual and qual.startswith("keras.") and _last(qual) in KERAS_RNN:
                return frozenset({KERAS_RNN[_last(qual)]})
            if qual and library_model_ops(qual) is not None:
                return library_model_ops(qual)
            if qual in CONTAINERS:
                return self._union(args, scope, depth)
            if isinstance(expr.func, cst.Name) and expr.func.value in self.index.classes and not qual:
                own = self.class_contents(expr.func.value, depth + 1)
                if own is None:
                    return None
                extra = self._union(args, scope, depth, strict=False) or frozenset()
                return own | extra
            return None
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            return self._union([e.value for e in expr.elements], scope, depth)
        if isinstance(expr, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            return self.contents(expr.elt, scope, depth + 1)
        if isinstance(expr, cst.Dict):
            return self._union([e.value for e in expr.elements if isinstance(e, cst.DictElement)], scope, depth)
        if isinstance(expr, (cst.Name, cst.Attribute)):
            defs = self.definitions(expr, scope, depth + 1)
            if not defs:
                return None
            out: set[str] = set()
            for value, where in defs:
                if isinstance(value, (cst.Name, cst.Attribute)):
                    return None  # an imported name: not resolvable here
                got = self.contents(value, where, depth + 1)
                if got is None:
                    return None
                out |= got
            return frozenset(out)
        return None

    def _union(self, exprs: list, scope: Scope, depth: int, strict: bool = True) -> frozenset[str]:
        """Kinds found in any of the expressions (parts that do not resolve add nothing)."""
        out: set[str] = set()
        for e in exprs:
            if isinstance(e, cst.StarredElement):
                e = e.value
            out |= self.contents(e, scope, depth + 1) or frozenset()
        return frozenset(out)

    def class_contents(self, name: str, depth: int) -> frozenset[str] | None:
        if name in self._class_ops:
            return self._class_ops[name]
        self._class_ops[name] = frozenset()  # cycles
        info = self.index.classes[name]
        ops: set[str] = set()
        for base in info.bases:
            qual = self.qualify(base)
            spec = layer_spec(qual)
            if spec is not None:
                ops.add(spec.op)
            elif isinstance(base, cst.Name) and base.value in self.index.classes and not qual:
                ops |= self.class_contents(base.value, depth + 1) or frozenset()
        has_other_methods = any(m != "__init__" for m in info.methods)
        for attr, values in info.self_assigns.items():
            if has_other_methods and attr not in info.used_attrs:
                continue
            for value, where in values:
                if value is None:
                    continue
                got = self._module_calls(value, where, depth)
                ops |= got
        init = info.methods.get("__init__")
        if init is not None:
            # local containers built in __init__ (layers = [...]; self.net = nn.Sequential(*layers))
            for var, values in init.assigns.items():
                for value in values:
                    if value is not None:
                        ops |= self._module_calls(value, init, depth)
            for call, scope in self.index.calls:
                if scope is init and isinstance(call.func, cst.Attribute) and call.func.attr.value in (
                        "append", "extend", "add_module", "insert"):
                    ops |= self._module_calls(call, init, depth)
        result = frozenset(ops)
        self._class_ops[name] = result
        return result

    def _module_calls(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> set[str]:
        """Layer kinds of every module construction inside an expression."""
        ops: set[str] = set()
        for call in _calls_in(expr):
            qual = self.qualify(call.func)
            spec = layer_spec(qual)
            if spec is not None:
                ops.add(spec.op)
            elif qual and qual.startswith("keras.") and _last(qual) in KERAS_RNN:
                ops.add(KERAS_RNN[_last(qual)])
            elif isinstance(call.func, cst.Name) and call.func.value in self.index.classes and not qual:
                ops |= self.class_contents(call.func.value, depth + 1) or frozenset()
        if isinstance(expr, cst.Name):
            got = self.contents(expr, scope, depth + 1)
            ops |= got or frozenset()
        return ops


def _calls_in(node: cst.CSTNode) -> list[cst.Call]:
    """Every call inside a node, in source order (not inside nested defs or lambdas)."""
    return collect(node, lambda n: isinstance(n, cst.Call), _prune_scopes)


def _bind_argument(call: cst.Call, param: str, position: int) -> cst.BaseExpression | None:
    pos = 0
    for arg in call.args:
        if arg.keyword is not None:
            if arg.keyword.value == param:
                return arg.value
            continue
        if arg.star:
            return None
        if pos == position:
            return arg.value
        pos += 1
    return None


def keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def positional(call: cst.Call, index: int) -> cst.BaseExpression | None:
    pos = 0
    for arg in call.args:
        if arg.keyword is not None:
            continue
        if arg.star:
            return None
        if pos == index:
            return arg.value
        pos += 1
    return None


# ---------------------------------------------------------------------------------------------
# Loops


@dataclass
class _Raw:
    kind: str
    node: cst.CSTNode
    branch: tuple
    depth: int
    guarded: bool
    receiver: str = ""
    detail: str = ""
    stmt: cst.CSTNode | None = None  # the statement (or header expression) the call is in
    scope: Scope | None = None  # where the call runs (a helper's scope when inlined)


def _is_modulo_guard(test: cst.BaseExpression) -> bool:
    return any(isinstance(n, cst.BinaryOperation) and isinstance(n.operator, cst.Modulo) for n in walk(test))


def _mentions_grad(node: cst.CSTNode) -> bool:
    return ".grad" in SourceFile.code(node)


class _Walker:
    """Events of statements in execution order, inlining same-file helpers the code calls."""

    def __init__(self, ex: TrainingExtractor) -> None:
        self.ex = ex
        self.if_ids = 0
        self.current: cst.CSTNode | None = None

    def stmts(self, body: Iterable[cst.CSTNode], scope: Scope, branch: tuple, depth: int, guarded: bool,
              out: list[_Raw], inline_depth: int = 0) -> None:
        for stmt in body:
            self.stmt(stmt, scope, branch, depth, guarded, out, inline_depth)

    def _block(self, block: cst.BaseSuite) -> Iterable[cst.CSTNode]:
        return block.body if isinstance(block, cst.IndentedBlock) else [block]

    def stmt(self, stmt: cst.CSTNode, scope: Scope, branch: tuple, depth: int, guarded: bool, out: list[_Raw],
             inline_depth: int) -> None:
        if isinstance(stmt, cst.SimpleStatementLine) or isinstance(stmt, cst.SimpleStatementSuite):
            for small in stmt.body:
                self.expr_events(small, scope, branch, depth, guarded, out, inline_depth)
                if isinstance(small, cst.Assign):
                    for t in small.targets:
                        if (isinstance(t.target, cst.Attribute) and t.target.attr.value == "grad"
                                and isinstance(small.value, cst.Name) and small.value.value == "None"):
                            out.append(_Raw("zero_grad", small, branch, depth, guarded, SourceFile.code(t.target.value)))
        elif isinstance(stmt, cst.If):
            self.if_ids += 1
            ident = self.if_ids
            self.expr_events(stmt.test, scope, branch, depth, guarded, out, inline_depth)
            inner_guard = guarded or _is_modulo_guard(stmt.test)
            self.stmts(self._block(stmt.body), scope, branch + ((ident, 0),), depth, inner_guard, out, inline_depth)
            if stmt.orelse is not None:
                other = stmt.orelse
                if isinstance(other, cst.If):
                    self.stmt(other, scope, branch + ((ident, 1),), depth, guarded, out, inline_depth)
                else:
                    self.stmts(self._block(other.body), scope, branch + ((ident, 1),), depth, guarded, out, inline_depth)
        elif isinstance(stmt, (cst.For, cst.While)):
            header = stmt.iter if isinstance(stmt, cst.For) else stmt.test
            self.expr_events(header, scope, branch, depth, guarded, out, inline_depth)
            self.stmts(self._block(stmt.body), scope, branch, depth + 1, guarded, out, inline_depth)
            if stmt.orelse is not None:
                self.stmts(self._block(stmt.orelse.body), scope, branch, depth, guarded, out, inline_depth)
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                self.expr_events(item.item, scope, branch, depth, guarded, out, inline_depth)
            self.stmts(self._block(stmt.body), scope, branch, depth, guarded, out, inline_depth)
        elif isinstance(stmt, cst.Try) or isinstance(stmt, getattr(cst, "TryStar", cst.Try)):
            self.if_ids += 1
            ident = self.if_ids
            self.stmts(self._block(stmt.body), scope, branch, depth, guarded, out, inline_depth)
            for k, handler in enumerate(stmt.handlers):
                self.stmts(self._block(handler.body), scope, branch + ((ident, k + 1),), depth, guarded, out, inline_depth)
            if stmt.orelse is not None:
                self.stmts(self._block(stmt.orelse.body), scope, branch, depth, guarded, out, inline_depth)
            if stmt.finalbody is not None:
                self.stmts(self._block(stmt.finalbody.body), scope, branch, depth, guarded, out, inline_depth)
        # nested defs and classes do not run here; match statements are left alone

    def expr_events(self, node: cst.CSTNode, scope: Scope, branch: tuple, depth: int, guarded: bool,
                    out: list[_Raw], inline_depth: int) -> None:
        for call in _calls_in(node):
            self.current = node
            self.call_event(call, scope, branch, depth, guarded, out, inline_depth)

    def call_event(self, call: cst.Call, scope: Scope, branch: tuple, depth: int, guarded: bool,
                   out: list[_Raw], inline_depth: int) -> None:
        ex = self.ex
        func = call.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        receiver = SourceFile.code(func.value) if isinstance(func, cst.Attribute) else ""
        add = lambda kind, recv="", detail="": out.append(  # noqa: E731
            _Raw(kind, call, branch, depth, guarded, recv, detail, self.current, scope))
        if name == "gradient" and isinstance(func, cst.Attribute) and ex.keras.is_tape(func.value, scope):
            add("backward", receiver, "tape")  # TF2: tape.gradient(loss, variables)
        elif name == "apply_gradients" and isinstance(func, cst.Attribute):
            add("step", receiver, "apply_gradients")
        elif name == "apply" and isinstance(func, cst.Attribute) and ex.is_optimizer(func.value, scope) \
                and "GradientTape" in ex.source.text:
            add("step", receiver, "apply_gradients")  # Keras 3: optimizer.apply(grads, variables)
        elif name == "backward":
            add("backward", receiver, "distributed" if ex.qualify(func) == "torch.distributed.autograd.backward" else "")
        elif name in ("zero_grad", "clear_grad", "clear_gradients"):
            add("zero_grad", receiver)
        elif name in ("zero_", "detach_") and receiver.endswith((".grad", ".grad.data")):
            add("zero_grad", receiver)
        elif name in CLIP_NAMES or "clip_grad" in name:
            add("clip", "", name)
        elif name in ("clamp_", "clamp", "clip_", "clip") and _mentions_grad(func):
            add("clip", "", name)
        elif "clip" in name.lower() and name not in ("clamp_", "clamp", "clip_", "clip"):
            tf = name in TF_CLIPS and (ex.qualify(func) or "").startswith("tensorflow.")
            add("clip", "", ("helper:tf." if tf else "helper:") + name)  # grad_clipping(net, 1), clip_by_global_norm: counts for NN301 only
            if inline_depth < 3:
                self.inline(func, scope, branch, depth, guarded, out, inline_depth)
        elif name == "unscale_":
            add("unscale", SourceFile.code(call.args[0].value) if call.args else "")
        elif name == "step" and isinstance(func, cst.Attribute):
            if "scaler" in receiver.lower() and call.args:
                add("step", SourceFile.code(call.args[0].value))
            elif ex.is_scheduler(func.value, scope):
                add("sched_step", receiver, "args" if call.args else ex.scheduler_class(func.value, scope))
            elif ex.is_optimizer(func.value, scope):
                if call.args and inline_depth < 3:
                    self.inline(call.args[0].value, scope, branch, depth, guarded, out, inline_depth)
                add("step", receiver)
        elif inline_depth < 3:
            self.inline(func, scope, branch, depth, guarded, out, inline_depth)

    def inline(self, func: cst.BaseExpression, scope: Scope, branch: tuple, depth: int, guarded: bool,
               out: list[_Raw], inline_depth: int) -> None:
        target = self.ex.helper(func, scope)
        if target is not None and target.node is not None:
            self.stmts(self._block(target.node.body), target, branch, depth, guarded, out, inline_depth + 1)


class TrainingExtractor(_Extractor):
    @property
    def keras(self) -> KerasTraining:
        """Keras model contents and TF clipping (nnlint.source.tf_training)."""
        found = self.__dict__.get("_keras")
        if found is None:
            found = self.__dict__["_keras"] = KerasTraining(self)
        return found

    def helper(self, func: cst.BaseExpression, scope: Scope) -> Scope | None:
        """The same-file function a call runs (a module function, nested def or self method)."""
        if isinstance(func, cst.Name):
            s: Scope | None = scope
            while s is not None:
                if func.value in s.assigns:
                    return None
                s = s.parent
            for cand in self.index.functions.get(func.value, []):
                if cand.cls is None and (cand.parent is scope or cand.parent is self.index.module
                                         or cand.parent is scope.parent):
                    return cand
            return None
        if (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self"
                and scope.cls is not None):
            return scope.cls.methods.get(func.attr.value)
        return None

    def _constructor(self, expr: cst.BaseExpression, scope: Scope) -> list[str]:
        defs = self.definitions(expr, scope) or []
        out = []
        for value, _ in defs:
            if isinstance(value, cst.Call):
                out.append(self.qualify(value.func) or dotted_name(value.func) or "")
        return out

    def is_scheduler(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        text = SourceFile.code(expr).lower()
        if "sched" in _last(text):
            return True
        return any(SCHEDULE_NAMES.search(q) for q in self._constructor(expr, scope))

    def scheduler_class(self, expr: cst.BaseExpression, scope: Scope) -> str:
        names = self._constructor(expr, scope)
        return _last(names[0]) if len(names) == 1 else ""

    def is_optimizer(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        last = _last(SourceFile.code(expr)).lower()
        if "opt" in last and "sched" not in last:
            return True
        return any(_optimizer_class(q) for q in self._constructor(expr, scope))

    # -- the model an optimizer trains --------------------------------------------------------
    def optimized_models(self, receiver: cst.BaseExpression, scope: Scope) -> list[Model] | None:
        defs = self.definitions(receiver, scope)
        if not defs:
            return None
        out: list[Model] = []
        for value, where in defs:
            if not isinstance(value, cst.Call):
                return None
            params = positional(value, 0) or keyword(value, "params")
            if params is None:
                return None
            owners = [c.func.value for c in _calls_in(params)
                      if isinstance(c.func, cst.Attribute) and c.func.attr.value in ("parameters", "named_parameters")]
            if isinstance(params, (cst.Name, cst.Attribute)) and not owners:
                for pv, pw in self.definitions(params, where) or []:
                    owners += [c.func.value for c in _calls_in(pv)
                               if isinstance(c.func, cst.Attribute) and c.func.attr.value in ("parameters", "named_parameters")]
                    where = pw
            if len({SourceFile.code(o) for o in owners}) != 1:
                return None
            got = self.models(owners[0], where)
            if got is None:
                return None
            out += got
        return out


def _optimizer_class(qualified: str) -> str | None:
    last = _last(qualified)
    if qualified.startswith("torch.optim.") and last in TORCH_OPTIMIZERS:
        return last
    if qualified.startswith("keras.optimizers.") and last in KERAS_OPTIMIZERS:
        return last
    if qualified in ("transformers.AdamW", "transformers.optimization.AdamW", "transformers.Adafactor"):
        return last
    return None


def _family(cls: str) -> str:
    if cls in ("Adam", "AdamW", "NAdam", "RAdam", "Adamax", "Nadam"):
        return "adam"
    if cls == "SGD":
        return "sgd"
    return "other"


# ---------------------------------------------------------------------------------------------
# Building the facts


def training_facts(source: SourceFile) -> TrainingFacts:
    """The training facts of one file (computed once per SourceFile, shared by the rules)."""
    cached = source.__dict__.get("_training_facts")
    if cached is None:
        cached = _Build(source).facts
        source.__dict__["_training_facts"] = cached
    return cached


class _Build:
    def __init__(self, source: SourceFile) -> None:
        self.ex = TrainingExtractor(source)
        source.__dict__["_training_extractor"] = self.ex
        self.facts = TrainingFacts(source.path)
        ex = self.ex
        text = source.text
        self._reachable: set[str] | None = None
        # each part runs only when the text can hold what it looks for
        if any(m in text for m in ("optim", "Adam", "SGD", "RMSprop", "Adagrad", "Adadelta", "dict(")):
            self._optimizers()
        if ("backward" in text and "step(" in text) or "apply_gradients" in text or (
                "GradientTape" in text and ".apply(" in text):
            self._loops()
        if ".fit(" in text or ".train(" in text or "fit_generator(" in text or "train_on_batch(" in text:
            self._frameworks()
        if any(m in text for m in ("no_grad", "inference_mode", "set_grad_enabled")):
            self._eval_loops()
        if ("parameters()" in text and _NORM_LIKE.search(text)) or "regularizers" in text:
            self._penalties()
        if self.facts.loops or self.facts.frameworks:
            self._file_flags()

    # -- file-level flags ---------------------------------------------------------------------
    def _file_flags(self) -> None:
        ex, facts = self.ex, self.facts
        names: list[str] = []
        for call, _ in ex.index.calls:
            names.append(ex.qualify(call.func) or dotted_name(call.func) or "")
            for arg in call.args:
                if arg.keyword is None:
                    continue
                kw = arg.keyword.value
                value = literal(arg.value)
                if kw == "logger" and value is not False and value is not None:
                    facts.tracked = True
                if kw == "report_to" and value not in ("none", None) and not (isinstance(arg.value, (cst.List, cst.Tuple)) and not arg.value.elements):
                    facts.tracked = True
        imported = ex.index.imported_modules()
        roots = {name.split(".")[0] for name in imported}
        facts.other_framework = bool(roots & {"mxnet", "paddle", "oneflow", "jittor", "mindspore", "chainer"})
        for name in names + imported:
            if SEED_CALLS.search(_last(name)) or SEED_CALLS.search(name):
                facts.seeded = True
            if any(name == t or name.startswith(t + ".") or _last(name) == t for t in TRACKERS):
                facts.tracked = True
            if SCHEDULE_NAMES.search(name):
                facts.scheduled = True
        # manual learning-rate updates: param_group["lr"] = ...
        if re.search(r"\[\s*['\"]lr['\"]\s*\]\s*[-+*/]?=[^=]", _code_only(ex.source.text)):
            facts.scheduled = True

    @property
    def reachable(self) -> set[str]:
        if self._reachable is None:
            self._reachable = self._reachable_from_main()
        return self._reachable

    def _reachable_from_main(self) -> set[str]:
        """Qualified names of functions reachable from `if __name__ == "__main__":` or a main()
        through same-file calls ("" stands for the main block itself)."""
        ex = self.ex
        guarded = set()
        for stmt in ex.source.module.body:
            if isinstance(stmt, cst.If) and "__name__" in SourceFile.code(stmt.test):
                guarded |= {id(c) for c in _calls_in(stmt)}
        calls: dict[str, set[str]] = {}
        for call, scope in ex.index.calls:
            if scope.node is None and id(call) not in guarded:
                continue
            targets: list[Scope] = []
            helper = ex.helper(call.func, scope)
            if helper is not None:
                targets.append(helper)
            elif isinstance(call.func, cst.Name) and call.func.value in ex.index.classes:
                targets += ex.index.classes[call.func.value].methods.values()
            for t in targets:
                calls.setdefault(scope.qualname, set()).add(t.qualname)
        roots = {""} | {s.qualname for ss in ex.index.functions.values() for s in ss if s.name == "main"}
        seen: set[str] = set()
        todo = list(roots)
        while todo:
            q = todo.pop()
            if q in seen:
                continue
            seen.add(q)
            todo += calls.get(q, ())
        return seen

    # -- optimizers ---------------------------------------------------------------------------
    def _optimizers(self) -> None:
        ex = self.ex
        for call, scope in ex.index.calls:
            qual = ex.qualify(call.func)
            cls = _optimizer_class(qual) if qual else None
            framework = "keras" if qual and qual.startswith("keras.") else "torch"
            if cls is None and isinstance(call.func, cst.Name) and call.func.value == "dict" and not qual:
                kind = literal(keyword(call, "type"))
                if isinstance(kind, str) and (kind in COUPLED_L2 or kind in ADAM_FAMILY or kind in DECOUPLED):
                    cls, framework = kind, "config"
            if cls is None:
                continue
            if framework == "keras":
                lr_expr = keyword(call, "learning_rate") or keyword(call, "lr") or positional(call, 0)
            elif framework == "config":
                lr_expr = keyword(call, "lr")
            else:
                lr_expr = keyword(call, "lr") or positional(call, 1)
            wd_expr = keyword(call, "weight_decay")
            if wd_expr is None and framework == "torch" and cls in ("SGD",):
                wd_expr = positional(call, 4)
            opt = Optimizer(cls, _family(cls), framework, ex.span(call), _assigned_name(call, ex))
            lr = ex.number(lr_expr, scope) if lr_expr is not None else None
            if lr is not None:
                opt.lr = (lr, ex.span(lr_expr))
            elif lr_expr is not None and isinstance(lr_expr, cst.Call):
                opt.lr_schedule = True
            wd = ex.number(wd_expr, scope) if wd_expr is not None else None
            if wd is not None:
                opt.weight_decay = (wd, ex.span(wd_expr))
            decoupled = keyword(call, "decoupled_weight_decay") or keyword(call, "decoupled")
            opt.decoupled = cls in DECOUPLED or (decoupled is not None and literal(decoupled) is not False)
            opt.clips = any(keyword(call, k) is not None and literal(keyword(call, k)) is not None
                            for k in ("clipnorm", "clipvalue", "global_clipnorm"))
            self.facts.optimizers.append(opt)

    # -- training loops -----------------------------------------------------------------------
    def _loops(self) -> None:
        ex = self.ex
        walker = _Walker(ex)
        scopes = [ex.index.module] + [s for ss in ex.index.functions.values() for s in ss]
        units: list[tuple[cst.CSTNode, Scope, list[_Raw], bool]] = []
        for scope in scopes:
            body = ex.source.module.body if scope.node is None else walker._block(scope.node.body)
            loops = [(loop, nested) for loop, nested in _loops_in(body)]
            for loop, nested in loops:
                raw: list[_Raw] = []
                walker.stmts(walker._block(loop.body), scope, (), 0, False, raw)
                kinds = {r.kind for r in raw}
                if "backward" in kinds and "step" in kinds:
                    units.append((loop, scope, raw, nested))
            top: list[_Raw] = []
            if scope.node is not None:
                walker.stmts(body, scope, (), 0, False, top)
                shallow = {r.kind for r in top if r.depth == 0}
                if "backward" in shallow and "step" in shallow:
                    units.append((scope.node, scope, [r for r in top if r.depth == 0], False))
        # keep the innermost training loops: drop a loop that contains another unit's loop
        inner_nodes = {id(u[0]) for u in units}
        kept = []
        for node, scope, raw, nested in units:
            if isinstance(node, (cst.For, cst.While)) and any(
                    id(n) in inner_nodes and n is not node for n, _ in _loops_in(walker._block(node.body))):
                continue
            kept.append((node, scope, raw, nested))
        for node, scope, raw, nested in kept:
            self.facts.loops.append(self._loop(node, scope, raw, nested))
        # scheduler.step() before the first optimizer step of an iteration, in the training loop
        # itself or in an outer (epoch) loop that steps the scheduler before its inner loop runs
        seen: set[tuple[int, int]] = set()
        for node, scope, raw, nested in units:
            steps = [i for i, r in enumerate(raw) if r.kind == "step"]
            if not steps:
                continue
            for i, r in enumerate(raw[:steps[0]]):
                if r.kind != "sched_step" or r.detail in ("args", "ReduceLROnPlateau") or "plateau" in r.receiver.lower():
                    continue
                event = Event(r.kind, ex.span(r.node), i, r.branch, r.receiver, r.depth, r.guarded, r.detail)
                later = [raw[j] for j in steps]
                if all(_exclusive(r, s) for s in later) or (event.span.line, event.span.column) in seen:
                    continue
                seen.add((event.span.line, event.span.column))
                self.facts.early_schedulers.append(event)

    def _loop(self, node: cst.CSTNode, scope: Scope, raw: list[_Raw], nested: bool) -> Loop:
        ex = self.ex
        events = []
        for i, r in enumerate(raw):
            events.append(Event(r.kind, ex.span(r.node), i, r.branch, r.receiver, r.depth, r.guarded, r.detail))
        if isinstance(node, cst.FunctionDef):
            kind, span = "function", ex.span(node.name)
        else:
            kind = "for" if isinstance(node, cst.For) else "while"
            span = _keyword_span(ex.span(node), kind)
        receivers = tuple(dict.fromkeys(r.receiver for r in raw if r.kind == "step"))
        steps = [r for r in raw if r.kind == "step"]
        if steps and all(r.detail == "apply_gradients" for r in steps):
            return self._tape_loop(kind, span, scope, raw, nested, receivers)
        models = self._trained_models(receivers, scope, node)
        loop = Loop(kind, span, scope.qualname, events, nested, models, receivers)
        loop.scaler = any(r.kind == "backward" and "scale(" in r.receiver for r in raw) or any(r.kind == "unscale" for r in raw) \
            or any("scaler" in r.receiver.lower() for r in raw if r.kind == "step")
        sites = []
        for receiver in receivers:
            try:
                expr = cst.parse_expression(receiver)
            except Exception:  # noqa: BLE001
                continue
            for value, _ in ex.definitions(expr, scope) or []:
                if isinstance(value, cst.Call) and _optimizer_class(ex.qualify(value.func) or ""):
                    sites.append(ex.span(value))
        loop.optimizer_sites = tuple(sites)
        loop.reachable_from_main = scope.qualname in self.reachable or scope.node is None
        if isinstance(node, cst.For):
            loader = _strip_wrappers(node.iter)
            for value, where in ex.definitions(loader, scope) or []:
                if isinstance(value, cst.Call) and _last(ex.qualify(value.func) or "") == "DataLoader":
                    bs = keyword(value, "batch_size") or positional(value, 1)
                    if bs is not None and ex.number(bs, where) == 1:
                        loop.loader_batch_size = (1, ex.span(value))
        return loop

    def _tape_loop(self, kind: str, span: Span, scope: Scope, raw: list[_Raw], nested: bool,
                   receivers: tuple[str, ...]) -> Loop:
        """A TF2 GradientTape loop: the model is the owner of the variables differentiated and
        applied; a tf.clip_by_* counts when it acts on what tape.gradient returned; the
        optimizer may clip itself. No zero_grad (TF does not accumulate gradients), no schedule
        or DataLoader facts."""
        ex, keras = self.ex, self.ex.keras
        grads: dict[int, set[str]] = {}  # what tape.gradient bound, per scope (a helper inlined has its own)
        for r in raw:
            if r.kind == "backward":
                grads.setdefault(id(r.scope), set()).update(gradient_names(r.stmt))
        kept = [r for r in raw if r.kind != "clip" or not r.detail.startswith("helper:tf.")
                or not grads.get(id(r.scope)) or mentions(r.stmt, grads[id(r.scope)])]
        events = [Event(r.kind, ex.span(r.node), i, r.branch, r.receiver, r.depth, r.guarded, r.detail)
                  for i, r in enumerate(kept)]
        ops: set[str] = set()
        labels: list[str] = []
        external: list[str] = []
        resolved = False
        for r in raw:
            if r.kind not in ("step", "backward") or r.scope is None or not isinstance(r.node, cst.Call):
                continue
            args = [a.value for a in r.node.args][1 if r.kind == "backward" else 0:]
            for owner, where in keras.owners(args, r.scope):
                alternatives = keras.models(owner, where)
                if not alternatives:
                    continue
                resolved = True
                ops |= frozenset.intersection(*(m.ops for m in alternatives))
                labels.append(alternatives[0].label if isinstance(owner, cst.Name) and owner.value == "self"
                              else SourceFile.code(owner))
                if len(alternatives) == 1:
                    external += alternatives[0].external
        models = [Model(frozenset(ops), labels[0], (), tuple(dict.fromkeys(external)))] if resolved else None
        loop = Loop(kind, span, scope.qualname, events, nested, models, receivers, framework="tf")
        clips: list[bool | None] = []
        for r in raw:
            if r.kind == "step" and isinstance(r.node, cst.Call) and isinstance(r.node.func, cst.Attribute):
                clips.append(keras.step_clips(r.node.func.value, r.scope or scope))
        loop.optimizer_clips = None if not clips or None in clips else any(clips)
        loop.reachable_from_main = scope.qualname in self.reachable or scope.node is None
        return loop

    def _trained_models(self, receivers: tuple[str, ...], scope: Scope, node: cst.CSTNode) -> list[Model] | None:
        """The models whose parameters the stepped optimizers hold. With several optimizers
        (encoder/decoder) the loop trains all of them: one Model with the layer kinds every
        alternative of each resolved optimizer's model has (unresolved optimizers add nothing)."""
        ex = self.ex
        per_receiver: list[list[Model]] = []
        for receiver in receivers:
            try:
                expr = cst.parse_expression(receiver)
            except Exception:  # noqa: BLE001
                continue
            got = ex.optimized_models(expr, scope)
            if got:
                per_receiver.append(got)
        if not per_receiver:
            return None
        if len(receivers) == 1:
            return per_receiver[0]
        ops: set[str] = set()
        external: list[str] = []
        for alternatives in per_receiver:
            if len(alternatives) == 1:
                external += alternatives[0].external
            common = frozenset.intersection(*(m.ops for m in alternatives))
            ops |= common
        return [Model(frozenset(ops), per_receiver[0][0].label, (), tuple(dict.fromkeys(external)))]

    # -- framework loops ----------------------------------------------------------------------
    def _frameworks(self) -> None:
        ex = self.ex
        clip_in_file = any(isinstance(c.func, (cst.Name, cst.Attribute)) and (
            "clip_grad" in (_last(dotted_name(c.func) or "")) or _last(dotted_name(c.func) or "") in CLIP_NAMES)
            for c, _ in ex.index.calls)
        for call, scope in ex.index.calls:
            if not isinstance(call.func, cst.Attribute) or call.func.attr.value not in ("fit", "train", *KERAS_FITS):
                continue
            method = call.func.attr.value
            for value, where in ex.definitions(call.func.value, scope) or []:
                if not isinstance(value, cst.Call):
                    continue
                qual = ex.qualify(value.func) or ""
                root = qual.split(".")[0]
                fw = None
                if _last(qual) == "Trainer" and root in ("lightning", "pytorch_lightning") and method == "fit":
                    fw = FrameworkLoop("lightning", ex.span(call), None, None)
                    fw.clips = self._trainer_clips(value, where) or clip_in_file
                elif _last(qual) == "Trainer" and root == "d2l" and method == "fit":
                    fw = FrameworkLoop("d2l", ex.span(call), None, None)
                    fw.clips = self._trainer_clips(value, where)
                elif root in ("transformers", "trl") and _last(qual).endswith("Trainer") and method == "train":
                    fw = FrameworkLoop("hf", ex.span(call), True, None, scheduled=True)
                    args = keyword(value, "args") or positional(value, 1)
                    if args is not None:
                        for av, aw in ex.definitions(args, where) or []:
                            if isinstance(av, cst.Call) and _last(ex.qualify(av.func) or "").endswith("TrainingArguments"):
                                if any(a.star for a in av.args):
                                    fw.clips = None
                                elif ex.number(keyword(av, "max_grad_norm"), aw) == 0:
                                    fw.clips = False
                    model = keyword(value, "model") or positional(value, 0)
                    if model is not None:
                        fw.models = ex.models(model, where)
                elif method in KERAS_FITS and (models := self._keras_model(call, value, where, scope)):
                    self._keras_optimizer = None
                    fw = FrameworkLoop("keras", ex.span(call), self._keras_clips(call.func.value, scope, call), None)
                    if self._keras_optimizer is not None:
                        fw.optimizer_site = ex.span(self._keras_optimizer)
                        lr = keyword(self._keras_optimizer, "learning_rate") or positional(self._keras_optimizer, 0)
                        fw.scheduled = isinstance(lr, (cst.Call, cst.Name, cst.Attribute))
                    fw.models = models
                    if self._custom_train_step(value):
                        fw.clips = None  # fit runs the class's own train_step: its loop decides
                    epochs = ex.number(keyword(call, "epochs"), scope)
                    fw.epochs = int(epochs) if epochs is not None else None
                if fw is None:
                    continue
                if fw.kind in ("lightning", "d2l"):
                    model = keyword(call, "model") or positional(call, 0)
                    fw.models = ex.models(model, scope) if model is not None else None
                    epochs = ex.number(keyword(value, "max_epochs"), where)
                    fw.epochs = int(epochs) if epochs is not None else None
                fw.reachable_from_main = scope.qualname in self.reachable or scope.node is None
                self.facts.frameworks.append(fw)
                break

    def _trainer_clips(self, trainer: cst.Call, scope: Scope) -> bool | None:
        if any(a.star for a in trainer.args):
            return None
        value = keyword(trainer, "gradient_clip_val")
        if value is None:
            return False
        number = self.ex.number(value, scope)
        return number is None or number > 0

    def _keras_clips(self, model: cst.BaseExpression, scope: Scope, fit: cst.Call | None = None) -> bool | None:
        """Whether the optimizer compile() gives the model clips: the last compile of the same
        variable before the fit in its scope (else the first compile of that name in the file)."""
        ex = self.ex
        text = SourceFile.code(model)
        compiles = [(c, where) for c, where in ex.calls_by_attr.get("compile", []) if SourceFile.code(c.func.value) == text]
        if fit is not None:
            at = ex.span(fit)
            before = [(c, w) for c, w in compiles if w is scope and ex.span(c) < at]
            compiles = before[-1:] or compiles
        for call in compiles:
            c, where = call
            opt = keyword(c, "optimizer") or positional(c, 0)
            if opt is None or isinstance(opt, cst.SimpleString):
                return False
            for value, _ in ex.definitions(opt, where) or []:
                if isinstance(value, cst.SimpleString):
                    return False
                if isinstance(value, cst.Call) and ex.qualify(value.func) and _optimizer_class(ex.qualify(value.func) or ""):
                    self._keras_optimizer = value
                    return any(keyword(value, k) is not None for k in ("clipnorm", "clipvalue", "global_clipnorm"))
            return None
        return None

    def _keras_model(self, fit: cst.Call, value: cst.Call, where: Scope, scope: Scope) -> list[Model] | None:
        """The Keras model `fit` trains when `value` builds one: a keras Sequential/Model, or a
        same-file class/function or an imported project class whose instance is compiled with
        an optimizer (compile() is what makes it a Keras model)."""
        ex = self.ex
        if isinstance(fit.func.value, cst.Name):
            latest = ex.keras._bound(fit.func.value, scope)
            if latest and all(v is not value for v, _ in latest):
                return None  # another model bound to the same name before this fit
        qual = ex.qualify(value.func) or ""
        label = SourceFile.code(fit.func.value)
        if qual.startswith("keras.") and _last(qual) in ("Sequential", "Model"):
            return [Model(ex.keras.ops(value, where) or frozenset(), label)]
        if not self._compiled(fit.func.value, scope):
            return None
        ops = ex.keras.ops(value, where)
        if ops is not None:
            return [Model(ops, label)]
        external = ex.external_class(value)
        return [Model(frozenset(), label, (), (external,))] if external else None

    def _custom_train_step(self, value: cst.Call, seen: frozenset = frozenset()) -> bool:
        """A same-file model class (or a same-file base of it) that overrides train_step."""
        classes = self.ex.index.classes
        name = value.func.value if isinstance(value.func, cst.Name) else None
        todo = [name] if name in classes else []
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen = seen | {current}
            info = classes[current]
            if "train_step" in info.methods:
                return True
            todo += [b.value for b in info.bases if isinstance(b, cst.Name) and b.value in classes]
        return False

    def _compiled(self, model: cst.BaseExpression, scope: Scope) -> bool:
        text = SourceFile.code(model)
        return any(SourceFile.code(c.func.value) == text and (keyword(c, "optimizer") or positional(c, 0)) is not None
                   for c, _ in self.ex.calls_by_attr.get("compile", []))

    # -- evaluation loops ---------------------------------------------------------------------
    def _eval_loops(self) -> None:
        ex = self.ex
        for node, scope in ex.index.with_items:
            if not any(self._no_grad(item.item) for item in node.items):
                continue
            loops = [loop for loop, _ in _loops_in(node.body.body if isinstance(node.body, cst.IndentedBlock) else [])]
            self._eval_candidate(node, loops, scope, None)
        for scopes in ex.index.functions.values():
            for scope in scopes:
                if any(d in NO_GRAD for d in scope.decorators):
                    for loop, nested in _loops_in(scope.node.body.body if isinstance(scope.node.body, cst.IndentedBlock) else []):
                        if not nested:
                            kind = "for" if isinstance(loop, cst.For) else "while"
                            self._eval_candidate(loop, [loop], scope, kind)

    def _no_grad(self, item: cst.BaseExpression) -> bool:
        if not isinstance(item, cst.Call):
            return False
        qual = self.ex.qualify(item.func) or ""
        if qual == "torch.set_grad_enabled":
            return literal(positional(item, 0)) is False
        return qual in NO_GRAD

    def _eval_candidate(self, site: cst.CSTNode, loops: list, scope: Scope, kind: str | None) -> None:
        ex = self.ex
        if not loops:
            return
        for loop in loops:
            calls = _calls_in(loop)
            if any(isinstance(c.func, cst.Attribute) and c.func.attr.value in ("backward", "step") for c in calls):
                return
        if not isinstance(loops[0], cst.For):
            return
        model_calls = []
        for loop in loops:
            for c in _calls_in(loop):
                if isinstance(c.func, cst.Name) or (isinstance(c.func, cst.Attribute) and isinstance(c.func.value, cst.Name)
                                                    and c.func.value.value == "self"):
                    if isinstance(c.func, cst.Name) and (c.func.value in ex.index.functions or ex.qualify(c.func)):
                        continue
                    models = ex.models(c.func, scope)
                    if models and all(m.ops & _MODE_DEPENDENT or m.external for m in models):
                        model_calls.append((c, models))
        if not model_calls:
            return
        exprs = {SourceFile.code(c.func) for c, _ in model_calls}
        if len(exprs) != 1:
            return
        if self._mode_set_before(site, scope):
            return
        call, models = model_calls[0]
        span = ex.span(site) if kind is None else _keyword_span(ex.span(site), kind)
        self.facts.eval_loops.append(EvalLoop(span, SourceFile.code(call.func), models))

    def _mode_set_before(self, site: cst.CSTNode, scope: Scope, top: bool = True, depth: int = 0) -> bool:
        """A .eval()/.train(...) call earlier in the same function, or in every same-file caller
        before it calls this function (no caller in the file: unknown, counts as set)."""
        ex = self.ex
        where = ex.span(site)
        for call, s in ex.index.calls:
            if s is scope and isinstance(call.func, cst.Attribute) and call.func.attr.value in ("eval", "train"):
                # in the loop's own function a train() is a deliberate train-mode pass; in a caller
                # only eval()/train(False) switches the model for this loop
                if call.func.attr.value == "train" and not top and literal(positional(call, 0)) is not False:
                    continue
                if ex.span(call) < where:
                    return True
        if scope.node is None:
            return False
        if scope.cls is not None:
            sites = ex.calls_by_attr.get(scope.name, [])
        else:
            sites = ex.calls_by_func.get(scope.name, [])
        if not sites or depth > MAX_DEPTH:
            return top or depth > MAX_DEPTH  # nobody in this file calls the loop's function: unknown
        for call, caller in sites:
            if caller is scope or self._mode_set_before(call, caller, False, depth + 1):
                return True
        return False

    # -- penalties ----------------------------------------------------------------------------
    def _penalties(self) -> None:
        ex = self.ex
        _PenaltyFinder(self)
        for call, scope in ex.index.calls:
            qual = ex.qualify(call.func) or ""
            if not qual.startswith("keras.regularizers.") or _last(qual).lower() not in ("l1", "l2", "l1_l2", "l1l2"):
                continue
            values = [ex.number(a.value, scope) for a in call.args if not a.star]
            values = [v for v in values if v is not None]
            if values:
                self.facts.regularizers.append(Penalty(ex.span(call), max(values), SourceFile.code(call)))


def _exclusive(a: _Raw, b: _Raw) -> bool:
    for (a_if, a_arm), (b_if, b_arm) in zip(a.branch, b.branch):
        if a_if != b_if:
            return False
        if a_arm != b_arm:
            return True
    return False


def _code_only(text: str) -> str:
    """The code without comments (for a few textual checks)."""
    return re.sub(r"#[^\n]*", "", text)


def _assigned_name(call: cst.Call, ex: _Extractor) -> str:
    return ""


def _strip_wrappers(expr: cst.BaseExpression) -> cst.BaseExpression:
    while isinstance(expr, cst.Call) and isinstance(expr.func, (cst.Name, cst.Attribute)) and \
            _last(dotted_name(expr.func) or "") in ("enumerate", "tqdm", "iter", "trange") and expr.args:
        expr = expr.args[0].value
    return expr


def _keyword_span(span: Span, kind: str) -> Span:
    return Span(span.line, span.column, span.line, span.column + len(kind))


def _loops_in(body: Iterable[cst.CSTNode]) -> list[tuple[cst.CSTNode, bool]]:
    """Every for/while statement in a block (not inside nested defs), with `nested` = inside another loop."""
    found: list[tuple[cst.CSTNode, bool]] = []
    stop = (*_scopes(), cst.For, cst.While, cst.BaseExpression)

    def loop(node: cst.CSTNode, depth: int) -> None:
        found.append((node, depth > 0))
        for part in (node.body, node.orelse):
            if part is not None:
                block(part, depth + 1)

    def block(root: cst.CSTNode, depth: int) -> None:
        for n in walk(root, lambda x: isinstance(x, stop)):
            if isinstance(n, (cst.For, cst.While)) and n is not root:
                loop(n, depth)

    for stmt in body:
        if isinstance(stmt, (cst.For, cst.While)):
            loop(stmt, 0)
        elif not isinstance(stmt, _scopes()):
            block(stmt, 0)
    return found


_NORM_LIKE = re.compile(r"(\.pow\(|\*\*|norm\(|abs\(|square\()")


def _param_iter(expr: cst.BaseExpression) -> bool:
    return (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value in ("parameters", "named_parameters"))


def _loop_var(target: cst.BaseExpression) -> str | None:
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, cst.Tuple) and target.elements and isinstance(target.elements[-1].value, cst.Name):
        return target.elements[-1].value.value
    return None


def _norm_of(expr: cst.BaseExpression, var: str) -> bool:
    text = SourceFile.code(expr)
    return bool(_NORM_LIKE.search(text)) and re.search(rf"\b{re.escape(var)}\b", text) is not None


def _for_clauses(comp: cst.BaseComp) -> Iterator[cst.CompFor]:
    clause: cst.CompFor | None = comp.for_in
    while clause is not None:
        yield clause
        clause = clause.inner_for_in


_ITERABLE_WRAPPERS = frozenset({"list", "tuple", "chain", "chain.from_iterable", "itertools.chain", "filter"})


class _PenaltyFinder:
    """Products `coefficient * penalty` added to a loss, where the penalty is a norm summed over
    the parameters of one or several models: a generator, a variable accumulated in a loop, or a
    same-file helper returning one; the parameters given directly, chained (itertools.chain,
    list + list), or passed in as an argument. The coefficient may be applied where the penalty
    is built or later (`reg = c * total`, `loss += c * total`)."""

    def __init__(self, build: _Build) -> None:
        self.build = build
        self.ex = build.ex
        self.accumulators: set[tuple[int, str]] = set()
        self._helpers: dict[str, bool] = {}
        self._reported: set[int] = set()
        index = self.ex.index
        self.scopes = [(self.ex.source.module, index.module)] + [(node, sc) for node, sc in index.scopes.items()]
        for root, scope in self.scopes:
            for n in self._nodes(root):
                if isinstance(n, cst.For):
                    self._accumulator(n, scope)
        for root, scope in self.scopes:
            for n in self._nodes(root):
                if isinstance(n, cst.BinaryOperation) and isinstance(n.operator, (cst.Add, cst.Subtract)):
                    for side in (n.left, n.right):
                        self._maybe_product(side, scope)
                elif isinstance(n, cst.AugAssign) and isinstance(n.operator, cst.AddAssign):
                    self._maybe_product(n.value, scope)
                elif isinstance(n, (cst.Assign, cst.Return)) and n.value is not None:
                    self._maybe_product(n.value, scope)

    @staticmethod
    def _nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
        for n in walk(root, lambda x: isinstance(x, _scopes())):
            if n is root or not isinstance(n, _scopes()):
                yield n

    # -- what iterates over parameters ---------------------------------------------------------
    def parameters(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> bool:
        """Does the expression iterate over model parameters? `m.parameters()`, `list(...)`,
        `itertools.chain(a.parameters(), b.parameters())`, `list(a.parameters()) + list(...)`, or a
        name (variable, argument at the file's call sites) bound only to such values."""
        if depth > MAX_DEPTH:
            return False
        if _param_iter(expr):
            return True
        if isinstance(expr, cst.Call) and expr.args and not any(a.keyword for a in expr.args):
            name = dotted_name(expr.func) or ""
            if name in _ITERABLE_WRAPPERS or name.endswith(".chain"):
                values = [a.value for a in expr.args if a.keyword is None]
                return all(self.parameters(v, scope, depth + 1) for v in values)
            return False
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
            return self.parameters(expr.left, scope, depth + 1) and self.parameters(expr.right, scope, depth + 1)
        if isinstance(expr, cst.Name):
            defs = self.ex.definitions(expr, scope)
            return bool(defs) and all(d is not expr and self.parameters(d, s, depth + 1) for d, s in defs)
        return False

    def _accumulator(self, loop: cst.For, scope: Scope) -> None:
        var = _loop_var(loop.target)
        if not var or not self.parameters(loop.iter, scope):
            return
        for stmt in _small_statements(loop.body):
            if isinstance(stmt, cst.AugAssign) and isinstance(stmt.operator, cst.AddAssign) and \
                    isinstance(stmt.target, cst.Name) and _norm_of(stmt.value, var):
                self.accumulators.add((id(scope), stmt.target.value))
            elif isinstance(stmt, cst.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0].target, cst.Name) \
                    and isinstance(stmt.value, cst.BinaryOperation) and isinstance(stmt.value.operator, cst.Add) \
                    and _norm_of(stmt.value, var):
                self.accumulators.add((id(scope), stmt.targets[0].target.value))

    def _generator(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        """`sum(p.pow(2).sum() for p in model.parameters())`, over several models
        (`for m in models for p in m.parameters()`), and its list/stack spellings."""
        for n in walk(expr):
            if isinstance(n, (cst.GeneratorExp, cst.ListComp)):
                for clause in _for_clauses(n):
                    var = _loop_var(clause.target)
                    if var and _norm_of(n.elt, var) and (_param_iter(clause.iter) or self.parameters(clause.iter, scope)):
                        return True
        return False

    # -- what is a penalty ---------------------------------------------------------------------
    def is_penalty(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> bool:
        if depth > MAX_DEPTH:
            return False
        if isinstance(expr, cst.Name):
            s: Scope | None = scope
            while s is not None:
                if (id(s), expr.value) in self.accumulators:
                    return True
                values = s.assigns.get(expr.value)
                if values:
                    terms = [v for v in values if not isinstance(v, (cst.Integer, cst.Float))]
                    return bool(terms) and all(v is not None and self.is_penalty(v, s, depth + 1) for v in terms)
                s = s.parent
            return False
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value in self.ex.index.functions:
            return self._helper(expr.func.value, depth)
        return self._generator(expr, scope)

    def _helper(self, name: str, depth: int) -> bool:
        """A same-file function whose every return value is a parameter penalty (`l2_penalty(model)`)."""
        if name not in self._helpers:
            self._helpers[name] = False  # recursion guard
            scopes = self.ex.index.functions.get(name, [])
            returns = [(r.value, sc) for sc in scopes if sc.node is not None
                       for r in self._nodes(sc.node.body) if isinstance(r, cst.Return) and r.value is not None]
            self._helpers[name] = len(scopes) == 1 and bool(returns) and all(
                self.is_penalty(value, sc, depth + 1) for value, sc in returns)
        return self._helpers[name]

    def _maybe_product(self, node: cst.BaseExpression, scope: Scope) -> None:
        if not (isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply)) \
                or id(node) in self._reported:
            return
        for coef, term in ((node.left, node.right), (node.right, node.left)):
            if self.is_penalty(term, scope):
                value = self.ex.number(coef, scope)
                if value is not None and value > 0:
                    self._reported.add(id(node))
                    self.build.facts.penalties.append(Penalty(self.ex.span(node), value, SourceFile.code(node)))
                return


def _small_statements(block: cst.BaseSuite) -> Iterator[cst.BaseSmallStatement]:
    body = block.body if isinstance(block, (cst.IndentedBlock, cst.SimpleStatementSuite)) else []
    for stmt in body:
        if isinstance(stmt, (cst.SimpleStatementLine,)):
            yield from stmt.body
        elif isinstance(stmt, cst.BaseSmallStatement):
            yield stmt
        elif isinstance(stmt, (cst.If, cst.With)):
            yield from _small_statements(stmt.body)


# ---------------------------------------------------------------------------------------------
# The project pass hook: per-file data the NN3 project rules join across files


@dataclass
class ClassSummary:
    ops: frozenset[str]  # layer kinds the class builds (same-file classes included)
    external: tuple[str, ...]  # imported classes it builds, as written in its file
    train_step: bool = False  # overrides keras.Model.train_step (fit runs the class's own loop)


@dataclass
class ProjectTraining:
    facts: TrainingFacts | None  # None when the file cannot train anything
    classes: dict[str, ClassSummary]


_TRAINS = ("backward", ".fit(", "Trainer", "no_grad", "inference_mode", "set_grad_enabled", "apply_gradients",
           "GradientTape", "fit_generator(", "train_on_batch(")
_LAYERS = ("RNN", "LSTM", "GRU", "BatchNorm", "Dropout", "dropout")


def project_training(source: SourceFile) -> ProjectTraining | None:
    """What the project pass needs from one file: its training facts (files that train) and a
    summary of its classes (files that build recurrent layers)."""
    text = source.text
    trains = any(m in text for m in _TRAINS)
    builds = any(m in text for m in _LAYERS)
    if not trains and not builds:
        return None
    facts = training_facts(source) if trains else None
    classes: dict[str, ClassSummary] = {}
    if builds:
        ex = TrainingExtractor(source) if facts is None else source.__dict__["_training_extractor"]
        for name in ex.index.classes:
            ops = ex.class_contents(name, 0) or frozenset()
            classes[name] = ClassSummary(ops, ex.class_external(name), "train_step" in ex.index.classes[name].methods)
    return ProjectTraining(facts, classes)


def _register() -> None:
    from nnlint.source import facts as file_facts

    file_facts.EXTRACTORS["training"] = project_training
    for marker in _TRAINS:
        if marker not in file_facts.FACT_MARKERS:
            file_facts.FACT_MARKERS.append(marker)


_register()
