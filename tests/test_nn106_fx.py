"""NN106 on a torch.fx trace with --input-shape: the layer where shape propagation fails."""

import itertools
import json

import pytest

_names = itertools.count()

MNIST_NET = """
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 5)
            self.conv2 = nn.Conv2d(32, 64, 5)
            self.fc = nn.Linear(7 * 7 * 64, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(-1, 7 * 7 * 64)
            return self.fc(x)
"""

PADDED_NET = MNIST_NET.replace("nn.Conv2d(1, 32, 5)", "nn.Conv2d(1, 32, 5, padding=2)").replace(
    "nn.Conv2d(32, 64, 5)", "nn.Conv2d(32, 64, 5, padding=2)")

POOLED_NET = """
    import torch.nn as nn


    def make():
        return nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.MaxPool2d(4),
            nn.MaxPool2d(4),
            nn.Flatten(),
        )
"""


@pytest.fixture
def trace(project, run_cli):
    def run(source, factory, shape, *args):
        name = f"nn106_fx_{next(_names)}"
        project(f"{name}.py", source)
        result = run_cli("-q", "--output-format", "json", "--trace", f"{name}:{factory}", "--input-shape", shape, *args)
        return [(d["line"], d["column"], d["code"], d["message"]) for d in json.loads(result.stdout)]

    return run


def test_a_wrong_view_after_valid_convs_is_reported_at_the_view(trace):
    (found,) = trace(MNIST_NET, "Net", "2,1,28,28")
    assert found[:3] == (16, 13, "NN106")
    assert found[3] == ("x.view(-1, 7 * 7 * 64) cannot reshape its input (2048 values for the whole batch) to "
                        "[-1, 3136] for input shape 2x1x28x28; make the layer sizes (kernel, stride, padding, "
                        "reshape target) fit that input")


def test_a_conv_whose_input_is_smaller_than_its_kernel_is_reported_instead_of_nn003(trace):
    (found,) = trace(MNIST_NET, "Net", "2,1,12,12")
    assert found[:3] == (15, 33, "NN106")
    assert found[3].startswith("'conv2' (Conv2d) gets a 4x4 input (after padding), smaller than its 5x5 kernel: "
                               "the output would be empty for input shape 2x1x12x12")


def test_a_pool_shrinking_below_one_is_reported_at_its_sequential_entry(trace):
    (found,) = trace(POOLED_NET, "make", "1,3,8,8")
    assert found[:3] == (9, 9, "NN106")
    assert "'2' (MaxPool2d) shrinks its 8x2x2 input to 8x0x0: the output would be empty" in found[3]


def test_matching_shapes_are_silent(trace):
    assert trace(PADDED_NET, "Net", "2,1,28,28") == []
    assert trace(POOLED_NET, "make", "1,3,32,32") == []


def test_with_nn106_off_the_failure_stays_a_generic_nn003(trace):
    (found,) = trace(MNIST_NET, "Net", "2,1,12,12", "--ignore", "NN106")
    assert found[2] == "NN003"
    assert "rejects input shape 2,1,12,12: RuntimeError: Calculated padded input size per channel" in found[3]


def test_a_shape_error_that_is_no_layer_size_stays_nn003(trace):
    source = """
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def forward(self, x):
                return torch.cat([x, x.t()], 1)
    """
    (found,) = trace(source, "Net", "2,3")
    assert found[2] == "NN003"
