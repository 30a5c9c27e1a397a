"""The ONNX front end: loading (NN002/NN003), lowering to the layer graph, locations, and
the graph rules on ONNX graphs (fire and must-not-fire). Graphs are built with onnx.helper."""

from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from nnlint.diagnostics import Diagnostic
from nnlint.engine import lint_file, lint_source
from nnlint.graph.onnx import load_graphs
from nnlint.testing import settings

FLOAT = TensorProto.FLOAT


def W(name, *shape):
    """A zero initializer: the front end reads shapes only."""
    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


def S(name, value):
    return numpy_helper.from_array(np.array(value, np.float32), name)


def vi(name, shape=("N", "C"), elem=FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def N(op, inputs, outputs, name=None, **attrs):
    return helper.make_node(op, inputs, outputs, name=name if name is not None else f"/{outputs[0]}/{op}", **attrs)


def build(nodes, inits=(), inputs=("x",), outputs=("y",), opset=17, functions=(), check=True):
    graph = helper.make_graph(list(nodes), "g", [i if not isinstance(i, str) else vi(i) for i in inputs],
                              [o if not isinstance(o, str) else vi(o) for o in outputs], list(inits))
    imports = [helper.make_opsetid("", opset)] + [helper.make_opsetid(f.domain, 1) for f in functions if f.domain]
    model = helper.make_model(graph, opset_imports=imports, functions=list(functions))
    if check:
        onnx.checker.check_model(model)
    return model


def lint_model(model, path="model.onnx", **kwargs) -> list[Diagnostic]:
    data = model if isinstance(model, bytes) else model.SerializeToString()
    return sorted(lint_source(path, data, settings(**kwargs)).diagnostics, key=Diagnostic.sort_key)


def codes(model, **kwargs):
    return [(d.line, d.column, d.code) for d in lint_model(model, **kwargs)]


def bn(x, y, c, name=None, **attrs):
    """A BatchNormalization node and its four parameter initializers."""
    prefix = name or y
    node = N("BatchNormalization", [x, f"{prefix}.s", f"{prefix}.b", f"{prefix}.m", f"{prefix}.v"], [y], name=name, **attrs)
    return node, [W(f"{prefix}.{k}", c) for k in "sbmv"]


def mlp_dropout_bn(between=(), opset=17):
    """Gemm -> Relu -> Dropout -> [between...] -> BatchNorm -> Gemm (returns model)."""
    norm, params = bn("t", "n", 32, name="/bn/BatchNormalization")
    nodes = [
        N("Gemm", ["x", "fc1.w", "fc1.b"], ["h"], name="/fc1/Gemm", transB=1),
        N("Relu", ["h"], ["r"], name="/act/Relu"),
        N("Dropout", ["r", "p"], ["d"], name="/drop/Dropout"),
    ]
    value = "d"
    extra = []
    for i, (op, attrs, *more) in enumerate(between):
        nodes.append(N(op, [value, *(t.name for t in more)], [f"b{i}"], name=f"/between{i}/{op}", **attrs))
        extra += more
        value = f"b{i}"
    nodes.append(N("Identity", [value], ["t"], name="/t/Identity"))
    nodes += [norm, N("Gemm", ["n", "fc2.w"], ["y"], name="/fc2/Gemm", transB=1)]
    return build(nodes, [W("fc1.w", 32, 16), W("fc1.b", 32), S("p", 0.5), W("fc2.w", 4, 32), *params, *extra], opset=opset)


# --- loading: NN002 / NN003 -----------------------------------------------------------------

def test_empty_file_is_nn003():
    [d] = lint_model(b"")
    assert (d.line, d.column, d.code) == (1, 1, "NN003")
    assert d.message == "cannot load ONNX model: empty file: not an ONNX model"


def test_garbage_is_nn003_with_the_decoder_reason():
    [d] = lint_model(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe" * 20)
    assert d.code == "NN003"
    assert d.message.startswith("cannot load ONNX model: does not decode as an ONNX model (")


def test_truncated_model_is_nn003():
    data = mlp_dropout_bn().SerializeToString()
    [d] = lint_model(data[: len(data) // 2])
    assert (d.line, d.column, d.code) == (1, 1, "NN003")
    assert "does not decode" in d.message or "fails the ONNX checker" in d.message


def test_checker_failure_is_nn003_with_the_checker_reason():
    model = build([N("NoSuchOp", ["x"], ["y"], name="bad")], check=False)
    [d] = lint_model(model)
    assert d.code == "NN003"
    assert d.message.startswith("cannot load ONNX model: fails the ONNX checker: ")
    assert "NoSuchOp" in d.message


def test_model_without_ir_version_is_nn003():
    model = mlp_dropout_bn()
    model.ClearField("ir_version")
    [d] = lint_model(model)
    assert d.code == "NN003" and "ir_version" in d.message


def test_nn003_can_be_ignored_and_nothing_raises():
    assert lint_model(b"junk", ignore=["NN003"]) == []


def test_file_over_max_graph_bytes_is_nn002_and_never_read(tmp_path, monkeypatch):
    path = tmp_path / "big.onnx"
    path.write_bytes(mlp_dropout_bn().SerializeToString())
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda p, *a, **k: opened.append(str(p)) or real_open(p, *a, **k))
    small = settings()
    small = type(small)(small.enabled, small.options, small.disable_noqa, small.max_source_bytes, 100)
    [d] = lint_file(str(path), small).diagnostics
    size = path.stat().st_size
    assert (d.line, d.column, d.code) == (1, 1, "NN002")
    assert d.message == f"file is {size} bytes, over the 100-byte limit (max-graph-bytes)"
    assert str(path) not in opened
    # the source limit does not apply to graphs, and the graph limit not to sources
    tiny_source = type(small)(small.enabled, small.options, small.disable_noqa, 10, 1 << 30)
    assert [x.code for x in lint_file(str(path), tiny_source).diagnostics] == ["NN101"]


def test_max_graph_bytes_from_config(project, run_cli):
    project("pyproject.toml", "[tool.nnlint]\nmax-graph-bytes = 50\n")
    project("m.onnx", data=mlp_dropout_bn().SerializeToString())
    result = run_cli("-q", "m.onnx")
    assert len(result.lines) == 1 and result.lines[0].startswith("m.onnx:1:1: NN002 file is ")
    assert result.lines[0].endswith("over the 50-byte limit (max-graph-bytes)")
    assert result.exit_code == 1


def test_cli_on_broken_files_never_tracebacks(project, run_cli):
    project("a_empty.onnx", data=b"")
    project("b_garbage.onnx", data=b"not a protobuf \xff\xfe" * 10)
    project("c_good.onnx", data=mlp_dropout_bn().SerializeToString())
    result = run_cli(".")
    assert [line.split(" ")[:2] for line in result.lines] == [
        ["a_empty.onnx:1:1:", "NN003"], ["b_garbage.onnx:1:1:", "NN003"], ["c_good.onnx:3:1:", "NN101"]]
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exit_code == 1


# --- external data --------------------------------------------------------------------------

def external_model(tmp_path):
    model = build([N("MatMul", ["x", "fc1.w"], ["m"], name="/fc1/MatMul"), N("Add", ["m", "fc1.b"], ["h"], name="/fc1/Add"),
                   N("Relu", ["h"], ["r"], name="/act/Relu"), N("Gemm", ["r", "fc2.w"], ["y"], name="/fc2/Gemm", transB=1)],
                  [W("fc1.w", 64, 48), W("fc1.b", 48), W("fc2.w", 10, 32)])
    path = tmp_path / "ext.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="ext.weights", size_threshold=0)
    return path, tmp_path / "ext.weights"


def test_external_data_model_is_linted_without_opening_the_weights(tmp_path, monkeypatch):
    path, weights = external_model(tmp_path)
    assert weights.stat().st_size > 0
    opened: list[str] = []

    def audit(event, args):
        if event == "open" and args and str(args[0]).endswith("ext.weights"):
            opened.append(str(args[0]))

    sys.addaudithook(audit)
    monkeypatch.chdir(tmp_path)  # where the checker would look for the weights
    found = lint_file(str(path), settings(extend_select=["NN102"]))
    # the mismatch NN106 reports comes from the initializer dims alone: 48 out vs 32 in
    assert [(d.line, d.code) for d in found.diagnostics] == [(4, "NN106")]
    assert opened == []


def test_external_data_model_lints_the_same_without_its_weights_file(tmp_path, monkeypatch):
    path, weights = external_model(tmp_path)
    weights.unlink()
    monkeypatch.chdir(tmp_path)
    assert [(d.line, d.code) for d in lint_file(str(path), settings()).diagnostics] == [(4, "NN106")]
    [graph] = load_graphs(path.read_bytes())
    assert graph.nodes[0].attrs == {"cls": "MatMul", "bias": True, "in_features": 64, "out_features": 48}


# --- lowering ------------------------------------------------------------------------------

def lowered(model):
    return load_graphs(model.SerializeToString())


def test_lowering_kinds_attrs_and_sites():
    [g] = lowered(mlp_dropout_bn())
    assert [(n.op, n.label, n.site.line, n.site.column) for n in g.nodes] == [
        ("linear", "'/fc1/Gemm'", 1, 1), ("relu", "'/act/Relu'", 2, 1), ("dropout", "'/drop/Dropout'", 3, 1),
        ("identity", "'/t/Identity'", 4, 1), ("batchnorm", "'/bn/BatchNormalization'", 5, 1), ("linear", "'/fc2/Gemm'", 6, 1)]
    assert g.nodes[0].attrs == {"cls": "Gemm", "bias": True, "in_features": 16, "out_features": 32}
    assert g.nodes[2].attrs == {"cls": "Dropout", "p": 0.5}
    assert g.nodes[4].attrs == {"cls": "BatchNormalization", "affine": True, "momentum": 0.1, "eps": 1e-05, "num_features": 32}
    assert g.nodes[5].attrs["bias"] is False
    assert [n.inputs for n in g.nodes] == [(), (0,), (1,), (2,), (3,), (4,)]
    assert g.outputs == [5] and g.origin == "onnx"


def test_batchnorm_momentum_is_stored_in_torch_convention():
    norm, params = bn("x", "y", 8, momentum=0.99, epsilon=1e-3)
    [g] = lowered(build([norm], params))
    assert g.nodes[0].attrs["momentum"] == 0.01 and g.nodes[0].attrs["eps"] == 0.001


def test_dropout_ratio_from_attribute_input_constant_and_default():
    old = build([N("Dropout", ["x"], ["y"], ratio=0.3)], opset=10)
    from_input = build([N("Dropout", ["x", "r"], ["y"])], [S("r", 0.25)])
    from_constant = build([N("Constant", [], ["r"], value=helper.make_tensor("v", FLOAT, [], [0.2])),
                           N("Dropout", ["x", "r"], ["y"])])
    default = build([N("Dropout", ["x"], ["y"])])
    unknown = build([N("Dropout", ["x", "r"], ["y"])], inputs=("x", vi("r", [])))
    assert [lowered(m)[0].nodes[0].attrs.get("p") for m in (old, from_input, from_constant, default, unknown)] == [
        0.3, 0.25, 0.2, 0.5, None]


def test_constant_nodes_are_not_graph_nodes_but_keep_line_numbers():
    model = build([N("Constant", [], ["r"], value=helper.make_tensor("v", FLOAT, [], [0.2])),
                   N("Dropout", ["x", "r"], ["y"], name="d")])
    [g] = lowered(model)
    assert [(n.op, n.site.line) for n in g.nodes] == [("dropout", 2)]


def test_softmax_axis_default_depends_on_opset():
    new = lowered(build([N("Softmax", ["x"], ["y"])], opset=13))[0].nodes[0]
    old = lowered(build([N("LogSoftmax", ["x"], ["y"])], opset=11))[0].nodes[0]
    explicit = lowered(build([N("Softmax", ["x"], ["y"], axis=1)]))[0].nodes[0]
    assert (new.op, new.attrs["dim"]) == ("softmax", -1)
    assert (old.op, old.attrs["dim"]) == ("log_softmax", 1)
    assert explicit.attrs["dim"] == 1


def test_conv_rnn_embedding_and_pool_sizes():
    model = build([
        N("Gather", ["emb.w", "ids"], ["e"], name="emb"),
        N("LSTM", ["e", "lstm.W", "lstm.R"], ["seq", "h_n"], name="lstm", hidden_size=20, direction="bidirectional"),
        N("Conv", ["img", "c.w", "c.b"], ["c"], name="conv", group=2, strides=[2, 2], pads=[1, 1, 1, 1]),
        N("ConvTranspose", ["c", "ct.w"], ["ct"], name="deconv"),
        N("MaxPool", ["ct"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
    ], [W("emb.w", 100, 12), W("lstm.W", 2, 80, 12), W("lstm.R", 2, 80, 20), W("c.w", 8, 2, 3, 3), W("c.b", 8),
        W("ct.w", 8, 3, 4, 4)],
        inputs=(vi("ids", [5, 1], TensorProto.INT64), "img"), outputs=("seq", "p"))
    [g] = lowered(model)
    emb, lstm, conv, deconv, pool = g.nodes
    assert (emb.op, emb.attrs["num_embeddings"], emb.attrs["embedding_dim"]) == ("embedding", 100, 12)
    assert lstm.op == "rnn" and lstm.attrs == {"cls": "LSTM", "bidirectional": True, "num_layers": 1, "hidden_size": 20, "input_size": 12}
    assert conv.attrs == {"cls": "Conv", "groups": 2, "bias": True, "out_channels": 8, "in_channels": 4, "kernel_size": (3, 3),
                          "stride": (2, 2), "padding": (1, 1)}
    assert (deconv.op, deconv.attrs["in_channels"], deconv.attrs["out_channels"], deconv.attrs["bias"]) == ("conv", 8, 3, False)
    assert (pool.op, pool.attrs["kernel_size"], pool.attrs["stride"]) == ("pool", (2, 2), (2, 2))
    assert g.outputs == [lstm.id, pool.id]


def test_products_of_two_activations_and_unknown_ops_are_opaque():
    model = build([N("MatMul", ["q", "k"], ["s"], name="scores"), N("Gemm", ["s", "v"], ["g"], name="gemm"),
                   N("Erf", ["g"], ["e"], name="erf"), N("Clip", ["e", "lo", "hi"], ["y"], name="clip6")],
                  [S("lo", 0.0), S("hi", 6.0)], inputs=("q", "k", "v"))
    [g] = lowered(model)
    assert [(n.op, n.attrs["cls"]) for n in g.nodes] == [("opaque", "MatMul"), ("opaque", "Gemm"), ("opaque", "Erf"), ("relu6", "Clip")]


def test_matmul_add_fuses_into_one_linear_with_bias_and_transposed_weights_are_folded():
    model = build([N("Transpose", ["w"], ["wt"], name="t", perm=[1, 0]), N("MatMul", ["x", "wt"], ["m"], name="mm"),
                   N("Add", ["b", "m"], ["y"], name="add")], [W("w", 24, 16), W("b", 24)])
    [g] = lowered(model)
    assert [(n.op, n.label, n.site.line) for n in g.nodes] == [("linear", "'mm'", 2)]
    assert g.nodes[0].attrs == {"cls": "MatMul", "bias": True, "in_features": 16, "out_features": 24}
    assert g.outputs == [0]


def test_unnamed_nodes_are_labelled_op_type_and_index():
    [g] = lowered(build([N("Relu", ["x"], ["r"], name=""), N("Relu", ["r"], ["y"], name="")]))
    assert [n.label for n in g.nodes] == ["'Relu#1'", "'Relu#2'"]


# --- subgraphs and functions ------------------------------------------------------------------

def if_model(then_nodes, then_inits=(), then_output="t"):
    then_graph = helper.make_graph(then_nodes, "then", [], [vi(then_output)], list(then_inits))
    else_graph = helper.make_graph([N("Identity", ["h"], ["e"], name="else_id")], "else", [], [vi("e")])
    nodes = [N("Gemm", ["x", "w"], ["h"], name="/fc/Gemm", transB=1),
             N("If", ["flag"], ["y"], name="/If", then_branch=then_graph, else_branch=else_graph)]
    return build(nodes, [W("w", 16, 8)], inputs=("x", vi("flag", [], TensorProto.BOOL)))


def test_dropout_before_batchnorm_inside_an_if_branch():
    norm, params = bn("t0", "t", 16, name="/then/BatchNormalization")
    model = if_model([N("Relu", ["h"], ["r"], name="/then/Relu"), N("Dropout", ["r"], ["t0"], name="/then/Dropout"), norm], params)
    [d] = lint_model(model)
    assert (d.line, d.column, d.code) == (2, 1, "NN101")
    assert d.message.startswith("'/then/Dropout' (in '/If'.then_branch) feeds '/then/BatchNormalization' (in '/If'.then_branch) directly")


def test_value_used_only_inside_a_branch_is_not_dangling():
    model = if_model([N("Relu", ["h"], ["t"], name="/then/Relu")])
    assert lint_model(model, extend_select=["NN112"]) == []
    graphs = lowered(model)
    assert sorted(g.name for g in graphs) == ["/If.else_branch", "/If.then_branch", "g"]
    assert graphs[0].nodes[1].inputs == (0,)  # the If depends on the Gemm its branches read


def test_dead_node_inside_a_branch_is_reported_at_its_index_in_the_branch():
    model = if_model([N("Relu", ["h"], ["t"], name="/then/Relu"), N("Sigmoid", ["h"], ["unused"], name="/then/Sigmoid")])
    [d] = lint_model(model)
    assert (d.line, d.column, d.code) == (2, 1, "NN112")
    assert d.message.startswith("'/then/Sigmoid' (in '/If'.then_branch) reaches no graph output")


def test_loop_body_is_linted():
    norm, params = bn("d", "o", 4, name="body_bn")
    body = helper.make_graph(
        [N("Dropout", ["v_in"], ["d"], name="body_drop"), norm, N("Identity", ["cond_in"], ["cond_out"], name="c")],
        "body", [vi("iter", [], TensorProto.INT64), vi("cond_in", [], TensorProto.BOOL), vi("v_in")],
        [vi("cond_out", [], TensorProto.BOOL), vi("o")], params)
    model = build([N("Loop", ["n", "", "x"], ["y"], name="loop", body=body)],
                  inputs=(vi("n", [], TensorProto.INT64), "x"))
    assert codes(model) == [(1, 1, "NN101")]


def test_model_local_function_is_linted():
    function = helper.make_function(
        "custom", "Block", ["a", "s", "bb", "m", "v"], ["b"],
        [N("Dropout", ["a"], ["d"], name="fdrop"), N("Relu", ["d"], ["r"], name="frelu"),
         N("BatchNormalization", ["r", "s", "bb", "m", "v"], ["b"], name="fbn")],
        [helper.make_opsetid("", 17)])
    model = build([N("Block", ["x", "s", "b", "m", "v"], ["y"], name="block", domain="custom")],
                  [W(k, 4) for k in "sbmv"], functions=[function])
    graphs = lowered(model)
    assert [g.name for g in graphs] == ["g", "custom.Block"]
    assert graphs[0].nodes[0].op == "opaque"
    [d] = lint_model(model)
    assert (d.line, d.code) == (1, "NN101") and d.message.startswith("'fdrop' (in function 'custom.Block') feeds 'fbn'")


# --- source locations ---------------------------------------------------------------------------

def with_trace(model, index, key=None, doc=None):
    node = model.graph.node[index]
    if key:
        helper.set_metadata_props(node, {key: doc})
    else:
        node.doc_string = doc
    return model


def test_dynamo_stack_trace_becomes_message_and_related_location():
    trace = ('File "/home/u/proj/models/net.py", line 31, in forward\n    x = self.drop(x)\n'
             'File "/usr/lib/python3/site-packages/torch/nn/modules/dropout.py", line 70, in forward\n'
             '    return F.dropout(input, self.p, self.training, self.inplace)\n')
    model = with_trace(mlp_dropout_bn(), 2, "pkg.torch.onnx.stack_trace", trace)
    [d] = lint_model(model)
    assert (d.path, d.line, d.code) == ("model.onnx", 3, "NN101")
    assert d.message.endswith("(variance shift) (source: /home/u/proj/models/net.py:31)")
    assert [(r.path, r.span.line, r.message) for r in d.related] == [
        ("model.onnx", 5, "'/bn/BatchNormalization' normalizes the dropped-out activations"),
        ("/home/u/proj/models/net.py", 31, "'/drop/Dropout' comes from this line")]


def test_legacy_doc_string_stack_trace():
    doc = ("/venv/lib/python3.11/site-packages/torch/nn/functional.py(1491): dropout\n"
           "/venv/lib/python3.11/site-packages/torch/nn/modules/dropout.py(73): forward\n"
           "models/net.py(24): forward\n/venv/lib/python3.11/site-packages/torch/nn/modules/module.py(1768): _slow_forward\n"
           "train.py(80): export\n")
    [d] = lint_model(with_trace(mlp_dropout_bn(), 2, doc=doc))
    assert d.message.endswith("(source: models/net.py:24)")
    assert d.related[-1].path == "models/net.py" and d.related[-1].span.line == 24


def test_stack_trace_entirely_inside_torch_adds_nothing():
    doc = "/venv/lib/python3.11/site-packages/torch/nn/functional.py(1491): dropout\n"
    [d] = lint_model(with_trace(mlp_dropout_bn(), 2, doc=doc))
    assert "(source:" not in d.message and len(d.related) == 1


def test_json_output_carries_the_related_source_path(project, run_cli):
    trace = 'File "models/net.py", line 7, in forward\n'
    project("m.onnx", data=with_trace(mlp_dropout_bn(), 2, "pkg.torch.onnx.stack_trace", trace).SerializeToString())
    import json

    [d] = json.loads(run_cli("-q", "--output-format", "json", "m.onnx").stdout)
    assert (d["path"], d["line"], d["column"], d["code"]) == ("m.onnx", 3, 1, "NN101")
    assert [(r["path"], r["line"]) for r in d["related"]] == [("m.onnx", 5), ("models/net.py", 7)]


# --- NN101 ----------------------------------------------------------------------------------

SHAPE = numpy_helper.from_array(np.array([-1, 32], np.int64), "shape")


@pytest.mark.parametrize("between", [(), (("Relu", {}),), (("Flatten", {}),), (("MaxPool", {"kernel_shape": [2]}),),
                                     (("Reshape", {}, SHAPE),), (("Unsqueeze", {}, numpy_helper.from_array(np.array([2], np.int64), "ax")),),
                                     (("Sigmoid", {}), ("Identity", {}))])
def test_nn101_fires_at_the_dropout_through_transparent_ops(between):
    assert codes(mlp_dropout_bn(between)) == [(3, 1, "NN101")]


@pytest.mark.parametrize("between", [(("Mul", {}, S("scale", 2.0)),), (("Transpose", {}),), (("Softmax", {}),),
                                     (("Relu", {}), ("Add", {}, S("shift", 1.0)))])
def test_nn101_silent_through_opaque_or_mixing_ops(between):
    assert codes(mlp_dropout_bn(between)) == []


def test_nn101_silent_with_a_learned_layer_or_layer_norm_between():
    norm, params = bn("l", "n", 32)
    learned = build([N("Dropout", ["x"], ["d"]), N("Gemm", ["d", "w"], ["l"], transB=1), norm], [W("w", 32, 16), *params],
                    outputs=("n",))
    layer_norm = build([N("Dropout", ["x"], ["d"]), N("LayerNormalization", ["d", "ln.s"], ["y"])], [W("ln.s", 16)])
    instance = build([N("Dropout", ["x"], ["d"]), N("InstanceNormalization", ["d", "i.s", "i.b"], ["y"])],
                     [W("i.s", 16), W("i.b", 16)])
    assert [codes(m) for m in (learned, layer_norm, instance)] == [[], [], []]


# --- NN112 ----------------------------------------------------------------------------------

def test_nn112_reports_each_dead_branch_once_at_its_first_node():
    model = build([
        N("Gemm", ["x", "w"], ["h"], name="fc", transB=1),
        N("Relu", ["h"], ["y"], name="act"),
        N("Gemm", ["h", "w2"], ["a0"], name="aux_fc", transB=1),   # dead branch 1: aux_fc -> aux_act
        N("Sigmoid", ["a0"], ["a1"], name="aux_act"),
        N("Tanh", ["x"], ["t"], name="lonely"),                    # dead branch 2
    ], [W("w", 8, 4), W("w2", 3, 8)])
    found = lint_model(model)
    assert [(d.line, d.column, d.code) for d in found] == [(3, 1, "NN112"), (5, 1, "NN112")]
    assert found[0].message == ("'aux_fc' (and 1 more node of the same dead branch) reaches no graph output; "
                                "its result is computed and thrown away: use it or remove it")
    assert found[1].message.startswith("'lonely' reaches no graph output")


def test_nn112_silent_on_unused_secondary_outputs_and_constants():
    norm, params = bn("d", "y", 4, training_mode=1)
    norm.output.extend(["running_mean", "running_var"])  # train-mode BatchNorm: extra outputs nobody reads
    model = build([N("Constant", [], ["unused_c"], value=helper.make_tensor("v", FLOAT, [], [1.0])),
                   N("Dropout", ["x"], ["d", "mask"], name="drop"), norm], params, opset=15)
    assert codes(model, select=["NN112"]) == []


def test_nn112_silent_when_every_node_reaches_an_output():
    assert codes(mlp_dropout_bn(), select=["NN112"]) == []


# --- other graph rules on ONNX graphs ----------------------------------------------------------

def test_nn102_bias_before_batchnorm_on_onnx():
    norm, params = bn("c", "y", 8)
    with_bias = build([N("Conv", ["x", "w", "b"], ["c"], name="conv"), norm], [W("w", 8, 3, 3, 3), W("b", 8), *params])
    without = build([N("Conv", ["x", "w"], ["c"], name="conv"), norm], [W("w", 8, 3, 3, 3), *params])
    assert codes(with_bias, extend_select=["NN102"]) == [(1, 1, "NN102")]
    assert codes(without, extend_select=["NN102"]) == []
    assert codes(with_bias) == []  # NN102 is off by default
    (diag,) = lint_model(with_bias, select=["NN102"])  # no bias= to pass in a graph, no batch mean at inference
    assert diag.message == ("'conv' has a bias that '/y/BatchNormalization' makes redundant (its mean subtraction "
                            "and shift absorb any per-channel constant); drop the bias in the model that was exported")
    assert [r.message for r in diag.related] == ["'/y/BatchNormalization' absorbs the bias"]


def test_nn104_missing_nonlinearity_on_onnx():
    chained = build([N("Gemm", ["x", "w1"], ["h"], name="fc1", transB=1), N("Dropout", ["h"], ["d"], name="drop"),
                     N("Gemm", ["d", "w2"], ["y"], name="fc2", transB=1)], [W("w1", 32, 16), W("w2", 8, 32)])
    activated = build([N("Gemm", ["x", "w1"], ["h"], name="fc1", transB=1), N("Relu", ["h"], ["r"], name="act"),
                       N("Gemm", ["r", "w2"], ["y"], name="fc2", transB=1)], [W("w1", 32, 16), W("w2", 8, 32)])
    bottleneck = build([N("Gemm", ["x", "w1"], ["h"], name="down", transB=1), N("Gemm", ["h", "w2"], ["y"], name="up", transB=1)],
                       [W("w1", 4, 16), W("w2", 16, 4)])
    assert codes(chained) == [(3, 1, "NN104")]
    assert codes(activated) == [] and codes(bottleneck) == []


def test_nn105_redundant_activation_on_onnx():
    twice = build([N("Relu", ["x"], ["a"], name="r1"), N("Relu", ["a"], ["y"], name="r2")])
    different = build([N("Relu", ["x"], ["a"], name="r1"), N("Sigmoid", ["a"], ["y"], name="s")])
    assert codes(twice) == [(2, 1, "NN105")] and codes(different) == []


def test_nn106_layer_shape_mismatch_on_onnx():
    mismatch = build([N("Gemm", ["x", "w1"], ["h"], name="fc1", transB=1), N("Relu", ["h"], ["r"], name="act"),
                      N("Gemm", ["r", "w2"], ["y"], name="fc2", transB=1)], [W("w1", 32, 16), W("w2", 8, 30)])
    conv = build([N("Conv", ["x", "w1"], ["c"], name="c1"), N("Relu", ["c"], ["r"], name="act"),
                  N("Conv", ["r", "w2"], ["y"], name="c2")], [W("w1", 16, 3, 3, 3), W("w2", 8, 12, 3, 3)])
    through_flatten = build([N("Conv", ["x", "w1"], ["c"], name="c1"), N("Flatten", ["c"], ["f"], name="flat"),
                             N("Gemm", ["f", "w2"], ["y"], name="fc", transB=1)], [W("w1", 16, 3, 3, 3), W("w2", 8, 400)])
    [d] = lint_model(mismatch)
    assert (d.line, d.code) == (3, "NN106")
    assert d.message.startswith("'fc2' expects 30 input features but 'fc1' produces 32")
    assert codes(conv) == [(3, 1, "NN106")]
    assert codes(through_flatten) == []


def test_nn109_suspicious_dropout_probability_on_onnx():
    keep_prob = build([N("Dropout", ["x", "p"], ["y"], name="drop")], [S("p", 0.9)])
    fine = build([N("Dropout", ["x", "p"], ["y"], name="drop")], [S("p", 0.1)])
    assert codes(keep_prob) == [(1, 1, "NN109")] and codes(fine) == []


# --- discovery and speed paths ----------------------------------------------------------------

def test_directories_are_walked_for_onnx_files(project, run_cli):
    project("models/a.onnx", data=mlp_dropout_bn().SerializeToString())
    project("models/b.py", "x = 1\n")
    result = run_cli("models")
    assert result.lines[0].startswith("models/a.onnx:3:1: NN101 '/drop/Dropout' feeds")
    assert result.stderr == "Found 1 problem in 1 file (2 checked).\n"


def test_plain_source_lint_does_not_import_onnx():
    import subprocess

    code = ("import sys; from nnlint.testing import lint; lint('import torch.nn as nn\\n"
            "m = nn.Sequential(nn.Dropout(), nn.BatchNorm1d(3))\\n'); print('onnx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_nn208_log_of_softmax_on_onnx():
    unstable = build([N("Gemm", ["x", "w"], ["z"], name="fc", transB=1), N("Softmax", ["z"], ["p"], name="sm", axis=1),
                      N("Log", ["p"], ["y"], name="log")], [W("w", 10, 16)])
    stable = build([N("Gemm", ["x", "w"], ["z"], name="fc", transB=1), N("LogSoftmax", ["z"], ["y"], name="lsm", axis=1)],
                   [W("w", 10, 16)])
    log_of_sigmoid = build([N("Sigmoid", ["x"], ["p"], name="sig"), N("Log", ["p"], ["y"], name="log")])
    [d] = lint_model(unstable)
    assert (d.line, d.column, d.code) == (3, 1, "NN208")
    assert d.message.startswith("'log' takes the log of 'sm'")
    assert [(r.path, r.span.line) for r in d.related] == [("model.onnx", 2)]
    assert codes(stable) == [] and codes(log_of_sigmoid) == []


def test_show_source_on_an_onnx_finding_shows_no_binary_text(project, run_cli, monkeypatch):
    import nnlint.engine

    project("m.onnx", data=mlp_dropout_bn().SerializeToString())
    real_read, reads = nnlint.engine.read_file, []
    monkeypatch.setattr(nnlint.engine, "read_file", lambda path, *a: reads.append((path, a)) or real_read(path, *a))
    result = run_cli("-q", "--show-source", "m.onnx")
    assert [limit for _, limit in reads] == [(2 * 1024 ** 3, "max-graph-bytes")]  # linted once, never re-read as text
    assert result.lines[0].startswith("m.onnx:3:1: NN101 '/drop/Dropout' feeds")
    assert all("\x00" not in line and "\ufffd" not in line for line in result.lines)
    assert result.exit_code == 1


def test_a_front_end_bug_is_nn000_for_that_file_only(project, run_cli, monkeypatch):
    import nnlint.graph.onnx

    def broken(model):
        raise KeyError("boom")

    monkeypatch.setattr(nnlint.graph.onnx, "lower_model", broken)
    project("a.onnx", data=mlp_dropout_bn().SerializeToString())
    project("b.py", "import torch.nn as nn\nm = nn.Sequential(nn.Dropout(), nn.BatchNorm1d(3))\n")
    result = run_cli("-q", ".")
    assert result.lines == [
        "a.onnx:1:1: NN000 internal error in the ONNX front end: KeyError: 'boom'",
        "b.py:2:19: NN101 nn.Dropout() feeds nn.BatchNorm1d(3) directly; apply dropout after the normalization (variance shift)",
    ]
    assert result.exit_code == 2


def test_stdin_with_an_onnx_filename_is_linted_as_a_graph(run_cli):
    result = run_cli("-q", "-", "--stdin-filename", "net.onnx", input=mlp_dropout_bn().SerializeToString())
    assert [line.split(" ")[:2] for line in result.lines] == [["net.onnx:3:1:", "NN101"]]


def test_declared_static_shapes_become_the_shape_attribute():
    model = build([N("Relu", ["x"], ["r"], name="a"), N("Relu", ["r"], ["s"], name="b"), N("Sigmoid", ["s"], ["y"], name="c")],
                  outputs=(vi("y", [2, 8]),))
    model.graph.value_info.extend([vi("r", [2, 8]), vi("s", ["N", 8])])
    [g] = lowered(model)
    assert [n.attrs.get("shape") for n in g.nodes] == [(2, 8), None, (2, 8)]


def test_other_normalizations_carry_their_sizes_and_nn106_checks_layer_norm():
    model = build([N("Gemm", ["x", "w"], ["h"], name="fc", transB=1), N("LayerNormalization", ["h", "ln.s", "ln.b"], ["y"], name="ln")],
                  [W("w", 32, 16), W("ln.s", 30), W("ln.b", 30)])
    [g] = lowered(model)
    assert g.nodes[1].attrs == {"cls": "LayerNormalization", "eps": 1e-05, "normalized_shape": 30}
    assert codes(model) == [(2, 1, "NN106")]
    inorm = lowered(build([N("InstanceNormalization", ["x", "s", "b"], ["y"])], [W("s", 8), W("b", 8)]))[0].nodes[0]
    assert (inorm.op, inorm.attrs["num_features"]) == ("instancenorm", 8)
    group = lowered(build([N("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=4)], [W("s", 16), W("b", 16)], opset=21))[0].nodes[0]
    assert group.op == "groupnorm" and group.attrs == {"cls": "GroupNormalization", "num_groups": 4, "num_channels": 16}


def test_nn112_never_reports_graph_inputs_of_other_front_ends():
    from nnlint.checks.graph import DanglingGraphNode
    from nnlint.graph import LayerGraph

    graph = LayerGraph("fx", "Net")
    x = graph.add("input", "'x'")
    graph.add("input", "'mask'")  # an unused forward() argument
    fc = graph.add("linear", "'fc'", [x])
    aux = graph.add("linear", "'aux'", [x])
    graph.add("relu", "'aux_act'", [aux])
    graph.mark_output(fc)
    found = list(DanglingGraphNode().check(graph, {}))
    assert [(f.site.label, f.message.split(" reaches")[0]) for f in found] == [
        ("'aux'", "'aux' (and 1 more node of the same dead branch)")]


def test_nodes_without_outputs_are_side_effects_not_dead_layers():
    model = build([N("Relu", ["x"], ["y"], name="act"), helper.make_node("Print", ["x"], [], name="log", domain="debug")],
                  check=False)
    model.opset_import.append(helper.make_opsetid("debug", 1))
    [g] = lowered(model)
    assert [n.label for n in g.nodes] == ["'act'"]
    assert codes(model) == []


def test_without_the_onnx_package_an_onnx_file_is_nn003_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    [d] = lint_model(mlp_dropout_bn())
    assert (d.line, d.column, d.code) == (1, 1, "NN003")
    assert d.message == "cannot load ONNX model: the onnx package is not installed: pip install 'nnlint[onnx]'"


def test_invalid_utf8_in_names_and_doc_strings_is_read_not_fatal():
    model = mlp_dropout_bn()
    model.graph.node[2].doc_string = "QQQQ\nmodels/net.py(3): forward"
    model.graph.node[2].name = "ZZZZ"
    data = model.SerializeToString().replace(b"QQQQ", b"\xff\xfe\xfd\xfc").replace(b"ZZZZ", b"\xff\xfeZZ")
    [d] = lint_model(data)
    assert (d.line, d.code) == (3, "NN101")
    assert d.message.startswith("'\ufffd\ufffdZZ' feeds '/bn/BatchNormalization'")
    assert d.message.endswith("(source: models/net.py:3)")


def test_nn112_silent_on_dead_plumbing_without_a_layer():
    from nnlint.checks.graph import DanglingGraphNode
    from nnlint.graph import LayerGraph

    graph = LayerGraph("fx", "PiT")  # the caller ignores one element of a (x, cls_tokens) return
    x = graph.add("input", "'x'")
    body = graph.add("linear", "'body'", [x])
    part = graph.add("opaque", "'getitem'", [body])
    graph.add("reshape", "'reshape'", [graph.add("transpose", "'transpose'", [part])])
    graph.mark_output(body)
    assert list(DanglingGraphNode().check(graph, {})) == []
    onnx_plumbing = build([N("Relu", ["x"], ["y"], name="act"), N("Transpose", ["y"], ["t"], name="tr"),
                           N("Shape", ["t"], ["s"], name="shape")])
    assert codes(onnx_plumbing) == []
    with_a_layer = build([N("Relu", ["x"], ["y"], name="act"), N("Transpose", ["y"], ["t"], name="tr"),
                          N("Gemm", ["t", "w"], ["z"], name="fc", transB=1)], [W("w", 4, 8)])
    assert codes(with_a_layer) == [(2, 1, "NN112")]


def test_attributes_a_function_takes_from_its_caller_are_unknown():
    from onnx import AttributeProto

    ref = AttributeProto(name="ratio", ref_attr_name="r", type=AttributeProto.FLOAT)
    drop = N("Dropout", ["a"], ["d"], name="fdrop")
    drop.attribute.append(ref)
    function = helper.make_function("custom", "Blk", ["a"], ["d"], [drop], [helper.make_opsetid("", 10)], attributes=["r"])
    model = build([N("Blk", ["x"], ["y"], name="blk", domain="custom", r=0.9)], opset=10, functions=[function])
    assert lowered(model)[1].nodes[0].attrs == {"cls": "Dropout"}
    assert codes(model) == []


def test_each_if_node_depends_on_the_outer_values_its_own_branches_read():
    def branches(value, out):
        then_graph = helper.make_graph([N("Relu", [value], [f"{out}_t"], name=f"{out}_then")], "t", [], [vi(f"{out}_t")])
        else_graph = helper.make_graph([N("Identity", [value], [f"{out}_e"], name=f"{out}_else")], "e", [], [vi(f"{out}_e")])
        return {"then_branch": then_graph, "else_branch": else_graph}

    model = build([N("Relu", ["x"], ["a"], name="make_a"), N("Sigmoid", ["x"], ["b"], name="make_b"),
                   N("If", ["flag"], ["ya"], name="if_a", **branches("a", "ya")),
                   N("If", ["flag"], ["yb"], name="if_b", **branches("b", "yb")),
                   N("Add", ["ya", "yb"], ["y"], name="sum")],
                  inputs=("x", vi("flag", [], TensorProto.BOOL)))
    main = lowered(model)[0]
    assert [(n.label, n.inputs) for n in main.nodes] == [
        ("'make_a'", ()), ("'make_b'", ()), ("'if_a'", (0,)), ("'if_b'", (1,)), ("'sum'", (2, 3))]
    assert codes(model) == []
