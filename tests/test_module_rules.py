"""NN107, NN108, NN110, NN111: rules read from nn.Module source, with every must-not-fire case."""


import pytest

from nnlint.testing import codes, lint

MINE = ["NN107", "NN108", "NN110", "NN111"]


def only(code, src):
    return codes(src, select=[code])


# --- NN107 unregistered-submodule --------------------------------------------------------------
NN107_MODEL = """\
import torch
import torch.nn as nn
from torch.nn import Linear


class Expert(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        return self.fc(x).relu()


class MoE(Expert):
    def __init__(self, dim=64, n=4):
        super().__init__(dim)
        self.experts = [Expert(dim) for _ in range(n)]
        self.gates = {"coarse": Linear(dim, n), "fine": Linear(dim, n)}
        self.pair = (nn.LayerNorm(dim), nn.Dropout(0.1))
        self.extra = []
        for _ in range(2):
            self.extra.append(nn.Linear(dim, dim))
        self.registered = nn.ModuleList([nn.Linear(dim, dim)])
        self.refs = [self.fc, self.registered]
        self.wrapped = [nn.Linear(dim, dim), nn.Linear(dim, dim)]
        self.wrapped = nn.ModuleList(self.wrapped)
        self.sizes = [dim, dim * 2]
        self.params = [nn.Parameter(torch.zeros(dim))]

    def forward(self, x):
        return sum(e(x) for e in self.experts)


class Config:
    def __init__(self):
        self.layers = [nn.Linear(4, 4)]


class ByHand(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = [nn.Linear(4, 4), nn.Linear(4, 4)]
        for i, block in enumerate(self.blocks):
            self.add_module(f"block{i}", block)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x
"""


def test_nn107_fires_at_plain_containers_of_modules_only():
    assert only("NN107", NN107_MODEL) == [(18, 9, "NN107"), (19, 9, "NN107"), (20, 9, "NN107"), (21, 9, "NN107")]


def test_nn107_message_suggests_the_right_container():
    messages = [d.message for d in lint(NN107_MODEL, select=["NN107"])]
    assert messages[0] == ("'self.experts' holds modules (Expert) in a plain list: their parameters are invisible "
                           "to .parameters(), .to() and state_dict(); use nn.ModuleList(...)")
    assert messages[1].endswith("in a plain dict: their parameters are invisible to .parameters(), .to() and "
                                "state_dict(); use nn.ModuleDict(...)")
    assert "(LayerNorm) in a plain tuple" in messages[2]
    assert "(Linear) in a plain list" in messages[3]


def test_nn107_silent_outside_modules_and_when_registered_by_hand():
    src = NN107_MODEL.split("class Config:")[1]
    assert only("NN107", "import torch.nn as nn\n\nclass Config:" + src) == []


NN107_REGISTERED_LATER = """\
import torch.nn as nn


class ConvStack(nn.Module):
    def __init__(self, channels=(3, 32, 64)):
        super().__init__()
        self.layers = []
        for c_in, c_out in zip(channels, channels[1:]):
            self.layers.append(nn.Conv2d(c_in, c_out, 3, padding=1))
            self.layers.append(nn.ReLU())
        self.body = nn.Sequential(*self.layers)

    def forward(self, x):
        return self.body(x)


class Heads(nn.Module):
    def __init__(self, dim=128):
        super().__init__()
        self.head_list = {"age": nn.Linear(dim, 1), "gender": nn.Linear(dim, 2)}
        self.heads = nn.ModuleDict(self.head_list)
        self.towers = [nn.Linear(dim, dim) for _ in range(3)]
        self.tower_modules = nn.ModuleList(self.towers)

    def forward(self, x):
        return {name: head(x) for name, head in self.heads.items()}


class Partial(nn.Module):
    def __init__(self, dim=128):
        super().__init__()
        self.blocks = [nn.Linear(dim, dim) for _ in range(4)]
        self.trunk = nn.Sequential(*self.blocks[:2])
        local = nn.ModuleList(self.blocks)

    def forward(self, x):
        return self.trunk(x)
"""


def test_nn107_silent_when_every_module_ends_up_in_a_registered_container():
    # Sequential(*self.layers), ModuleDict(self.heads), ModuleList(self.towers) register them all;
    # a slice registers only some, and a container kept in a local variable registers nothing
    assert only("NN107", NN107_REGISTERED_LATER) == [(32, 9, "NN107")]


# --- NN108 functional-dropout-always-on --------------------------------------------------------
NN108_MODEL = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.functional import dropout as drop


class Net(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.p = p

    def forward(self, x, train_flag=True):
        x = F.dropout(self.fc(x), self.p)
        x = drop(x, p=0.2,)
        x = F.dropout2d(x)
        x = F.dropout(x, self.p, self.training)
        x = F.dropout(x, p=self.p, training=train_flag)
        x = F.alpha_dropout(x, 0.1, False)
        if self.training:
            x = F.dropout(x, 0.3)
        x = F.dropout(x, 0.1) if self.training else x
        x = F.dropout(x, 0.0)
        x = F.dropout(x, *self.args)

        def inner(h):
            return F.dropout3d(h, 0.1)

        return inner(x)

    @staticmethod
    def helper(x):
        return F.dropout(x, 0.5)


def mc_dropout(x):
    return F.dropout(x, 0.5)


class NotAModule:
    def forward(self, x):
        return F.dropout(x, 0.5)


class EarlyReturn(nn.Module):
    def forward(self, x):
        before = F.dropout(x, 0.1)
        if not self.training:
            return x + before
        return F.dropout(x, 0.1)
"""


def test_nn108_fires_without_a_training_flag_in_module_methods_only():
    assert only("NN108", NN108_MODEL) == [(14, 13, "NN108"), (15, 13, "NN108"), (16, 13, "NN108"),
                                          (27, 20, "NN108"), (47, 18, "NN108")]


def test_nn108_fix_adds_training_self_training():
    diagnostics = lint(NN108_MODEL, select=["NN108"])
    from nnlint.fixes import apply_edits

    fixed = [apply_edits(NN108_MODEL, d.fix.edits).splitlines()[d.line - 1].strip() for d in diagnostics[:3]]
    assert [d.line for d in diagnostics[:3]] == [14, 15, 16]
    assert fixed == [
        "x = F.dropout(self.fc(x), self.p, training=self.training)",
        "x = drop(x, p=0.2, training=self.training,)",  # the trailing comma stays
        "x = F.dropout2d(x, training=self.training)",
    ]
    assert all(d.fix.safe and d.fix.message == "Add training=self.training" for d in diagnostics)
    assert diagnostics[0].message == ("F.dropout(...) without training= stays on after model.eval() "
                                      "(it defaults to training=True); pass training=self.training")


def test_nn108_message_for_alpha_dropout_says_it_never_drops():
    (diag,) = lint("import torch.nn as nn, torch.nn.functional as F\n"
                   "class M(nn.Module):\n"
                   "    def forward(self, x):\n"
                   "        return F.alpha_dropout(x, 0.1)\n", select=["NN108"])
    assert (diag.line, diag.column, diag.code) == (4, 16, "NN108")
    assert diag.message == ("F.alpha_dropout(...) without training= never drops anything, in training either "
                            "(it defaults to training=False); pass training=self.training")


def test_nn108_fix_appends_to_exactly_the_last_argument():
    (diag,) = lint("import torch.nn as nn, torch.nn.functional as F\n"
                   "class M(nn.Module):\n"
                   "    def forward(me, x):\n"
                   "        return F.dropout(\n            x, 0.5\n        )\n", select=["NN108"])
    (edit,) = diag.fix.edits  # the rest of the multi-line call keeps its layout
    assert (edit.span.line, edit.span.column, edit.span.end_line, edit.span.end_column) == (5, 16, 5, 19)
    assert edit.content == "0.5, training=me.training"


# --- NN110 constant-weight-init ----------------------------------------------------------------
NN110_MODEL = """\
import torch.nn as nn
from torch.nn import init


def init_weights(m):
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        nn.init.zeros_(m.weight)
        init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        init.ones_(m.weight)
        init.zeros_(m.bias)
    elif type(m) == nn.LSTM:
        m.weight_ih_l0.data.fill_(0.5)


class Net(nn.Module):
    def __init__(self, zero_init=False):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
        self.head = nn.Linear(8, 2)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                module.weight.data.zero_()
                nn.init.constant_(module.bias, 0.1)
                if zero_init:
                    nn.init.zeros_(module.weight)
            if isinstance(module, nn.Embedding):
                nn.init.zeros_(module.weight)
        nn.init.zeros_(self.head.weight)
        nn.init.kaiming_normal_(self.body[0].weight)

    def forward(self, x):
        return self.head(self.body(x))


def init_named(model):
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear) and name.startswith("head"):
            nn.init.zeros_(m.weight)
        elif isinstance(m, nn.LayerNorm):
            m.weight.data.fill_(1.0)
"""


def test_nn110_fires_on_type_wide_constant_weight_inits():
    assert only("NN110", NN110_MODEL) == [(7, 9, "NN110"), (13, 9, "NN110"), (23, 17, "NN110")]


def test_nn110_message():
    messages = [d.message for d in lint(NN110_MODEL, select=["NN110"])]
    # the file's model: the first Linear feeds the second through a ReLU, both zeroed
    assert messages[0] == ("nn.init.zeros_ gives every Linear/Conv2d weight one constant, and nn.Linear(4, 8) "
                           "feeds nn.Linear(8, 1): the units of the first get identical gradients and stay identical "
                           "forever; use a random init for weights (constants are fine for biases, norm layers and "
                           "an output layer)")
    # no LSTM in the file's models: what it is applied to is not known
    assert messages[1] == ("m.weight_ih_l0.data.fill_ gives every LSTM weight one constant: where one such layer "
                           "feeds another, the units of the first get identical gradients and stay identical; use a "
                           "random init for weights (constants are fine for biases, norm layers and an output layer)")


NN110_CASES = """\
import torch.nn as nn


class SoftmaxRegression(nn.Module):
    def __init__(self, features=784, classes=10):
        super().__init__()
        self.linear = nn.Linear(features, classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.linear(x.flatten(1))


class TiedInit(nn.Module):
    def __init__(self, dim=64, hidden=128):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, 1)
        nn.init.constant_(self.fc1.weight, 0.05)
        nn.init.constant_(self.fc2.weight, 0.05)

    def forward(self, x):
        return self.fc3(self.fc2(self.fc1(x).tanh()).tanh())


class DeadHidden(nn.Module):
    def __init__(self, dim=64, hidden=128):
        super().__init__()
        self.hidden = nn.Linear(dim, hidden)
        self.act = nn.ReLU()
        self.out = nn.Linear(hidden, 10)
        nn.init.zeros_(self.hidden.weight)
        nn.init.zeros_(self.hidden.bias)

    def forward(self, x):
        return self.out(self.act(self.hidden(x)))


class ConstantThenRandom(nn.Module):
    def __init__(self, dim=64, hidden=128):
        super().__init__()
        self.embed = nn.Linear(dim, hidden)
        self.proj = nn.Linear(hidden, hidden)
        nn.init.constant_(self.embed.weight, 0.01)

    def forward(self, x):
        return self.proj(self.embed(x).relu())


class ZeroWithRandomBias(nn.Module):
    def __init__(self, dim=64, hidden=128):
        super().__init__()
        self.hidden = nn.Linear(dim, hidden)
        self.out = nn.Linear(hidden, 10)
        nn.init.zeros_(self.hidden.weight)

    def forward(self, x):
        return self.out(self.hidden(x).relu())


class ZeroInitHead(nn.Module):
    def __init__(self, dim=64, classes=10):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim, dim), nn.ReLU())
        self.head = nn.Linear(dim, classes, bias=False)
        nn.init.zeros_(self.head.weight)

    def forward(self, x):
        return self.head(self.body(x))


class NoBiasIntoRelu(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.conv = nn.Conv2d(3, dim, 3, padding=1, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.fc = nn.Linear(dim, 10)
        self.conv.weight.data.zero_()

    def forward(self, x):
        return self.fc(self.act(self.conv(x)).mean((2, 3)))
"""


def test_nn110_fires_when_the_next_weight_layer_is_constant_too_or_zeros_feed_a_relu():
    # (a) fc1 -> fc2 both constant: reported at fc1's init; (b) zero weight and bias into a ReLU,
    # and a bias-free zero conv into a ReLU. Silent: a single (output) layer zeroed, a constant
    # layer followed by a random one, zero weights with the default random bias, a zero head.
    assert only("NN110", NN110_CASES) == [(23, 9, "NN110"), (36, 9, "NN110"), (82, 9, "NN110")]


def test_nn110_messages_say_which_case():
    messages = [d.message for d in lint(NN110_CASES, select=["NN110"])]
    assert messages == [
        "nn.init.constant_ gives 'self.fc1' (Linear) a constant weight and the next weight layer, 'self.fc2' "
        "(Linear), is constant too: the units of 'self.fc1' (Linear) get identical gradients and stay identical "
        "forever; use a random init for at least one of them",
        "nn.init.zeros_ sets every weight of 'self.hidden' (Linear) to zero with a zero bias, and it feeds "
        "'self.act' (ReLU): the pre-activation is 0, where ReLU's gradient is 0, so the layer never learns; use a "
        "random init for the weight",
        "self.conv.weight.data.zero_ sets every weight of 'self.conv' (Conv2d) to zero with a zero bias, and it "
        "feeds 'self.act' (ReLU): the pre-activation is 0, where ReLU's gradient is 0, so the layer never learns; "
        "use a random init for the weight",
    ]


# --- NN111 unused-submodule --------------------------------------------------------------------
NN111_MODEL = """\
import torch
import torch.nn as nn
from mylib import Backbone


class Block(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(0.1)
        self.act = nn.GELU()
        self.proj = nn.Linear(dim, dim)
        self.gate = Gate(dim)
        self.scale = 0.5

    def forward(self, x):
        return x + self._branch(x)

    def _branch(self, x):
        return self.proj(self.act(self.fc(self.norm(x))))


class Gate(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.lin = nn.Linear(dim, 1)
        self.spare = nn.Linear(dim, 1)

    def forward(self, x):
        return torch.sigmoid(self.lin(x)) * x


class ByName(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Linear(4, 4)
        self.layer2 = nn.Linear(4, 4)

    def forward(self, x):
        for i in (1, 2):
            x = getattr(self, f"layer{i}")(x)
        return x


class Children(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.ReLU()

    def forward(self, x):
        for m in self.children():
            x = m(x)
        return x


class NoForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.unused_here = nn.Linear(4, 4)


class Abstract(nn.Module):
    def __init__(self):
        super().__init__()
        self.maybe = nn.Linear(4, 4)

    def forward(self, x):
        raise NotImplementedError


class Delegates(nn.Sequential):
    def __init__(self):
        super().__init__(nn.Linear(4, 4))
        self.extra_norm = nn.LayerNorm(4)

    def forward(self, x):
        return super().forward(x)


class Derived(Backbone):
    def __init__(self):
        super().__init__()
        self.neck = nn.Linear(4, 4)

    def forward(self, x):
        return x


class Listed(nn.Module):
    no_decay = ("registry_only",)

    def __init__(self):
        super().__init__()
        self.registry_only = nn.Linear(4, 4)
        self.head = nn.Linear(4, 4)

    def forward(self, x):
        return x
"""


def test_nn111_fires_at_the_assignment_of_a_module_nothing_uses():
    assert only("NN111", NN111_MODEL) == [(11, 9, "NN111"), (14, 9, "NN111"), (28, 9, "NN111"), (97, 9, "NN111")]


def test_nn111_message():
    diag = lint(NN111_MODEL, select=["NN111"])[0]
    assert diag.message == ("'self.drop' (Dropout) is built in __init__ but never used: the dropout it configures "
                            "is never applied; call it in forward() or remove it")
    assert lint(NN111_MODEL, select=["NN111"])[1].message == (
        "'self.gate' (Gate) is built in __init__ but never used: its parameters train nothing and are saved "
        "anyway; call it in forward() or remove it")


def test_nn111_head_used_from_outside_the_class_counts():
    src = NN111_MODEL + "\n\ndef logits(model, x):\n    return model.head(x)\n"
    assert only("NN111", src) == [(11, 9, "NN111"), (14, 9, "NN111"), (28, 9, "NN111")]


NN111_WHAT_IT_IS = """\
import torch
import torch.nn as nn
from torch.nn import CrossEntropyLoss
from mylib import Backbone, DropPath


class LabelSmoothing(nn.CrossEntropyLoss):
    pass


class FocalLoss(nn.Module):
    def __init__(self, gamma=2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits, target):
        return logits.mean()


class Quantizer(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("x_min", torch.zeros(1))
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(x).clamp(min=self.x_min)


class Scale(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class Classifier(nn.Module):
    def __init__(self, dim=256, classes=10):
        super().__init__()
        self.backbone = Backbone(dim)
        self.head = nn.Linear(dim, classes)
        self.criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
        self.smooth = LabelSmoothing()
        self.focal = FocalLoss()
        self.aux_loss = CrossEntropyLoss()
        self.act = nn.SiLU()
        self.upsample = nn.Upsample(scale_factor=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.identity = nn.Identity()
        self.quant = Quantizer()
        self.inorm = nn.InstanceNorm2d(dim)
        self.plain_norm = nn.LayerNorm(dim, elementwise_affine=False)
        self.no_drop = nn.Dropout(0.0)
        self.attn_drop = nn.Dropout(0.1)
        self.drop_path = DropPath(0.1)
        self.layer_scale = Scale(dim)
        self.affine_norm = nn.InstanceNorm2d(dim, affine=True)
        self.spare = nn.Sequential(nn.Linear(dim, dim))
        self.slots = nn.ModuleList()

    def forward(self, x):
        return self.head(self.backbone(x))
"""


def test_nn111_never_for_losses_nor_parameterless_modules_except_dropout():
    # losses are called by training code; an unused activation, Upsample, pool, Identity, a module
    # with buffers only, a norm without affine parameters or a Dropout(0.0) does nothing either way
    assert only("NN111", NN111_WHAT_IT_IS) == [(56, 9, "NN111"), (58, 9, "NN111"), (59, 9, "NN111"),
                                               (60, 9, "NN111"), (61, 9, "NN111")]


def test_nn111_message_speaks_of_parameters_only_when_the_module_has_some():
    messages = [d.message for d in lint(NN111_WHAT_IT_IS, select=["NN111"])]
    assert messages == [
        "'self.attn_drop' (Dropout) is built in __init__ but never used: the dropout it configures is never "
        "applied; call it in forward() or remove it",
        "'self.layer_scale' (Scale) is built in __init__ but never used: its parameters train nothing and are "
        "saved anyway; call it in forward() or remove it",
        "'self.affine_norm' (InstanceNorm2d) is built in __init__ but never used: its parameters train nothing "
        "and are saved anyway; call it in forward() or remove it",
        "'self.spare' (Sequential) is built in __init__ but never used: its parameters train nothing and are "
        "saved anyway; call it in forward() or remove it",
        # what an empty container will hold is not known: nothing claimed about parameters
        "'self.slots' (ModuleList) is built in __init__ but never used; call it in forward() or remove it",
    ]
