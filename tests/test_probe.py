"""`--probe`: one seeded forward/backward pass of each --trace model in a child process, judged
by NN601-NN607 at the user's lines. Each check fires on a model built to have the fault and is
silent on healthy models (a small ResNet-18-like network and an LSTM tagger). Probing costs a
child process that imports torch: each test shares one probe run across its models."""

import json
import subprocess
import sys

import pytest

from conftest import REPO
from nnlint.probe import ProbeOptions, probe_targets
from nnlint.testing import markers, settings
from nnlint.trace import kept, parse_shape, parse_target

MODELS = """\
import torch
from torch import nn


class Detached(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(16, 32)
        self.side = nn.Linear(16, 32)  # probe: NN602
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(torch.relu(self.trunk(x)) + self.side(x).detach())


class HotHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 32), nn.ReLU())
        self.head = nn.Linear(32, 10)  # probe: NN601
        with torch.no_grad():
            self.head.weight.mul_(100)

    def forward(self, x):
        return self.head(self.body(x))


class SigmoidStack(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(16, 64)
        self.squash = nn.Sigmoid()  # probe: NN604
        self.head = nn.Linear(64, 10)
        with torch.no_grad():
            self.first.weight.mul_(100)

    def forward(self, x):
        return self.head(self.squash(self.first(x)))


class ShiftedReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 32)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        hidden = torch.relu(self.fc(x) - 1.0)  # probe: NN604
        return self.head(hidden)


class LogFeatures(nn.Module):
    def forward(self, x):
        return torch.log(x)


class NaNFeatures(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 10)
        self.features = LogFeatures()  # probe: NN603

    def forward(self, x):
        return self.features(self.fc(x))


class DeepSigmoid(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [nn.Linear(16, 32), nn.Sigmoid()]  # probe: NN605
        for _ in range(12):
            layers += [nn.Linear(32, 32), nn.Sigmoid()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(self.body(x))


class Clamped(nn.Module):  # probe: NN607
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x))).clamp(-0.05, 0.05)


class Unclamped(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class ZeroHead(nn.Module):
    # a head initialized to zero on purpose (torchvision's ViT): at step 0 the layers below get
    # exactly zero gradient, and they train from the first step on

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 32), nn.ReLU())
        self.head = nn.Linear(32, 10)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        return self.head(self.body(x))


class Penalized(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(32, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNetLike(nn.Module):
    \"\"\"ResNet-18's layout (4 stages of 2 basic blocks) at a width a test can afford.\"\"\"

    def __init__(self, widths=(8, 16, 32, 64), classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        blocks, cin = [], widths[0]
        for i, w in enumerate(widths):
            blocks += [BasicBlock(cin, w, 1 if i == 0 else 2), BasicBlock(w, w, 1)]
            cin = w
        self.layers = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1], classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


class LSTMTagger(nn.Module):
    def __init__(self, vocab=100, tags=5):
        super().__init__()
        self.embed = nn.Embedding(vocab, 16)
        self.lstm = nn.LSTM(16, 32, batch_first=True)
        self.out = nn.Linear(32, tags)

    def forward(self, tokens):
        hidden, _ = self.lstm(self.embed(tokens))
        return self.out(hidden)
"""

TRAIN = """\
import torch
import torch.nn as nn
from probe_models import Penalized


def train(loader):
    model = Penalized()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=0.5)  # probe: NN606
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss = loss + 1.0 * sum(p.pow(2).sum() for p in model.parameters())  # probe: NN606
        loss.backward()
        optimizer.step()
"""


def probe(jobs, facts_from=(), select=None):
    """Probe (spec, input_shape, ProbeOptions) jobs in one child process; the facts of the files
    in `facts_from` tell the loss, like files linted in the same run."""
    from nnlint.engine import lint_source

    run = settings(select=select)
    facts = {}
    for path in facts_from:
        facts[str(path)] = lint_source(str(path), path.read_bytes(), run).facts
    outcome = probe_targets([(parse_target(spec, shape), options) for spec, shape, options in jobs],
                            run.enabled, {}, facts)
    return kept(outcome.diagnostics, run, lambda path: run), outcome


@pytest.fixture
def models(project, monkeypatch):
    monkeypatch.syspath_prepend(str(project.root))
    monkeypatch.delitem(sys.modules, "probe_models", raising=False)
    return project("probe_models.py", MODELS), project("train.py", TRAIN)


CE = ProbeOptions(loss="cross_entropy")


def test_each_fault_is_reported_at_its_line_and_healthy_models_are_silent(models):
    model_file, train_file = models
    steps = ProbeOptions(loss="cross_entropy", steps=150)
    jobs = [("probe_models:Detached", None, CE), ("probe_models:HotHead", None, CE),
            ("probe_models:SigmoidStack", None, CE), ("probe_models:ShiftedReLU", None, CE),
            ("probe_models:NaNFeatures", None, CE),
            ("probe_models:DeepSigmoid", None, CE), ("probe_models:Clamped", None, steps),
            ("probe_models:Unclamped", None, steps), ("probe_models:Penalized", None, ProbeOptions()),
            ("probe_models:ResNetLike", parse_shape("1,3,32,32"), CE), ("probe_models:LSTMTagger", None, CE),
            ("probe_models:ZeroHead", None, CE)]
    found, outcome = probe(jobs, facts_from=[train_file])
    assert not outcome.internal_error and outcome.notes == []
    expected = {(str(model_file), line, code) for line, code in markers(model_file, "probe")}
    expected |= {(str(train_file), line, code) for line, code in markers(train_file, "probe")}
    assert {(d.path, d.line, d.code) for d in found} == expected
    by_code = {d.code: d for d in found if d.path == str(model_file) and (d.code, d.line) != ("NN604", 48)}
    functional = next(d for d in found if (d.code, d.line) == ("NN604", 48))
    assert functional.column == 18 and functional.message.startswith("'torch.relu(self.fc(x) - 1.0)' (relu): 9")
    assert by_code["NN602"].column == 21 and "'side' (Linear) gets no gradient for weight, bias" in by_code["NN602"].message
    assert "probe batch: it learns nothing from that batch; look for" in by_code["NN602"].message
    assert "cross_entropy at initialization is" in by_code["NN601"].message and "ln(10) = 2.3" in by_code["NN601"].message
    assert "'squash' (Sigmoid): 9" in by_code["NN604"].message and "saturated" in by_code["NN604"].message
    assert "'features' (LogFeatures) makes the first NaN/Inf output" in by_code["NN603"].message
    assert "'body.0' (Linear)" in by_code["NN605"].message and "'head' (Linear)" in by_code["NN605"].message
    assert by_code["NN605"].related[0].span.line == 74  # the largest gradient: the head
    assert "after 150 steps of Adam(lr=0.001)" in by_code["NN607"].message
    penalties = sorted((d for d in found if d.path == str(train_file)), key=lambda d: d.line)
    assert [d.column for d in penalties] == [74, 23]  # the weight_decay argument, the penalty term
    assert "weight_decay=0.5 acts as an L2 penalty" in penalties[0].message
    assert "this penalty is" in penalties[1].message and "more than the data loss" in penalties[1].message


def test_the_probe_is_deterministic_and_opt_in_on_the_command_line(models, run_cli):
    args = ["-q", "--output-format", "json", "train.py", "--select", "NN6,NN003", "--trace", "probe_models:Penalized",
            "--trace", "probe_models:HotHead", "--probe-loss", "cross_entropy"]
    first = run_cli(*args, "--probe")
    second = run_cli(*args, "--probe")
    assert first.exit_code == 1 and first.stdout == second.stdout
    found = [(d["path"], d["line"], d["code"]) for d in json.loads(first.stdout)]
    # the loss for Penalized comes from train.py (its call site); HotHead has the --probe-loss
    assert found == [("probe_models.py", 20, "NN601"), ("train.py", 9, "NN606"), ("train.py", 13, "NN606")]
    # without --probe the NN6 rules are selected but nothing runs; with no NN6 rule nothing is probed
    assert run_cli(*args).stdout == "[]\n"
    unselected = run_cli("-q", "--output-format", "json", "--select", "NN1", "--trace", "probe_models:HotHead", "--probe")
    assert unselected.stdout == "[]\n" and "no NN6 rule is selected; nothing was probed" in unselected.stderr


def test_without_a_known_loss_only_the_loss_free_checks_run_and_stderr_says_so(models):
    found, outcome = probe([("probe_models:Detached", None, ProbeOptions()), ("probe_models:HotHead", None, ProbeOptions())])
    assert [(d.line, d.code) for d in found] == [(9, "NN602")]  # NN601 needs the loss
    assert outcome.notes == ["probe: no loss known for probe_models:Detached, probe_models:HotHead: NN601, NN605, NN606 "
                             "and NN607 skipped (lint the training code in the same run, or name the loss with --probe-loss)"]


FAILING = """\
import os
import time
from torch import nn


class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        raise ValueError("no config file")


class Narrow(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(20, 4)

    def forward(self, x):
        return self.fc(x)


class Hangs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        time.sleep(600)
        return self.fc(x)


class Dies(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        os._exit(3)


class Healthy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc(x).detach()
"""


def test_a_model_that_cannot_be_probed_gives_nn003_and_the_run_goes_on(project, monkeypatch):
    monkeypatch.syspath_prepend(str(project.root))
    path = str(project("failing_models.py", FAILING))
    quick = ProbeOptions(loss="cross_entropy", timeout=10)  # generous: CI machines can be busy
    jobs = [("failing_models:Broken", None, quick), ("failing_models:Narrow", parse_shape("1,16"), quick),
            ("failing_models:Hangs", None, quick), ("failing_models:Dies", None, quick),
            ("failing_models:Missing", None, quick), ("failing_models:Healthy", None, quick)]
    found, outcome = probe(jobs)
    assert [(d.path, d.line, d.code) for d in found] == [
        (path, 9, "NN003"), (path, 18, "NN003"), (path, 1, "NN003"), (path, 1, "NN003"), (path, 1, "NN003"),
        (path, 43, "NN602")]
    messages = [d.message for d in found]
    assert "'failing_models:Broken' raised while building the model: ValueError: no config file" in messages[0]
    assert "failed on the probe batch of shape 8x16: RuntimeError: mat1 and mat2 shapes cannot be multiplied" in messages[1]
    assert "'failing_models:Hangs' did not finish within --probe-timeout 10 s" in messages[2]
    assert "the probe process exited with code 3 while probing 'failing_models:Dies'" in messages[3]
    assert "cannot import 'failing_models:Missing': AttributeError" in messages[4]


def test_the_probe_side_of_nnlint_never_imports_torch():
    code = ("import sys, nnlint.cli, nnlint.probe, nnlint.checks.probe; from nnlint.registry import all_rules; "
            "all_rules(); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_probe_needs_a_model_to_run(run_cli, project):
    project("net.py", "x = 1\n")
    result = run_cli("net.py", "--probe")
    assert result.exit_code == 2 and "--probe needs --trace or --trace-config" in result.stderr
    result = run_cli("net.py", "--probe", "--trace", "net:make", "--probe-loss", "hinge")
    assert result.exit_code == 2 and "--probe-loss: expected one of cross_entropy" in result.stderr
