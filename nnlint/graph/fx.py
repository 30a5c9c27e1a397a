"""The torch.fx front end: build a model the user names, trace it, lower the trace to a layer graph.

Imported only when the command line asks for a trace (`--trace`, `--trace-config`): it imports
torch and runs the user's code. Every node is placed at the user's source: the innermost stack
frame outside torch when the node was recorded (Python 3.11+ gives the exact expression), or,
for a layer called by a torch container (an nn.Sequential entry), the expression that built it.

Conventions (see the layer graph notes in nnlint.graph.ir): attrs come from the live module
objects, so values are exact and defaults explicit; Node.site is a nnlint.project.At(path, span).
`graph.unused_modules` lists registered submodules the trace never reached (NN111).
"""

from __future__ import annotations

import ast
import linecache
import operator
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from nnlint.diagnostics import Span
from nnlint.graph import LayerGraph, Node
from nnlint.project import At
from nnlint.source.torch_nn import TORCH_NN

_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_NNLINT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_MAX_LABEL = 40


class Untraceable(Exception):
    """Tracing stopped: `reason` says why, `where` is the user's line it stopped at (or None)."""

    def __init__(self, reason: str, where: At | None) -> None:
        super().__init__(reason)
        self.reason, self.where = reason, where


# --- where things are in the user's code ------------------------------------------------------

def _is_user_file(path: str) -> bool:
    return not (path.startswith("<") or path.startswith(_TORCH_DIR) or path.startswith(_NNLINT_DIR))


_POSITIONS: dict[Any, list] = {}


def _at(code: Any, lasti: int, lineno: int | None) -> At:
    """The source span of the instruction at `lasti` of `code` (1-based, code-point columns)."""
    path = os.path.abspath(code.co_filename)
    start = end = lineno or code.co_firstlineno
    col = end_col = None
    if hasattr(code, "co_positions") and lasti >= 0:
        table = _POSITIONS.get(code)
        if table is None:
            table = _POSITIONS[code] = list(code.co_positions())
        if lasti // 2 < len(table):
            s, e, c, ec = table[lasti // 2]
            if s is not None and c is not None and ec is not None:
                start, end, col, end_col = s, e or s, c, ec
    first = linecache.getline(path, start)
    if col is None:
        text = first.rstrip("\r\n")
        col, end_col, end = len(text) - len(text.lstrip()), len(text.rstrip()), start
        return At(path, Span(start, col + 1, end, max(end_col, col) + 1))
    last = first if end == start else linecache.getline(path, end)
    return At(path, Span(start, _code_points(first, col) + 1, end, _code_points(last, end_col) + 1))


def _code_points(line: str, byte_offset: int) -> int:
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def _user_frame(frame: Any) -> tuple[Any, bool]:
    """The innermost frame outside torch and nnlint, and whether a torch `forward` (a container
    such as nn.Sequential) stands between it and `frame`."""
    via_container = False
    while frame is not None and not _is_user_file(frame.f_code.co_filename):
        if frame.f_code.co_name == "forward" and frame.f_code.co_filename.startswith(_TORCH_DIR):
            via_container = True
        frame = frame.f_back
    return frame, via_container


def _frame_at(frame: Any) -> At:
    return _at(frame.f_code, frame.f_lasti, frame.f_lineno)


def _where_raised(exc: BaseException) -> At | None:
    """The innermost traceback entry in the user's code."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        if _is_user_file(tb.tb_frame.f_code.co_filename):
            found = _at(tb.tb_frame.f_code, tb.tb_lasti, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _source_text(at: At) -> str | None:
    span = at.span
    if span.line != span.end_line:
        return None
    line = linecache.getline(at.path, span.line)
    text = line[span.column - 1:span.end_column - 1]
    return text if text and len(text) <= _MAX_LABEL else None


def argument_sites(at: At, params: tuple[str, ...]) -> dict[str, At]:
    """Where each argument of the constructor call at `at` was written, by parameter name
    (positional ones by `params`); {} when the text there is not a plain call."""
    span = at.span
    lines = [linecache.getline(at.path, n) for n in range(span.line, span.end_line + 1)]
    if not lines or not all(lines):
        return {}
    lines[-1] = lines[-1][:span.end_column - 1]
    lines[0] = lines[0][span.column - 1:]
    try:
        call = ast.parse("".join(lines), mode="eval").body
    except SyntaxError:
        return {}
    if not isinstance(call, ast.Call) or any(isinstance(a, ast.Starred) for a in call.args):
        return {}
    bound = dict(zip(params, call.args))
    bound.update((kw.arg, kw.value) for kw in call.keywords if kw.arg)
    sites = {}
    for name, expr in bound.items():
        if expr.end_lineno is None or expr.end_col_offset is None:
            continue
        start_line, end_line = span.line + expr.lineno - 1, span.line + expr.end_lineno - 1
        col = _code_points(lines[expr.lineno - 1], expr.col_offset) + (span.column - 1 if expr.lineno == 1 else 0)
        end = _code_points(lines[expr.end_lineno - 1], expr.end_col_offset) + (span.column - 1 if expr.end_lineno == 1 else 0)
        sites[name] = At(at.path, Span(start_line, col + 1, end_line, end + 1))
    return sites


# --- building the model, with the place each module was built and registered ------------------

@dataclass
class _Sites:
    built: dict[int, At] = field(default_factory=dict)  # id(module) -> the call that built it
    registered: dict[int, At] = field(default_factory=dict)  # id(module) -> the assignment that registered it
    keep: list = field(default_factory=list)  # keeps ids stable while the model is built


def build_model(factory: Callable[[], Any], meta: bool = False) -> tuple[Any, _Sites]:
    """Call the factory while recording where each module is built and registered.

    meta=True builds under torch.device("meta") (no memory for weights); a factory that needs
    real tensors while building is called again on the CPU.
    """
    sites = _Sites()
    original_init = nn.Module.__init__

    def __init__(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        try:
            if id(self) not in sites.built:
                frame = sys._getframe(1)
                while frame is not None and frame.f_code.co_name == "__init__" and frame.f_locals.get("self") is self:
                    frame = frame.f_back
                frame, _ = _user_frame(frame)
                if frame is not None:
                    sites.built[id(self)] = _frame_at(frame)
                    sites.keep.append(self)
        except Exception:  # noqa: BLE001 - recording a site must never break the user's model
            pass
        original_init(self, *args, **kwargs)

    def on_register(parent: nn.Module, name: str, module: Any) -> None:
        try:
            if isinstance(module, nn.Module) and id(module) not in sites.registered:
                frame, _ = _user_frame(sys._getframe(1))
                if frame is not None:
                    sites.registered[id(module)] = _frame_at(frame)
                    sites.keep.append(module)
        except Exception:  # noqa: BLE001 - recording a site must never break the user's model
            pass

    handle = nn.modules.module.register_module_module_registration_hook(on_register)
    nn.Module.__init__ = __init__  # type: ignore[method-assign]
    try:
        if meta:
            try:
                with torch.device("meta"):
                    return factory(), sites
            except Exception:  # noqa: BLE001 - needs real tensors while building: build on the CPU
                sites = _Sites()
        return factory(), sites
    finally:
        nn.Module.__init__ = original_init  # type: ignore[method-assign]
        handle.remove()


# --- tracing ---------------------------------------------------------------------------------

class _Tracer(torch.fx.Tracer):
    """A torch.fx Tracer that records, for every node, the user's source span."""

    def __init__(self) -> None:
        super().__init__()
        self.record_stack_traces = True
        self.called: set[str] = set()  # every module called while tracing (leaf or traced through)
        self.touched: set[str] = set()  # every module read as an attribute while tracing

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict) -> Any:
        if isinstance(attr_val, nn.Module):  # `self.rope.get_embed()`, `for t in self.blocks`, `if self.head`
            try:
                self.touched.add(self.path_of_module(attr_val))
            except NameError:
                pass
        return super().getattr(attr, attr_val, parameter_proxy_cache)

    def call_module(self, m: nn.Module, forward: Callable, args: tuple, kwargs: dict) -> Any:
        try:
            self.called.add(self.path_of_module(m))
        except NameError:
            pass
        return super().call_module(m, forward, args, kwargs)

    def create_node(self, kind: str, target: Any, args: Any, kwargs: Any, name: str | None = None, type_expr: Any = None) -> torch.fx.Node:
        node = super().create_node(kind, target, args, kwargs, name, type_expr)
        frame, via_container = _user_frame(sys._getframe(1))
        node.meta["nnlint_site"] = (_frame_at(frame) if frame is not None else None, via_container)
        return node


def trace(model: nn.Module) -> tuple[torch.fx.GraphModule, tuple[set[str], set[str]]]:
    """Trace `model` in training mode (the forward that trains: dropout on, auxiliary heads
    returned); Untraceable names the reason and the user's line where tracing stopped."""
    tracer = _Tracer()
    try:
        model.train()
        graph = tracer.trace(model)
    except Exception as exc:  # noqa: BLE001 - anything user code raises while tracing
        raise Untraceable(_reason(exc), _where_raised(exc)) from None
    # a module read but never called (`self.rope.get_embed()`, a ModuleList iterated): the code
    # used it somehow, and the trace cannot tell which of its entries: its whole subtree counts
    return torch.fx.GraphModule(tracer.root, graph), (tracer.called, tracer.touched - tracer.called)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0] if text else ""
    if "cannot be used as inputs to control flow" in detail:
        return "data-dependent control flow (a traced tensor decides an `if`/`while`)"
    if "'len' is not supported" in detail:
        return "len() of a traced tensor"
    if "cannot be iterated" in detail or "Proxy object cannot be iterated" in detail:
        return "iteration over a traced tensor"
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def propagate_shapes(gm: torch.fx.GraphModule, shape: tuple[int, ...]) -> None:
    """Output shapes of every node, on the meta device (no memory, no real compute)."""
    from torch.fx.passes.shape_prop import ShapeProp

    class _Prop(ShapeProp):
        def run_node(self, n: torch.fx.Node) -> Any:
            try:
                return super().run_node(n)
            except Exception as exc:
                reason = shape_error(exc.__cause__ or exc)
                if reason is not None:  # lowered as attrs["shape_error"] (NN106)
                    n.meta["nnlint_shape_error"] = f"{reason} for input shape {'x'.join(map(str, shape))}"
                raise

    gm = gm.to("meta")
    _Prop(gm).propagate(torch.empty(*shape, device="meta"))


_SHAPE_ERRORS = (
    (re.compile(r"Calculated padded input size per channel: \((.*?)\)\. Kernel size: \((.*?)\)\. Kernel size can't"),
     "gets a {0} input (after padding), smaller than its {1} kernel: the output would be empty"),
    (re.compile(r"Given input size: \((.*?)\)\. Calculated output size: \((.*?)\)\. Output size is too small"),
     "shrinks its {0} input to {1}: the output would be empty"),
    (re.compile(r"shape '\[(.*?)\]' is invalid for input of size (\d+)"),
     "cannot reshape its input ({1} values for the whole batch) to [{0}]"),
)


def shape_error(exc: BaseException) -> str | None:
    """Why a shape propagation failed, when it is a layer-shape mismatch (NN106); else None."""
    text = str(exc)
    for pattern, reason in _SHAPE_ERRORS:
        match = pattern.search(text)
        if match:
            return reason.format(*(g.replace(" ", "").replace(",", ", ") for g in match.groups()))
    return None


# --- lowering ---------------------------------------------------------------------------------

_ATTR_NAMES = ("bidirectional", "batch_first", "proj_size", "dilation", "track_running_stats")


def _torch_class(module: nn.Module) -> type | None:
    """The torch.nn class a module is (or derives from) that the layer table knows."""
    for cls in type(module).__mro__:
        if cls.__module__.startswith("torch.nn.") and cls.__name__ in TORCH_NN:
            return cls
    return None


def _simple(value: Any) -> bool:
    if isinstance(value, (tuple, list)):
        return all(_simple(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def module_attrs(module: nn.Module) -> tuple[str, dict[str, Any]]:
    """The op kind and attrs of a module, read from the live object."""
    cls = _torch_class(module)
    name = type(module).__name__
    if cls is None:
        loss = _LOSS_MODULES.get(name) if type(module).__module__.startswith("torch.nn.") else None
        return (loss or "opaque"), {"cls": name}
    spec = TORCH_NN[cls.__name__]
    attrs: dict[str, Any] = {"cls": name}
    for param in spec.params + _ATTR_NAMES + (("bias",) if spec.op in ("linear", "conv") else ()):
        if not hasattr(module, param):
            continue
        value = getattr(module, param)
        if param == "bias":
            value = value if isinstance(value, bool) else value is not None
        if param in ("in_features", "in_channels") and value == 0:
            continue  # a Lazy* layer before its first call
        if _simple(value):
            attrs[param] = tuple(value) if isinstance(value, list) else value
    if spec.op in ("batchnorm", "instancenorm", "groupnorm") and hasattr(module, "affine"):
        attrs["affine"] = bool(module.affine)
    return spec.op, attrs


_LOSS_MODULES = {
    "CrossEntropyLoss": "loss.cross_entropy",
    "NLLLoss": "loss.nll",
    "BCELoss": "loss.bce",
    "BCEWithLogitsLoss": "loss.bce_with_logits",
}

_FUNCTIONS: dict[Any, tuple[str, tuple[str, ...]]] | None = None
_METHODS: dict[str, tuple[str, tuple[str, ...]]] = {
    "softmax": ("softmax", ("dim",)),
    "log_softmax": ("log_softmax", ("dim",)),
    "log": ("log", ()),
    "relu": ("relu", ()), "relu_": ("relu", ()),
    "sigmoid": ("sigmoid", ()), "sigmoid_": ("sigmoid", ()),
    "tanh": ("tanh", ()), "tanh_": ("tanh", ()),
    "view": ("reshape", ()), "reshape": ("reshape", ()), "view_as": ("reshape", ()), "reshape_as": ("reshape", ()),
    "squeeze": ("reshape", ()), "unsqueeze": ("reshape", ()),
    "flatten": ("flatten", ("start_dim", "end_dim")),
    "unflatten": ("unflatten", ()),
    "contiguous": ("identity", ()),
    "add": ("add", ()), "add_": ("add", ()),
    "transpose": ("transpose", ()), "permute": ("transpose", ()),
    "mul": ("scale", ()), "div": ("scale", ()),
}


def _functions() -> dict[Any, tuple[str, tuple[str, ...]]]:
    """Functional targets by identity: the function object -> (op kind, positional parameter names)."""
    global _FUNCTIONS
    if _FUNCTIONS is not None:
        return _FUNCTIONS
    table: dict[Any, tuple[str, tuple[str, ...]]] = {}

    def put(op: str, names: str, params: tuple[str, ...] = ("input",), owners: tuple = (F, torch)) -> None:
        for name in names.split():
            for owner in owners:
                fn = getattr(owner, name, None)
                if fn is not None and fn not in table:
                    table[fn] = (op, params)

    put("dropout", "dropout dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout",
        ("input", "p", "training", "inplace"), (F,))
    put("dropout", "dropout alpha_dropout feature_alpha_dropout", ("input", "p", "training"), (torch,))
    put("batchnorm", "batch_norm", ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"), (F,))
    put("layernorm", "layer_norm rms_norm", ("input", "normalized_shape", "weight", "bias", "eps"), (F,))
    put("groupnorm", "group_norm", ("input", "num_groups", "weight", "bias", "eps"), (F,))
    put("instancenorm", "instance_norm", ("input",), (F,))
    put("linear", "linear", ("input", "weight", "bias"), (F,))
    put("conv", "conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d",
        ("input", "weight", "bias", "stride", "padding", "dilation", "groups"), (F, torch))
    put("embedding", "embedding", ("input", "weight"), (F,))
    put("attention", "scaled_dot_product_attention multi_head_attention_forward", ("query",), (F,))
    put("softmax", "softmax softmin", ("input", "dim"))
    put("log_softmax", "log_softmax", ("input", "dim"))
    put("softmax", "softmax", ("input", "dim"), (torch.special,))
    put("log_softmax", "log_softmax", ("input", "dim"), (torch.special,))
    put("log", "log", ("input",), (torch,))
    put("sigmoid", "sigmoid", ("input",))
    put("sigmoid", "expit", ("input",), (torch.special,))
    put("tanh", "tanh", ("input",))
    for act in ("relu relu_ relu6 leaky_relu leaky_relu_ prelu rrelu elu elu_ selu celu gelu silu mish hardtanh hardswish "
                "hardsigmoid softplus softsign tanhshrink threshold logsigmoid glu softshrink hardshrink").split():
        put(act.rstrip("_"), act)
    put("flatten", "flatten", ("input", "start_dim", "end_dim"), (torch,))
    put("unflatten", "unflatten", ("input",), (torch,))
    put("reshape", "reshape squeeze unsqueeze", ("input",), (torch,))
    put("pool", "max_pool1d max_pool2d max_pool3d avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d "
        "adaptive_avg_pool2d adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool2d adaptive_max_pool3d "
        "lp_pool1d lp_pool2d lp_pool3d")
    put("concat", "cat concat concatenate stack", ("tensors", "dim"), (torch,))
    put("transpose", "transpose permute", ("input",), (torch,))
    put("loss.cross_entropy", "cross_entropy", ("input", "target"), (F,))
    put("loss.nll", "nll_loss", ("input", "target"), (F,))
    put("loss.bce", "binary_cross_entropy", ("input", "target"), (F,))
    put("loss.bce_with_logits", "binary_cross_entropy_with_logits", ("input", "target"), (F,))
    table[operator.add] = ("add", ())
    table[operator.iadd] = ("add", ())
    table[torch.add] = ("add", ())
    for scale in (operator.mul, operator.truediv, operator.imul, operator.itruediv, torch.mul, torch.div):
        table[scale] = ("scale", ())  # by a constant; two computed operands are opaque
    _FUNCTIONS = table
    return table


def _constant_args(fx_node: torch.fx.Node, params: tuple[str, ...]) -> dict[str, Any]:
    """Arguments that were plain constants at trace time, by parameter name."""
    values: dict[str, Any] = {}
    for name, value in zip(params, fx_node.args):
        values[name] = value
    values.update(fx_node.kwargs)
    return {k: v for k, v in values.items() if k not in ("input", "tensors", "query", "weight") and _simple(v)}


def _function_name(target: Any) -> str:
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", str(target))
    if module.startswith("torch.nn.functional") or getattr(F, name, None) is target:
        return f"F.{name}"
    if module.startswith("torch") or module == "_operator":
        return f"torch.{name}" if module.startswith("torch") else name
    return name


def lower(gm: torch.fx.GraphModule, model: nn.Module, called: tuple[set[str], set[str]], sites: _Sites, name: str, fallback: At) -> LayerGraph:
    """The layer graph of a traced model."""
    graph = LayerGraph("fx", name)
    lowered: dict[torch.fx.Node, Node] = {}
    modules = dict(model.named_modules())
    reached: set[str] = set()  # modules whose whole subtree the trace used: leaves, owners of get_attr
    metadata: set[torch.fx.Node] = set()  # shapes, sizes, asserts: no layer graph nodes
    # A call site that calls several modules (a loop over a ModuleList, a torch container)
    # does not say which layer is meant: those layers are placed where they were built.
    targets_at: dict[At, set[str]] = {}
    for fx_node in gm.graph.nodes:
        if fx_node.op == "call_module" and fx_node.meta.get("nnlint_site", (None,))[0] is not None:
            targets_at.setdefault(fx_node.meta["nnlint_site"][0], set()).add(str(fx_node.target))
    for fx_node in gm.graph.nodes:
        if fx_node.op == "output":
            for value in fx_node.all_input_nodes:
                if value in lowered:
                    graph.mark_output(lowered[value])
            continue
        if fx_node.op == "get_attr":
            reached.add(str(fx_node.target).rpartition(".")[0])
            continue
        if fx_node.op == "placeholder":
            meta = fx_node.meta.get("tensor_meta")
            shape = {"shape": tuple(int(d) for d in meta.shape)} if hasattr(meta, "shape") else {}
            lowered[fx_node] = graph.add("input", f"'{fx_node.target}'", (), site=fallback, **shape)
            continue
        if _metadata(fx_node, metadata) or (not fx_node.users and _bookkeeping(fx_node, modules)):
            metadata.add(fx_node)
            continue
        call_site, via_container = fx_node.meta.get("nnlint_site", (None, False))
        site = call_site or fallback
        inputs = [lowered[n] for n in fx_node.all_input_nodes if n in lowered]
        if fx_node.op == "call_module":
            reached.add(str(fx_node.target))
            module = modules.get(str(fx_node.target))
            op, attrs = module_attrs(module) if module is not None else ("opaque", {})
            shared = call_site is None or via_container or len(targets_at.get(call_site, ())) > 1
            if module is not None and shared and id(module) in sites.built:
                site = sites.built[id(module)]
            label = f"'{fx_node.target}' ({attrs.get('cls', 'module')})"
        elif fx_node.op == "call_function":
            op, params = _functions().get(fx_node.target, ("opaque", ()))
            if op == "scale" and len(fx_node.all_input_nodes) != 1:
                op = "opaque"  # a product of two computed tensors is not a scaling
            attrs = {"cls": _function_name(fx_node.target), **_constant_args(fx_node, params)}
            label = (call_site and _source_text(call_site)) or f"{attrs['cls']}()"
        else:  # call_method
            op, params = _METHODS.get(str(fx_node.target), ("opaque", ()))
            if op == "scale" and len(fx_node.all_input_nodes) != 1:
                op = "opaque"
            attrs = {"cls": f".{fx_node.target}()", **_constant_args(fx_node, ("self",) + params)}
            attrs.pop("self", None)
            label = (call_site and _source_text(call_site)) or attrs["cls"]
        if op == "batchnorm" and fx_node.op == "call_function":
            attrs["affine"] = _arg(fx_node, 3, "weight") is not None
        if op == "linear" and fx_node.op == "call_function":
            attrs["bias"] = _arg(fx_node, 2, "bias") is not None
        if fx_node.is_impure() or (fx_node.op == "call_method" and str(fx_node.target).endswith("_")
                                   and not str(fx_node.target).startswith("__")):
            attrs["side_effect"] = True
        meta = fx_node.meta.get("tensor_meta")
        if meta is not None and hasattr(meta, "shape"):
            attrs["shape"] = tuple(int(d) for d in meta.shape)
        if "nnlint_shape_error" in fx_node.meta:
            attrs["shape_error"] = fx_node.meta["nnlint_shape_error"]
        attrs["scope"] = _scope(fx_node)
        if fx_node.op == "call_module" and module is not None:
            attrs.update(_argument_attrs(module, sites))
        lowered[fx_node] = graph.add(op, label, inputs, site=site, **attrs)
    graph.unused_modules = list(_unused_modules(model, reached | called[1], called[0], sites, fallback))  # type: ignore[attr-defined]
    return graph


_META_METHODS = frozenset({"size", "dim", "ndimension", "numel", "nelement", "stride", "get_device", "type",
                           "is_contiguous", "element_size", "data_ptr", "is_floating_point", "is_complex"})
_META_ATTRIBUTES = frozenset({"shape", "dtype", "device", "ndim", "is_cuda", "requires_grad", "layout", "is_sparse"})


def _metadata(fx_node: torch.fx.Node, metadata: set) -> bool:
    """A node that computes facts about tensors (sizes, dtypes, checks), not tensor values."""
    if fx_node.op == "call_method" and fx_node.target in _META_METHODS:
        return True
    if fx_node.op == "call_function":
        if fx_node.target is getattr and len(fx_node.args) > 1 and fx_node.args[1] in _META_ATTRIBUTES:
            return True
        if fx_node.target in (len, torch._assert, getattr(torch, "_assert_async", None)):
            return True
    inputs = fx_node.all_input_nodes
    return bool(inputs) and all(n in metadata for n in inputs) and fx_node.op != "call_module"


def _bookkeeping(fx_node: torch.fx.Node, modules: dict[str, nn.Module]) -> bool:
    """An unused node that is not a computation thrown away: an unpacked tuple element nobody
    reads (`x, _ = self.attn(...)`), an in-place update whose result is not reassigned, an
    nn.Identity placeholder."""
    if fx_node.op == "call_module":
        return isinstance(modules.get(str(fx_node.target)), nn.Identity)
    if fx_node.op == "call_function" and fx_node.target is operator.getitem:
        return True
    if fx_node.op == "call_method" and str(fx_node.target).endswith("_") and not str(fx_node.target).startswith("__"):
        return True
    return fx_node.op == "call_function" and getattr(fx_node.target, "__name__", "").endswith("_") or fx_node.is_impure()


def _scope(fx_node: torch.fx.Node) -> tuple[str, ...]:
    """The module calls the node was traced inside, outermost first ("block", "block.attn"):
    where one module ends and the next begins. The root module is ()."""
    stack = fx_node.meta.get("nn_module_stack") or {}
    paths = [value[0] if isinstance(value, tuple) else key for key, value in stack.items()]
    if fx_node.op == "call_module" and paths and paths[-1] == str(fx_node.target):
        paths.pop()
    return tuple(str(p) for p in paths)


def _argument_attrs(module: nn.Module, sites: _Sites) -> dict[str, At]:
    """`p_site`, `momentum_site`: where the constructor call wrote them (rules report there)."""
    built = sites.built.get(id(module))
    cls = _torch_class(module)
    if built is None or cls is None:
        return {}
    found = argument_sites(built, TORCH_NN[cls.__name__].params)
    return {f"{name}_site": found[name] for name in ("p", "momentum") if name in found}


def _arg(fx_node: torch.fx.Node, index: int, name: str) -> Any:
    if name in fx_node.kwargs:
        return fx_node.kwargs[name]
    return fx_node.args[index] if len(fx_node.args) > index else None


def _unused_modules(model: nn.Module, subtrees: set[str], called: set[str], sites: _Sites, fallback: At) -> Iterator[Node]:
    """Registered submodules the trace never reached (the topmost of each unused subtree).

    Reached: everything inside `subtrees` (leaves called, owners of parameters read, modules
    read but not called), each module in `called` (its children are judged one by one), and
    every ancestor of those. Losses (called by training code) and modules without parameters are
    never reported, except a dropout with p > 0 (a configured regularization that does nothing)."""
    subtrees = {r for r in subtrees if r}
    called = {c for c in called if c}
    unused: list[str] = []
    for name, module in model.named_modules():
        if not name or any(name.startswith(u + ".") for u in unused):
            continue
        if any(r == name or r.startswith(name + ".") or name.startswith(r + ".") for r in subtrees):
            continue
        if any(c == name or c.startswith(name + ".") for c in called):
            continue
        if isinstance(module, nn.modules.loss._Loss):
            continue
        dropout = isinstance(module, nn.modules.dropout._DropoutNd) and module.p > 0
        if not dropout and not any(True for _ in module.parameters()):
            continue  # nothing to train: a placeholder a config turned off (Identity, an empty Sequential,
            # StochasticDepth in a block without residual, an activation of another mode), a buffer holder
        unused.append(name)
        op, attrs = module_attrs(module)
        site = sites.registered.get(id(module)) or sites.built.get(id(module)) or fallback
        yield Node(-1, op, f"'{name}' ({attrs['cls']})", attrs, (), site)


def module_tree(model: nn.Module, sites: _Sites, name: str, fallback: At) -> LayerGraph:
    """The fallback for an untraceable model: one isolated node per registered layer the layer
    table knows (no edges), so attribute rules (momentum, dropout p) still run."""
    graph = LayerGraph("fx.modules", name)
    for qualified, module in model.named_modules():
        if not qualified or _torch_class(module) is None:
            continue
        op, attrs = module_attrs(module)
        site = sites.built.get(id(module)) or sites.registered.get(id(module)) or fallback
        attrs.update(_argument_attrs(module, sites))
        graph.add(op, f"'{qualified}' ({attrs['cls']})", (), site=site, **attrs)
    return graph
