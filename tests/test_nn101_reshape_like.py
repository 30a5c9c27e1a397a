"""NN101 through reshape-like tensor ops (issue 11, snippet 7): transpose/permute/contiguous/
squeeze/unsqueeze/flatten as methods or torch.* functions only move values around, so a dropout's
variance shift still reaches the batch norm after them."""

import textwrap

import pytest

from nnlint.testing import codes

MODEL = """\
import torch
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.3)
        self.bn = nn.BatchNorm1d(64)
        self.proj = nn.Linear(64, 64)

    def forward(self, x):
        x = self.drop(x)
        x = {between}
        return self.bn(x)
"""


def nn101(between):
    return [c for c in codes(textwrap.dedent(MODEL).format(between=between)) if c[2] == "NN101"]


@pytest.mark.parametrize(
    "between",
    ["x.transpose(1, 2)", "x.permute(0, 2, 1)", "x.transpose(1, 2).contiguous()", "x.contiguous()",
     "x.squeeze(-1)", "x.unsqueeze(-1).squeeze(-1)", "x.flatten(1)", "x.mT",
     "torch.transpose(x, 1, 2)", "torch.permute(x, (0, 2, 1))", "torch.squeeze(x, 2)",
     "torch.unsqueeze(x, 2)", "torch.flatten(x, 1)", "torch.relu(x).permute(0, 2, 1).contiguous()"],
)
def test_reshape_like_ops_between_dropout_and_batchnorm_fire(between):
    assert nn101(between) == [(13, 13, "NN101")]


@pytest.mark.parametrize(
    "between",
    ["self.proj(x.transpose(1, 2))", "self.proj(x).permute(0, 2, 1)", "torch.flatten(self.proj(x), 1)"],
)
def test_a_learned_layer_among_the_reshapes_is_silent(between):
    assert nn101(between) == []


def test_transpose_before_layer_norm_is_silent():
    code = MODEL.replace("nn.BatchNorm1d(64)", "nn.LayerNorm(64)").format(between="x.transpose(1, 2)")
    assert [c for c in codes(code) if c[2] == "NN101"] == []
