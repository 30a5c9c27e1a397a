"""nn.Module subclasses: __init__ layers + forward() dataflow lowered to one layer graph per class,
and NN101 on them (fires at the dropout's call, or at the call of a submodule ending in dropout)."""

import textwrap

from nnlint.graph.ir import seen_from
from nnlint.source import SourceFile, layer_graphs
from nnlint.testing import codes, lint

HEADER = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
"""


def nn101(code):
    return [c for c in codes(HEADER + textwrap.dedent(code)) if c[2] == "NN101"]


def module_graph(code, name):
    source = SourceFile.parse("m.py", HEADER + textwrap.dedent(code))
    graphs = [g for g in layer_graphs(source) if g.origin == "nn.Module" and g.name == name]
    assert len(graphs) == 1
    return graphs[0]


def ops(graph):
    return [n.op for n in graph.nodes]


# -- the precision bar of issue 3 ---------------------------------------------------------------
def test_dropout_then_learned_layer_then_batchnorm_is_clean():
    assert nn101("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(20, 20)
                self.dropout = nn.Dropout(0.5)
                self.fc2 = nn.Linear(20, 20)
                self.relu = nn.ReLU()
                self.bn2 = nn.BatchNorm1d(20)

            def forward(self, x):
                x = self.dropout(self.fc1(x))
                x = self.bn2(self.relu(self.fc2(x)))
                return x
    """) == []


def test_dropout_assigned_then_batchnorm_fires_at_the_dropout_call():
    found = nn101("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.drop = nn.Dropout(0.2)
                self.bn = nn.BatchNorm1d(64)

            def forward(self, x):
                x = self.drop(x)
                x = self.bn(x)
                return x
    """)
    assert found == [(12, 13, "NN101")]


def test_nested_call_fires():
    assert nn101("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.drop = nn.Dropout(0.2)
                self.bn = nn.BatchNorm1d(64)

            def forward(self, x):
                return self.bn(self.drop(x))
    """) == [(12, 24, "NN101")]


def test_message_names_the_layers_and_relates_the_definition():
    (diag,) = [d for d in lint(HEADER + textwrap.dedent("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.drop1 = nn.Dropout(0.2)
                self.bn1 = nn.BatchNorm1d(64)

            def forward(self, x):
                return self.bn1(F.relu(self.drop1(x)))
    """)) if d.code == "NN101"]
    assert diag.message.startswith("'self.drop1' (Dropout) feeds 'self.bn1' (BatchNorm1d) through F.relu(")
    assert [(r.span.line, r.message) for r in diag.related] == [
        (12, "'self.bn1' (BatchNorm1d) normalizes the dropped-out activations"),
        (8, "'self.drop1' (Dropout) is defined here"),
    ]


def test_functional_dropout_into_functional_batch_norm_fires():
    assert nn101("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("mean", torch.zeros(8))
                self.register_buffer("var", torch.ones(8))

            def forward(self, x):
                h = F.dropout(x, p=0.3, training=self.training)
                h = h.view(h.size(0), -1)
                return F.batch_norm(h, self.mean, self.var, training=self.training)
    """) == [(12, 13, "NN101")]


def test_layernorm_groupnorm_instancenorm_never_fire():
    assert nn101("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.drop = nn.Dropout(0.1)
                self.ln = nn.LayerNorm(64)
                self.gn = nn.GroupNorm(8, 64)
                self.inorm = nn.InstanceNorm1d(64)

            def forward(self, x):
                x = self.ln(self.drop(x))
                x = self.gn(self.drop(x))
                x = F.layer_norm(F.dropout(x, 0.1, self.training), (64,))
                return self.inorm(F.group_norm(self.drop(x), 8))
    """) == []


def test_linear_conv_attention_or_opaque_between_is_silent():
    assert nn101("""
        class Net(nn.Module):
            def __init__(self, act_layer):
                super().__init__()
                self.drop = nn.Dropout(0.1)
                self.fc = nn.Linear(64, 64)
                self.conv = nn.Conv1d(64, 64, 1)
                self.attn = nn.MultiheadAttention(64, 4)
                self.act = act_layer()
                self.bn = nn.BatchNorm1d(64)

            def forward(self, x):
                x = self.bn(self.fc(self.drop(x)))
                x = self.bn(self.conv(self.drop(x)))
                y = self.drop(x)
                x, _ = self.attn(y, y, y)
                x = self.bn(x)
                x = self.bn(self.act(self.drop(x)))
                x = self.bn(torch.matmul(self.drop(x), x))
                return self.bn(self.drop(x) @ x)
    """) == []


def test_line_adjacency_alone_is_not_dataflow():
    assert nn101("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.drop = nn.Dropout(0.5)
                self.fc = nn.Linear(64, 64)
                self.bn = nn.BatchNorm1d(64)

            def forward(self, x, y):
                h = self.drop(x)
                y = self.bn(y)
                return self.bn(self.fc(h)), y
    """) == []


# -- forward() forms ------------------------------------------------------------------------------
def test_if_else_both_branches_feed_the_join():
    code = """
        class Net(nn.Module):
            def __init__(self, use_drop=True):
                super().__init__()
                self.use_drop = use_drop
                self.drop = nn.Dropout(0.2)
                self.bn = nn.BatchNorm1d(64)

            def forward(self, x):
                if self.use_drop:
                    h = self.drop(x)
                else:
                    h = x
                return self.bn(h)
    """
    assert nn101(code) == [(14, 17, "NN101")]
    graph = module_graph(code, "Net")
    (bn,) = [n for n in graph.nodes if n.op == "batchnorm"]
    assert sorted(graph.nodes[i].op for i in bn.inputs) == ["dropout", "input"]
    assert graph.output_nodes() == [bn]


def test_early_return_branch_does_not_join():
    assert nn101("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.drop = nn.Dropout(0.2)
                self.fc = nn.Linear(64, 64)
                self.bn = nn.BatchNorm1d(64)

            def forward(self, x):
                h = self.drop(x)
                if self.training:
                    return self.fc(h)
                h = self.fc(h)
                return self.bn(h)
    """) == []


def test_modulelist_loop_is_the_list_order():
    code = """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = nn.ModuleList([nn.Linear(32, 64), nn.Dropout(0.1), nn.ReLU(), nn.BatchNorm1d(64)])

            def forward(self, x):
                for layer in self.layers:
                    x = layer(x)
                return x
    """
    assert nn101(code) == [(12, 17, "NN101")]
    graph = module_graph(code, "Net")
    assert ops(graph) == ["input", "linear", "dropout", "relu", "batchnorm"]
    assert graph.nodes[2].label == "'self.layers[1]' (Dropout)"
    assert graph.nodes[2].attrs["p"] == 0.1


def test_modulelist_comprehension_and_enumerate_and_index():
    code = """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = nn.ModuleList([nn.Linear(64, 64) for _ in range(3)])
                self.heads = nn.ModuleDict({"drop": nn.Dropout(0.1), "norm": nn.BatchNorm1d(64)})

            def forward(self, x):
                for i, blk in enumerate(self.blocks):
                    x = blk(x)
                x = self.heads["drop"](x)
                return self.heads["norm"](x)
    """
    graph = module_graph(code, "Net")
    assert ops(graph) == ["input", "linear", "linear", "linear", "dropout", "batchnorm"]
    assert nn101(code) == [(14, 13, "NN101")]


def test_residual_add_and_concat_have_both_inputs():
    graph = module_graph("""
        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(64, 64)
                self.proj = nn.Linear(64, 64)

            def forward(self, x):
                y = self.fc(x) + x
                z = torch.cat([y, self.proj(x)], dim=1)
                return z
    """, "Block")
    add = next(n for n in graph.nodes if n.op == "add")
    cat = next(n for n in graph.nodes if n.op == "concat")
    assert sorted(graph.nodes[i].op for i in add.inputs) == ["input", "linear"]
    assert sorted(graph.nodes[i].op for i in cat.inputs) == ["add", "linear"]
    assert graph.output_nodes() == [cat]


def test_tensor_methods_and_functional_calls_are_lowered():
    graph = module_graph("""
        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(64, 10)

            def forward(self, x):
                x = torch.flatten(x, 1).relu()
                x = x.view(x.size(0), -1)
                return torch.log(self.fc(x).softmax(dim=-1))
    """, "Head")
    kinds = [n.op for n in graph.nodes if n.op != "opaque"]
    assert kinds == ["input", "flatten", "relu", "reshape", "linear", "softmax", "log"]
    (out,) = graph.output_nodes()
    assert out.op == "log"
    softmax = next(n for n in graph.nodes if n.op == "softmax")
    assert softmax.attrs["dim"] == -1


def test_tuple_return_marks_every_element_and_layer_attrs_come_from_init():
    graph = module_graph("""
        HIDDEN = 128

        class Net(nn.Module):
            def __init__(self, n_out=10):
                super().__init__()
                self.fc = nn.Linear(HIDDEN, n_out, bias=False)
                self.aux = nn.Linear(HIDDEN, 2)

            def forward(self, x):
                return self.fc(x), F.log_softmax(self.aux(x), dim=1)
    """, "Net")
    fc = next(n for n in graph.nodes if n.label == "'self.fc' (Linear)")
    assert fc.attrs["in_features"] == 128 and fc.attrs["out_features"] == 10 and fc.attrs["bias"] is False
    assert type(fc.attrs["definition"]).__name__ == "Assign"
    assert [n.op for n in graph.output_nodes()] == ["linear", "log_softmax"]


def test_helper_methods_and_sequential_attributes_are_followed():
    code = """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Dropout2d(0.1))
                self.bn = nn.BatchNorm2d(8)

            def forward_features(self, x):
                return self.features(x)

            def forward(self, x):
                return self.bn(self.forward_features(x))
    """
    # reported at the Dropout2d entry of the Sequential, once
    assert nn101(code) == [(8, 70, "NN101")]


def test_dropout_inside_a_sequential_attribute_is_reported_once():
    assert nn101("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.head = nn.Sequential(nn.Dropout(0.1), nn.BatchNorm1d(8))

            def forward(self, x):
                return self.head(x)
    """) == [(8, 35, "NN101")]


# -- project submodules ---------------------------------------------------------------------------
SUBMODULE = """
    class ConvBlock(nn.Module):
        def __init__(self, c_in, c_out, p=0.1):
            super().__init__()
            self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
            self.act = nn.ReLU(inplace=True)
            self.drop = nn.Dropout2d(p)

        def forward(self, x):
            return self.drop(self.act(self.conv(x)))


    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = ConvBlock(3, 32, p=0.2)
            self.bn = nn.BatchNorm2d(32)

        def forward(self, x):
            x = self.block(x)
            return self.bn(x)
"""


def test_submodule_ending_in_dropout_is_reported_at_its_call():
    diagnostics = [d for d in lint(HEADER + textwrap.dedent(SUBMODULE)) if d.code == "NN101"]
    assert [(d.line, d.column) for d in diagnostics] == [(23, 13)]
    assert diagnostics[0].message.startswith(
        "'self.drop' (Dropout2d) inside 'self.block' (ConvBlock) feeds 'self.bn' (BatchNorm2d) directly")


def test_submodule_graph_is_inlined_with_the_instantiation_arguments():
    graph = module_graph(SUBMODULE, "Encoder")
    assert ops(graph) == ["input", "conv", "relu", "dropout", "batchnorm"]
    conv, drop = graph.nodes[1], graph.nodes[3]
    assert conv.attrs["in_channels"] == 3 and conv.attrs["out_channels"] == 32
    assert drop.attrs["p"] == 0.2
    proxy = seen_from(drop, graph.nodes[4])
    assert proxy.label == "'self.drop' (Dropout2d) inside 'self.block' (ConvBlock)"
    assert seen_from(drop, graph.nodes[2]) is drop


def test_pair_inside_a_submodule_is_reported_once_inside_it():
    assert nn101("""
        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.drop = nn.Dropout(0.1)
                self.bn = nn.BatchNorm1d(8)

            def forward(self, x):
                return self.bn(self.drop(x))


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = Block()
                self.b = Block()

            def forward(self, x):
                return self.b(self.a(x))
    """) == [(12, 24, "NN101")]


def test_recursive_classes_do_not_loop():
    graph = module_graph("""
        class Tree(nn.Module):
            def __init__(self, depth):
                super().__init__()
                self.child = Tree(depth - 1)
                self.fc = nn.Linear(4, 4)

            def forward(self, x):
                return self.fc(self.child(x))
    """, "Tree")
    assert ops(graph) == ["input", "opaque", "linear"]


def test_subclass_of_a_project_module_inherits_forward_and_layers():
    assert nn101("""
        class Base(nn.Module):
            def __init__(self):
                super().__init__()
                self.drop = nn.Dropout(0.3)

            def forward(self, x):
                return self.head(self.drop(x))


        class Child(Base):
            def __init__(self):
                super().__init__()
                self.head = nn.BatchNorm1d(16)
    """) == [(11, 26, "NN101")]


def test_unresolvable_layers_and_conditional_definitions_are_opaque():
    assert nn101("""
        class Net(nn.Module):
            def __init__(self, drop_rate, norm_layer=nn.BatchNorm1d):
                super().__init__()
                self.drop = nn.Dropout(drop_rate) if drop_rate > 0 else nn.Identity()
                self.norm = norm_layer(64)
                self.drop2 = None
                if drop_rate:
                    self.drop2 = nn.Dropout(drop_rate)
                self.bn = nn.BatchNorm1d(64)

            def forward(self, x):
                x = self.bn(self.drop(x))
                x = self.norm(nn.functional.dropout(x))
                return self.bn(self.drop2(x))
    """) == []


def test_non_module_classes_have_no_graph():
    source = SourceFile.parse("m.py", HEADER + textwrap.dedent("""
        class Config:
            def forward(self, x):
                return x
    """))
    assert [g for g in layer_graphs(source) if g.origin == "nn.Module"] == []


# -- Sequential refinements -----------------------------------------------------------------------
def sequential_graphs(code):
    source = SourceFile.parse("m.py", HEADER + textwrap.dedent(code))
    return {g.name: g for g in layer_graphs(source) if g.origin == "nn.Sequential"}


def test_add_module_and_append_in_straight_line_code_extend_the_sequential():
    code = """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential()
                self.features.add_module("fc", nn.Linear(8, 8))
                self.features.add_module("drop", nn.Dropout(0.5))
                self.features.add_module("bn", nn.BatchNorm1d(8))

            def forward(self, x):
                return self.features(x)


        def make():
            seq = nn.Sequential(nn.Linear(4, 4))
            seq.append(nn.Dropout(0.2))
            for _ in range(3):
                seq.append(nn.ReLU())
            seq.append(nn.BatchNorm1d(4))
            return seq
    """
    graphs = sequential_graphs(code)
    assert [n.label for n in graphs["self.features"].nodes] == ["'fc' (Linear)", "'drop' (Dropout)", "'bn' (BatchNorm1d)"]
    # the loop makes the rest unknown: an opaque node ends the chain, so no NN101 for `seq`
    assert [n.op for n in graphs["seq"].nodes] == ["linear", "dropout", "opaque"]
    assert [n.op for n in graphs["seq"].output_nodes()] == ["opaque"]
    assert nn101(code) == [(10, 42, "NN101")]


def test_list_comprehension_with_literal_range_is_expanded():
    graphs = sequential_graphs("""
        blocks = nn.Sequential(*[nn.Linear(16, 16) for _ in range(3)], nn.Dropout(0.1))
        layers = [nn.Conv2d(8, 8, 3) for _ in range(2)]
        convs = nn.Sequential(*layers)
        unknown = nn.Sequential(*[nn.Linear(16, 16) for _ in range(depth)])
    """)
    assert [n.op for n in graphs["blocks"].nodes] == ["linear", "linear", "linear", "dropout"]
    assert [n.op for n in graphs["convs"].nodes] == ["conv", "conv"]
    assert [n.op for n in graphs["unknown"].nodes] == ["opaque"]


def test_dynamic_layer_lookups_are_opaque_but_conditional_dropout_still_feeds():
    assert nn101("""
        class Net(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.drops = nn.ModuleList([nn.Dropout(0.1) for _ in range(n)])
                self.drop = nn.Dropout(0.1)
                self.bn = nn.BatchNorm1d(8)

            def forward(self, x):
                for i in range(len(self.drops)):
                    x = self.bn(self.drops[i](x))
                x = self.bn(getattr(self, "drop")(x))
                x = self.drop(x) if self.training else x
                return self.bn(x)
    """) == [(16, 13, "NN101")]


def test_keyword_arguments_bind_to_the_submodule_forward_parameters():
    graph = module_graph("""
        class Gate(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 8)

            def forward(self, x, skip=None):
                return self.fc(skip)


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.gate = Gate()
                self.drop = nn.Dropout(0.1)

            def forward(self, x):
                return self.gate(x, skip=self.drop(x))
    """, "Net")
    fc = next(n for n in graph.nodes if n.op == "linear")
    assert [graph.nodes[i].op for i in fc.inputs] == ["dropout"]


def test_appends_under_a_condition_make_the_module_list_unknown():
    code = """
        class FPN(nn.Module):
            def __init__(self, c, scale):
                super().__init__()
                self.layers = nn.ModuleList()
                if scale == 4.0:
                    self.layers.append(nn.ConvTranspose2d(c, c // 2, 2, 2))
                    self.layers.append(nn.GELU())
                elif scale == 2.0:
                    self.layers.append(nn.ConvTranspose2d(c, c // 2, 2, 2))
                self.proj = nn.Conv2d(c, c, 1)

            def forward(self, x):
                for layer in self.layers:
                    x = layer(x)
                return self.proj(x)
    """
    graph = module_graph(code, "FPN")
    assert [n.op for n in graph.nodes] == ["input", "opaque", "conv"]


def test_iterating_or_indexing_a_sequential_attribute_follows_its_layers():
    code = """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.1), nn.ReLU())
                self.extra = nn.Sequential(*layers)
                self.bn = nn.BatchNorm1d(8)

            def forward(self, x):
                feats = []
                for layer in self.features:
                    x = layer(x)
                    feats.append(x)
                x = self.bn(x)
                x = self.features[1](x)
                for layer in self.extra:
                    x = layer(x)
                return self.bn(x), feats
    """
    graph = module_graph(code, "Net")
    chain = [n.op for n in graph.nodes if not n.label.startswith("feats.append")]
    assert chain == ["input", "linear", "dropout", "relu", "batchnorm", "dropout", "opaque", "batchnorm"]
    assert graph.nodes[3].label == "'self.features[1]' (Dropout)"
    assert nn101(code) == [(15, 17, "NN101")]


def test_helper_functions_returning_a_sequential_are_lowered_in_place_once():
    code = """
        def head(dim):
            return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Dropout(0.2))


        def block(dim):
            return nn.Sequential(nn.Dropout(0.1), nn.BatchNorm1d(dim))


        model = nn.Sequential(block(64), head(64), nn.BatchNorm1d(64), nn.Linear(64, 2))
    """
    graphs = sequential_graphs(code)
    assert [n.op for n in graphs["model"].nodes] == ["dropout", "batchnorm", "linear", "relu", "dropout", "batchnorm",
                                                    "linear"]
    # inside block(): reported once, at its own entry; head()'s trailing dropout feeds the model's BatchNorm1d
    assert nn101(code) == [(6, 58, "NN101"), (10, 26, "NN101")]
