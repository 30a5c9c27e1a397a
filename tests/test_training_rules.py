"""NN301-NN310: training-loop facts and rules (issue 5), on realistic loops; every precision-bar
item of the issue and every must-not-fire case of RULES.md is a test here."""

import textwrap

import pytest

from nnlint.engine import lint_sources
from nnlint.testing import codes, settings

LSTM_MODEL = '''
import torch
import torch.nn as nn


class LSTMRegressor(nn.Module):
    def __init__(self, n_features=8, hidden=64):
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])
'''


def only(code, rule, **kwargs):
    return [c for c in codes(code, select=[rule], **kwargs) if c[2] == rule]


# -- NN301 rnn-without-gradient-clipping -------------------------------------------------------

def test_nn301_lstm_regression_script_with_module_level_loop():
    code = LSTM_MODEL + '''
model = LSTMRegressor()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.MSELoss()
for epoch in range(20):
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
'''
    assert only(code, "NN301") == [(24, 9, "NN301")]


def test_nn301_message_puts_the_clip_after_unscale_in_a_grad_scaler_loop():
    code = LSTM_MODEL + '''
model = LSTMRegressor()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scaler = torch.amp.GradScaler()
for epoch in range(20):
    for x, y in loader:
        optimizer.zero_grad()
        with torch.autocast("cuda"):
            loss = nn.functional.mse_loss(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
'''
    (diag,) = lint_sources([("train.py", code.encode())], settings(select=["NN301"]))
    assert (diag.line, diag.column) == (25, 9)  # scaler.step(optimizer)
    assert diag.message == ("'LSTMRegressor()' contains a recurrent layer and this loop steps the optimizer without "
                            "clipping gradients; call torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm) "
                            "after scaler.unscale_(optimizer), before scaler.step(optimizer) (exploding gradients)")


def test_nn301_gru_model_in_models_py_trained_in_train_py():
    models = textwrap.dedent('''
        import torch.nn as nn

        class GRUNet(nn.Module):
            def __init__(self, vocab, hidden):
                super().__init__()
                self.embed = nn.Embedding(vocab, hidden)
                self.gru = nn.GRU(hidden, hidden, batch_first=True)
                self.out = nn.Linear(hidden, vocab)

            def forward(self, x):
                h, _ = self.gru(self.embed(x))
                return self.out(h)
    ''')
    train = textwrap.dedent('''
        import torch
        import torch.nn.functional as F
        from models import GRUNet

        def train(loader):
            model = GRUNet(1000, 128)
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
            for x, y in loader:
                optimizer.zero_grad()
                loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
                loss.backward()
                optimizer.step()
    ''')
    found = lint_sources([("proj/models.py", models.encode()), ("proj/train.py", train.encode())],
                         settings(select=["NN301"]))
    assert [(d.path, d.line, d.column, d.code) for d in found] == [("proj/train.py", 13, 9, "NN301")]
    # the loop file alone cannot see the model class: silent
    alone = lint_sources([("proj/train.py", train.encode())], settings(select=["NN301"]))
    assert alone == []


def test_nn301_split_fixture_directory(run_cli, monkeypatch):
    from conftest import REPO

    monkeypatch.chdir(REPO)
    result = run_cli("-q", "--select", "NN301", "fixtures/buggy/gru_project")
    assert result.lines == [
        "fixtures/buggy/gru_project/train.py:22:17: NN301 'CharLM()' contains a recurrent layer and this loop "
        "steps the optimizer without clipping gradients; call torch.nn.utils.clip_grad_norm_(model.parameters(), "
        "max_norm) between backward() and step() (exploding gradients)"]


def test_nn301_loop_in_another_class_fit_method():
    code = LSTM_MODEL + '''

class Trainer:
    def __init__(self, model, lr=1e-3):
        self.model = model
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)

    def fit(self, loader, epochs=10):
        for epoch in range(epochs):
            for x, y in loader:
                self.optimizer.zero_grad()
                loss = nn.functional.mse_loss(self.model(x), y)
                loss.backward()
                self.optimizer.step()


Trainer(LSTMRegressor()).fit([])
'''
    assert only(code, "NN301") == [(28, 17, "NN301")]


def test_nn301_deep_rnn_classifier_through_submodules():
    code = '''
import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(32, 64, num_layers=6, nonlinearity="relu")

    def forward(self, x):
        return self.rnn(x)[0]


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.fc = nn.Linear(64, 5)

    def forward(self, x):
        return self.fc(self.encoder(x)[-1])


def train(loader):
    net = Classifier()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
'''
    assert only(code, "NN301") == [(31, 9, "NN301")]


@pytest.mark.parametrize("clip", [
    "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)",
    "torch.nn.utils.clip_grad_norm(model.parameters(), 1.0)",
    "nn.utils.clip_grad_value_(model.parameters(), 0.5)",
    "clip_grad_norm_(model.parameters(), 1.0)",
    "utils.clip_grad_norm_(model.parameters(), 1.0)",
    "accelerator.clip_grad_norm_(model.parameters(), 1.0)",
    "clip(model)",
])
def test_nn301_silent_when_the_loop_clips_through_any_import(clip):
    code = "from torch.nn.utils import clip_grad_norm_\nfrom torch.nn import utils\n" + LSTM_MODEL + f'''

def clip(net):
    for p in net.parameters():
        p.grad.data.clamp_(-1, 1)


def train(loader, accelerator):
    model = LSTMRegressor()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        {clip}
        optimizer.step()
'''
    assert only(code, "NN301") == []


def test_nn301_clipping_only_in_a_comment_or_string_still_fires():
    code = LSTM_MODEL + '''

def train(loader):
    model = LSTMRegressor()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        # torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        note = "clip_grad_norm_(model.parameters(), 1.0)"
        optimizer.step()
'''
    assert only(code, "NN301") == [(25, 9, "NN301")]


def test_nn301_lightning_trainer_with_gradient_clip_val_is_silent_without_it_fires():
    code = '''
import lightning as L
import torch
import torch.nn as nn


class LitLSTM(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 32, batch_first=True)
        self.head = nn.Linear(32, 1)

    def forward(self, x):
        return self.head(self.lstm(x)[0][:, -1])

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.mse_loss(self(x), y)


model = LitLSTM()
trainer = L.Trainer(max_epochs=5{clip})
trainer.fit(model, loader)
'''
    assert only(code.format(clip=", gradient_clip_val=0.5"), "NN301") == []
    assert only(code.format(clip=""), "NN301") == [(23, 1, "NN301")]


def test_nn301_hugging_face_trainer_clips_by_default():
    code = '''
import torch.nn as nn
from transformers import Trainer, TrainingArguments


class RNNTagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(16, 16)

    def forward(self, x):
        return self.rnn(x)[0]


args = TrainingArguments(output_dir="out"{override})
trainer = Trainer(model=RNNTagger(), args=args, train_dataset=data)
trainer.train()
'''
    assert only(code.format(override=""), "NN301") == []
    assert only(code.format(override=", max_grad_norm=0"), "NN301") == [(17, 1, "NN301")]


def test_nn301_keras_fit_without_clipnorm_fires_with_clipnorm_is_silent():
    code = '''
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([layers.LSTM(64, input_shape=(30, 4)), layers.Dense(1)])
model.compile(optimizer={opt}, loss="mse")
model.fit(x, y, epochs=10)
'''
    assert only(code.format(opt='"adam"'), "NN301") == [(7, 1, "NN301")]
    assert only(code.format(opt="keras.optimizers.Adam(learning_rate=1e-3, clipnorm=1.0)"), "NN301") == []


def test_nn301_silent_when_the_model_class_cannot_be_resolved():
    code = '''
import torch
from zoo import build_model


def train(loader):
    model = build_model("lstm")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
'''
    assert only(code, "NN301") == []


def test_nn301_silent_when_the_trained_model_does_not_use_the_rnn():
    code = LSTM_MODEL + '''

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 1))

    def forward(self, x):
        return self.net(x)


class Unused(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(8, 8)
        self.fc = nn.Linear(8, 1)

    def forward(self, x):
        return self.fc(x)


def train(loader, kind):
    for model in (MLP(), Unused()):
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
    mlp = MLP()
    optimizer = torch.optim.Adam(mlp.parameters(), lr=1e-3)
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.mse_loss(mlp(x), y).backward()
        optimizer.step()
    unused = Unused()
    opt2 = torch.optim.Adam(unused.parameters(), lr=1e-3)
    for x, y in loader:
        opt2.zero_grad()
        nn.functional.mse_loss(unused(x), y).backward()
        opt2.step()
'''
    assert only(code, "NN301") == []


# -- NN302 gradient-clipping-misplaced --------------------------------------------------------

LOOP = '''
import torch


def train(model, loader, optimizer, loss_fn):
    for x, y in loader:
{body}
'''


def loop(*lines):
    return LOOP.format(body="\n".join("        " + line for line in lines))


def test_nn302_clip_after_step():
    code = loop("optimizer.zero_grad()", "loss_fn(model(x), y).backward()", "optimizer.step()",
                "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)")
    assert only(code, "NN302") == [(10, 9, "NN302")]


def test_nn302_message_says_where_the_clip_goes():
    plain = loop("optimizer.zero_grad()", "loss_fn(model(x), y).backward()", "optimizer.step()",
                 "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)")
    amp = loop(*AMP, "scaler.step(optimizer)", "scaler.update()", "scaler.unscale_(optimizer)",
               "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)")
    found = [(d.line, d.message) for code in (plain, amp)
             for d in lint_sources([("t.py", code.encode())], settings(select=["NN302"]))]
    assert found == [
        (10, "gradients are clipped after the optimizer step already applied them; clip after loss.backward() and "
             "before optimizer.step()"),
        (14, "gradients are clipped after the optimizer step already applied them; clip after "
             "scaler.unscale_(optimizer) and before scaler.step(optimizer)"),
    ]


def test_nn302_clip_before_backward():
    code = loop("optimizer.zero_grad()", "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)",
                "loss = loss_fn(model(x), y)", "loss.backward()", "optimizer.step()")
    assert only(code, "NN302") == [(8, 9, "NN302")]


def test_nn302_silent_between_backward_and_step_and_in_other_branches():
    code = loop("optimizer.zero_grad()", "loss_fn(model(x), y).backward()",
                "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)", "optimizer.step()")
    assert only(code, "NN302") == []
    code = loop("loss_fn(model(x), y).backward()", "if (i + 1) % 4 == 0:",
                "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)", "    optimizer.step()",
                "    optimizer.zero_grad()")
    assert only(code, "NN302") == []


# -- NN303 clipping-unscaled-gradients --------------------------------------------------------

AMP = ('optimizer.zero_grad()', 'with torch.autocast("cuda"):', '    loss = loss_fn(model(x), y)',
       'scaler.scale(loss).backward()')


def test_nn303_clip_without_unscale():
    code = loop(*AMP, "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)", "scaler.step(optimizer)",
                "scaler.update()")
    assert only(code, "NN303") == [(11, 9, "NN303")]


def test_nn303_silent_with_unscale_or_without_scaler():
    code = loop(*AMP, "scaler.unscale_(optimizer)", "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)",
                "scaler.step(optimizer)", "scaler.update()")
    assert only(code, "NN303") == []
    code = loop("optimizer.zero_grad()", "loss_fn(model(x), y).backward()",
                "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)", "optimizer.step()")
    assert only(code, "NN303") == []


AMP_OPTIONAL = """\
import torch
import torch.nn.functional as F


def train_epoch(model, loader, optimizer, scaler, use_amp, max_norm=1.0):
    model.train()
    for data, target in loader:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", enabled=use_amp):
            loss = F.cross_entropy(model(data), target)
        if use_amp:
            scaler.scale(loss).backward()
            {unscale}
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
"""


def test_nn303_reports_only_the_clip_of_the_amp_branch():
    # the PyTorch examples' `if use_amp: ... else: ...` loop: the plain branch clips real gradients
    assert only(AMP_OPTIONAL.format(unscale="scaler.unscale_(optimizer)"), "NN303") == []
    assert only(AMP_OPTIONAL.format(unscale="pass"), "NN303") == [(14, 13, "NN303")]


# -- NN304 missing-zero-grad ------------------------------------------------------------------
DIST_AUTOGRAD = """\
import torch
import torch.distributed.autograd as dist_autograd
import torch.nn.functional as F
from torch.distributed.optim import DistributedOptimizer


def run_trainer(model, loader, epochs=5):
    optimizer = DistributedOptimizer(torch.optim.SGD, model.parameter_rrefs(), lr=0.05)
    for _ in range(epochs):
        for data, target in loader:
            with dist_autograd.context() as context_id:
                loss = F.cross_entropy(model(data), target)
                {backward}
                optimizer.step(context_id)
"""


def test_nn304_silent_on_distributed_autograd_loops():
    # gradients live in the per-iteration autograd context: there is nothing to zero
    assert only(DIST_AUTOGRAD.format(backward="dist_autograd.backward(context_id, [loss])"), "NN304") == []
    assert only(DIST_AUTOGRAD.format(backward="loss.backward()"), "NN304") == [(13, 17, "NN304")]


def test_nn304_loop_never_zeroes():
    code = loop("loss = loss_fn(model(x), y)", "loss.backward()", "optimizer.step()")
    assert only(code, "NN304") == [(8, 9, "NN304")]


@pytest.mark.parametrize("zero", ["optimizer.zero_grad()", "model.zero_grad()", "optimizer.zero_grad(set_to_none=True)",
                                  "for p in model.parameters(): p.grad = None", "reset(model)"])
def test_nn304_silent_for_every_way_to_zero(zero):
    code = loop(zero, "loss = loss_fn(model(x), y)", "loss.backward()", "optimizer.step()") + '''

def reset(model):
    for p in model.parameters():
        p.grad = None
'''
    assert only(code, "NN304") == []


def test_nn304_accumulation_with_zero_grad_in_the_step_branch_is_silent():
    code = loop("loss_fn(model(x), y).backward()", "if (i + 1) % 8 == 0:", "    optimizer.step()",
                "    optimizer.zero_grad()")
    assert only(code, "NN304") == []


def test_nn304_silent_for_a_step_function_whose_caller_zeroes():
    code = '''
import torch


def train_step(model, batch, optimizer):
    loss = model(batch).mean()
    loss.backward()
    optimizer.step()
'''
    assert only(code, "NN304") == []


# -- NN305 zero-grad-between-backward-and-step ------------------------------------------------

def test_nn305_zero_grad_after_backward():
    code = loop("loss = loss_fn(model(x), y)", "loss.backward()", "optimizer.zero_grad()", "optimizer.step()")
    assert only(code, "NN305") == [(9, 9, "NN305")]
    (diag,) = lint_sources([("t.py", code.encode())], settings(select=["NN305"]))
    assert [(r.span.line, r.message) for r in diag.related] == [
        (8, "backward() computes the gradients here"), (10, "the optimizer steps here, after the gradients were erased")]


def test_nn305_gan_with_two_optimizers_is_silent():
    code = '''
import torch


def train(netD, netG, loader, optD, optG, loss_fn):
    for real in loader:
        netD.zero_grad()
        errD = loss_fn(netD(real), 1) + loss_fn(netD(netG(real).detach()), 0)
        errD.backward()
        optD.step()
        netG.zero_grad()
        errG = loss_fn(netD(netG(real)), 1)
        errG.backward()
        optG.step()
'''
    assert only(code, "NN305") == []


# -- NN306 scheduler-before-optimizer-step ----------------------------------------------------

def test_nn306_scheduler_in_the_epoch_loop_before_the_batch_loop():
    code = '''
import torch


def train(model, loader, loss_fn):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 30)
    for epoch in range(90):
        scheduler.step()
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
'''
    assert only(code, "NN306") == [(9, 9, "NN306")]


def test_nn306_silent_after_step_and_for_reduce_on_plateau():
    code = '''
import torch


def train(model, loader, loss_fn, validate):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
    for epoch in range(90):
        plateau.step(validate(model))
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
            warmup.step()
'''
    assert only(code, "NN306") == []


# -- NN307 missing-eval-mode ------------------------------------------------------------------

CLASSIFIER = '''
import torch
import torch.nn as nn
import torchvision


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 10)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.fc(x))
'''


def test_nn307_no_grad_loop_without_eval():
    code = CLASSIFIER + '''

def evaluate(model, loader):
    with torch.no_grad():
        for x, y in loader:
            print(model(x).argmax(1))


def main(loader):
    evaluate(Net(), loader)
'''
    assert only(code, "NN307") == [(18, 5, "NN307")]


def test_nn307_torchvision_model_and_decorated_function():
    code = CLASSIFIER + '''

@torch.no_grad()
def evaluate(loader):
    model = torchvision.models.resnet18(weights="DEFAULT")
    for x, y in loader:
        print(model(x))


evaluate([])
'''
    assert only(code, "NN307") == [(20, 5, "NN307")]



@pytest.mark.parametrize("build, has", [
    ("torchvision.models.resnet18()", "it has batch norm"),
    ("torchvision.models.alexnet()", "it has dropout"),
    ("torchvision.models.vgg16_bn()", "it has batch norm and dropout"),
    ("torchvision.models.convnext_tiny()", "it has stochastic depth"),
    ("timm.create_model('resnet50')", "a timm model; most have batch norm or dropout"),
])
def test_nn307_message_says_what_the_library_model_has(build, has):
    code = f'''
import timm
import torch
import torchvision


def evaluate(loader):
    model = {build}
    with torch.inference_mode():
        for x, y in loader:
            print(model(x))


evaluate([])
'''
    (diag,) = [d for d in lint_sources([("eval.py", code.encode())], settings(select=["NN307"])) if d.code == "NN307"]
    assert (diag.line, diag.column) == (9, 5)
    assert diag.message == (f"this evaluation loop runs 'model' ({has}) without calling model.eval() first; "
                            "disabling gradients (no_grad, inference_mode) does not switch layers to evaluation "
                            "behaviour")


@pytest.mark.parametrize("before", ["model.eval()", "model.train(False)", "model.train()  # MC dropout"])
def test_nn307_silent_after_eval_or_a_deliberate_train_mode_pass(before):
    code = CLASSIFIER + f'''

def evaluate(model, loader):
    {before}
    with torch.no_grad():
        for x, y in loader:
            print(model(x).argmax(1))


def main(loader):
    evaluate(Net(), loader)
'''
    assert only(code, "NN307") == []


def test_nn307_silent_when_the_caller_calls_eval_and_for_single_batch_helpers():
    code = CLASSIFIER + '''

def evaluate(model, loader):
    with torch.no_grad():
        for x, y in loader:
            print(model(x).argmax(1))


def predict(model, x):
    with torch.no_grad():
        return model(x)


def main(loader):
    model = Net()
    model.eval()
    evaluate(model, loader)
    predict(model, 1)
'''
    assert only(code, "NN307") == []


def test_nn307_silent_for_models_without_dropout_or_batchnorm():
    code = '''
import torch
import torch.nn as nn


def evaluate(loader):
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    with torch.no_grad():
        for x in loader:
            print(model(x))


evaluate([])
'''
    assert only(code, "NN307") == []


# -- NN308 learning-rate-out-of-range ---------------------------------------------------------

@pytest.mark.parametrize("call, fires", [
    ("torch.optim.Adam(params, lr=0.1)", True),
    ("torch.optim.AdamW(params, lr=1e-9)", True),
    ("torch.optim.SGD(params, lr=50)", True),
    ("torch.optim.SGD(params, 1e-8)", True),
    ("keras.optimizers.Adam(learning_rate=0.5)", True),
    ("torch.optim.Adam(params, lr=5e-2)", True),
    ("torch.optim.Adam(params, lr=3e-4)", False),
    ("torch.optim.Adam(params, lr=2e-2)", False),  # common working settings in tutorials and small models
    ("torch.optim.Adam(params, lr=0.03)", False),
    ("torch.optim.SGD(params, lr=5)", False),  # the torchtext tutorial (with clipping)
    ("torch.optim.RMSprop(params, lr=0.1)", False),
    ("torch.optim.Adam(params, lr=args.lr)", False),
])
def test_nn308_bounds_per_family(call, fires):
    code = f"import torch\nfrom tensorflow import keras\n\nopt = {call}\n"
    column = 7 + call.index("(") + 1 + (call.index("lr=") + 3 - call.index("(") - 1 if "lr=" in call else
                                        call.index("learning_rate=") + 14 - call.index("(") - 1 if "learning_rate=" in call
                                        else call.index(", ") + 2 - call.index("(") - 1)
    assert only(code, "NN308") == ([(4, column, "NN308")] if fires else [])


def test_nn308_options_change_the_bounds():
    code = "import torch\n\nopt = torch.optim.Adam(params, lr=0.04)\n"
    assert only(code, "NN308") == [(3, 35, "NN308")]
    assert only(code, "NN308", options={"NN308": {"adam-max": 0.05, "adam-min": 1e-7, "sgd-max": 10.0,
                                                  "sgd-min": 1e-6}}) == []


# -- NN309 batchnorm-with-batch-size-one ------------------------------------------------------

def test_nn309_batch_size_one_with_batchnorm_fires_and_without_is_silent():
    code = '''
import torch
import torch.nn as nn
from torch.utils.data import DataLoader


def train(dataset):
    model = nn.Sequential(nn.Linear(8, 16), {norm}, nn.ReLU(), nn.Linear(16, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = DataLoader(dataset, batch_size={bs})
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
'''
    assert only(code.format(norm="nn.BatchNorm1d(16)", bs=1), "NN309") == [(10, 14, "NN309")]
    assert only(code.format(norm="nn.BatchNorm1d(16)", bs=32), "NN309") == []
    assert only(code.format(norm="nn.LayerNorm(16)", bs=1), "NN309") == []
    (diag,) = lint_sources([("train.py", code.format(norm="nn.BatchNorm1d(16)", bs=1).encode())], settings(select=["NN309"]))
    assert diag.message.startswith("this DataLoader gives batches of one sample to 'nn.Sequential(nn.Linear(8, 16)")
    assert diag.message.endswith(
        "', which has batch norm: in training mode "
        "batch norm then takes its statistics from a single sample (noisy, unlike the running statistics used at "
        "evaluation; on (batch, features) inputs it raises); use a larger batch_size (or GroupNorm/LayerNorm)")


@pytest.mark.parametrize("build, fires", [("torchvision.models.resnet18()", True),
                                          ("torchvision.models.alexnet()", False)])  # alexnet has no batch norm
def test_nn309_knows_which_torchvision_models_have_batch_norm(build, fires):
    code = f'''
import torch
import torchvision
from torch.utils.data import DataLoader


def train(dataset):
    model = {build}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = DataLoader(dataset, batch_size=1)
    for x, y in loader:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
'''
    assert only(code, "NN309") == ([(10, 14, "NN309")] if fires else [])


# -- NN310 no-learning-rate-schedule ----------------------------------------------------------

def test_nn310_off_by_default_fires_when_selected_silent_with_a_schedule():
    code = '''
import torch


def train(model, loader, loss_fn):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(90):
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
'''
    assert [c for c in codes(code) if c[2] == "NN310"] == []
    assert only(code, "NN310") == [(6, 17, "NN310")]
    manual = code + "        for g in optimizer.param_groups:\n            g['lr'] *= 0.1\n"
    assert only(manual, "NN310") == []


def test_nn304_silent_for_mxnet_whose_backward_overwrites_gradients():
    code = '''
from mxnet import autograd, gluon


def fit(net, loader, trainer, loss_fn):
    for x, y in loader:
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(x.shape[0])
'''
    assert only(code, "NN304") == []


def test_nn301_a_hand_written_clipping_helper_counts_and_nn302_ignores_it():
    code = LSTM_MODEL + '''

def grad_clipping(net, theta):
    params = [p for p in net.parameters() if p.requires_grad]
    norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


def train(loader):
    model = LSTMRegressor()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        grad_clipping(model, 1)
        optimizer.step()
'''
    assert only(code, "NN301") == []
    assert only(code, "NN302") == []


def test_nn305_zeroing_the_other_network_between_backward_and_step_is_silent():
    code = '''
def train(netD, netG, loader, optD, optG, loss_fn):
    for real in loader:
        optD.zero_grad()
        loss_fn(netD(real), 1).backward()
        netG.zero_grad()
        optD.step()
        optG.zero_grad()
        loss_fn(netD(netG(real)), 1).backward()
        optG.step()
'''
    assert only(code, "NN305") == []


def _project(files, rule):
    found = lint_sources([(path, textwrap.dedent(text).encode()) for path, text in files], settings(select=[rule]))
    return [(d.path, d.line, d.column, d.code) for d in found]


MODELS_PY = '''
import torch.nn as nn


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16), nn.ReLU())
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(self.drop(self.features(x).mean((2, 3))))
'''


def test_nn307_and_nn309_with_the_model_class_in_another_file():
    evaluate = '''
    import torch
    from models import ConvNet


    def evaluate(model, loader):
        with torch.no_grad():
            for x, y in loader:
                print(model(x).argmax(1))


    def main(loader):
        evaluate(ConvNet(), loader)
    '''
    train = '''
    import torch
    from torch.utils.data import DataLoader
    from models import ConvNet


    def train(dataset):
        model = ConvNet()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        for x, y in DataLoader(dataset, batch_size=1):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    '''
    files = [("proj/models.py", MODELS_PY), ("proj/evaluate.py", evaluate), ("proj/train.py", train)]
    assert _project(files, "NN307") == [("proj/evaluate.py", 7, 5, "NN307")]
    assert _project(files, "NN309") == [("proj/train.py", 10, 17, "NN309")]
    assert _project(files[1:], "NN307") == [] and _project(files[1:], "NN309") == []


def test_nn301_d2l_trainer_without_gradient_clip_val():
    code = '''
import torch.nn as nn
from d2l import torch as d2l


class RNNLM(d2l.Module):
    def __init__(self, vocab_size, num_hiddens):
        super().__init__()
        self.rnn = nn.GRU(vocab_size, num_hiddens)
        self.linear = nn.Linear(num_hiddens, vocab_size)

    def forward(self, x):
        return self.linear(self.rnn(x)[0])


model = RNNLM(28, 32)
trainer = d2l.Trainer(max_epochs=100{clip})
trainer.fit(model, data)
'''
    assert only(code.format(clip=""), "NN301") == [(18, 1, "NN301")]
    assert only(code.format(clip=", gradient_clip_val=1"), "NN301") == []


def test_nn301_encoder_and_decoder_optimizers_one_of_them_recurrent():
    code = '''
import torch.nn as nn
from torch import optim


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)

    def forward(self, x):
        return self.gru(self.embedding(x))


def train(loader, encoder, decoder, criterion):
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=1e-3)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=1e-3)
    for x, y in loader:
        encoder_optimizer.zero_grad()
        decoder_optimizer.zero_grad()
        loss = criterion(decoder(*encoder(x)), y)
        loss.backward()
        encoder_optimizer.step()
        decoder_optimizer.step()


train([], EncoderRNN(100, 128), decoder, nn.NLLLoss())
'''
    assert only(code, "NN301") == [(24, 9, "NN301")]


def test_nn310_keras_fit_over_epochs_with_a_constant_learning_rate():
    code = '''
from tensorflow import keras

model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(learning_rate={lr}), loss="mse")
model.fit(x, y, epochs=50{callbacks})
'''
    assert only(code.format(lr="1e-3", callbacks=""), "NN310") == [(5, 25, "NN310")]
    schedule = "keras.optimizers.schedules.ExponentialDecay(1e-3, 1000, 0.9)"
    assert only(code.format(lr=schedule, callbacks=""), "NN310") == []
    plateau = ", callbacks=[keras.callbacks.ReduceLROnPlateau()]"
    assert only(code.format(lr="1e-3", callbacks=plateau), "NN310") == []
