"""The ONNX front end: an .onnx file's bytes -> layer graphs.

One LayerGraph per ONNX graph: the main graph, every If/Loop/Scan body (recursively) and every
model-local function. A node's site is Span(line = 1-based index of the node in its graph,
column 1); its label is its name (or op_type#index). External weight data is never read: sizes
come from initializer dims, which the file holds even when the values live elsewhere.

Lowering conventions (shared with the other front ends, see graph/ops.py and graph/ir.py):
- edges: every input produced by a node of the same graph, plus the outer values an If/Loop
  body reads (so the If node depends on them); weights (initializers, Constant nodes and
  nodes that only compute on constants) are not nodes and make no edges.
- unknown op types and ops of other domains (and calls of local functions) are "opaque".
- Node.attrs["source_location"] = (file, line) when the node carries the exporter's stack
  trace; the engine adds it to the message and as a related location.
- Node.attrs["shape"] = the first output's shape when the file's value_info declares it fully
  (exporters write these) or ONNX shape inference derives it, like fx's attrs["shape"].

onnx is imported only when a graph is linted (load_graphs).
"""

from __future__ import annotations

import io
import re
from typing import Any, Iterable, Mapping

from nnlint.diagnostics import Span
from nnlint.graph.ir import LayerGraph, Node

STACK_TRACE_KEY = "pkg.torch.onnx.stack_trace"


class GraphLoadError(Exception):
    """The file is not a usable ONNX model; the message (the reason) becomes NN003."""


def load_graphs(data: bytes) -> list[LayerGraph]:
    """Decode, check and lower one .onnx file's bytes. Raises GraphLoadError with the reason."""
    if not data:
        raise GraphLoadError("empty file: not an ONNX model")
    try:
        import onnx
        from google.protobuf.message import DecodeError
    except ImportError:
        raise GraphLoadError("the onnx package is not installed: pip install 'nnlint[onnx]'") from None
    try:
        model = onnx.load(io.BytesIO(data), load_external_data=False)
    except (DecodeError, ValueError, RuntimeError, UnicodeDecodeError) as exc:
        raise GraphLoadError(f"does not decode as an ONNX model ({_first_line(exc) or type(exc).__name__})") from None
    checkable = _without_external_data(model)
    try:
        onnx.checker.check_model(checkable)
    except (onnx.checker.ValidationError, ValueError, RuntimeError) as exc:
        raise GraphLoadError(f"fails the ONNX checker: {_first_line(exc)}") from None
    _add_inferred_shapes(model, checkable)
    return lower_model(model)


def _add_inferred_shapes(model: Any, checkable: Any) -> None:
    """Give the main graph the value shapes ONNX's own shape inference derives (NN106 reads them).
    Inference that fails adds nothing: the declared shapes stay as they are."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(checkable, check_type=False)
    except Exception:  # noqa: BLE001 - inference is a bonus, never a reason to lose the file
        return
    known = {info.name for info in model.graph.value_info}
    model.graph.value_info.extend(
        info for info in (*inferred.graph.value_info, *inferred.graph.output) if info.name not in known)


def _tensors(graph: Any) -> Iterable[Any]:
    """Every TensorProto of a graph: initializers and tensor attributes, subgraphs included."""
    yield from graph.initializer
    for node in graph.node:
        yield from _node_tensors(node)


def _node_tensors(node: Any) -> Iterable[Any]:
    for attribute in node.attribute:
        if attribute.HasField("t"):
            yield attribute.t
        yield from attribute.tensors
        if attribute.HasField("g"):
            yield from _tensors(attribute.g)
        for sub in attribute.graphs:
            yield from _tensors(sub)


def _without_external_data(model: Any) -> Any:
    """What the checker may see: external tensors would make it stat their files (relative to the
    current directory), so a copy gets empty stand-ins; the original keeps its dims for lowering."""
    from onnx import TensorProto

    def external(tensors: Iterable[Any]) -> list[Any]:
        return [t for t in tensors if t.data_location == TensorProto.EXTERNAL]

    every = lambda m: [*_tensors(m.graph), *(t for f in m.functions for n in f.node for t in _node_tensors(n))]  # noqa: E731
    if not external(every(model)):
        return model
    model = type(model).FromString(model.SerializeToString())
    for tensor in external(every(model)):
        tensor.data_location = TensorProto.DEFAULT
        del tensor.external_data[:]
        del tensor.dims[:]
        tensor.dims.append(0)
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else ""


# ---------------------------------------------------------------------------------------------
# op_type -> op kind

_KINDS = {
    "Relu": "relu", "LeakyRelu": "leaky_relu", "PRelu": "prelu", "Elu": "elu", "Selu": "selu",
    "Celu": "celu", "Gelu": "gelu", "Mish": "mish", "Sigmoid": "sigmoid", "Tanh": "tanh",
    "HardSigmoid": "hardsigmoid", "HardSwish": "hardswish", "Softplus": "softplus",
    "Softsign": "softsign", "ThresholdedRelu": "threshold",
    "Identity": "identity", "Flatten": "flatten", "Reshape": "reshape", "Squeeze": "reshape",
    "Unsqueeze": "reshape",
    "MaxPool": "pool", "AveragePool": "pool", "LpPool": "pool", "GlobalAveragePool": "pool",
    "GlobalMaxPool": "pool", "GlobalLpPool": "pool",
    "Add": "add", "Sum": "add", "Concat": "concat", "Log": "log",
    "Softmax": "softmax", "LogSoftmax": "log_softmax", "Dropout": "dropout",
    "BatchNormalization": "batchnorm", "InstanceNormalization": "instancenorm",
    "LayerNormalization": "layernorm", "GroupNormalization": "groupnorm", "LRN": "localresponsenorm",
    "Gemm": "linear", "MatMul": "linear", "Conv": "conv", "ConvTranspose": "conv",
    "LSTM": "rnn", "GRU": "rnn", "RNN": "rnn", "Gather": "embedding", "Clip": "hardtanh",
}
_DEFAULT_DOMAINS = ("", "ai.onnx")
# Ops that make new values from nothing, or that are random: never folded as constants.
_NOT_FOLDABLE = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                 "Multinomial", "Bernoulli", "Dropout", "If", "Loop", "Scan"}
# Kinds whose attributes or sizes _classify reads (the others are just their kind).
_SIZED = {"dropout", "batchnorm", "layernorm", "instancenorm", "groupnorm", "softmax", "log_softmax", "concat",
          "linear", "conv", "rnn", "embedding", "hardtanh", "pool"}
_CONTROL_FLOW = {"If", "Loop", "Scan", "SequenceMap"}
_SHAPE_KEEPING = {"Identity", "Cast", "CastLike"}
_RNN_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
_SMALL_TENSOR = 64  # elements: the most a scalar-ish constant (ratio, clip bound) may hold


def _attr(node: Any, name: str, default: Any = None) -> Any:
    if not node.attribute:
        return default
    from onnx import helper

    for attribute in node.attribute:
        if attribute.name == name:
            if attribute.ref_attr_name:  # a function's parameter: its value is the caller's
                return default
            return helper.get_attribute_value(attribute)
    return default


def _text(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _f(value: float) -> float:
    """ONNX stores floats as float32: 0.8999999762 -> 0.9."""
    return float(f"{value:.6g}")


class _Scope:
    """What a graph body knows about its values: dims and small values of static tensors."""

    def __init__(self, dims: Mapping[str, tuple[int, ...]], values: Mapping[str, Any]) -> None:
        self.dims = dims  # static value name -> shape (initializers, Constant outputs, folded)
        self.values = values  # static value name -> TensorProto (only those the file holds inline)
        self._scalars: dict[str, float | None] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}  # this body's values with a fully static shape (value_info)

    def child(self) -> _Scope:
        return _Scope(dict(self.dims), dict(self.values))

    def is_static(self, name: str) -> bool:
        return self.dims.get(name) is not None

    def scalar(self, name: str) -> float | None:
        tensor = self.values.get(name)
        if tensor is None:
            return None
        if name in self._scalars:
            return self._scalars[name]
        self._scalars[name] = found = self._read_scalar(tensor)
        return found

    @staticmethod
    def _read_scalar(tensor: Any) -> float | None:
        from onnx import numpy_helper
        try:
            array = numpy_helper.to_array(tensor)
        except Exception:  # noqa: BLE001 - odd encodings: the value is just unknown
            return None
        return float(array.reshape(-1)[0]) if array.size == 1 else None


def _static_shape(info: Any) -> tuple[int, ...] | None:
    """The shape a ValueInfoProto declares, when every dimension is a number."""
    kind = info.type.WhichOneof("value")
    if kind != "tensor_type" or not info.type.tensor_type.HasField("shape"):
        return None
    dims = info.type.tensor_type.shape.dim
    if not all(d.HasField("dim_value") for d in dims):
        return None
    return tuple(int(d.dim_value) for d in dims)


def _tensor_dims(tensor: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in tensor.dims)


def _is_inline(tensor: Any) -> bool:
    from onnx import TensorProto

    if tensor.data_location == TensorProto.EXTERNAL:
        return False
    size = 1
    for d in tensor.dims:
        size *= d
    return size <= _SMALL_TENSOR


def _subgraphs(node: Any) -> Iterable[tuple[str, Any]]:
    if not node.attribute or node.op_type not in _CONTROL_FLOW and node.domain in _DEFAULT_DOMAINS:
        return
    from onnx import AttributeProto

    for attribute in node.attribute:
        if attribute.type == AttributeProto.GRAPH:
            yield attribute.name, attribute.g
        elif attribute.type == AttributeProto.GRAPHS:
            for i, g in enumerate(attribute.graphs):
                yield f"{attribute.name}[{i}]", g


def _free_names(graph: Any, cache: dict[int, tuple[Any, frozenset[str]]]) -> frozenset[str]:
    """Names a (sub)graph reads from enclosing scopes. The cache holds the graph object too,
    so that its id cannot be reused by another graph while the cache lives."""
    key = id(graph)
    if key in cache:
        return cache[key][1]
    defined = {v.name for v in graph.input} | {t.name for t in graph.initializer}
    defined |= {t.values.name for t in graph.sparse_initializer}
    used: set[str] = set()
    for node in graph.node:
        used.update(n for n in node.input if n and n not in defined)
        for _, sub in _subgraphs(node):
            used.update(n for n in _free_names(sub, cache) if n not in defined)
        defined.update(n for n in node.output if n)
    used.update(v.name for v in graph.output if v.name not in defined)
    cache[key] = (graph, frozenset(used))
    return cache[key][1]


_PY_FRAME = re.compile(r'File "([^"]+)", line (\d+)')
_TS_FRAME = re.compile(r"^\s*(\S[^\n]*?\.py)\((\d+)\)", re.M)


def _user_frame(frames: list[tuple[str, str]]) -> tuple[str, int] | None:
    """The innermost frame outside torch and other installed packages (frames innermost first)."""
    for path, line in frames:
        norm = path.replace("\\", "/")
        if norm.startswith("<") or "/site-packages/" in norm or "/dist-packages/" in norm or "/torch/" in norm:
            continue
        return path, int(line)
    return None


def source_location(node: Any) -> tuple[str, int] | None:
    """Where the exporter says the node came from: the dynamo exporter's stack trace
    (Python traceback order, innermost last) or a TorchScript doc_string (innermost first)."""
    for prop in node.metadata_props:
        if _text(prop.key) == STACK_TRACE_KEY:
            found = _user_frame(list(reversed(_PY_FRAME.findall(_text(prop.value)))))
            if found:
                return found
    doc = _text(node.doc_string)
    if doc:
        frames = _TS_FRAME.findall(doc)
        found = _user_frame(frames) if frames else _user_frame(list(reversed(_PY_FRAME.findall(doc))))
        if found:
            return found
    return None


class _Lowerer:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.opset = next((imp.version for imp in model.opset_import if imp.domain in _DEFAULT_DOMAINS), 0)
        self.graphs: list[LayerGraph] = []
        self.free_cache: dict[int, tuple[Any, frozenset[str]]] = {}

    # -- graphs -----------------------------------------------------------------------------
    def lower(self) -> list[LayerGraph]:
        root = _Scope({}, {})
        self.graph(self.model.graph, _text(self.model.graph.name) or "main graph", "", root)
        for function in self.model.functions:
            domain, name = _text(function.domain), _text(function.name)
            title = f"{domain}.{name}" if domain else name
            self.body(function.node, [], function.output, title, f" (in function '{title}')", root.child())
        return self.graphs

    def graph(self, graph: Any, title: str, context: str, outer: _Scope) -> None:
        scope = outer.child()
        for tensor in graph.initializer:
            scope.dims[tensor.name] = _tensor_dims(tensor)
            if _is_inline(tensor):
                scope.values[tensor.name] = tensor
        for sparse in graph.sparse_initializer:
            scope.dims[sparse.values.name] = tuple(int(d) for d in sparse.dims)
        for info in (*graph.value_info, *graph.output):
            shape = _static_shape(info)
            if shape is not None:
                scope.shapes[info.name] = shape
        # Old exports list every weight as a graph input too: those stay weights.
        weights = {t.name for t in graph.initializer}
        inputs = [v.name for v in graph.input if v.name not in weights]
        self.body(graph.node, inputs, [v.name for v in graph.output], title, context, scope)

    def body(self, nodes: Any, inputs: list[str], outputs: Iterable[str], title: str, context: str, scope: _Scope) -> None:
        graph = LayerGraph("onnx", title)
        self.graphs.append(graph)
        for name in inputs:  # a body's inputs shadow outer static values of the same name
            scope.dims[name] = None  # type: ignore[index]
            scope.values[name] = None
        producer: dict[str, Node] = {}
        fused = self._fusions(nodes, scope)
        with_bias = set(fused.values())
        for index, node in enumerate(nodes, start=1):
            if index in fused:  # the Add of a MatMul+Add pair: the linear node stands for both
                owner = producer.get(nodes[fused[index] - 1].output[0])
                if owner is not None:
                    for name in node.output:
                        producer[name] = owner
                continue
            if not any(node.output):
                continue  # no outputs: a side effect (a custom logging op), never a layer in the chain
            if self._fold(node, scope):
                continue
            self._lower_node(graph, node, index, context, scope, producer, fused_bias=index in with_bias)
        for name in outputs:
            if name in producer:
                graph.mark_output(producer[name])

    def _fusions(self, nodes: Any, scope: _Scope) -> dict[int, int]:
        """Add index -> MatMul index for MatMul(x, W) whose only use is Add(., b), W and b static."""
        products = {node.output[0] for node in nodes if node.op_type == "MatMul" and node.output}
        if not products:
            return {}
        uses: dict[str, list[int]] = {}
        static = set()
        for index, node in enumerate(nodes, start=1):
            for name in node.input:
                if name in products:
                    uses.setdefault(name, []).append(index)
            for _, sub in _subgraphs(node):
                for name in _free_names(sub, self.free_cache):
                    if name in products:
                        uses.setdefault(name, []).append(index)
            if node.op_type == "Constant" or (node.op_type in _SHAPE_KEEPING | {"Transpose"} and node.input and (scope.is_static(node.input[0]) or node.input[0] in static)):
                static.update(node.output)
        fused: dict[int, int] = {}
        for index, node in enumerate(nodes, start=1):
            if node.op_type != "MatMul" or node.domain not in _DEFAULT_DOMAINS or len(node.input) != 2:
                continue
            if not (scope.is_static(node.input[1]) or node.input[1] in static) or scope.is_static(node.input[0]):
                continue
            users = uses.get(node.output[0], [])
            if len(users) != 1:
                continue
            add = nodes[users[0] - 1]
            if add.op_type == "Add" and add.domain in _DEFAULT_DOMAINS and len(add.input) == 2:
                other = add.input[1] if add.input[0] == node.output[0] else add.input[0]
                if other != node.output[0] and (scope.is_static(other) or other in static):
                    fused[users[0]] = index
        return fused

    def _fold(self, node: Any, scope: _Scope) -> bool:
        """Nodes computing on constants only (weights, shapes of weights) are not layers."""
        if node.domain not in _DEFAULT_DOMAINS or node.op_type in _NOT_FOLDABLE:
            return False
        if node.op_type == "Constant":
            value = _attr(node, "value")
            if value is not None and hasattr(value, "dims"):
                scope.dims[node.output[0]] = _tensor_dims(value)
                if _is_inline(value):
                    scope.values[node.output[0]] = value
            else:
                scope.dims[node.output[0]] = ()
            return True
        if not node.input or not all(not name or scope.is_static(name) for name in node.input):
            return False
        first = scope.dims.get(node.input[0])
        for position, name in enumerate(node.output):
            if position == 0 and first is not None and node.op_type in _SHAPE_KEEPING:
                scope.dims[name] = first
                if node.input[0] in scope.values and node.op_type == "Identity":
                    scope.values[name] = scope.values[node.input[0]]
            elif position == 0 and first is not None and node.op_type == "Transpose":
                perm = _attr(node, "perm") or list(reversed(range(len(first))))
                scope.dims[name] = tuple(first[p] for p in perm) if len(perm) == len(first) else ()
            else:
                scope.dims[name] = ()  # static, shape unknown
        return True

    # -- nodes ------------------------------------------------------------------------------
    def _lower_node(self, graph: LayerGraph, node: Any, index: int, context: str, scope: _Scope,
                    producer: dict[str, Node], fused_bias: bool) -> None:
        name = _text(node.name) or f"{_text(node.op_type)}#{index}"  # bytes when not valid UTF-8
        label = f"'{name}'{context}"
        kind, attrs = self._classify(node, scope)
        if fused_bias:
            attrs["bias"] = True
        sources = [n for n in node.input if n]
        subgraphs = list(_subgraphs(node))
        for _, sub in subgraphs:
            sources.extend(sorted(_free_names(sub, self.free_cache)))
        inputs: dict[int, Node] = {}
        for value in sources:
            found = producer.get(value)
            if found is not None:
                inputs.setdefault(found.id, found)
        where = source_location(node)
        if where is not None:
            attrs["source_location"] = where
        if scope.shapes and node.output and node.output[0] in scope.shapes:
            attrs["shape"] = scope.shapes[node.output[0]]
            spatial = attrs["shape"][2:]
            if kind in ("conv", "pool") and spatial and min(spatial) < 1:
                attrs["shape_error"] = (f"shrinks its input's spatial size below 1 (output shape "
                                        f"{'x'.join(map(str, attrs['shape']))} by ONNX shape inference)")
        lowered = graph.add(kind, label, inputs.values(), Span.point(index), **attrs)
        for value in node.output:
            if value:
                producer[value] = lowered
        for attr_name, sub in subgraphs:
            self.graph(sub, f"{name}.{attr_name}", f" (in '{name}'.{attr_name})", scope)

    def _classify(self, node: Any, scope: _Scope) -> tuple[str, dict[str, Any]]:
        op = _text(node.op_type)
        attrs: dict[str, Any] = {"cls": op}
        if node.domain not in _DEFAULT_DOMAINS or op not in _KINDS:
            return "opaque", attrs
        kind = _KINDS[op]
        if kind not in _SIZED:
            return kind, attrs
        if any(attribute.ref_attr_name for attribute in node.attribute):
            return kind, attrs  # set by the caller of a function: unknown here
        inputs = list(node.input)
        dims = lambda i: scope.dims.get(inputs[i]) if len(inputs) > i and inputs[i] else None  # noqa: E731
        if kind == "dropout":
            ratio = _attr(node, "ratio")
            if ratio is None and len(inputs) > 1 and inputs[1]:
                ratio = scope.scalar(inputs[1])
                if ratio is None:
                    return kind, attrs  # a ratio we cannot read: p unknown
            attrs["p"] = _f(0.5 if ratio is None else ratio)
        elif kind == "batchnorm":
            attrs["affine"] = True  # ONNX always applies scale and bias (ones/zeros when torch had affine=False)
            attrs["momentum"] = _f(1.0 - _f(_attr(node, "momentum", 0.9)))
            attrs["eps"] = _f(_attr(node, "epsilon", 1e-5))
            scale = dims(1)
            if scale and len(scale) == 1:
                attrs["num_features"] = scale[0]
        elif kind == "layernorm":
            attrs["eps"] = _f(_attr(node, "epsilon", 1e-5))
            scale = dims(1)
            if scale and len(scale) == 1 and _attr(node, "axis", -1) == -1:
                attrs["normalized_shape"] = scale[0]
        elif kind == "instancenorm":
            scale = dims(1)
            if scale and len(scale) == 1:
                attrs["num_features"] = scale[0]
        elif kind == "groupnorm":
            attrs["num_groups"] = _attr(node, "num_groups")
            scale = dims(1)
            if scale and len(scale) == 1 and self.opset >= 21:  # before opset 21 the scale is per group
                attrs["num_channels"] = scale[0]
        elif kind in ("softmax", "log_softmax"):
            attrs["dim"] = _attr(node, "axis", -1 if self.opset >= 13 else 1)
        elif kind == "concat":
            attrs["dim"] = _attr(node, "axis")
        elif kind == "linear":
            weight = dims(1)
            if weight is None or dims(0) is not None or len(weight) != 2:
                return "opaque", attrs  # a product of two activations (attention scores...)
            if op == "Gemm":
                if _attr(node, "transA", 0):
                    return "opaque", attrs
                k, n = (weight[1], weight[0]) if _attr(node, "transB", 0) else weight
                attrs["bias"] = len(inputs) > 2 and bool(inputs[2])
            else:
                k, n = weight
                attrs["bias"] = False
            attrs["in_features"], attrs["out_features"] = k, n
        elif kind == "conv":
            weight = dims(1)
            group = _attr(node, "group", 1)
            attrs["groups"] = group
            attrs["bias"] = len(inputs) > 2 and bool(inputs[2])
            if weight and len(weight) >= 3:
                if op == "Conv":
                    attrs["out_channels"], attrs["in_channels"] = weight[0], weight[1] * group
                else:
                    attrs["in_channels"], attrs["out_channels"] = weight[0], weight[1] * group
                attrs["kernel_size"] = tuple(weight[2:])
            strides = _attr(node, "strides")
            if strides:
                attrs["stride"] = tuple(strides)
            pads = _attr(node, "pads")
            auto = _text(_attr(node, "auto_pad", "NOTSET"))
            if auto == "NOTSET" and pads and pads[: len(pads) // 2] == pads[len(pads) // 2:]:
                attrs["padding"] = tuple(pads[: len(pads) // 2])
        elif kind == "rnn":
            direction = _text(_attr(node, "direction", "forward"))
            attrs["bidirectional"] = direction == "bidirectional"
            attrs["num_layers"] = 1
            hidden = _attr(node, "hidden_size")
            weight = dims(1)
            if hidden is None and weight and len(weight) == 3:
                hidden = weight[1] // _RNN_GATES[op]
            if hidden is not None:
                attrs["hidden_size"] = hidden
            if weight and len(weight) == 3:
                attrs["input_size"] = weight[2]
        elif kind == "embedding":
            table = dims(0)
            if table is None or len(table) != 2 or _attr(node, "axis", 0) != 0 or dims(1) is not None:
                return "opaque", attrs
            attrs["num_embeddings"], attrs["embedding_dim"] = table
        elif kind == "hardtanh":  # Clip
            low = _attr(node, "min") if self.opset < 11 else (scope.scalar(inputs[1]) if len(inputs) > 1 and inputs[1] else None)
            high = _attr(node, "max") if self.opset < 11 else (scope.scalar(inputs[2]) if len(inputs) > 2 and inputs[2] else None)
            if low == 0 and high == 6:
                return "relu6", attrs
            if low == 0 and high is None and (self.opset >= 11 or _attr(node, "max") is None):
                return "relu", attrs
            if low is None or high is None:
                return "opaque", attrs
            attrs["min_val"], attrs["max_val"] = _f(low), _f(high)
        elif kind == "pool":
            kernel = _attr(node, "kernel_shape")
            if kernel:
                attrs["kernel_size"] = tuple(kernel)
            strides = _attr(node, "strides")
            if strides:
                attrs["stride"] = tuple(strides)
        return kind, attrs


def lower_model(model: Any) -> list[LayerGraph]:
    """A checked ModelProto -> its layer graphs (main graph first, then bodies, then functions)."""
    return _Lowerer(model).lower()
