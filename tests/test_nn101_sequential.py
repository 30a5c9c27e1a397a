"""NN101 dropout-before-batchnorm on nn.Sequential, every way torch.nn is reached (issue: Foundation)."""

import pytest

from nnlint.testing import codes, lint


@pytest.mark.parametrize(
    "imports, prefix",
    [
        ("import torch.nn as nn", "nn."),
        ("from torch import nn", "nn."),
        ("import torch", "torch.nn."),
        ("import torch.nn", "torch.nn."),
        ("from torch.nn import *", ""),
    ],
)
def test_fires_for_every_import_form(imports, prefix):
    src = f"""\
{imports}

model = {prefix}Sequential(
    {prefix}Linear(16, 32),
    {prefix}Dropout(0.5),
    {prefix}BatchNorm1d(32),
)
"""
    assert codes(src) == [(5, 5, "NN101")]


def test_fires_for_renamed_imports():
    src = """\
from torch.nn import BatchNorm2d as BN, Dropout as D, Sequential as Seq

block = Seq(D(0.2), BN(64))
"""
    (diag,) = lint(src)
    assert (diag.line, diag.column, diag.code) == (3, 13, "NN101")
    assert diag.message == "D(0.2) feeds BN(64) directly; apply dropout after the normalization (variance shift)"
    assert [(r.span.line, r.span.column) for r in diag.related] == [(3, 21)]


@pytest.mark.parametrize(
    "between",
    ["nn.ReLU()", "nn.GELU()", "nn.Identity()", "nn.Flatten()", "nn.MaxPool2d(2)",
     "nn.AdaptiveAvgPool2d(1)", "nn.ReLU(), nn.Flatten()"],
)
def test_transparent_ops_between_still_fire(between):
    src = f"import torch.nn as nn\nm = nn.Sequential(nn.Dropout2d(0.1), {between}, nn.BatchNorm2d(8))\n"
    assert codes(src) == [(2, 19, "NN101")]


@pytest.mark.parametrize(
    "between",
    ["nn.Linear(8, 8)", "nn.Conv2d(8, 8, 3)", "nn.MultiheadAttention(8, 2)", "MyBlock()", "make_block(8)",
     "nn.Softmax(dim=1)"],
)
def test_learned_or_unknown_layer_between_is_silent(between):
    src = f"import torch.nn as nn\nm = nn.Sequential(nn.Dropout(0.1), {between}, nn.BatchNorm1d(8))\n"
    assert codes(src) == []


@pytest.mark.parametrize("norm", ["nn.LayerNorm(8)", "nn.GroupNorm(2, 8)", "nn.InstanceNorm1d(8)"])
def test_per_sample_normalizations_never_fire(norm):
    src = f"import torch.nn as nn\nm = nn.Sequential(nn.Dropout(0.1), nn.ReLU(), {norm})\n"
    assert codes(src) == []


@pytest.mark.parametrize(
    "dropout, norm",
    [("Dropout", "SyncBatchNorm"), ("Dropout1d", "BatchNorm1d"), ("Dropout3d", "BatchNorm3d"),
     ("AlphaDropout", "LazyBatchNorm1d"), ("FeatureAlphaDropout", "BatchNorm2d")],
)
def test_every_dropout_and_batchnorm_class(dropout, norm):
    src = f"from torch import nn\nm = nn.Sequential(nn.{dropout}(), nn.{norm}(4))\n"
    assert codes(src) == [(2, 19, "NN101")]


def test_torch_geometric_batchnorm():
    src = """\
from torch import nn
from torch_geometric.nn import BatchNorm

mlp = nn.Sequential(nn.Linear(64, 64), nn.Dropout(0.3), BatchNorm(64))
"""
    assert codes(src) == [(4, 40, "NN101")]


def test_ordered_dict_forms_are_named_in_the_message():
    src = """\
import collections
from collections import OrderedDict
import torch.nn as nn

a = nn.Sequential(OrderedDict([
    ("fc", nn.Linear(4, 4)),
    ("drop", nn.Dropout(0.5)),
    ("bn", nn.BatchNorm1d(4)),
]))
b = nn.Sequential(collections.OrderedDict(drop=nn.Dropout(), act=nn.ReLU(), bn=nn.BatchNorm1d(4)))
c = nn.Sequential(OrderedDict({"drop": nn.Dropout(), "bn": nn.BatchNorm1d(4)}))
"""
    found = lint(src)
    assert [(d.line, d.column, d.code) for d in found] == [(7, 14, "NN101"), (10, 48, "NN101"), (11, 40, "NN101")]
    assert found[0].message.startswith("'drop' (Dropout) feeds 'bn' (BatchNorm1d) directly")
    assert "through 'act' (ReLU)" in found[1].message


def test_sequential_built_in_helper_functions_and_class_attributes():
    src = """\
import torch.nn as nn


def head(width):
    return nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.BatchNorm1d(width))


def stem(width):
    layers = [nn.Conv2d(3, width, 3)]
    layers.append(nn.Dropout2d(0.1))
    layers.extend([nn.ReLU()])
    layers += [nn.BatchNorm2d(width)]
    return nn.Sequential(*layers)


class Net(nn.Module):
    classifier = nn.Sequential(*[nn.Dropout(0.2), nn.BatchNorm1d(10)])
"""
    assert codes(src) == [(5, 40, "NN101"), (10, 19, "NN101"), (17, 34, "NN101")]


def test_nested_sequential_continues_the_chain_and_reports_once():
    src = """\
import torch.nn as nn

net = nn.Sequential(
    nn.Linear(4, 4),
    nn.Sequential(nn.ReLU(), nn.Dropout(0.5)),
    nn.Sequential(nn.Identity(), nn.BatchNorm1d(4)),
)
"""
    assert codes(src) == [(5, 30, "NN101")]


def test_lists_built_in_loops_or_branches_are_opaque():
    src = """\
import torch.nn as nn


def mlp(widths, use_bn):
    layers = [nn.Dropout(0.1)]
    if use_bn:
        layers.append(nn.Linear(4, 4))
    layers.append(nn.BatchNorm1d(4))
    return nn.Sequential(*layers)


def tower(n):
    layers = [nn.Dropout(0.1)]
    for _ in range(n):
        layers.append(nn.Linear(4, 4))
    layers.append(nn.BatchNorm1d(4))
    return nn.Sequential(*layers)
"""
    assert codes(src) == []


def test_names_that_are_not_torch_are_silent():
    src = """\
from mylib import Sequential, Dropout, BatchNorm1d
import torch.nn as nn

a = Sequential(Dropout(0.5), BatchNorm1d(4))
b = nn.Sequential(Dropout(0.5), BatchNorm1d(4))


class Dropout:
    pass
"""
    assert codes(src) == []


def test_shadowed_alias_is_silent():
    src = """\
import torch.nn as nn

nn = load_plugin("nn")
m = nn.Sequential(nn.Dropout(), nn.BatchNorm1d(4))
"""
    assert codes(src) == []


def test_line_adjacency_alone_does_not_fire():
    src = """\
import torch.nn as nn

drop = nn.Sequential(nn.Dropout(0.5))
norm = nn.Sequential(nn.BatchNorm1d(4))
"""
    assert codes(src) == []


def test_columns_count_code_points_after_non_ascii_text():
    src = 'import torch.nn as nn\nnet = nn.Sequential(nn.Linear(2, 2), nn.Dropout(), nn.BatchNorm1d(2)); label = "é"\n'
    assert codes(src) == [(2, 38, "NN101")]
    src = 'import torch.nn as nn\nnetα = nn.Sequential(nn.Dropout(), nn.BatchNorm1d(2))  # 日本語 ✓\n'
    assert codes(src) == [(2, 22, "NN101")]
