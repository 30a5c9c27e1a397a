"""NN106 on ONNX from inferred shapes: a convolution or pooling that shrinks the spatial size below 1."""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from nnlint.engine import lint_source
from nnlint.testing import settings


def conv_model(image: int) -> bytes:
    weight = numpy_helper.from_array(np.zeros((8, 3, 5, 5), dtype=np.float32), "conv.weight")
    nodes = [
        helper.make_node("Conv", ["img", "conv.weight"], ["c"], name="/conv/Conv"),
        helper.make_node("Relu", ["c"], ["y"], name="/act/Relu"),
    ]
    graph = helper.make_graph(
        nodes, "net", [helper.make_tensor_value_info("img", TensorProto.FLOAT, [1, 3, image, image])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, "oh", "ow"])], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_a_conv_kernel_larger_than_its_input_fires_at_the_conv():
    found = lint_source("net.onnx", conv_model(4), settings()).diagnostics
    assert [(d.line, d.column, d.code) for d in found] == [(1, 1, "NN106")]
    assert found[0].message.startswith("'/conv/Conv' shrinks its input's spatial size below 1 (output shape 1x8x0x0")


def test_a_conv_that_fits_its_input_is_clean():
    assert lint_source("net.onnx", conv_model(5), settings()).diagnostics == []
    assert lint_source("net.onnx", conv_model(32), settings()).diagnostics == []


def test_unknown_spatial_sizes_are_silent():
    data = onnx.load_from_string(conv_model(4))
    dims = data.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "h", "w"
    assert lint_source("net.onnx", data.SerializeToString(), settings()).diagnostics == []
