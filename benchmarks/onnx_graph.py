"""A synthetic ONNX graph of N nodes for the benchmark: `python benchmarks/run.py --onnx-nodes 100000`.

The graph is a deep stack of residual blocks (Gemm, or MatMul + Add, -> BatchNormalization ->
Relu -> Dropout -> Add), with a Dropout -> BatchNormalization pair and a dead branch every 50 blocks so the rules
have something to report, and small weight shapes so the file stays a few MB. run.py lints it
with `nnlint --select ALL` in a subprocess: the real command (CLI start-up, reading, onnx.checker,
lowering, every rule). Needs numpy and onnx in the benchmark's Python.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WIDTH = 8


def synthetic(nodes: int) -> onnx.ModelProto:
    weights = [numpy_helper.from_array(np.zeros((WIDTH, WIDTH), np.float32), "w"),
               *(numpy_helper.from_array(np.ones(WIDTH, np.float32), n) for n in ("s", "b", "m", "v")),
               numpy_helper.from_array(np.array(0.1, np.float32), "p")]
    graph_nodes = []
    value, block = "x", 0
    while len(graph_nodes) + 6 <= nodes:
        k = f"b{block}"
        if block % 50 == 49:  # a bug to find: dropout right before a batch norm, and a dead branch
            graph_nodes += [
                helper.make_node("Dropout", [value, "p"], [f"{k}.d"], name=f"/{k}/Dropout"),
                helper.make_node("BatchNormalization", [f"{k}.d", "s", "b", "m", "v"], [f"{k}.n"], name=f"/{k}/BatchNormalization"),
                helper.make_node("Gemm", [f"{k}.n", "w"], [f"{k}.g"], name=f"/{k}/Gemm", transB=1),
                helper.make_node("Relu", [f"{k}.g"], [f"{k}.r"], name=f"/{k}/Relu"),
                helper.make_node("Sigmoid", [f"{k}.r"], [f"{k}.dead"], name=f"/{k}/unused/Sigmoid"),
                helper.make_node("Add", [value, f"{k}.r"], [f"{k}.y"], name=f"/{k}/Add"),
            ]
        elif block % 2:  # half the linear layers as MatMul + Add (the lowering fuses them)
            graph_nodes += [
                helper.make_node("MatMul", [value, "w"], [f"{k}.mm"], name=f"/{k}/MatMul"),
                helper.make_node("Add", [f"{k}.mm", "b"], [f"{k}.g"], name=f"/{k}/Add_bias"),
                helper.make_node("BatchNormalization", [f"{k}.g", "s", "b", "m", "v"], [f"{k}.n"], name=f"/{k}/BatchNormalization"),
                helper.make_node("Relu", [f"{k}.n"], [f"{k}.r"], name=f"/{k}/Relu"),
                helper.make_node("Dropout", [f"{k}.r", "p"], [f"{k}.d"], name=f"/{k}/Dropout"),
                helper.make_node("Add", [value, f"{k}.d"], [f"{k}.y"], name=f"/{k}/Add"),
            ]
        else:
            graph_nodes += [
                helper.make_node("Gemm", [value, "w"], [f"{k}.g"], name=f"/{k}/Gemm", transB=1),
                helper.make_node("BatchNormalization", [f"{k}.g", "s", "b", "m", "v"], [f"{k}.n"], name=f"/{k}/BatchNormalization"),
                helper.make_node("Relu", [f"{k}.n"], [f"{k}.r"], name=f"/{k}/Relu"),
                helper.make_node("Dropout", [f"{k}.r", "p"], [f"{k}.d"], name=f"/{k}/Dropout"),
                helper.make_node("Identity", [f"{k}.d"], [f"{k}.i"], name=f"/{k}/Identity"),
                helper.make_node("Add", [value, f"{k}.i"], [f"{k}.y"], name=f"/{k}/Add"),
            ]
        value, block = f"{k}.y", block + 1
    graph = helper.make_graph(graph_nodes, "synthetic",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", WIDTH])],
                              [helper.make_tensor_value_info(value, TensorProto.FLOAT, ["N", WIDTH])], weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def write(path: str, nodes: int) -> int:
    """Write the synthetic graph of about `nodes` nodes to `path`; returns its node count."""
    model = synthetic(nodes)
    with open(path, "wb") as handle:
        handle.write(model.SerializeToString())
    return len(model.graph.node)
