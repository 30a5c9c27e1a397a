"""NN201-NN210: loss wiring. Every must-fire and must-not-fire case of the issue's precision
bar and of RULES.md is a test here (cross-file cases are in test_project.py)."""

import textwrap

from nnlint.engine import lint_sources
from nnlint.testing import codes, lint, settings

NN2 = ["NN2"]


def nn2(code, **kwargs):
    return codes(code, select=NN2, **kwargs)


# -- NN201 softmax-into-cross-entropy ------------------------------------------------------
SOFTMAX_MODEL_SCRIPT = """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.fc1(x))
            return F.softmax(self.fc2(x), dim=1)


    model = Net()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    for epoch in range(10):
        for images, labels in train_loader:
            optimizer.zero_grad()
            outputs = model(images.view(-1, 784))
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
"""


def test_softmax_forward_with_module_level_criterion_in_a_loop_at_the_bottom():
    assert nn2(SOFTMAX_MODEL_SCRIPT) == [(26, 16, "NN201")]


def test_nn201_names_the_softmax_and_points_to_it():
    (diag,) = lint(SOFTMAX_MODEL_SCRIPT, select=NN2)
    assert "nn.CrossEntropyLoss" in diag.message and "Net.forward" in diag.message
    assert [(r.span.line, r.span.column) for r in diag.related] == [(15, 16)]


def test_inline_softmax_into_functional_cross_entropy_in_a_training_step():
    code = """
        import pytorch_lightning as pl
        import torch.nn.functional as F
        from torch import nn


        class LitClassifier(pl.LightningModule):
            def __init__(self):
                super().__init__()
                self.backbone = nn.Linear(32, 4)

            def forward(self, x):
                return self.backbone(x)

            def training_step(self, batch, batch_idx):
                x, y = batch
                logits = self(x)
                loss = F.cross_entropy(F.softmax(logits, 1), y)
                return loss
    """
    assert nn2(code) == [(18, 16, "NN201")]


def test_lightning_self_call_resolves_to_forward():
    code = """
        import lightning as L
        import torch.nn.functional as F
        from torch import nn


        class Lit(L.LightningModule):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 2)
                self.act = nn.Softmax(dim=-1)

            def forward(self, x):
                return self.act(self.fc(x))

            def training_step(self, batch, batch_idx):
                x, y = batch
                return F.cross_entropy(self(x), y)
    """
    assert nn2(code) == [(18, 16, "NN201")]


def test_criterion_as_self_attribute_inside_forward():
    code = """
        import torch.nn as nn


        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(16, 3)
                self.softmax = nn.Softmax(dim=1)
                self.loss = nn.CrossEntropyLoss()

            def forward(self, x, y):
                return self.loss(self.softmax(self.fc(x)), y)
    """
    assert nn2(code) == [(13, 16, "NN201")]


def test_criterion_created_in_main_and_passed_as_an_argument():
    code = """
        import torch
        from torch import nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(10, 2)

            def forward(self, x):
                return torch.softmax(self.fc(x), dim=-1)


        def train_epoch(model, loader, criterion, optimizer):
            for x, y in loader:
                optimizer.zero_grad()
                loss = criterion(model(x), y)
                loss.backward()
                optimizer.step()


        def main():
            model = Net().to("cuda")
            criterion = nn.CrossEntropyLoss()
            optimizer = torch.optim.Adam(model.parameters())
            for epoch in range(5):
                train_epoch(model, loader, criterion, optimizer)
    """
    assert nn2(code) == [(18, 16, "NN201")]


def test_criterion_as_a_default_argument_and_alias_of_functional_loss():
    code = """
        import torch.nn.functional as F
        from torch import nn

        loss_fn = F.cross_entropy


        def step(logits, y, criterion=nn.CrossEntropyLoss()):
            probs = logits.softmax(dim=-1)
            a = criterion(probs, y)
            b = loss_fn(probs, y)
            return a + b
    """
    assert nn2(code) == [(10, 9, "NN201"), (11, 9, "NN201")]


def test_user_loss_class_that_wraps_cross_entropy():
    code = """
        import torch
        import torch.nn.functional as F
        from torch import nn


        class FocalLoss(nn.Module):
            def __init__(self, gamma=2.0):
                super().__init__()
                self.gamma = gamma

            def forward(self, x, y):
                ce = F.cross_entropy(x, y, reduction="none")
                return ((1 - torch.exp(-ce)) ** self.gamma * ce).mean()


        def train(out, y):
            criterion = FocalLoss()
            return criterion(torch.softmax(out, 1), y)


        class Inline(nn.Module):
            def forward(self, x, y):
                return F.cross_entropy(F.softmax(x, dim=1), y)
    """
    assert nn2(code) == [(19, 12, "NN201"), (24, 16, "NN201")]


def test_factory_function_returning_a_constructor_call():
    code = """
        import torch.nn as nn


        class Net(nn.Sequential):
            def forward(self, x):
                return super().forward(x).softmax(-1)


        def build_model():
            return Net(nn.Linear(4, 2))


        model = build_model()
        criterion = nn.CrossEntropyLoss()
        loss = criterion(model(inputs), targets)
    """
    assert nn2(code) == [(16, 8, "NN201")]


def test_tensorflow_softmax_cross_entropy_on_softmax_output():
    code = """
        import tensorflow as tf

        probs = tf.nn.softmax(tf.matmul(x, W) + b)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=probs))
    """
    assert nn2(code) == [(5, 23, "NN201")]


def test_softmax_only_in_predict_generate_and_metrics_is_clean():
    code = """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(10, 3)

            def forward(self, x):
                return self.fc(x)

            @torch.no_grad()
            def predict(self, x):
                return F.softmax(self(x), dim=1)

            def generate(self, x):
                probs = torch.softmax(self.forward(x), dim=-1)
                return torch.multinomial(probs, 1)


        model = Net()
        criterion = nn.CrossEntropyLoss()
        for x, y in loader:
            out = model(x)
            loss = criterion(out, y)
            probs = F.softmax(out, dim=1)
            acc = (probs.argmax(1) == y).float().mean()
        preds = model.predict(x_test)
    """
    assert nn2(code) == []


def test_user_class_named_cross_entropy_loss_is_not_torchs():
    code = """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F


        class CrossEntropyLoss(nn.Module):
            def forward(self, probs, target):
                return -(target * torch.log(probs.clamp_min(1e-8))).sum(dim=1).mean()


        criterion = CrossEntropyLoss()
        loss = criterion(F.softmax(logits, dim=1), onehot)
    """
    assert nn2(code) == []


def test_return_paths_that_disagree_are_silent():
    code = """
        import torch.nn as nn
        import torch.nn.functional as F


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(10, 3)

            def forward(self, x):
                logits = self.fc(x)
                if self.training:
                    return logits
                return F.softmax(logits, dim=1)


        model = Net()
        loss = nn.CrossEntropyLoss()(model(x), y)
    """
    assert nn2(code) == []


def test_branches_that_disagree_and_reassignment_are_silent():
    code = """
        import torch.nn.functional as F

        def step(x, y, flag):
            out = F.softmax(x, dim=1)
            if flag:
                out = x
            a = F.cross_entropy(out, y)
            out = F.softmax(x, 1)
            out = x * 2
            b = F.cross_entropy(out, y)
            return a + b
    """
    assert nn2(code) == []


def test_hugging_face_logits_attribute_is_not_guessed():
    code = """
        import torch.nn.functional as F

        outputs = model(**batch)
        loss = F.cross_entropy(outputs.logits, batch["labels"])
        probs = F.softmax(outputs.logits, dim=-1)
    """
    assert nn2(code) == []


# -- NN202 / NN203 / NN204 / NN205 / NN210 --------------------------------------------------
def test_sigmoid_into_bce_with_logits_in_a_loss_helper():
    code = """
        import torch
        import torch.nn.functional as F


        def detection_loss(pred, target):
            return F.binary_cross_entropy_with_logits(torch.sigmoid(pred), target)
    """
    assert nn2(code) == [(7, 12, "NN202")]


def test_sigmoid_model_into_bce_with_logits_loss_object():
    code = """
        import torch.nn as nn


        class Tagger(nn.Module):
            def __init__(self):
                super().__init__()
                self.head = nn.Sequential(nn.Linear(8, 5), nn.Sigmoid())

            def forward(self, x):
                return self.head(x)


        tagger = Tagger()
        criterion = nn.BCEWithLogitsLoss()
        loss = criterion(tagger(x), y)
    """
    assert nn2(code) == [(16, 8, "NN202")]


def test_sigmoid_before_bce_loss_is_correct():
    code = """
        import torch
        import torch.nn as nn


        class Discriminator(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(64, 1)

            def forward(self, x):
                return torch.sigmoid(self.fc(x))


        D = Discriminator()
        criterion = nn.BCELoss()
        logits = torch.sigmoid(raw)
        loss = criterion(D(x), real) + criterion(logits, fake)
    """
    assert nn2(code) == []


def test_softmax_into_nll_loss():
    code = """
        import torch.nn as nn
        import torch.nn.functional as F

        nll = nn.NLLLoss()
        a = nll(F.softmax(scores, dim=-1), target)
        b = F.nll_loss(scores.softmax(-1), target)
        c = F.nll_loss(F.log_softmax(scores, dim=-1), target)
    """
    assert nn2(code) == [(6, 5, "NN203"), (7, 5, "NN203")]


def test_log_of_softmax_into_nll_is_not_nn203():
    code = """
        import torch
        import torch.nn.functional as F

        loss = F.nll_loss(torch.log(F.softmax(scores, dim=-1)), target)
    """
    assert nn2(code) == [(5, 19, "NN208")]


def test_linear_model_into_nll_loss():
    code = """
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3)
                self.fc = nn.Linear(8, 10)

            def forward(self, x):
                x = self.conv(x).relu().mean((2, 3))
                return self.fc(x)


        net = Net()
        loss = nn.NLLLoss()(net(images), labels)
    """
    assert nn2(code) == [(17, 8, "NN204")]


def test_log_softmax_model_into_nll_is_clean():
    code = """
        import torch.nn as nn
        import torch.nn.functional as F


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 10)

            def forward(self, x):
                return F.log_softmax(self.fc(x), dim=1)


        net = Net()
        loss = F.nll_loss(net(images), labels)
    """
    assert nn2(code) == []


def test_unresolved_model_into_nll_is_silent():
    code = """
        import torch.nn.functional as F
        import torchvision

        net = torchvision.models.resnet18()
        loss = F.nll_loss(net(images), labels)
    """
    assert nn2(code) == []


def test_linear_model_into_bce_loss():
    code = """
        import torch.nn as nn


        class Scorer(nn.Module):
            def __init__(self):
                super().__init__()
                self.out = nn.Linear(32, 1)

            def forward(self, x):
                return self.out(x).squeeze(-1)


        scorer = Scorer()
        bce = nn.BCELoss()
        loss = bce(scorer(x), y.float())
    """
    assert nn2(code) == [(16, 8, "NN205")]


def test_relu_or_sigmoid_into_cross_entropy():
    code = """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 4)

            def forward(self, x):
                return F.relu(self.fc(x))


        net = Net()
        criterion = nn.CrossEntropyLoss()
        a = criterion(net(x), y)
        b = criterion(torch.sigmoid(h), y)
        c = F.binary_cross_entropy_with_logits(torch.tanh(h), t)
        d = criterion(h.relu(), y) if False else None
    """
    assert nn2(code) == [(18, 5, "NN210"), (19, 5, "NN210"), (20, 5, "NN210"), (21, 5, "NN210")]


def test_nn210_message_says_what_the_activation_does_to_the_logits():
    code = textwrap.dedent("""
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        criterion = nn.CrossEntropyLoss()
        a = criterion(torch.relu(h), y)
        b = F.binary_cross_entropy_with_logits(F.softplus(h), t)
        c = criterion(torch.tanh(h), y)
        d = criterion(F.softplus(h), y)
    """)
    assert [(d.line, d.message) for d in lint(code, select=["NN210"])] == [
        (7, "nn.CrossEntropyLoss receives the relu output of torch.relu(h); the logits are never negative, and a logit the "
            "ReLU holds at 0 passes no gradient back; feed the last linear layer's output"),
        (8, "F.binary_cross_entropy_with_logits receives the softplus output of F.softplus(h); the logits are never "
            "negative, so the predicted probability never falls below 0.5; feed the last linear layer's output"),
        (9, "nn.CrossEntropyLoss receives the tanh output of torch.tanh(h); the logits are bounded, which caps how confident "
            "the predicted probabilities can get; feed the last linear layer's output"),
        (10, "nn.CrossEntropyLoss receives the softplus output of F.softplus(h); the logits are never negative, and near 0 the "
             "softplus passes almost no gradient back; feed the last linear layer's output"),
    ]


def test_nn210_keras_message_says_what_the_final_activation_does():
    code = textwrap.dedent("""
        from tensorflow import keras
        from tensorflow.keras import layers

        model = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(1, activation="relu")])
        model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    """)
    (diag,) = lint(code, select=["NN210"])
    assert (diag.line, diag.column) == (6, 38)
    assert diag.message.endswith("(relu); the logits are never negative, so the predicted probability never falls "
                                 "below 0.5; drop the final activation")


def test_relu_inside_the_network_is_fine():
    code = """
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(nn.Linear(8, 8), nn.ReLU())
                self.head = nn.Linear(8, 4)

            def forward(self, x):
                return self.head(self.body(x))


        loss = nn.CrossEntropyLoss()(Net()(x), y)
    """
    assert nn2(code) == []


# -- Keras: NN206 / NN207 --------------------------------------------------------------------
def test_keras_dense_without_activation_and_probability_loss():
    code = """
        from tensorflow import keras
        from tensorflow.keras import layers

        model = keras.Sequential([
            layers.Flatten(input_shape=(28, 28)),
            layers.Dense(128, activation="relu"),
            layers.Dense(10),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    """
    assert nn2(code) == [(10, 1, "NN206")]


def test_keras_positional_softmax_with_from_logits_true():
    code = """
        import tensorflow as tf

        model = tf.keras.models.Sequential()
        model.add(tf.keras.layers.Dense(64, activation="relu"))
        model.add(tf.keras.layers.Dense(10, "softmax"))
        model.compile(
            optimizer="adam",
            loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    """
    assert nn2(code) == [(9, 10, "NN207")]


def test_keras_functional_model_and_loss_variable():
    code = """
        from keras import Input, Model
        from keras.layers import Dense
        from keras.losses import BinaryCrossentropy

        inputs = Input(shape=(16,))
        hidden = Dense(32, activation="relu")(inputs)
        outputs = Dense(1, activation="sigmoid")(hidden)
        model = Model(inputs, outputs)
        loss_fn = BinaryCrossentropy(from_logits=True)
        model.compile("adam", loss=loss_fn)
    """
    assert nn2(code) == [(11, 28, "NN207")]
    (diag,) = lint(textwrap.dedent(code), select=["NN207"])
    assert diag.message.endswith("(sigmoid); the sigmoid is applied twice; drop the final sigmoid or set "
                                 "from_logits=False")


def test_nn207_message_names_the_activation_the_loss_applies():
    code = """
        from keras import Sequential
        from keras.layers import Dense

        model = Sequential([Dense(32, activation="relu"), Dense(10, activation="sigmoid")])
        model.compile("adam", loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    """
    code = "import keras\n" + textwrap.dedent(code)
    (diag,) = lint(code, select=["NN207"])
    assert (diag.line, diag.code) == (7, "NN207")
    assert diag.message.endswith("(sigmoid); the loss applies a softmax on top of the sigmoid; drop the final sigmoid")


def test_keras_dense_then_activation_softmax_is_clean():
    code = """
        from tensorflow.keras.models import Sequential
        from tensorflow.keras.layers import Activation, Dense, Dropout

        model = Sequential()
        model.add(Dense(512, input_shape=(784,)))
        model.add(Activation("relu"))
        model.add(Dropout(0.2))
        model.add(Dense(10))
        model.add(Activation("softmax"))
        model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
    """
    assert nn2(code) == []


def test_keras_logits_model_wrapped_in_softmax_for_inference_is_clean():
    code = """
        import tensorflow as tf

        model = tf.keras.Sequential([
            tf.keras.layers.Flatten(input_shape=(28, 28)),
            tf.keras.layers.Dense(128, activation="relu"),
            tf.keras.layers.Dense(10),
        ])
        model.compile(optimizer="adam",
                      loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        model.fit(train_images, train_labels, epochs=10)
        probability_model = tf.keras.Sequential([model, tf.keras.layers.Softmax()])
        predictions = probability_model.predict(test_images)
    """
    assert nn2(code) == []


def test_keras_unknown_last_layer_is_silent():
    code = """
        from tensorflow import keras

        base = keras.applications.ResNet50(include_top=False)
        model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D(), custom_head])
        model.compile(loss="categorical_crossentropy")
    """
    assert nn2(code) == []


# -- NN208 log-of-softmax ------------------------------------------------------------------
def test_log_of_softmax_in_every_spelling():
    code = """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F


        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.softmax = nn.Softmax(dim=1)

            def forward(self, x):
                return torch.log(self.softmax(x))


        a = torch.log(F.softmax(x, dim=1))
        b = F.softmax(x, dim=-1).log()
        c = x.softmax(1).log()
        p = torch.softmax(x, dim=1)
        d = -(y * torch.log(p)).sum()
    """
    assert nn2(code) == [(13, 16, "NN208"), (16, 5, "NN208"), (17, 5, "NN208"), (18, 5, "NN208"), (20, 11, "NN208")]


def test_log_of_softmax_fix_keeps_the_dim():
    code = """
        import torch
        import torch.nn.functional as F

        a = torch.log(F.softmax(x, dim=1))
        b = x.softmax(-1).log()
        p = F.softmax(x, dim=1)
        c = torch.log(p)


        class Head(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.softmax = torch.nn.Softmax(dim=1)

            def forward(self, x):
                return torch.log(self.softmax(x))
    """
    diags = lint(code, select=["NN208"])
    from nnlint.fixes import apply_edits

    text = textwrap.dedent(code)
    fixes = [(d.line, d.fix and apply_edits(text, d.fix.edits).splitlines()[d.line - 1]) for d in diags]
    assert fixes == [
        (5, "a = F.log_softmax(x, dim=1)"),
        (6, "b = x.log_softmax(-1)"),
        (8, None),
        (17, None),
    ]


def test_log_softmax_and_log_of_other_things_are_clean():
    code = """
        import torch
        import torch.nn.functional as F

        a = F.log_softmax(x, dim=1)
        b = torch.log(torch.sigmoid(x))
        c = torch.log(x.clamp_min(1e-6))
        probs = F.softmax(x, dim=1)
        entropy = -(probs * F.log_softmax(x, dim=1)).sum(1)
    """
    assert nn2(code) == []


# -- NN209 softmax-without-dim ---------------------------------------------------------------
def test_softmax_without_dim():
    code = """
        import torch.nn as nn
        import torch.nn.functional as F
        from torch.nn import LogSoftmax

        head = nn.Sequential(nn.Linear(4, 2), nn.Softmax())
        out = LogSoftmax()
        a = F.softmax(x)
        b = F.log_softmax(x, dim=None)
    """
    assert nn2(code) == [(6, 39, "NN209"), (7, 7, "NN209"), (8, 5, "NN209"), (9, 5, "NN209")]


def test_softmax_without_dim_message_says_what_the_implicit_dim_does_for_the_known_rank():
    code = """\
        import torch
        import torch.nn.functional as F


        def postprocess(logits, batch, hidden):
            scores = F.softmax(logits)
            flat = F.softmax(logits.view(batch, -1))
            per_token = F.log_softmax(logits.reshape(batch, -1, 10))
            pooled = F.softmax(hidden.flatten(1))
            single = F.softmax(torch.flatten(hidden))
            return scores, flat, per_token, pooled, single
    """
    found = [(d.line, d.message) for d in lint(code, select=["NN209"])]
    assert found == [
        (6, "F.softmax without dim picks the axis from the input's rank: dim 1 for a 2-D (batch, classes) input, "
            "right there but deprecated; dim 0 for a 3-D input, the batch axis of (batch, sequence, classes), so "
            "each sample's probabilities depend on the rest of the batch; pass dim explicitly (usually dim=-1)"),
        (7, "F.softmax without dim on this 2-D input picks dim 1, the class axis of (batch, classes): right here, "
            "but the implicit choice is deprecated; pass dim=1"),
        (8, "F.log_softmax without dim on this 3-D input picks dim 0, the batch axis: each sample's probabilities "
            "then depend on the rest of the batch; pass the class axis explicitly (usually dim=-1)"),
        (9, "F.softmax without dim on this 2-D input picks dim 1, the class axis of (batch, classes): right here, "
            "but the implicit choice is deprecated; pass dim=1"),
        (10, "F.softmax without dim on this 1-D input picks dim 0, its only axis: right here, but the implicit "
             "choice is deprecated; pass dim=0"),
    ]


def test_softmax_with_dim_in_any_form_is_clean():
    code = """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        a = nn.Softmax(dim=-1)
        b = nn.LogSoftmax(1)
        c = F.softmax(x, 1)
        d = F.log_softmax(x, dim=self.dim)
        e = F.softmax(*args)
        f = torch.softmax(x, -1)
    """
    assert nn2(code) == []


# -- engine integration ----------------------------------------------------------------------
def test_noqa_silences_a_project_finding_on_its_line():
    code = SOFTMAX_MODEL_SCRIPT.replace("loss = criterion(outputs, labels)", "loss = criterion(outputs, labels)  # noqa: NN201")
    assert nn2(code) == []


def test_nn2_rules_are_on_by_default_and_run_in_the_default_selection():
    found = {d.code for d in lint(SOFTMAX_MODEL_SCRIPT)}
    assert "NN201" in found


def test_results_do_not_depend_on_file_order():
    model = textwrap.dedent("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(3, 2)

            def forward(self, x):
                return self.fc(x).softmax(1)
    """).encode()
    train = b"import torch.nn as nn\nfrom net import Net\n\nloss = nn.CrossEntropyLoss()(Net()(x), y)\n"
    a = lint_sources([("p/net.py", model), ("p/train.py", train)], settings(select=NN2))
    b = lint_sources([("p/train.py", train), ("p/net.py", model)], settings(select=NN2))
    assert a == b and [(d.path, d.line, d.code) for d in a] == [("p/train.py", 4, "NN201")]


# -- torch.fx: a loss computed inside the traced module ------------------------------------
def test_fx_trace_reports_wiring_of_losses_inside_the_traced_module(project, run_cli):
    import json

    project("nn2_fx_loss_model.py", """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F


        class WithLoss(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 3)
                self.criterion = nn.CrossEntropyLoss()

            def forward(self, x, y):
                probs = torch.softmax(self.fc(x), dim=1)
                a = self.criterion(probs, y)
                b = F.nll_loss(probs, y)
                c = F.binary_cross_entropy_with_logits(torch.sigmoid(x), x)
                d = F.cross_entropy(self.fc(x).view(-1, 3), y)
                return a + b + c + d


        def make():
            return WithLoss()
    """)
    result = run_cli("-q", "--select", "NN2", "--output-format", "json", "--trace", "nn2_fx_loss_model:make")
    found = [(d["line"], d["code"]) for d in json.loads(result.stdout)]
    assert found == [(15, "NN201"), (16, "NN203"), (17, "NN202")]


def test_sequential_model_ending_in_softmax_and_a_loss_method_of_the_module():
    code = """
        import torch.nn as nn
        import torch.nn.functional as F

        model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
        outputs = model(x)
        loss = F.cross_entropy(outputs.view(-1, 3), y.view(-1))


        class Lit(nn.Module):
            def __init__(self):
                super().__init__()
                self.proj = nn.Linear(8, 3)

            def loss_fn(self, logits, y):
                return F.cross_entropy(logits.view(-1, 3), y.view(-1))

            def training_step(self, batch, idx):
                x, y = batch
                return self.loss_fn(F.softmax(self.proj(x), dim=-1), y)

            def validation_step(self, batch, idx):
                x, y = batch
                return self.loss_fn(self.proj(x), y)
    """
    (first, second) = lint(code, select=NN2)
    assert [(d.line, d.column, d.code) for d in (first, second)] == [(7, 8, "NN201"), (20, 16, "NN201")]
    assert "nn.Softmax(dim=1) at the end of 'model'" in first.message
    assert [(r.span.line, r.span.column) for r in first.related] == [(5, 40)]


def test_softmax_as_the_soft_target_of_distillation_is_clean():
    code = """
        import torch.nn.functional as F

        def distill(student_logits, teacher_logits, T=2.0):
            soft = F.softmax(teacher_logits / T, dim=1)
            return F.cross_entropy(student_logits / T, soft)
    """
    assert nn2(code) == []


# -- NN208 on ONNX graphs --------------------------------------------------------------------
def _onnx_model(nodes):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ("N", 10))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ("N", 10))],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_onnx_softmax_feeding_log_is_nn208_and_log_softmax_is_clean():
    from onnx import helper

    bad = _onnx_model([helper.make_node("Softmax", ["x"], ["p"], name="/head/Softmax", axis=1),
                       helper.make_node("Log", ["p"], ["y"], name="/head/Log")])
    good = _onnx_model([helper.make_node("LogSoftmax", ["x"], ["y"], name="/head/LogSoftmax", axis=1)])
    found = lint_sources([("bad.onnx", bad), ("good.onnx", good)], settings(select=NN2))
    assert [(d.path, d.code) for d in found] == [("bad.onnx", "NN208")]
    assert "'/head/Log'" in found[0].message and "'/head/Softmax'" in found[0].message


def test_keras_layers_added_in_a_loop_then_the_output_layer():
    code = """
        from tensorflow import keras

        model = keras.Sequential()
        for units in (256, 128):
            model.add(keras.layers.Dense(units, activation="relu"))
            model.add(keras.layers.Dropout(0.3))
        model.add(keras.layers.Dense(1))
        model.compile(optimizer="adam", loss="binary_crossentropy")

        other = keras.Sequential()
        for units in (256, 128):
            other.add(keras.layers.Dense(units, activation="relu"))
        other.compile(optimizer="adam", loss="binary_crossentropy")
    """
    assert nn2(code) == [(9, 1, "NN206")]


def test_tf1_log_loss_on_a_dense_layer_without_activation():
    code = """
        import tensorflow as tf

        logits = tf.layers.dense(features, 1)
        probs = tf.layers.dense(features, 1, activation=tf.nn.sigmoid)
        bad = tf.losses.log_loss(labels, logits)
        good = tf.losses.log_loss(labels=labels, predictions=probs)
    """
    assert nn2(code) == [(6, 7, "NN206")]


def test_subclass_of_a_torch_loss_without_its_own_forward_is_that_loss():
    code = """
        import torch.nn as nn
        import torch.nn.functional as F


        class WeightedCE(nn.CrossEntropyLoss):
            def __init__(self, weight):
                super().__init__(weight=weight)


        class MaskedCE(nn.CrossEntropyLoss):
            def forward(self, pred, label, mask):
                return (super().forward(pred.permute(0, 2, 1), label) * mask).mean()


        a = WeightedCE(w)(F.softmax(z, dim=1), y)
        b = MaskedCE()(F.softmax(z, dim=-1), y, m)
    """
    assert nn2(code) == [(16, 5, "NN201")]


def test_walrus_rebinding_is_followed():
    code = """
        import torch.nn.functional as F

        out = F.softmax(z, dim=1)
        if (out := head(z)) is not None:
            loss = F.cross_entropy(out, y)
        probs = None
        loss2 = F.cross_entropy((probs := F.softmax(z, dim=1)), y)
    """
    assert nn2(code) == [(8, 9, "NN201")]


# -- `outputs.logits`: a Hugging Face-style output object returned by forward ---------------
HF_OUTPUT_MODEL = """
    import torch.nn as nn
    import torch.nn.functional as F
    from transformers.modeling_outputs import SequenceClassifierOutput


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 4)
            self.softmax = nn.Softmax(dim=-1)

        def forward(self, x):
            return SequenceClassifierOutput(logits={logits})
"""


def test_outputs_logits_resolves_to_the_logits_passed_in_forwards_return():
    code = HF_OUTPUT_MODEL.format(logits="self.softmax(self.fc(x))") + """
    model = Net()
    outputs = model(x)
    loss = F.cross_entropy(outputs.logits, y)
    loss2 = F.cross_entropy(model(x).logits, y)
    loss3 = F.cross_entropy(outputs["logits"].view(-1, 4), y)
    """
    assert nn2(code) == [(18, 8, "NN201"), (19, 9, "NN201"), (20, 9, "NN201")]
    assert "returned by Net.forward" in lint(code, select=NN2)[0].message


def test_outputs_logits_holding_the_linear_output_is_clean():
    code = HF_OUTPUT_MODEL.format(logits="self.fc(x)") + """
    model = Net()
    outputs = model(x)
    loss = F.cross_entropy(outputs.logits, y)
    probs = F.softmax(outputs.logits, dim=-1)
    """
    assert nn2(code) == []


def test_logits_field_of_a_dataclass_and_of_a_dict():
    code = """
        from dataclasses import dataclass

        import torch
        import torch.nn as nn
        import torch.nn.functional as F


        @dataclass
        class Output:
            logits: torch.Tensor


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(16, 4)

            def forward(self, x):
                out = Output(logits=torch.softmax(self.fc(x), dim=-1))
                return out


        class DictNet(Net):
            def forward(self, x):
                return {"logits": self.fc(x).sigmoid(), "hidden": x}


        outputs = Net()(x)
        loss = F.cross_entropy(outputs.logits, y)
        bce = F.binary_cross_entropy_with_logits(DictNet()(x)["logits"], t)
        bce_ok = F.binary_cross_entropy_with_logits(Net()(x).hidden, t)
    """
    assert nn2(code) == [(30, 8, "NN201"), (31, 7, "NN202")]


def test_logits_that_cannot_be_resolved_are_silent():
    code = """
        import torch.nn as nn
        import torch.nn.functional as F


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(16, 4)

            def forward(self, x, return_dict=True):
                if return_dict:
                    return dict(logits=F.softmax(self.fc(x), dim=-1))
                return (F.softmax(self.fc(x), dim=-1),)


        class Other(nn.Module):
            def forward(self, x):
                return make_output(logits=F.softmax(x, dim=-1))


        loss = F.cross_entropy(Net()(x).logits, y)
        loss2 = F.cross_entropy(Other()(x).logits, y)
        loss3 = F.cross_entropy(Net()(x)[0], y)
    """
    assert nn2(code) == []


def test_outputs_logits_of_a_model_defined_in_another_file():
    model = textwrap.dedent(HF_OUTPUT_MODEL.format(logits="self.softmax(self.fc(x))")).encode()
    clean = textwrap.dedent(HF_OUTPUT_MODEL.format(logits="self.fc(x)")).encode()
    train = textwrap.dedent("""
        import torch.nn.functional as F
        from net import Net

        outputs = Net()(x)
        loss = F.cross_entropy(outputs.logits, y)
    """).encode()
    found = lint_sources([("p/net.py", model), ("p/train.py", train)], settings(select=NN2))
    assert [(d.path, d.line, d.column, d.code) for d in found] == [("p/train.py", 6, 8, "NN201")]
    assert lint_sources([("p/net.py", clean), ("p/train.py", train)], settings(select=NN2)) == []
    assert lint_sources([("p/train.py", train)], settings(select=NN2)) == []


# -- NN206: a hand-written TF cross-entropy on logits ---------------------------------------
def test_tf_hand_written_cross_entropy_on_a_layer_without_softmax():
    code = """
        import tensorflow as tf

        x = tf.placeholder(tf.float32, [None, 784])
        y_ = tf.placeholder(tf.float32, [None, 10])
        W = tf.Variable(tf.zeros([784, 10]))
        b = tf.Variable(tf.zeros([10]))
        y = tf.matmul(x, W) + b
        cross_entropy = tf.reduce_mean(-tf.reduce_sum(y_ * tf.log(y), reduction_indices=[1]))
        h = tf.layers.dense(x, 10)
        log_h = tf.math.log(tf.clip_by_value(h, 1e-10, 1.0))
        ce2 = -tf.reduce_sum(log_h * y_, axis=1)
    """
    assert nn2(code) == [(9, 33, "NN206"), (12, 8, "NN206")]
    message = lint(code, select=NN2)[0].message
    assert "tf.reduce_sum(y_ * tf.log(y)" in message and "tf.matmul(x, W)" in message


def test_tf_hand_written_cross_entropy_on_softmax_or_sigmoid_is_clean():
    code = """
        import tensorflow as tf

        logits = tf.matmul(x, W) + b
        y = tf.nn.softmax(logits)
        ce = tf.reduce_mean(-tf.reduce_sum(y_ * tf.log(y), axis=1))
        h = tf.layers.dense(x, 1, activation=tf.nn.sigmoid)
        bce = -tf.reduce_mean(t * tf.log(h) + (1 - t) * tf.log(1 - h))
        s = tf.sigmoid(tf.layers.dense(x, 1))
        bce2 = -tf.reduce_sum(t * tf.math.log(s))
        unknown = -tf.reduce_sum(t * tf.log(model_output))
        mean_log = tf.reduce_mean(tf.log(logits + 1.0)) + tf.reduce_sum(tf.log(logits))
        np_like = tf.reduce_sum(y_ * tf.exp(logits))
    """
    assert nn2(code) == []
