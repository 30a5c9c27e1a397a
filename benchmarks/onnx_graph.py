"""Speed benchmark: nnlint on one synthetic ONNX graph of N nodes (default 100,000).

    python benchmarks/onnx_graph.py [--nodes 100000] [--repeat 3] [--keep model.onnx]

The graph is a deep stack of residual blocks (Gemm, or MatMul + Add, -> BatchNormalization ->
Relu -> Dropout -> Add), with a Dropout -> BatchNormalization pair and a dead branch every 50 blocks so the rules
have something to report, and small weight shapes so the file stays a few MB. It is written to
a temporary file and linted with `nnlint --select ALL` in a subprocess (the real command: CLI
start-up, reading, onnx.checker, lowering, every rule). Prints the node count, the file size,
the number of findings and the best wall-clock and CPU time of --repeat runs (CPU time is
the number to trust on a busy machine), plus an in-process split (load + check + lower vs. rules). Not part of the test run: timings never go in unit tests.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="also write the model here")
    args = parser.parse_args()

    model = synthetic(args.nodes)
    data = model.SerializeToString()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "synthetic.onnx")
        with open(path, "wb") as handle:
            handle.write(data)
        if args.keep:
            with open(args.keep, "wb") as handle:
                handle.write(data)
        cmd = [sys.executable, "-m", "nnlint", "--select", "ALL", "-q", "--output-format", "json", path]
        times, cpu, findings = [], [], 0
        for _ in range(args.repeat):
            start, used = time.perf_counter(), _children_cpu()
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - start)
            cpu.append(_children_cpu() - used)
            findings = proc.stdout.count('"code"')
            if proc.returncode not in (0, 1):
                sys.exit(f"nnlint exited {proc.returncode}: {proc.stderr.strip()}")

    from nnlint.engine import lint_source
    from nnlint.graph.onnx import load_graphs
    from nnlint.testing import settings

    start = time.process_time()
    graphs = load_graphs(data)
    lowered = time.process_time() - start
    start = time.process_time()
    lint_source("synthetic.onnx", data, settings(select=["ALL"]))
    total = time.process_time() - start

    print(f"nodes: {len(model.graph.node)}  graph nodes after lowering: {sum(len(g.nodes) for g in graphs)}")
    print(f"file: {len(data) / 1e6:.1f} MB  findings: {findings}")
    print(f"nnlint (CLI, best of {args.repeat}): {min(times):.2f} s wall, {min(cpu):.2f} s CPU (user+sys)")
    print(f"in process (CPU): load+check+lower {lowered:.2f} s, everything {total:.2f} s")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
