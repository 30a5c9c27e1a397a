"""NN1 rules read from nn.Module source: registration, dropout mode, initialization, unused layers.

These questions are about how a module class is written (what __init__ assigns, what forward
calls), not about what feeds what, so they read the SourceFile instead of a layer graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from nnlint import lazy_libcst as cst

from nnlint.diagnostics import Fix, Severity
from nnlint.fixes import add_argument
from nnlint.graph.ops import ACTIVATION, BATCHNORM, DROPOUT, IDENTITY, OTHER_NORM, POOL, RESHAPE
from nnlint.registry import Finding, Rule
from nnlint.source import SourceFile
from nnlint.source.literals import literal
from nnlint.source.torch_nn import layer_spec
from nnlint.source.walk import children, collect

_MODULE_BASES = frozenset({
    "torch.nn.Module", "pytorch_lightning.LightningModule", "lightning.LightningModule",
    "lightning.pytorch.LightningModule", "pytorch_lightning.core.LightningModule",
})
# torch.nn classes that are not modules
_NOT_MODULES = frozenset({"torch.nn.Parameter", "torch.nn.UninitializedParameter", "torch.nn.Buffer"})


# --- the module classes of a file --------------------------------------------------------------
@dataclass
class ModuleClass:
    node: cst.ClassDef
    methods: dict[str, cst.FunctionDef] = field(default_factory=dict)
    bases_known: bool = True  # every base is torch.nn.* or a module class of this file


def _is_torch_nn_class(qualified: str | None) -> bool:
    if not qualified or not qualified.startswith("torch.nn.") or qualified in _NOT_MODULES:
        return False
    name = qualified[len("torch.nn."):]
    return "." not in name and name[:1].isupper()


def module_classes(source: SourceFile) -> list[ModuleClass]:
    """Classes of the file that are nn.Module subclasses (directly, or through another module
    class of the same file); in source order."""
    cached = _MODULE_CLASSES.get(id(source))
    if cached is not None and cached[0] is source:
        return cached[1]
    classes = source.index.every_class
    by_name: dict[str, list[cst.ClassDef]] = {}
    for cls in classes:
        by_name.setdefault(cls.name.value, []).append(cls)
    modules: dict[int, bool] = {}  # id(class) -> all bases known
    changed = True
    while changed:
        changed = False
        for cls in classes:
            if id(cls) in modules:
                continue
            is_module, known = False, True
            for base in cls.bases:
                if base.keyword is not None:
                    continue
                qualified = source.imports.resolve(base.value)
                local = by_name.get(base.value.value, []) if isinstance(base.value, cst.Name) else []
                if qualified in _MODULE_BASES or _is_torch_nn_class(qualified):
                    is_module = True
                elif len(local) == 1 and id(local[0]) in modules:
                    is_module = True
                    known &= modules[id(local[0])]
                else:
                    known = False
            if is_module:
                modules[id(cls)] = known
                changed = True
    found = []
    for cls in classes:
        if id(cls) in modules:
            methods = {stmt.name.value: stmt for stmt in _body(cls) if isinstance(stmt, cst.FunctionDef)}
            found.append(ModuleClass(cls, methods, modules[id(cls)]))
    _MODULE_CLASSES.clear()  # one file at a time: several rules ask about the same file
    _MODULE_CLASSES[id(source)] = (source, found)
    return found


_MODULE_CLASSES: dict[int, tuple[SourceFile, list[ModuleClass]]] = {}


def _body(node: cst.ClassDef | cst.FunctionDef) -> Iterable[cst.BaseStatement]:
    return node.body.body if isinstance(node.body, cst.IndentedBlock) else ()


def _block(block: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(block, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=block.body)]
    return list(block.body)


def _self_name(method: cst.FunctionDef) -> str | None:
    """The instance parameter of a plain method (None for static/class methods)."""
    for decorator in method.decorators:
        if isinstance(decorator.decorator, cst.Name) and decorator.decorator.value in ("staticmethod", "classmethod"):
            return None
    params = (*method.params.posonly_params, *method.params.params)
    return params[0].name.value if params else None


def _self_attribute(node: cst.BaseExpression, self_name: str) -> str | None:
    """`self.x` -> "x"."""
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == self_name:
        return node.attr.value
    return None


def _calls_named(tree: cst.CSTNode, names: frozenset[str]) -> bool:
    """Does the subtree call a function or method with one of these names?"""
    def accept(node: cst.CSTNode) -> bool:
        if not isinstance(node, cst.Call):
            return False
        func = node.func
        name = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else None
        return name in names
    return bool(collect(tree, accept))


def _module_construction(source: SourceFile, expr: cst.BaseExpression, local_modules: set[str]) -> str | None:
    """The class name when `expr` constructs a module (torch.nn layer or a module class of this file)."""
    if not isinstance(expr, cst.Call):
        return None
    qualified = source.imports.resolve(expr.func)
    if _is_torch_nn_class(qualified) or layer_spec(qualified) is not None:
        return qualified.rsplit(".", 1)[-1]
    if isinstance(expr.func, cst.Name) and expr.func.value in local_modules:
        return expr.func.value
    return None


def _self_assignments(method: cst.FunctionDef, self_name: str) -> Iterator[tuple[cst.Assign, cst.Attribute, str]]:
    """(assign, target, attribute name) for every `self.x = ...` in a method (not in nested defs)."""
    def accept(node: cst.CSTNode) -> bool:
        return isinstance(node, cst.Assign)
    for assign in collect(method.body, accept):
        for target in assign.targets:
            name = _self_attribute(target.target, self_name)
            if name is not None:
                yield assign, target.target, name


# --- NN107 -----------------------------------------------------------------------------------
_REGISTERS = frozenset({"add_module", "register_module", "setattr"})
_CONTAINERS = {"List": "list", "Tuple": "tuple", "Dict": "dict", "ListComp": "list", "DictComp": "dict"}  # by class name


class UnregisteredSubmodule(Rule):
    """Modules stored in a plain list, tuple or dict attribute are not registered: their
    parameters are missing from .parameters() (the optimizer never updates them), .to(device),
    .train()/.eval() and state_dict()."""

    code = "NN107"
    name = "unregistered-submodule"
    severity = Severity.ERROR
    summary = "Modules kept in a plain list/dict/tuple attribute of an nn.Module."
    front_ends = "S"
    kind = "source"
    requires = (("Module",),)

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        classes = module_classes(source)
        local = {c.node.name.value for c in classes}
        for cls in classes:
            if _calls_named(cls.node, _REGISTERS):
                continue  # registered by hand
            reported: set[str] = set()
            for method in cls.methods.values():
                self_name = _self_name(method)
                if self_name is None:
                    continue
                for assign, target, attr in _self_assignments(method, self_name):
                    container = _CONTAINERS.get(type(assign.value).__name__)
                    if container is None or attr in reported:
                        continue
                    modules = self._modules_in(source, assign.value, local)
                    if not modules:
                        modules = self._filled_later(source, cls, attr, assign.value, local)
                    if not modules or self._wrapped_later(source, cls, attr) \
                            or self._registered_elsewhere(source, cls, attr):
                        continue
                    reported.add(attr)
                    wrapper = "nn.ModuleDict" if container == "dict" else "nn.ModuleList"
                    yield self.report(
                        assign,
                        f"'{self_name}.{attr}' holds modules ({modules[0]}) in a plain {container}: their parameters are "
                        f"invisible to .parameters(), .to() and state_dict(); use {wrapper}(...)",
                    )

    @staticmethod
    def _modules_in(source: SourceFile, value: cst.BaseExpression, local: set[str]) -> list[str]:
        if isinstance(value, (cst.List, cst.Tuple)):
            elements = [e.value for e in value.elements]
        elif isinstance(value, cst.Dict):
            elements = [e.value for e in value.elements if isinstance(e, cst.DictElement)]
        elif isinstance(value, cst.ListComp):
            elements = [value.elt]
        elif isinstance(value, cst.DictComp):
            elements = [value.value]
        else:
            return []
        names = [_module_construction(source, e, local) for e in elements]
        return [n for n in names if n]

    @staticmethod
    def _filled_later(source: SourceFile, cls: ModuleClass, attr: str, value: cst.BaseExpression, local: set[str]) -> list[str]:
        """`self.x = []` then `self.x.append(nn.Linear(...))`: the appended module classes."""
        if not isinstance(value, (cst.List, cst.Dict)) or value.elements:
            return []

        def accept(node: cst.CSTNode) -> bool:
            if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                    and node.func.attr.value in ("append", "insert") and node.args):
                return False
            owner = node.func.value
            return (isinstance(owner, cst.Attribute) and owner.attr.value == attr
                    and _module_construction(source, node.args[-1].value, local) is not None)
        return [_module_construction(source, call.args[-1].value, local) for call in collect(cls.node, accept)]

    @staticmethod
    def _wrapped_later(source: SourceFile, cls: ModuleClass, attr: str) -> bool:
        """The same attribute is (re)assigned a registered container somewhere in the class."""
        for method in cls.methods.values():
            self_name = _self_name(method)
            if self_name is None:
                continue
            for assign, _, name in _self_assignments(method, self_name):
                if name == attr and isinstance(assign.value, cst.Call) and type(assign.value).__name__ not in _CONTAINERS:
                    return True
        return False


    @staticmethod
    def _registered_elsewhere(source: SourceFile, cls: ModuleClass, attr: str) -> bool:
        """Every module of the container ends up in a registered container assigned to self:
        `self.body = nn.Sequential(*self.layers)`, `self.blocks = nn.ModuleList(self.layers)`,
        `nn.ModuleDict(self.heads)` (the plain attribute is then only a second reference)."""
        for method in cls.methods.values():
            self_name = _self_name(method)
            if self_name is None:
                continue
            for assign, _, _ in _self_assignments(method, self_name):
                call = assign.value
                if not isinstance(call, cst.Call) or source.imports.resolve(call.func) not in _REGISTERED_CONTAINERS:
                    continue
                for arg in call.args:
                    value = arg.value
                    if (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
                            and value.func.attr.value in ("values", "items") and not value.args):
                        value = value.func.value  # nn.ModuleDict(self.heads.items())
                    if arg.keyword is None and _self_attribute(value, self_name) == attr:
                        return True
        return False


_REGISTERED_CONTAINERS = frozenset(f"torch.nn.{name}" for name in ("Sequential", "ModuleList", "ModuleDict"))


# --- NN108 -----------------------------------------------------------------------------------
_FUNCTIONAL_DROPOUT = frozenset(
    f"torch.nn.functional.{name}"
    for name in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout")
)

# torch's alpha dropouts default to training=False: without the flag they are a no-op.
_OFF_BY_DEFAULT = frozenset({"torch.nn.functional.alpha_dropout", "torch.nn.functional.feature_alpha_dropout"})


def _mentions_training(node: cst.CSTNode) -> bool:
    return bool(collect(node, lambda n: (isinstance(n, cst.Name) and n.value == "training")
                        or (isinstance(n, cst.Attribute) and n.attr.value == "training")))


def _guarded_dropouts(source: SourceFile, tree: cst.CSTNode) -> Iterator[tuple[cst.Call, bool]]:
    """Functional dropout calls in a subtree, with whether a `training` test (if / conditional
    expression) encloses them."""
    stack: list[tuple[cst.CSTNode, bool]] = [(tree, False)]
    while stack:
        node, guarded = stack.pop()
        if isinstance(node, cst.Call) and source.imports.resolve(node.func) in _FUNCTIONAL_DROPOUT:
            yield node, guarded
        inner = guarded or (isinstance(node, (cst.If, cst.IfExp)) and _mentions_training(node.test))
        stack.extend((child, inner) for child in reversed(children(node)))


def _dropout_calls(source: SourceFile, method: cst.FunctionDef) -> Iterator[tuple[cst.Call, bool]]:
    """(call, guarded) for the functional dropouts of a method; guarded when a `training` test
    encloses the call or an earlier `if not self.training: return x` makes it train-only."""
    returned_early = False
    for stmt in _block(method.body):
        for call, guarded in _guarded_dropouts(source, stmt):
            yield call, guarded or returned_early
        if isinstance(stmt, cst.If) and _mentions_training(stmt.test) and collect(
                stmt.body, lambda n: isinstance(n, (cst.Return, cst.Raise))):
            returned_early = True


class FunctionalDropoutAlwaysOn(Rule):
    """F.dropout defaults to training=True: unlike nn.Dropout it does not follow
    model.eval(), so inference stays random and scaled down."""

    code = "NN108"
    name = "functional-dropout-always-on"
    severity = Severity.ERROR
    summary = "F.dropout in an nn.Module method without a training flag: dropout stays on at eval."
    front_ends = "S"
    fixable = True
    kind = "source"
    requires = (("dropout",),)

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        for cls in module_classes(source):
            for method in cls.methods.values():
                self_name = _self_name(method)
                if self_name is None:
                    continue
                for call, guarded in _dropout_calls(source, method):
                    if guarded or self._has_flag(call) or literal(self._p(call)) == 0:
                        continue
                    edit = add_argument(call, f"training={self_name}.training")
                    effect = ("never drops anything, in training either (it defaults to training=False)"
                              if source.imports.resolve(call.func) in _OFF_BY_DEFAULT
                              else "stays on after model.eval() (it defaults to training=True)")
                    yield self.report(
                        call,
                        f"{source.code(call.func)}(...) without training= {effect}; pass training={self_name}.training",
                        fix=Fix(f"Add training={self_name}.training", (edit,)) if edit is not None else None,
                    )

    @staticmethod
    def _has_flag(call: cst.Call) -> bool:
        positional = 0
        for arg in call.args:
            if arg.star:
                return True  # *args/**kwargs may carry it: unknown
            if arg.keyword is None:
                positional += 1
            elif arg.keyword.value == "training":
                return True
        return positional >= 3

    @staticmethod
    def _p(call: cst.Call) -> cst.BaseExpression | None:
        for index, arg in enumerate(call.args):
            if (arg.keyword is None and index == 1) or (arg.keyword is not None and arg.keyword.value == "p"):
                return arg.value
        return None


# --- NN110 -----------------------------------------------------------------------------------
_CONSTANT_INITS = frozenset({"constant_", "zeros_", "ones_", "constant"})
_FILL_METHODS = frozenset({"fill_", "zero_"})
_SYMMETRIC_OPS = frozenset({"linear", "conv", "rnn"})
# what a layer's output passes through on its way to the next weight layer (NN110 (a))
_TO_NEXT_LAYER = (ACTIVATION | POOL | DROPOUT | RESHAPE | IDENTITY | BATCHNORM | OTHER_NORM
                  | {"softmax", "log_softmax", "transpose", "scale"})
_RELU = frozenset({"relu", "relu6"})


def _weight_owner(target: cst.BaseExpression) -> str | None:
    """`m.weight` / `m.weight.data` / `m.weight_ih_l0` -> "m"."""
    if isinstance(target, cst.Attribute) and target.attr.value == "data":
        target = target.value
    if (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
            and (target.attr.value == "weight" or target.attr.value.startswith(("weight_ih", "weight_hh")))):
        return target.value.value
    return None


def _self_layer(target: cst.BaseExpression, part: str) -> str | None:
    """`self.fc.weight` / `self.fc.weight.data` (part="weight") -> "fc"."""
    if isinstance(target, cst.Attribute) and target.attr.value == "data":
        target = target.value
    if isinstance(target, cst.Attribute) and target.attr.value == part and isinstance(target.value, cst.Attribute) \
            and isinstance(target.value.value, cst.Name) and target.value.value.value == "self":
        return target.value.attr.value
    return None


def _reached(graph: Any, node: Any, through_outputs: bool) -> Iterator[Any]:
    """The nodes where `node`'s output stops passing through (NN110's _TO_NEXT_LAYER ops): the
    weight layers it feeds and anything else it reaches; model outputs stop it unless through_outputs."""
    frontier, seen = list(graph.consumers(node)), set()
    while frontier:
        current = frontier.pop()
        if current.id in seen:
            continue
        seen.add(current.id)
        if current.op not in _SYMMETRIC_OPS and current.op in _TO_NEXT_LAYER and (
                through_outputs or current.id not in graph.outputs):
            frontier.extend(graph.consumers(current))
        else:
            yield current


@dataclass
class _ConstantInit:
    call: cst.Call
    zero: bool  # all zeros (zeros_, zero_, constant_(w, 0), fill_(0))
    owner: str | None  # the module class whose method runs it; None for a module-level function
    classes: list[tuple[str, str]] | None = None  # a type-wide init: (class name, op) of the isinstance test
    attr: str | None = None  # an init of one layer: `self.<attr>.weight`
    zero_bias: bool = False  # the same block (or class) zeroes the bias too


def _constant_value(source: SourceFile, call: cst.Call) -> tuple[cst.BaseExpression, bool] | None:
    """(target, all zeros) of a constant init call: nn.init.zeros_/ones_/constant_, .fill_/.zero_."""
    func = call.func
    qualified = source.imports.resolve(func) or ""
    if qualified.rsplit(".", 1)[-1] in _CONSTANT_INITS and qualified.endswith(
            tuple(f"{m}.{n}" for m in ("torch.nn.init", "initialization") for n in _CONSTANT_INITS)):
        if not call.args or call.args[0].star:
            return None
        name = qualified.rsplit(".", 1)[-1]
        value = literal(call.args[1].value) if len(call.args) > 1 else None
        return call.args[0].value, name == "zeros_" or (name.startswith("constant") and value == 0)
    if isinstance(func, cst.Attribute) and func.attr.value in _FILL_METHODS:
        value = literal(call.args[0].value) if call.args else None
        return func.value, func.attr.value == "zero_" or value == 0
    return None


class ConstantWeightInit(Rule):
    """A constant weight is a bug in two cases. (a) The next weight layer is constant too: every
    unit of the first layer then gets the same gradient (the second's identical columns send the
    same signal back to each), so the units stay identical forever. (b) All-zero weights with a
    zero bias feeding a ReLU: the pre-activation is 0, where ReLU's gradient is 0, so the layer
    never learns. A constant layer followed by a random one is fine (its random weights break the
    symmetry), as are constant output layers, biases and norm layers. PyTorch: the init calls are
    found in the source and matched to layers; Keras/TF: the front end marks each weight layer whose
    kernel starts constant (attrs kernel_init, kernel_init_site, bias_init)."""

    code = "NN110"
    name = "constant-weight-init"
    severity = Severity.ERROR
    summary = "Constant weight init whose symmetry nothing breaks, or all-zero weights into a ReLU."
    front_ends = "S"
    kind = "source"
    # PyTorch: nn.init.*_ and fill_/zero_; Keras/TF: 'zeros'/'Zeros'/'zero', 'ones'/Ones(), Constant(),
    # tf.constant_initializer, tf.zeros_initializer, Keras 1 init=
    requires = (("zero", "Zero", "ones", "Ones", "constant", "Constant", "fill"),)

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        from nnlint.source import layer_graphs

        inits = list(self._inits(source))
        keras = source.imports.imports_any(("keras", "tensorflow", "tf_keras"))
        if not inits and not keras:
            return
        graphs = layer_graphs(source)
        reported: set[int] = set()
        for init in inits:
            if id(init.call) in reported:
                continue
            message = self._judge(source, init, inits, graphs)
            if message is not None:
                reported.add(id(init.call))
                yield self.report(init.call, message)
        if keras:
            yield from self._kernels(source, graphs)

    # --- Keras/TF: the front end marks constant kernels (attrs kernel_init, kernel_init_site) ---
    def _kernels(self, source: SourceFile, graphs: list) -> Iterator[Finding]:
        reported: set[int] = set()
        for graph in graphs:
            for node in graph.nodes:
                site = node.attrs.get("kernel_init_site")
                if node.op not in _SYMMETRIC_OPS or not node.attrs.get("kernel_init") or site is None \
                        or id(site) in reported:
                    continue
                message = self._judge_kernel(source, graph, node)
                if message is not None:
                    reported.add(id(site))
                    yield self.report(site, message)

    def _judge_kernel(self, source: SourceFile, graph: Any, node: Any) -> str | None:
        site = node.attrs["kernel_init_site"]
        zero = node.attrs["kernel_init"] == "zero"
        kernel = f"{'an all-zero' if zero else 'a constant'} kernel ({source.code(site)})"
        fix = ("use a random initial value (tf.random.truncated_normal(shape, stddev=0.1))" if node.attrs.get("tf1")
               else "use a random kernel initializer (Keras' default glorot_uniform)")
        bias = node.attrs.get("bias_init")
        no_bias = node.attrs.get("bias") is False
        following = self._next_kernels(graph, node)
        if following and (no_bias or bias in ("zero", "constant")):
            # equal biases: the units compute one value, and the next layer's equal weights send
            # each the same gradient
            after = following[0]
            named = after.label
            if after.attrs.get("kernel_init_site") is site:
                named = "the same layer in the loop's next iteration"
            elif after.label == node.label:
                named = f"{after.label} (line {source.span(after.site).line})"
            return (f"{node.label} starts with {kernel} and so does the next weight layer, {named}: the units "
                    f"of {node.label} get identical gradients and stay identical forever; {fix} for at least "
                    "one of them")
        if zero and (no_bias or bias == "zero"):
            relu = self._into_relu(graph, node)
            if relu is not None:
                return (f"{node.label} starts with {kernel} and {'no' if no_bias else 'a zero'} bias, and feeds "
                        f"{relu.label}: the pre-activation is 0, where ReLU's gradient is 0, so the layer never "
                        f"learns; {fix}")
        return None

    @staticmethod
    def _next_kernels(graph: Any, node: Any) -> list:
        """The weight layers `node`'s output feeds (through activations, pooling, dropout, norms,
        reshapes) when every one of them starts constant and the output goes nowhere else (a model
        output, a residual add, an unknown op: their gradients differ per unit); else []."""
        if node.id in graph.outputs:
            return []
        found = []
        for current in _reached(graph, node, through_outputs=False):
            if current.op not in _SYMMETRIC_OPS or not current.attrs.get("kernel_init"):
                return []
            found.append(current)
        return sorted(found, key=lambda n: n.id)

    # --- which layers an init sets, and what follows them -------------------------------------
    def _judge(self, source: SourceFile, init: _ConstantInit, inits: list[_ConstantInit], graphs: list) -> str | None:
        set_here = [(g, n) for g in graphs if self._applies(init, g) for n in g.nodes if self._sets(init, n)]
        what = source.code(init.call.func)
        if not set_here:
            if init.classes is None:
                return None  # one named layer nnlint cannot find in a graph: silent
            layers = "/".join(name for name, op in init.classes if op in _SYMMETRIC_OPS)
            return (f"{what} gives every {layers} weight one constant: where one such layer feeds another, the "
                    "units of the first get identical gradients and stay identical; use a random init for weights "
                    "(constants are fine for biases, norm layers and an output layer)")
        for graph, node in set_here:
            for following in self._next_weight_layers(graph, node):
                if any(self._applies(other, graph) and self._sets(other, following) for other in inits):
                    if init.classes is not None:
                        layers = "/".join(name for name, op in init.classes if op in _SYMMETRIC_OPS)
                        return (f"{what} gives every {layers} weight one constant, and {node.label} feeds "
                                f"{following.label}: the units of the first get identical gradients and stay "
                                "identical forever; use a random init for weights (constants are fine for biases, "
                                "norm layers and an output layer)")
                    return (f"{what} gives {node.label} a constant weight and the next weight layer, "
                            f"{following.label}, is constant too: the units of {node.label} get identical gradients "
                            "and stay identical forever; use a random init for at least one of them")
            if init.zero and self._zero_bias(init, node):
                relu = self._into_relu(graph, node)
                if relu is not None:
                    return (f"{what} sets every weight of {node.label} to zero with a zero bias, and it feeds "
                            f"{relu.label}: the pre-activation is 0, where ReLU's gradient is 0, so the layer never "
                            "learns; use a random init for the weight")
        return None

    @staticmethod
    def _applies(init: _ConstantInit, graph: Any) -> bool:
        """A method's init applies to its class's model; a module-level function's to the file's models."""
        if init.owner is not None:
            return graph.origin == "nn.Module" and graph.name == init.owner
        return not str(graph.name).startswith("self.")

    def _sets(self, init: _ConstantInit, node: Any) -> bool:
        if node.op not in _SYMMETRIC_OPS:
            return False
        if init.classes is not None:
            return any(name == node.attrs.get("cls") and op in _SYMMETRIC_OPS for name, op in init.classes)
        definition = node.attrs.get("definition")
        return not node.attrs.get("via") and isinstance(definition, cst.Assign) and any(
            _self_attribute(t.target, "self") == init.attr for t in definition.targets)

    @staticmethod
    def _next_weight_layers(graph: Any, node: Any) -> list:
        return [n for n in _reached(graph, node, through_outputs=True) if n.op in _SYMMETRIC_OPS]

    @staticmethod
    def _into_relu(graph: Any, node: Any) -> Any:
        current = node
        for _ in range(4):
            consumers = graph.consumers(current)
            if len(consumers) != 1:
                return None
            current = consumers[0]
            if current.op in _RELU:
                return current
            if current.op not in DROPOUT | RESHAPE | IDENTITY:
                return None
        return None

    @staticmethod
    def _zero_bias(init: _ConstantInit, node: Any) -> bool:
        return init.zero_bias or node.attrs.get("bias") is False

    # --- the constant inits of a file ---------------------------------------------------------
    def _inits(self, source: SourceFile) -> Iterator[_ConstantInit]:
        owners: dict[int, str] = {}
        for cls in module_classes(source):
            for method in cls.methods.values():
                owners[id(method)] = cls.node.name.value
        for function in collect(source.module, lambda n: isinstance(n, cst.FunctionDef)):
            owner = owners.get(id(function))
            yield from self._walk(source, _body(function), [], owner)
            if owner is not None:
                yield from self._targeted(source, function, owner)

    def _targeted(self, source: SourceFile, method: cst.FunctionDef, owner: str) -> Iterator[_ConstantInit]:
        """`nn.init.zeros_(self.fc.weight)` in a method of a module class."""
        zero_biases = set()
        found = []
        for call in collect(method.body, lambda n: isinstance(n, cst.Call)):
            value = _constant_value(source, call)
            if value is None:
                continue
            target, zero = value
            if zero and _self_layer(target, "bias"):
                zero_biases.add(_self_layer(target, "bias"))
            attr = _self_layer(target, "weight")
            if attr is not None:
                found.append(_ConstantInit(call, zero, owner, attr=attr))
        for init in found:
            init.zero_bias = init.attr in zero_biases
            yield init

    def _walk(self, source: SourceFile, statements: Iterable[cst.BaseStatement], guards: list,
              owner: str | None) -> Iterator[_ConstantInit]:
        """guards: for each enclosing `if`, (variable, classes) of its isinstance test, marked
        None for a branch that is not a type test (a name or config check: deliberate)."""
        statements = list(statements)
        for stmt in statements:
            if isinstance(stmt, cst.If):
                yield from self._walk(source, _block(stmt.body), guards + [self._type_test(source, stmt.test)], owner)
                branch = stmt.orelse
                if isinstance(branch, cst.If):
                    yield from self._walk(source, [branch], guards, owner)
                elif isinstance(branch, cst.Else):
                    yield from self._walk(source, _block(branch.body), guards, owner)
            elif isinstance(stmt, (cst.For, cst.While, cst.With)):
                yield from self._walk(source, _block(stmt.body), guards, owner)
            elif isinstance(stmt, cst.Try):
                yield from self._walk(source, _block(stmt.body), guards, owner)
            elif isinstance(stmt, cst.SimpleStatementLine) and guards and None not in guards:
                for small in stmt.body:
                    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                        init = self._type_wide(source, small.value, guards, owner)
                        if init is not None:
                            init.zero_bias = self._zeroes_bias(source, statements, guards)
                            yield init

    @staticmethod
    def _type_wide(source: SourceFile, call: cst.Call, guards: list, owner: str | None) -> _ConstantInit | None:
        value = _constant_value(source, call)
        if value is None:
            return None
        target, zero = value
        var = _weight_owner(target)
        classes = next((cls for v, cls in reversed(guards) if v == var), None)
        if var is None or not classes or not any(op in _SYMMETRIC_OPS for _, op in classes):
            return None
        return _ConstantInit(call, zero, owner, classes=classes)

    @staticmethod
    def _zeroes_bias(source: SourceFile, statements: list[cst.BaseStatement], guards: list) -> bool:
        """The same block zeroes `m.bias` (`nn.init.zeros_(m.bias)`, `m.bias.data.zero_()`)."""
        var = guards[-1][0]
        for stmt in statements:
            for call in collect(stmt, lambda n: isinstance(n, cst.Call)) if isinstance(stmt, cst.SimpleStatementLine) else ():
                value = _constant_value(source, call)
                if value is None or not value[1]:
                    continue
                target = value[0]
                if isinstance(target, cst.Attribute) and target.attr.value == "data":
                    target = target.value
                if isinstance(target, cst.Attribute) and target.attr.value == "bias" \
                        and isinstance(target.value, cst.Name) and target.value.value == var:
                    return True
        return False

    @staticmethod
    def _type_test(source: SourceFile, test: cst.BaseExpression) -> tuple[str, list[tuple[str, str]]] | None:
        """`isinstance(m, (nn.Linear, nn.Conv2d))` / `type(m) == nn.Linear` -> ("m", [(name, op)])."""
        var = types = None
        if isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and test.func.value == "isinstance" \
                and len(test.args) == 2 and isinstance(test.args[0].value, cst.Name):
            var, types = test.args[0].value.value, test.args[1].value
        elif isinstance(test, cst.Comparison) and len(test.comparisons) == 1 \
                and isinstance(test.comparisons[0].operator, (cst.Equal, cst.Is, cst.In)):
            left = test.left
            if isinstance(left, cst.Call) and isinstance(left.func, cst.Name) and left.func.value == "type" \
                    and len(left.args) == 1 and isinstance(left.args[0].value, cst.Name):
                var, types = left.args[0].value.value, test.comparisons[0].comparator
        if var is None:
            return None
        elements = [e.value for e in types.elements] if isinstance(types, (cst.Tuple, cst.List, cst.Set)) else [types]
        classes = []
        for element in elements:
            qualified = source.imports.resolve(element)
            spec = layer_spec(qualified)
            classes.append((qualified.rsplit(".", 1)[-1] if qualified else source.code(element), spec.op if spec else "?"))
        return var, classes


# --- NN111 -----------------------------------------------------------------------------------
_DYNAMIC_ACCESS = frozenset({"getattr", "children", "named_children", "modules", "named_modules",
                             "get_submodule", "vars"})


# torch.nn layer kinds that always have parameters, and those whose `affine` flag decides (default)
_WITH_PARAMETERS = frozenset({"linear", "conv", "rnn", "embedding", "attention", "prelu"})
_AFFINE = {"batchnorm": ("affine", True), "groupnorm": ("affine", True), "layernorm": ("elementwise_affine", True),
           "instancenorm": ("affine", False)}
_CONTAINER_CLASSES = frozenset({"Sequential", "ModuleList", "ModuleDict"})


class _ModuleKinds:
    """What an unused submodule is, for NN111: "loss", "dropout", "parameters" (it has some),
    "parameterless", or None (a class nnlint cannot see into)."""

    def __init__(self, source: SourceFile, classes: list[ModuleClass]) -> None:
        self.source = source
        self.local = {c.node.name.value: c for c in classes}

    def of(self, built: str, call: cst.BaseExpression | None = None, depth: int = 0) -> str | None:
        if built.endswith("Loss"):
            return "loss"  # torch.nn losses, and project criteria named like them
        if built in self.local:
            return self._local(self.local[built], depth)
        if not (isinstance(call, cst.Call) and (self.source.imports.resolve(call.func) or "").startswith("torch.nn.")):
            return None  # imported from elsewhere: unknown
        spec = layer_spec(f"torch.nn.{built}")
        if spec is None:
            if built in _CONTAINER_CLASSES:
                return self._contents(call, depth)
            return "parameters" if built in ("ParameterList", "ParameterDict") else "parameterless"
        if spec.op in DROPOUT:
            return "parameterless" if isinstance(call, cst.Call) and _literal_p(call) == 0 else "dropout"
        if spec.op in _WITH_PARAMETERS:
            return "parameters"
        if spec.op in _AFFINE:
            name, default = _AFFINE[spec.op]
            flag = _keyword(call, name) if isinstance(call, cst.Call) else None
            value = default if flag is None else literal(flag)
            return "parameters" if value is True else "parameterless" if value is False else None
        return "parameterless"

    def _local(self, cls: ModuleClass, depth: int) -> str | None:
        """A module class of this file: a loss or dropout by its bases, else by what its methods build."""
        for base in cls.node.bases:
            qualified = self.source.imports.resolve(base.value) or ""
            if qualified.endswith("Loss") or qualified == "torch.nn.modules.loss._Loss":
                return "loss"
            spec = layer_spec(qualified)
            if spec is not None and spec.op in DROPOUT:
                return "dropout"
        if depth > 4:
            return None
        if collect(cls.node, lambda n: isinstance(n, cst.Call) and (
                self.source.imports.resolve(n.func) in _PARAMETER_CALLS
                or isinstance(n.func, cst.Attribute) and n.func.attr.value == "register_parameter")):
            return "parameters"
        kinds = self._built_in(cls.node, depth)
        if "parameters" in kinds:
            return "parameters"
        return "parameterless" if cls.bases_known and None not in kinds else None

    def _contents(self, container: cst.Call, depth: int) -> str | None:
        """nn.Sequential(nn.Linear(...), ...): "parameters" when a module built inside has some."""
        return "parameters" if "parameters" in self._built_in(container, depth, skip=container) else None

    def _built_in(self, tree: cst.CSTNode, depth: int, skip: cst.CSTNode | None = None) -> set[str | None]:
        kinds = set()
        for call in collect(tree, lambda n: isinstance(n, cst.Call) and n is not skip):
            built = _module_construction(self.source, call, set(self.local))
            if built is not None:
                kinds.add(self.of(built, call, depth + 1))
        return kinds


_PARAMETER_CALLS = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})


def _keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    return next((a.value for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def _literal_p(call: cst.Call) -> Any:
    p = _keyword(call, "p")
    if p is None and call.args and call.args[0].keyword is None and not call.args[0].star:
        p = call.args[0].value
    return literal(p) if p is not None else None


class UnusedSubmodule(Rule):
    """A layer built in __init__ and never called: it is counted in the parameters, saved in
    checkpoints and maybe decayed, but the output never depends on it (usually a forgotten call)."""

    code = "NN111"
    name = "unused-submodule"
    severity = Severity.WARNING
    summary = "A submodule registered in __init__ that nothing uses."
    front_ends = "SF"
    reads_source = True
    requires = (("Module",), ("forward",))

    def check(self, subject: Any, options: dict[str, Any]) -> Iterator[Finding]:
        if not isinstance(subject, SourceFile):
            for node in getattr(subject, "unused_modules", ()):
                yield self.report(node, f"{node.label} is registered but never used by forward(); "
                                        "call it in forward() or remove it")
            return
        yield from self._source(subject)

    def _source(self, source: SourceFile) -> Iterator[Finding]:
        classes = module_classes(source)
        local = {c.node.name.value for c in classes}
        used: set[str] | None = None
        for cls in classes:
            init, forward = cls.methods.get("__init__"), cls.methods.get("forward")
            if init is None or forward is None or not cls.bases_known or self._opaque(forward):
                continue
            self_name = _self_name(init)
            if self_name is None or self._dynamic(cls) or self._calls_super_forward(cls):
                continue
            seen: set[str] = set()
            candidates = []
            for assign, target, attr in _self_assignments(init, self_name):
                built = _module_construction(source, assign.value, local)
                if built and attr not in seen:
                    seen.add(attr)
                    candidates.append((target, attr, built, assign.value))
            if not candidates:
                continue
            if used is None:
                used = self._used_names(source)
            for target, attr, built, call in candidates:
                if attr in used:
                    continue
                kind = _ModuleKinds(source, classes).of(built, call)
                if kind in ("loss", "parameterless"):
                    continue  # a criterion is called by training code; an unused activation or pool does nothing
                why = {"dropout": ": the dropout it configures is never applied",
                       "parameters": ": its parameters train nothing and are saved anyway"}.get(kind, "")
                yield self.report(
                    target,
                    f"'{self_name}.{attr}' ({built}) is built in __init__ but never used{why}; "
                    "call it in forward() or remove it",
                )

    @staticmethod
    def _opaque(forward: cst.FunctionDef) -> bool:
        """A forward that is only `...`, `pass` or a raise says nothing about what it uses."""
        body = list(_body(forward))
        return not collect(forward.body, lambda n: isinstance(n, (cst.Return, cst.Call, cst.Assign))) or (
            len(body) == 1 and bool(collect(body[0], lambda n: isinstance(n, cst.Raise))))

    @staticmethod
    def _dynamic(cls: ModuleClass) -> bool:
        """Submodules reached by name or by iteration outside initialization code."""
        for name, method in cls.methods.items():
            if "init" in name or "reset" in name:
                continue
            if _calls_named(method, _DYNAMIC_ACCESS) or collect(
                    method, lambda n: isinstance(n, cst.Attribute) and n.attr.value in ("_modules", "__dict__")):
                return True
        return False

    @staticmethod
    def _calls_super_forward(cls: ModuleClass) -> bool:
        def accept(node: cst.CSTNode) -> bool:
            return (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Call)
                    and isinstance(node.value.func, cst.Name) and node.value.func.value == "super"
                    and node.attr.value != "__init__")
        return bool(collect(cls.node, accept))

    @staticmethod
    def _used_names(source: SourceFile) -> set[str]:
        """Every attribute name read anywhere in the file (not as an assignment target), and
        every string literal (getattr-by-name, registries)."""
        index = source.index
        targets = index.assign_targets
        names = {node.attr.value for node in index.every_attribute if id(node) not in targets}
        for node in index.every_string:
            value = literal(node)
            if isinstance(value, str):
                names.add(value)
        return names
