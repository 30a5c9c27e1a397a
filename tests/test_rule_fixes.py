"""Each rule's fix on real-looking code: the exact text it produces, a second run that changes
nothing, and the cases where no fix may be offered."""

import textwrap

from nnlint.fixes import apply_fixes
from nnlint.testing import lint, settings


def fix(code, rule, unsafe=True):
    """(fixed text, codes of the applied fixes) with only `rule` selected; checks that a
    second run changes nothing."""
    text = textwrap.dedent(code)
    chosen = settings(select=[rule])
    new, applied = apply_fixes("model.py", text, chosen, unsafe)
    assert apply_fixes("model.py", new, chosen, unsafe) == (new, []), "a second --fix run must change nothing"
    return new, [d.code for d in applied]


def offered(code, rule):
    """The fixes offered for `rule`'s findings: None where a finding has no fix."""
    return [d.fix for d in lint(code, select=[rule])]


def unsafe_only(code, rule):
    text = textwrap.dedent(code)
    assert apply_fixes("model.py", text, settings(select=[rule])) == (text, []), "an unsafe fix needs --unsafe-fixes"


# -- NN101: swap Dropout and BatchNorm inside one list ------------------------------------
NN101_SEQUENTIAL = """\
import torch.nn as nn

classifier = nn.Sequential(
    nn.Linear(512, 256),
    nn.Dropout(p=0.5),  # regularize the head
    nn.BatchNorm1d(256),
    nn.ReLU(inplace=True),
    nn.Linear(256, 10),
)
"""


def test_nn101_swaps_neighbours_in_a_sequential():
    assert fix(NN101_SEQUENTIAL, "NN101") == (NN101_SEQUENTIAL.replace(
        "    nn.Dropout(p=0.5),  # regularize the head\n    nn.BatchNorm1d(256),\n",
        "    nn.BatchNorm1d(256),  # regularize the head\n    nn.Dropout(p=0.5),\n"), ["NN101"])
    unsafe_only(NN101_SEQUENTIAL, "NN101")


def test_nn101_swaps_neighbours_in_a_keras_list():
    code = """\
    from tensorflow import keras
    from tensorflow.keras import layers

    model = keras.Sequential([layers.Dense(128, activation="relu"), layers.Dropout(0.3), layers.BatchNormalization(),
                              layers.Dense(10)])
    """
    assert fix(code, "NN101")[0] == textwrap.dedent(code).replace(
        "layers.Dropout(0.3), layers.BatchNormalization()", "layers.BatchNormalization(), layers.Dropout(0.3)")


def test_nn101_offers_no_fix_unless_the_two_are_neighbours_in_one_list():
    through_relu = "import torch.nn as nn\nnet = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.ReLU(), nn.BatchNorm1d(8))\n"
    nested = "import torch.nn as nn\nnet = nn.Sequential(nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(8), nn.ReLU()))\n"
    unpacked = "import torch.nn as nn\nnet = nn.Sequential(nn.Dropout(0.5), *[nn.BatchNorm1d(8)])\n"
    named = textwrap.dedent("""\
        from collections import OrderedDict
        import torch.nn as nn
        net = nn.Sequential(OrderedDict([("drop", nn.Dropout(0.5)), ("bn", nn.BatchNorm1d(8))]))
        """)
    in_forward = textwrap.dedent("""\
        import torch.nn as nn

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.drop = nn.Dropout(0.5)
                self.bn = nn.BatchNorm1d(8)

            def forward(self, x):
                return self.bn(self.drop(x))
        """)
    keras_add = textwrap.dedent("""\
        from tensorflow import keras
        model = keras.Sequential()
        model.add(keras.layers.Dropout(0.3))
        model.add(keras.layers.BatchNormalization())
        """)
    for code in (through_relu, nested, unpacked, named, in_forward, keras_add):
        assert offered(code, "NN101") == [None], code


# -- NN102: bias=False ----------------------------------------------------------------------
def test_nn102_adds_bias_false_where_the_call_omits_it_keeping_the_layout():
    code = """\
    import torch.nn as nn

    stem = nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=3, padding=1),  # stride-1 stem
        nn.BatchNorm2d(64),
        nn.ReLU(inplace=True),
    )
    deep = nn.Sequential(
        nn.Conv2d(
            64,
            128,
            kernel_size=3,
        ),
        nn.BatchNorm2d(128),
    )
    """
    assert fix(code, "NN102") == (textwrap.dedent(code).replace(
        "padding=1)", "padding=1, bias=False)").replace("kernel_size=3,\n", "kernel_size=3, bias=False,\n"),
        ["NN102", "NN102"])
    unsafe_only(code, "NN102")


def test_fixes_inside_indented_multiline_calls_keep_every_line_as_written():
    """libcst regenerates a multi-line node without its block's indentation: fixes touch only
    the part they change (d2l's ResNeXt block is written like this)."""
    code = """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Block(nn.Module):
        def __init__(self, channels, groups):
            super().__init__()
            self.conv = nn.LazyConv2d(channels, kernel_size=3, padding=1,
                                      groups=groups)
            self.bn = nn.LazyBatchNorm2d()

        def forward(self, x):
            y = F.dropout(self.bn(self.conv(x)),
                          0.1)
            return torch.log(F.softmax(y,
                                       dim=1))
    """
    chosen = settings(select=["NN102", "NN108", "NN208"])
    new, applied = apply_fixes("model.py", textwrap.dedent(code), chosen, unsafe=True)
    assert new == textwrap.dedent(code).replace("groups=groups)", "groups=groups, bias=False)").replace(
        "0.1)", "0.1, training=self.training)").replace("torch.log(F.softmax(y,", "F.log_softmax(y,").replace(
        "dim=1))", "dim=1)")
    assert sorted(d.code for d in applied) == ["NN102", "NN108", "NN208"]


def test_nn102_turns_an_explicit_true_into_false_and_fixes_the_constructor_in_init():
    code = """\
    import torch.nn as nn

    head = nn.Sequential(nn.Linear(256, 128, True), nn.BatchNorm1d(128))
    proj = nn.Sequential(nn.Linear(256, 128, bias=True), nn.BatchNorm1d(128))


    class ConvBN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3)
            self.bn = nn.BatchNorm2d(16)

        def forward(self, x):
            return self.bn(self.conv(x))
    """
    new, codes = fix(code, "NN102")
    assert new == textwrap.dedent(code).replace("128, True)", "128, False)").replace("bias=True", "bias=False").replace(
        "nn.Conv2d(3, 16, 3)", "nn.Conv2d(3, 16, 3, bias=False)")
    assert len(codes) == 3


def test_nn102_keras_dense_gets_use_bias_false():
    code = """\
    from tensorflow import keras
    model = keras.Sequential([keras.layers.Dense(64), keras.layers.BatchNormalization(), keras.layers.Dense(10)])
    """
    assert fix(code, "NN102")[0] == textwrap.dedent(code).replace("Dense(64)", "Dense(64, use_bias=False)")


def test_every_rule_page_states_whether_its_rule_has_a_fix():
    from nnlint.docs import rule_page
    from nnlint.registry import all_rules

    for code, rule in all_rules().items():
        header = (rule_page(code) or "").split("\n\n")[1] if not code.startswith("NN0") else ""
        if rule.fixable:
            assert "· Fix: safe" in header or "· Fix: unsafe" in header, code
        elif header:
            assert "· Fix: none" in header, code


# -- NN201/NN202/NN203 ------------------------------------------------------------------------
NN201_FORWARD = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        return F.softmax(self.fc(x), dim=1)


def train(loader, epochs=10):
    model = Classifier()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(epochs):
        for images, labels in loader:
            optimizer.zero_grad()
            outputs = model(images)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            correct = (outputs.argmax(dim=1) == labels).sum().item()
"""


def test_nn201_removes_the_softmax_that_ends_forward_when_the_file_uses_the_output_as_logits():
    assert fix(NN201_FORWARD, "NN201") == (
        NN201_FORWARD.replace("return F.softmax(self.fc(x), dim=1)", "return self.fc(x)"), ["NN201"])
    unsafe_only(NN201_FORWARD, "NN201")


def test_nn201_deletes_a_softmax_assignment_line_and_unwraps_a_module_call():
    assigned = NN201_FORWARD.replace("        return F.softmax(self.fc(x), dim=1)\n",
                                     "        x = self.fc(x)\n        x = F.softmax(x, dim=1)\n        return x\n")
    assert fix(assigned, "NN201")[0] == assigned.replace("        x = F.softmax(x, dim=1)\n", "")
    module = NN201_FORWARD.replace("self.fc = nn.Linear(128, 10)\n",
                                   "self.fc = nn.Linear(128, 10)\n        self.softmax = nn.Softmax(dim=1)\n").replace(
        "return F.softmax(self.fc(x), dim=1)", "return self.softmax(self.fc(x))")
    assert fix(module, "NN201")[0] == module.replace("return self.softmax(self.fc(x))", "return self.fc(x)")


def test_nn201_removes_a_softmax_written_inside_the_loss_call():
    code = """\
    import torch.nn.functional as F

    def step(model, batch, targets):
        logits = model(batch)
        return F.cross_entropy(F.softmax(logits, dim=-1), targets) + F.cross_entropy(logits.softmax(-1), targets)
    """
    assert fix(code, "NN201")[0] == textwrap.dedent(code).replace(
        "F.cross_entropy(F.softmax(logits, dim=-1), targets) + F.cross_entropy(logits.softmax(-1), targets)",
        "F.cross_entropy(logits, targets) + F.cross_entropy(logits, targets)")


def test_nn201_offers_no_fix_when_the_softmax_output_is_also_used_as_probabilities():
    as_probabilities = NN201_FORWARD.replace("correct = (outputs.argmax(dim=1) == labels).sum().item()",
                                             "confidence = outputs.max(dim=1).values.mean()")
    predict = NN201_FORWARD + "\n\ndef predict(model, x):\n    return model(x)\n"
    stored = NN201_FORWARD.replace("        return F.softmax(self.fc(x), dim=1)\n",
                                   "        p = F.softmax(self.fc(x), dim=1)\n        self.last_probs = p\n        return p\n")
    unknown_model = NN201_FORWARD + "\n\ndef serve(x):\n    net = torch.hub.load('me/repo', 'net')\n    return net(x)\n"
    sequential = NN201_FORWARD.replace("self.fc = nn.Linear(128, 10)", "self.fc = nn.Sequential(nn.Linear(128, 10), "
                                       "nn.Softmax(dim=1))").replace("return F.softmax(self.fc(x), dim=1)", "return self.fc(x)")
    for code in (as_probabilities, predict, stored, unknown_model, sequential):
        assert offered(code, "NN201") == [None], code


def test_nn201_offers_no_fix_when_the_forward_is_in_another_file(project, run_cli):
    models = NN201_FORWARD.split("\n\n\ndef train")[0] + "\n"
    train = "import torch\nimport torch.nn as nn\nfrom models import Classifier\n\n\ndef train" + \
        NN201_FORWARD.split("\n\n\ndef train")[1]
    m, t = project("models.py", models), project("train.py", train)
    result = run_cli("--fix", "--unsafe-fixes", ".")
    assert [line.split(": ")[1].split()[0] for line in result.lines] == ["NN201"]
    assert (m.read_text(), t.read_text(), result.exit_code) == (models, train, 1)


def test_nn202_removes_a_sigmoid_written_inside_the_loss_call():
    code = """\
    import torch
    import torch.nn as nn

    loss_fn = nn.BCEWithLogitsLoss()

    def step(model, x, y):
        logits = model(x)
        return loss_fn(torch.sigmoid(logits), y) + loss_fn(logits.sigmoid(), y)
    """
    assert fix(code, "NN202") == (textwrap.dedent(code).replace(
        "loss_fn(torch.sigmoid(logits), y) + loss_fn(logits.sigmoid(), y)", "loss_fn(logits, y) + loss_fn(logits, y)"),
        ["NN202", "NN202"])
    unsafe_only(code, "NN202")
    separate = textwrap.dedent(code).replace("    return loss_fn(torch.sigmoid(logits), y) + loss_fn(logits.sigmoid(), y)",
                                             "    probs = torch.sigmoid(logits)\n    return loss_fn(probs, y)")
    assert offered(separate, "NN202") == [None]


def test_nn203_turns_softmax_into_log_softmax_inside_the_nll_loss_call():
    code = """\
    import torch.nn.functional as F

    def step(model, x, y):
        scores = model(x)
        return F.nll_loss(F.softmax(scores, dim=1), y)
    """
    assert fix(code, "NN203")[0] == textwrap.dedent(code).replace("F.softmax(scores", "F.log_softmax(scores")
    unsafe_only(code, "NN203")
    separate = textwrap.dedent(code).replace("    return F.nll_loss(F.softmax(scores, dim=1), y)",
                                             "    probs = F.softmax(scores, dim=1)\n    return F.nll_loss(probs, y)")
    assert offered(separate, "NN203") == [None]


def test_nn201_keeps_a_multiline_input_as_written():
    code = """\
    import torch.nn.functional as F


    def step(model, batch, targets):
        return F.cross_entropy(F.softmax(model(batch["image"],
                                               batch["mask"]), dim=-1), targets)
    """
    assert fix(code, "NN201")[0] == textwrap.dedent(code).replace(
        'F.softmax(model(batch["image"],\n                                           batch["mask"]), dim=-1)',
        'model(batch["image"],\n                                           batch["mask"])')


def test_nn201_counts_a_max_whose_values_are_thrown_away_as_argmax():
    tutorial = NN201_FORWARD.replace("correct = (outputs.argmax(dim=1) == labels).sum().item()",
                                     "_, predicted = torch.max(outputs.data, 1)\n"
                                     "            hits = outputs.detach().max(dim=1).indices == labels")
    assert fix(tutorial, "NN201")[0] == tutorial.replace("return F.softmax(self.fc(x), dim=1)", "return self.fc(x)")
    values = NN201_FORWARD.replace("correct = (outputs.argmax(dim=1) == labels).sum().item()",
                                   "confidence, predicted = torch.max(outputs, 1)")
    overall = NN201_FORWARD.replace("correct = (outputs.argmax(dim=1) == labels).sum().item()",
                                    "top = outputs.max()")
    assert offered(values, "NN201") == offered(overall, "NN201") == [None]
