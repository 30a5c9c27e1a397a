"""NN102-NN106 and NN109: graph rules on nn.Sequential and forward()-wired models, with every
must-not-fire case of RULES.md."""


import pytest

from nnlint.testing import codes, lint

MINE = ["NN102", "NN103", "NN104", "NN105", "NN106", "NN109"]


def only(code, src, **options):
    return codes(src, select=[code], options=options)


# --- NN102 bias-before-batchnorm ---------------------------------------------------------------
NN102_MODEL = """\
import torch
import torch.nn as nn


def stem(width=32):
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, width, 3, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, bias=True),
        nn.ReLU(),
        nn.BatchNorm2d(width),
    )


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(256, 128)
        self.bn = nn.BatchNorm1d(128)
        self.fc2 = nn.Linear(128, 64)
        self.bn2 = nn.BatchNorm1d(64, affine=False)
        self.fc3 = nn.Linear(64, 64)
        self.bn3 = nn.BatchNorm1d(64)

    def forward(self, x):
        x = self.bn(self.fc(x)).relu()
        x = self.bn2(self.fc2(x)).relu()
        y = self.fc3(x)
        return self.bn3(y), y
"""


def test_nn102_fires_at_the_layer_whose_bias_batchnorm_cancels():
    assert only("NN102", NN102_MODEL) == [(7, 9, "NN102"), (30, 21, "NN102")]


def test_nn102_is_off_by_default():
    assert [c for c in codes(NN102_MODEL) if c[2] == "NN102"] == []


def test_nn102_message_names_both_layers():
    (diag,) = lint("import torch.nn as nn\nm = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8))\n", select=["NN102"])
    assert diag.message == ("nn.Linear(4, 8) has a bias that nn.BatchNorm1d(8) cancels (it subtracts the batch "
                            "mean); pass bias=False")
    assert [(r.span.line, r.span.column) for r in diag.related] == [(2, 36)]


def test_nn102_silent_when_bias_is_not_a_literal():
    src = "import torch.nn as nn\ndef f(b):\n    return nn.Sequential(nn.Linear(4, 8, bias=b), nn.BatchNorm1d(8))\n"
    assert only("NN102", src) == []


# --- NN103 batchnorm-momentum-convention -------------------------------------------------------
def test_nn103_fires_at_the_momentum_argument_in_sequential_and_forward_models():
    src = """\
import torch.nn as nn

BN_MOMENTUM = 0.9


class Net(nn.Module):
    def __init__(self, momentum=0.99):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=False)
        self.bn = nn.BatchNorm2d(8, momentum=momentum)
        self.bn_ok = nn.BatchNorm2d(8, momentum=0.01)
        self.block = nn.Sequential(nn.Conv2d(8, 8, 3), nn.BatchNorm2d(8, 1e-5, BN_MOMENTUM), nn.ReLU())

    def forward(self, x):
        x = self.bn(self.conv(x)).relu()
        x = self.bn(x)
        return self.block(self.bn_ok(x))
"""
    assert only("NN103", src) == [(10, 46, "NN103"), (12, 80, "NN103")]


def test_nn103_message_gives_the_torch_value():
    (diag,) = lint("import torch.nn as nn\nbn = nn.Sequential(nn.BatchNorm1d(4, momentum=0.99))\n", select=["NN103"])
    assert diag.message == ("nn.BatchNorm1d(4, momentum=0.99) has momentum=0.99: in PyTorch momentum weighs the "
                            "new batch (default 0.1), so this is the Keras/TF convention; use momentum=0.01")


@pytest.mark.parametrize("momentum", ["0.1", "0.49", "0.5", "None", "m"])
def test_nn103_silent_at_or_below_half_or_unknown(momentum):
    # at exactly 0.5 the old and the new statistics weigh the same in both conventions
    src = f"import torch.nn as nn\ndef f(m):\n    return nn.Sequential(nn.BatchNorm1d(4, momentum={momentum}))\n"
    assert only("NN103", src) == []


@pytest.mark.parametrize("momentum, suggested", [("0.51", "0.49"), ("0.6", "0.4"), ("0.9", "0.1"), ("0.999", "0.001")])
def test_nn103_fires_above_half_and_suggests_one_minus_momentum(momentum, suggested):
    src = f"import torch.nn as nn\nbn = nn.Sequential(nn.BatchNorm2d(4, momentum={momentum}))\n"
    (diag,) = lint(src, select=["NN103"])
    assert (diag.line, diag.column) == (2, 47)
    assert diag.message.endswith(f"use momentum={suggested}")


def test_nn103_not_for_keras_batchnormalization():
    src = """\
from tensorflow import keras

model = keras.Sequential([
    keras.layers.Dense(64, use_bias=False),
    keras.layers.BatchNormalization(momentum=0.99),
    keras.layers.Activation("relu"),
])
"""
    assert only("NN103", src) == []


# --- NN104 missing-nonlinearity ----------------------------------------------------------------
def test_nn104_fires_through_dropout_flatten_norm_and_pooling():
    src = """\
import torch.nn as nn

mlp = nn.Sequential(nn.Linear(64, 128), nn.Dropout(0.1), nn.Linear(128, 128), nn.ReLU())
convs = nn.Sequential(
    nn.Conv2d(3, 16, 3),
    nn.BatchNorm2d(16),
    nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3),
)
deep = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.Flatten(), nn.Linear(16, 16))
"""
    assert only("NN104", src) == [(3, 58, "NN104"), (8, 5, "NN104"), (10, 72, "NN104")]


NN104_WHAT_STANDS_BETWEEN = """\
import torch.nn as nn

mlp = nn.Sequential(nn.Linear(64, 128), nn.Dropout(0.1), nn.Linear(128, 128), nn.ReLU())
features = nn.Sequential(
    nn.Conv2d(3, 16, 3),
    nn.BatchNorm2d(16),
    nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3),
)
smooth = nn.Sequential(nn.Conv2d(3, 16, 3), nn.AvgPool2d(2), nn.Conv2d(16, 32, 3))


def projector(dim, hidden):
    return nn.Sequential(nn.Linear(dim, hidden), nn.Linear(hidden, dim))
"""


def test_nn104_message_is_true_for_what_stands_between():
    messages = [(d.line, d.message.split(" with no activation in between: ")[1])
                for d in lint(NN104_WHAT_STANDS_BETWEEN, select=["NN104"])]
    assert messages == [
        # dropout and average pooling are linear: the two layers are one linear map
        (3, "the two Linear layers collapse into one linear map; add a nonlinearity between them"),
        # max pooling is nonlinear: the stack does not collapse, it lacks activations
        (8, "max pooling is the only nonlinearity there, so the Conv stack is missing its activations; "
            "add one (e.g. ReLU) after nn.Conv2d(3, 16, 3)"),
        (10, "the two Conv layers collapse into one linear map; add a nonlinearity between them"),
        # widths unknown: it may be a deliberate low-rank factorization
        (14, "the two Linear layers collapse into one linear map; add a nonlinearity between them (if this is a "
             "deliberate low-rank factorization, silence it with # noqa: NN104)"),
    ]


def test_nn104_fires_in_forward_dataflow_at_the_second_call():
    src = """\
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        x = self.drop(self.fc1(x.flatten(1)))
        return self.fc2(x)
"""
    (diag,) = lint(src, select=["NN104"])
    assert (diag.line, diag.column) == (14, 16)
    assert diag.message.startswith("'self.fc2' (Linear) follows 'self.fc1' (Linear) through 'self.drop' (Dropout)")


NN104_CLEAN = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp():
    return nn.Sequential(nn.Linear(64, 128), nn.GELU(), nn.Linear(128, 64))


def low_rank(dim=768, rank=16):
    return nn.Sequential(nn.Linear(dim, rank, bias=False), nn.Linear(rank, dim, bias=False))


def mobilenet_v3_projection_then_expansion():
    return nn.Sequential(nn.Conv2d(16, 16, 1, bias=False), nn.BatchNorm2d(16), nn.Conv2d(16, 72, 1), nn.ReLU())


def mobilenet_v2_projection():
    return nn.Sequential(
        nn.Conv2d(96, 24, 1, bias=False),
        nn.BatchNorm2d(24),
        nn.Conv2d(24, 144, 1, bias=False),
        nn.BatchNorm2d(144),
        nn.ReLU6(),
    )


def separable(c):
    return nn.Sequential(nn.Conv2d(c, c, 3, groups=c), nn.Conv2d(c, 2 * c, 1))


def attention_between():
    return nn.Sequential(nn.Linear(64, 64), nn.MultiheadAttention(64, 4), nn.Linear(64, 64))


def unknown_between(block):
    return nn.Sequential(nn.Linear(64, 64), block, nn.Linear(64, 64))


class Activated(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        return F.gelu(self.fc(x))


class Stack(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.inp = nn.Linear(dim, dim)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.proj = Activated(dim)
        self.out = nn.Linear(dim, dim)
        self.adapter_down = nn.Linear(dim, dim // 8)
        self.adapter_up = nn.Linear(dim // 8, dim)
        self.lora_a = nn.Linear(dim, heads)
        self.lora_b = nn.Linear(heads, dim)

    def forward(self, x):
        h = self.inp(x)
        scores = self.q(h) @ self.k(h).transpose(-1, -2)
        x = x + self.out(self.proj(scores.softmax(-1) @ h))
        x = x + self.adapter_up(self.adapter_down(x))
        return x + 0.5 * self.lora_b(self.lora_a(x))
"""


def test_nn104_must_not_fire_on_activations_low_rank_grouped_residual_and_activated_project_modules():
    assert only("NN104", NN104_CLEAN) == []


def test_nn104_must_not_fire_on_factorized_resampling_or_cross_module_pairs():
    src = """\
import torch.nn as nn


class Adapter(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.q_adapter = nn.Sequential(
            nn.Linear(config.hidden_size, config.adapter_rank, bias=False),
            nn.Linear(config.adapter_rank, config.hidden_size, bias=False),
        )
        self.g_a_proj = nn.Linear(config.hidden_size, config.head_dim, bias=False)
        self.g_b_proj = nn.Linear(config.head_dim, config.hidden_size, bias=False)

    def forward(self, x):
        return self.g_b_proj(self.g_a_proj(self.q_adapter(x)))


class PatchEmbed(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.projection = nn.Sequential(
            nn.Conv2d(3, dim // 2, kernel_size=3, stride=2, padding=1),
            nn.Conv2d(dim // 2, dim, kernel_size=3, stride=2, padding=1),
        )
        self.up = nn.ConvTranspose2d(dim, dim, 2, stride=2)
        self.proj = nn.Conv2d(dim, dim, 1)

    def forward(self, x):
        return self.proj(self.up(self.projection(x)))


class Merger(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.merging_layer = nn.Linear(4 * dim, dim)

    def forward(self, x):
        return self.merging_layer(x.reshape(-1, 4 * x.shape[-1]))


class Projector(nn.Module):
    def __init__(self, dim, out):
        super().__init__()
        self.merger = Merger(dim)
        self.linear_1 = nn.Linear(dim, out)
        self.act = nn.GELU()
        self.linear_2 = nn.Linear(out, out)

    def forward(self, x):
        return self.linear_2(self.act(self.linear_1(self.merger(x))))
"""
    assert only("NN104", src) == []


def test_nn104_still_fires_when_only_one_of_the_pair_is_bias_free_or_a_norm_stands_between():
    src = """\
import torch.nn as nn

head = nn.Sequential(nn.Linear(512, 512, bias=False), nn.Linear(512, 10))
stack = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, bias=False))
"""
    assert only("NN104", src) == [(3, 55, "NN104"), (4, 91, "NN104")]


# --- NN105 redundant-activation ----------------------------------------------------------------
def test_nn105_fires_at_the_second_activation():
    src = """\
import torch.nn as nn
import torch.nn.functional as F

mlp = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Identity(), nn.ReLU(inplace=True))
probs = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Sigmoid())


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x):
        return F.softmax(self.softmax(self.fc(x)), dim=-1)
"""
    assert only("NN105", src) == [(4, 64, "NN105"), (5, 54, "NN105"), (15, 16, "NN105")]


def test_nn105_message_says_what_the_second_activation_does():
    src = """\
import torch.nn as nn

a = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.ReLU())
b = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Tanh())
c = nn.Sequential(nn.Linear(4, 4), nn.LeakyReLU(0.1), nn.LeakyReLU(0.1))
"""
    assert [(d.line, d.message) for d in lint(src, select=["NN105"])] == [
        (3, "nn.ReLU() applies relu again right after nn.ReLU(): it does nothing the first did not; remove one"),
        (4, "nn.Tanh() applies tanh again right after nn.Tanh(): it squashes the values a second time "
            "(outputs bunch up, gradients shrink); remove one"),
        (5, "nn.LeakyReLU(0.1) applies leaky_relu again right after nn.LeakyReLU(0.1): it is not a no-op: "
            "leaky_relu(leaky_relu(x)) is a different function from leaky_relu(x); remove one"),
    ]


def test_nn105_silent_for_different_activations_and_parametric_ones():
    src = """\
import torch.nn as nn

a = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Dropout(0.1), nn.Linear(4, 4), nn.ReLU())
b = nn.Sequential(nn.Linear(4, 8), nn.GLU(), nn.GLU())
c = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Sigmoid(), nn.PReLU(), nn.PReLU())
"""
    assert only("NN105", src) == []


# --- NN106 layer-shape-mismatch ----------------------------------------------------------------
NN106_MODEL = """\
import torch.nn as nn

HIDDEN = 256
N_CLASSES = 10


def mlp(in_features=784, hidden=HIDDEN // 2):
    return nn.Sequential(
        nn.Linear(in_features, HIDDEN),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(hidden, N_CLASSES),
    )


def cnn(width=32):
    return nn.Sequential(
        nn.Conv2d(3, width, 3),
        nn.BatchNorm2d(width * 2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 64, 3),
        nn.GroupNorm(8, 32),
    )


class Tagger(nn.Module):
    def __init__(self, vocab=1000, dim=100, hidden=128):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.seq = nn.Sequential(nn.Embedding(vocab, dim), nn.LSTM(dim, hidden, bidirectional=True), nn.Linear(hidden, 5))
        self.norm = nn.LayerNorm(hidden)

    def forward(self, tokens):
        return self.norm(self.embed(tokens))
"""


def test_nn106_fires_at_the_consuming_layer_with_constants_and_defaults():
    assert only("NN106", NN106_MODEL) == [(12, 9, "NN106"), (19, 9, "NN106"), (23, 9, "NN106"),
                                          (32, 102, "NN106"), (36, 16, "NN106")]


def test_nn106_message_names_both_sizes():
    diag = lint(NN106_MODEL, select=["NN106"])[0]
    assert diag.message == ("nn.Linear(hidden, N_CLASSES) expects 128 input features but nn.Linear(in_features, "
                            "HIDDEN) produces 256; make the sizes agree")


def test_nn106_silent_when_flatten_concat_unknown_or_rebound_sizes_stand_between():
    src = """\
import torch
import torch.nn as nn


def head(in_features, n=10):
    n = n + 1
    return nn.Sequential(
        nn.Conv2d(3, 16, 3),
        nn.Flatten(),
        nn.Linear(in_features, 64),
        nn.ReLU(),
        nn.Linear(n, 5),
        nn.LazyLinear(7),
        nn.Linear(7, 1),
    )


class Fuse(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 8)
        self.b = nn.Linear(4, 8)
        self.out = nn.Linear(16, 2)
        self.lstm = nn.LSTM(8, 32, proj_size=8)
        self.after = nn.Linear(8, 2)

    def forward(self, x):
        y = self.out(torch.cat([self.a(x), self.b(x)], dim=-1))
        return y, self.after(self.lstm(self.a(x))[0])
"""
    assert only("NN106", src) == []


# --- NN109 dropout-probability-suspicious ------------------------------------------------------
NN109_MODEL = """\
import torch.nn as nn
import torch.nn.functional as F

KEEP_PROB = 0.9


class Net(nn.Module):
    def __init__(self, p=0.1):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.drop = nn.Dropout(KEEP_PROB)
        self.ok = nn.Dropout(p)
        self.head = nn.Sequential(nn.Dropout(p=1.0), nn.Linear(8, 2), nn.AlphaDropout(-0.1))

    def forward(self, x):
        x = self.drop(self.fc(x))
        x = self.drop(self.ok(x))
        x = F.dropout(x, 0.85, self.training)
        return self.head(x)
"""


def test_nn109_fires_at_the_p_argument_once_per_layer():
    assert only("NN109", NN109_MODEL) == [(11, 32, "NN109"), (13, 48, "NN109"), (13, 87, "NN109"),
                                          (18, 26, "NN109")]


def test_nn109_messages_tell_keep_prob_from_invalid():
    messages = [d.message for d in lint(NN109_MODEL, select=["NN109"])]
    assert messages[0] == ("'self.drop' (Dropout) drops 90% of the activations: p=0.9 looks like a keep "
                           "probability (TF1 keep_prob) ported as the drop probability; use p=0.1")
    assert messages[1] == ("nn.Dropout(p=1.0) has p=1.0: a drop probability must be in [0, 1) "
                           "(p=1 zeroes every activation); fix the value")
    assert messages[2] == ("nn.AlphaDropout(-0.1) has p=-0.1: a drop probability must be in [0, 1) "
                           "(the framework raises a ValueError for it); fix the value")


def test_nn109_threshold_is_an_option():
    src = "import torch.nn as nn\nm = nn.Sequential(nn.Dropout(0.85), nn.Dropout(0.95))\n"
    assert only("NN109", src) == [(2, 30, "NN109"), (2, 48, "NN109")]
    assert codes(src, select=["NN109"], options={"NN109": {"suspicious-p": 0.9}}) == [(2, 48, "NN109")]


def test_nn109_silent_for_ordinary_and_unknown_p():
    src = "import torch.nn as nn\ndef f(p):\n    return nn.Sequential(nn.Dropout(0.5), nn.Dropout(p), nn.Dropout(0.0))\n"
    assert only("NN109", src) == []


# --- Keras models --------------------------------------------------------------------------------
KERAS_MODEL = """\
from tensorflow import keras
from tensorflow.keras import layers

classifier = keras.Sequential([
    layers.Conv2D(32, 5, activation="relu", input_shape=(28, 28, 1)),
    layers.MaxPooling2D(2),
    layers.Conv2D(64, 5, activation="relu"),
    layers.MaxPooling2D(),
    layers.MaxPooling2D(),
    layers.Conv2D(64, (3, 3), activation="relu"),
    layers.Flatten(),
    layers.BatchNormalization(momentum=0.99),
    layers.Dropout(rate=0.9),
    layers.Dense(128),
    layers.Dense(10, activation="softmax"),
    layers.Activation("softmax"),
])

inputs = keras.Input(shape=(32, 32, 3))
x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
x = layers.MaxPooling2D(pool_size=4)(x)
x = layers.Conv2D(16, 3, strides=2, activation="relu")(x)
x = layers.Reshape((4, 4))(x)
outputs = layers.Dense(1)(layers.Reshape((-1, 16))(x))

fine = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    layers.Conv2D(32, 3, activation="relu"),
    layers.MaxPooling2D(),
    layers.Conv2D(64, 3, activation="relu"),
    layers.MaxPooling2D(),
    layers.Reshape((5 * 5, 64)),
    layers.Reshape((-1,)),
    layers.Dense(10),
])
"""


def test_keras_models_on_the_shared_graph_rules():
    assert codes(KERAS_MODEL, select=MINE) == [(10, 5, "NN106"), (13, 25, "NN109"), (15, 5, "NN104"),
                                               (16, 5, "NN105"), (23, 5, "NN106")]


def test_keras_messages_speak_keras():
    by_code = {d.code + str(d.line): d.message for d in lint(KERAS_MODEL, select=MINE)}
    assert by_code["NN10610"].endswith(" shrinks its 2x2 input to 0x0 ('valid' padding, window (3, 3), stride 1): the "
                                       "model cannot be built; use padding='same' or a smaller window or stride")
    assert by_code["NN10623"].endswith(" reshapes (3, 3, 16) (144 values per sample) to (4, 4), "
                                  "which holds 16 and cannot hold 144; make the target shape multiply to 144")
    assert "rate=0.9 looks like a keep probability" in by_code["NN10913"] and by_code["NN10913"].endswith("use rate=0.1")
    assert "the two Dense layers collapse" in by_code["NN10415"]


def test_nn102_on_keras_speaks_use_bias_and_stays_silent_on_unknown_flags():
    src = """\
from tensorflow import keras
from tensorflow.keras import layers


def block(flag):
    return keras.Sequential([
        layers.Dense(64, use_bias=flag),
        layers.BatchNormalization(),
        layers.Dense(64),
        layers.BatchNormalization(),
    ])
"""
    (diag,) = lint(src, select=["NN102"])
    assert (diag.line, diag.column) == (9, 9)
    assert diag.message.endswith("cancels (it subtracts the batch mean); pass use_bias=False")


def test_nn104_on_traced_graphs_compares_module_scopes():
    from nnlint.graph import LayerGraph
    from nnlint.registry import get_rule

    def traced(first_scope, second_scope):
        graph = LayerGraph("fx", "Net")
        x = graph.add("input", "'x'")
        a = graph.add("conv", "'a' (Conv2d)", [x], scope=first_scope, cls="Conv2d", in_channels=16,
                      out_channels=32, bias=True, groups=1, stride=1)
        b = graph.add("batchnorm", "'bn' (BatchNorm2d)", [a], scope=first_scope, cls="BatchNorm2d")
        graph.add("conv", "'b' (Conv2d)", [b], scope=second_scope, cls="Conv2d", in_channels=32,
                  out_channels=32, bias=True, groups=1, stride=1)
        return [f.message.split(" with ")[0] for f in get_rule("NN104")().check(graph, {})]

    assert traced(("features", "features.1"), ("features", "features.1")) == ["'b' (Conv2d) follows 'a' (Conv2d) through 'bn' (BatchNorm2d)"]
    assert traced(("features", "features.1"), ("features", "features.2")) == []
