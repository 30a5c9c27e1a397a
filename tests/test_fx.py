"""The torch.fx front end: `--trace pkg.module:factory` builds the model, traces it and runs the
graph rules; diagnostics point at the user's own lines."""

import itertools
import json
import subprocess
import sys
import textwrap

import pytest

from nnlint.testing import markers
from conftest import REPO

_names = itertools.count()


def trace_json(run_cli, *args):
    result = run_cli("-q", "--output-format", "json", *args)
    return result, json.loads(result.stdout)


def found(diagnostics):
    return [(d["line"], d["column"], d["code"]) for d in diagnostics]


@pytest.fixture
def model(project):
    """Write a model module under a fresh name; returns 'name:factory' for it."""

    def write(source, factory="make"):
        name = f"fx_model_{next(_names)}"
        project(f"{name}.py", source)
        return f"{name}:{factory}"

    return write


# --- the fixture models ------------------------------------------------------------------------

def trace_markers():
    return markers(REPO / "fixtures" / "fx" / "models.py", tag="trace")


def test_fixture_models_report_exactly_their_trace_markers(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result, diagnostics = trace_json(run_cli, "--trace", "fixtures.fx.models:make_tabular_net",
                                     "--trace", "fixtures.fx.models:make_gated_encoder")
    assert result.exit_code == 1
    assert {d["path"] for d in diagnostics} == {"fixtures/fx/models.py"}
    assert {(d["line"], d["code"]) for d in diagnostics} == trace_markers()
    # the layer built in the config loop, the momentum and p arguments, the `if` on a tensor
    assert found(diagnostics) == [(25, 27, "NN101"), (52, 47, "NN103"), (53, 32, "NN109"), (56, 12, "NN003")]
    nn003 = next(d for d in diagnostics if d["code"] == "NN003")
    assert "data-dependent control flow" in nn003["message"]
    assert "fixtures.fx.models:make_gated_encoder" in nn003["message"]


def test_source_lint_of_the_fixture_is_silent_only_the_trace_sees_it(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result = run_cli("-q", "--select", "ALL", "fixtures/fx/models.py")
    assert result.stdout == ""


def test_same_finding_from_source_and_trace_is_reported_once(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result, diagnostics = trace_json(run_cli, "fixtures/buggy/tabular_classifier.py",
                                     "--trace", "fixtures.buggy.tabular_classifier:make_classifier")
    assert [(d["line"], d["column"], d["code"]) for d in diagnostics] == [(19, 9, "NN101"), (27, 18, "NN101")]


# --- torch is imported only when tracing is asked for -------------------------------------------

NO_TORCH_DRIVER = textwrap.dedent("""
    import sys
    from nnlint.cli import main
    try:
        main(["-q", "--select", "ALL", "."])
    except SystemExit as exc:
        code = exc.code
    print(code, "torch" in sys.modules, file=sys.stderr)
""")


def test_plain_lint_never_imports_torch_nor_runs_the_config_trace_list(project):
    project("pyproject.toml", """
        [tool.nnlint]
        trace = ["models:make", {factory = "models:Net", input-shape = [1, 8]}]
    """)
    project("models.py", """
        import pathlib
        import torch.nn as nn

        pathlib.Path("IMPORTED").write_text("the trace list ran")

        def make():
            return nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.BatchNorm1d(8))
    """)
    done = subprocess.run([sys.executable, "-c", NO_TORCH_DRIVER], cwd=project.root, capture_output=True, text=True,
                          timeout=120)
    assert done.stderr.split()[-2:] == ["1", "False"], done.stderr  # found the NN101, torch not imported
    assert "models.py:8:43: NN101" in done.stdout and "NN101" in done.stdout
    assert not (project.root / "IMPORTED").exists()


# --- locations ---------------------------------------------------------------------------------

FORWARD_WIRED = """
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 32)
            self.drop = nn.Dropout(0.2)
            self.bn = nn.BatchNorm1d(32)

        def forward(self, x):
            x = self.fc(x).relu()
            return self.bn(self.drop(x))
"""


def test_forward_wired_layers_are_reported_at_their_call_in_forward(run_cli, model):
    target = model(FORWARD_WIRED, "Net")
    result, diagnostics = trace_json(run_cli, "--trace", target)
    assert found(diagnostics) == [(14, 24, "NN101")]
    d = diagnostics[0]
    assert d["path"] == target.split(":")[0] + ".py"
    assert d["end_column"] == 36  # `self.drop(x)`
    assert d["message"].startswith("'drop' (Dropout) feeds 'bn' (BatchNorm1d) directly")
    assert d["related"][0]["line"] == 14 and d["related"][0]["column"] == 16


def test_sequential_entries_are_reported_where_they_were_built(run_cli, model):
    target = model("""
        import torch.nn as nn


        def make(width=8):
            return nn.Sequential(
                nn.Linear(4, width),
                nn.Dropout(0.5),
                nn.BatchNorm1d(width),
            )
    """)
    result, diagnostics = trace_json(run_cli, "--trace", target)
    assert found(diagnostics) == [(8, 9, "NN101")]
    assert diagnostics[0]["message"].startswith("'1' (Dropout) feeds '2' (BatchNorm1d)")


def test_noqa_in_the_users_file_and_per_file_ignores_apply(run_cli, model, project):
    target = model(FORWARD_WIRED.replace("return self.bn(self.drop(x))", "return self.bn(self.drop(x))  # noqa: NN101"), "Net")
    assert trace_json(run_cli, "--trace", target)[1] == []
    target = model(FORWARD_WIRED, "Net")
    module_file = target.split(":")[0] + ".py"
    assert trace_json(run_cli, "--trace", target, "--per-file-ignores", f"{module_file}:NN1")[1] == []
    assert trace_json(run_cli, "--trace", target, "--ignore", "NN101")[1] == []


def test_clean_model_traces_clean_and_its_prints_stay_off_stdout(run_cli, model):
    target = model("""
        import torch.nn as nn
        import torch.nn.functional as F


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                print("building Net")
                self.fc = nn.Linear(16, 32)
                self.bn = nn.BatchNorm1d(32)
                self.drop = nn.Dropout(0.2)
                self.out = nn.Linear(32, 4)

            def forward(self, x):
                x = self.drop(F.relu(self.bn(self.fc(x))))
                return self.out(x)
    """, "Net")
    result = run_cli("--trace", target)
    assert result.exit_code == 0 and result.stdout == ""
    assert "All checks passed (1 file checked)." in result.stderr
    assert "building Net" in result.stderr


def test_functional_dropout_is_matched_by_identity(run_cli, model):
    target = model("""
        import torch.nn as nn
        from torch.nn import functional as fn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.bn = nn.BatchNorm1d(8)

            def forward(self, x):
                h = fn.dropout(x, 0.3, self.training)
                return self.bn(h.view(-1, 8))
    """, "Net")
    result, diagnostics = trace_json(run_cli, "--trace", target)
    assert found(diagnostics) == [(12, 13, "NN101")]
    assert diagnostics[0]["message"].startswith("fn.dropout(x, 0.3, self.training) feeds 'bn' (BatchNorm1d) through h.view(-1, 8)")


# --- what cannot be imported, built or traced ----------------------------------------------------

def test_len_of_a_traced_tensor_gives_nn003_at_that_line_and_module_tree_checks(run_cli, model):
    target = model("""
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.drop = nn.Dropout(p=0.95)
                self.bn = nn.BatchNorm2d(8, 1e-5, 0.99)

            def forward(self, x):
                for i in range(len(x)):
                    x = self.bn(self.drop(x))
                return x
    """, "Net")
    result, diagnostics = trace_json(run_cli, "--trace", target)
    assert result.exit_code == 1
    assert found(diagnostics) == [(8, 34, "NN109"), (9, 43, "NN103"), (12, 24, "NN003")]
    assert "len() of a traced tensor" in diagnostics[2]["message"]
    assert "p=0.95" in diagnostics[0]["message"]  # no NN101: the module tree has no edges


@pytest.mark.parametrize("source, factory, message", [
    ("x = 1\n", "missing", "cannot import 'MOD:missing': AttributeError"),
    ("import no_such_package_here\n", "make", "cannot import 'MOD:make': ModuleNotFoundError"),
    ("def make():\n    return 42\n", "make", "'MOD:make' returned int, not a torch.nn.Module"),
    ("def make():\n    raise ValueError('no config file')\n", "make",
     "'MOD:make' raised while building the model: ValueError: no config file"),
])
def test_a_target_that_cannot_be_built_gives_nn003(run_cli, model, source, factory, message):
    target = model(source, factory)
    module = target.split(":")[0]
    result, diagnostics = trace_json(run_cli, "--trace", target)
    assert result.exit_code == 1
    assert [d["code"] for d in diagnostics] == ["NN003"]
    assert diagnostics[0]["message"].startswith(message.replace("MOD", module))
    assert diagnostics[0]["path"] == f"{module}.py"


def test_factory_error_points_at_the_raising_line(run_cli, model):
    target = model("def make():\n    raise ValueError('no config file')\n")
    diagnostics = trace_json(run_cli, "--trace", target)[1]
    assert found(diagnostics) == [(2, 5, "NN003")]


# --- command line and config -----------------------------------------------------------------------

LOOP_BUILT = """
    import torch.nn as nn


    def make(widths=(16, 32, 32)):
        layers = []
        for i, (a, b) in enumerate(zip(widths, widths[1:])):
            layers += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(0.2)] if i == 0 else [nn.BatchNorm1d(b)]
        return nn.Sequential(*layers)
"""


def test_trace_config_runs_the_config_list_with_per_entry_shapes(run_cli, model, project):
    target = model(LOOP_BUILT)
    project("pyproject.toml", f"""
        [tool.nnlint]
        trace = [{{factory = "{target}", input-shape = [2, 16]}}]
    """)
    assert run_cli("-q", "--select", "NN1", ".").stdout == ""  # the source front end cannot see it; no trace
    result, diagnostics = trace_json(run_cli, "--trace-config")
    assert found(diagnostics) == [(8, 48, "NN101")]


@pytest.mark.parametrize("args, config, message", [
    (["--trace", "models"], None, "--trace: expected pkg.module:factory, got 'models'"),
    (["--trace", "m:f", "--input-shape", "1,x"], None, "--input-shape: expected an input shape"),
    (["--input-shape", "1,3"], None, "--input-shape needs --trace or --trace-config"),
    (["--trace-config"], None, "--trace-config: no `trace` list"),
    (["."], 'trace = ["a.b"]', "'trace' entry 'a.b': expected pkg.module:factory"),
    (["."], 'trace = [{factory = "a:b", input-shape = [0]}]', "expected an input shape of positive integers"),
    (["."], 'trace = [{factory = "a:b", shape = [1]}]', "unknown key 'shape'"),
    (["."], "trace = \"a:b\"", "'trace' in [tool.nnlint] must be a list"),
])
def test_bad_trace_options_are_usage_errors(run_cli, project, args, config, message):
    if config is not None:
        project("pyproject.toml", f"[tool.nnlint]\n{config}\n")
    result = run_cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr


# --- the lowering itself ------------------------------------------------------------------------------

def lowered(project, source, shape=None, name="make"):
    from nnlint.graph import fx
    from nnlint.project import At
    from nnlint.diagnostics import Span

    module = f"fx_lowered_{next(_names)}"
    path = project(f"{module}.py", source)
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    model, sites = fx.build_model(namespace[name], meta=True)
    gm, called = fx.trace(model)
    if shape:
        fx.propagate_shapes(gm, shape)
    return fx.lower(gm, model, called, sites, name, At(str(path), Span.point()))


def test_functional_targets_and_methods_map_to_op_kinds(project):
    graph = lowered(project, """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(8, 8, bias=False)
                self.lstm = nn.LSTM(8, 4, bidirectional=True)

            def forward(self, x):
                a = F.softmax(self.lin(x), dim=-1)
                b = torch.softmax(x, 1).log()
                c = x.log_softmax(1) + torch.sigmoid(x)
                d = F.dropout(torch.flatten(x, 1), p=0.25, training=False)
                return a, b, c, d, self.lstm(x)
    """, name="Net")
    kinds = [(n.op, n.attrs.get("dim"), n.attrs.get("p")) for n in graph.nodes]
    assert kinds == [("input", None, None), ("linear", None, None), ("softmax", -1, None), ("softmax", 1, None), ("log", None, None),
                     ("log_softmax", 1, None), ("sigmoid", None, None), ("add", None, None),
                     ("flatten", None, None), ("dropout", None, 0.25), ("rnn", None, None)]
    lin, lstm = graph.nodes[1], graph.nodes[-1]
    assert lin.attrs["bias"] is False and (lin.attrs["in_features"], lin.attrs["out_features"]) == (8, 8)
    assert lstm.attrs["bidirectional"] is True and lstm.attrs["hidden_size"] == 4
    assert graph.nodes[9].attrs["training"] is False
    assert [n.op for n in graph.output_nodes()] == ["softmax", "log", "add", "dropout", "rnn"]
    assert graph.origin == "fx" and graph.unused_modules == []


def test_input_shape_propagates_on_the_meta_device(project):
    graph = lowered(project, """
        import torch.nn as nn


        def make():
            return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
    """, shape=(2, 3, 32, 32))
    assert [n.attrs["shape"] for n in graph.nodes] == [(2, 3, 32, 32), (2, 8, 30, 30), (2, 8, 30, 30), (2, 8, 1, 1), (2, 8), (2, 2)]


def test_rejected_input_shape_gives_nn003_and_lints_without_shapes(run_cli, model):
    target = model(FORWARD_WIRED, "Net")
    diagnostics = trace_json(run_cli, "--trace", target, "--input-shape", "2,5")[1]
    assert [d["code"] for d in diagnostics] == ["NN003", "NN101"]
    assert "rejects input shape 2,5" in diagnostics[0]["message"]


def test_unused_modules_are_the_topmost_registered_modules_the_trace_never_reached(project):
    graph = lowered(project, """
        import torch.nn as nn


        class Swish(nn.Module):
            def forward(self, x):
                return x * x.sigmoid()


        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
                self.gate = nn.Linear(4, 4)
                self.skip = nn.Identity()

            def forward(self, x):
                self.skip(x)
                return self.fc(x)


        class Rope(nn.Module):
            def get_embed(self, x):
                return x.sin()


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
                self.act = Swish()
                self.aux_head = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
                self.tied = nn.Linear(4, 4)
                self.block = Block()
                self.rope = Rope()
                self.stages = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])
                self.placeholder = nn.Identity()
                self.gate_fn = nn.Sigmoid()  # used in another mode only: nothing to train, not reported
                self.branch = nn.Sequential()

            def forward(self, x):
                x = self.block(self.rope.get_embed(x))
                x = self.stages[0](x)
                return nn.functional.linear(self.act(self.fc(x)), self.tied.weight)
    """, name="Net")
    unused = graph.unused_modules
    assert [(n.label, n.op, n.site.span.line) for n in unused] == [
        ("'aux_head' (Sequential)", "opaque", 32), ("'block.gate' (Linear)", "linear", 14)]
    assert unused[0].site.span.column == 9  # the assignment `self.aux_head = ...`
    assert [n.label for n in graph.nodes if n.op == "identity"] == []  # `self.skip(x)` thrown away: a placeholder
    assert [(n.label, n.attrs["scope"]) for n in graph.nodes if n.op == "linear"] == [
        ("'block.fc' (Linear)", ("block",)), ("'stages.0' (Linear)", ()), ("'fc' (Linear)", ()),
        ("F.linear()", ())]  # the call's text is too long for a label
    assert all(n not in graph.nodes for n in unused)


# --- the graph rules run on traces unchanged ------------------------------------------------------

EVERY_GRAPH_BUG = """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 128)
            self.drop = nn.Dropout(0.1)
            self.fc2 = nn.Linear(128, 10)
            self.act = nn.ReLU()
            self.fc3 = nn.Linear(100, 10)
            self.conv = nn.Conv2d(3, 8, 3)
            self.bn = nn.BatchNorm2d(8)
            self.aux = nn.Linear(64, 2)
            self.spare = nn.Linear(64, 2)

        def forward(self, x, img):
            h = self.fc2(self.drop(self.fc1(x)))
            h = torch.relu(F.relu(h))
            side = self.aux(x)
            feats = self.bn(self.conv(img)).flatten(1)
            return torch.log(F.softmax(h, dim=1)), self.fc3(self.act(self.fc1(x))), feats
"""


def test_graph_rules_report_on_the_trace_at_the_users_lines(run_cli, model):
    target = model(EVERY_GRAPH_BUG, "Head")
    result, diagnostics = trace_json(run_cli, "--trace", target, "--select", "ALL")
    assert found(diagnostics) == [
        (18, 9, "NN111"),   # self.spare = ...: the trace never reaches it
        (21, 13, "NN104"),  # self.fc2(...) after fc1 through dropout only
        (22, 13, "NN105"),  # torch.relu(F.relu(h))
        (23, 16, "NN112"),  # self.aux(x) computed and thrown away
        (24, 25, "NN102"),  # self.conv(img) bias before BatchNorm2d
        (25, 16, "NN208"),  # torch.log(F.softmax(...))
        (25, 48, "NN106"),  # self.fc3 expects 100 features, fc1 gives 128
    ]
    nn111 = diagnostics[0]["message"]
    assert nn111.startswith("'spare' (Linear) is registered but never used")


def test_nn111_in_a_trace_reports_unused_dropout_and_parametric_layers_never_losses_or_activations(run_cli, model):
    target = model("""\
import torch.nn as nn


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(32, 10)
        self.criterion = nn.CrossEntropyLoss()
        self.act = nn.GELU()
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.off = nn.Dropout(0.0)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        return self.fc(x)
""", "Classifier")
    result, diagnostics = trace_json(run_cli, "--trace", target, "--select", "NN111", "--input-shape", "4,32")
    assert found(diagnostics) == [(12, 9, "NN111")]
    assert diagnostics[0]["message"].startswith("'drop' (Dropout) is registered but never used")


def test_scaling_by_a_constant_and_metadata_are_not_layers(project):
    graph = lowered(project, """
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.attn = nn.MultiheadAttention(8, 2)

            def forward(self, x):
                n, c = x.shape
                torch._assert(x.dim() == 2, "a batch of vectors")
                y, _ = self.attn(x, x, x)
                return (y * 0.5).view(n, c).transpose(0, 1) * x
    """, name="Net")
    assert [n.op for n in graph.nodes] == ["input", "attention", "opaque", "scale", "reshape", "transpose", "opaque"]
    assert graph.nodes[4].inputs == (3,)  # view(n, c): the sizes are no inputs


def test_a_loss_inside_the_traced_module_is_a_loss_node_fed_by_the_prediction(project):
    graph = lowered(project, """
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
                return self.criterion(probs, y) + F.nll_loss(probs.log(), y) + F.binary_cross_entropy_with_logits(x, x)
    """, name="WithLoss")
    losses = [n for n in graph.nodes if n.op.startswith("loss.")]
    assert [(n.op, n.label, graph.producers(n)[0].op) for n in losses] == [
        ("loss.cross_entropy", "'criterion' (CrossEntropyLoss)", "softmax"),
        ("loss.nll", "F.nll_loss(probs.log(), y)", "log"),
        ("loss.bce_with_logits", "F.binary_cross_entropy_with_logits(x, x)", "input"),
    ]
    assert [n.op for n in graph.producers(losses[0])] == ["softmax", "input"]


def test_trace_without_torch_installed_is_a_usage_error(project):
    driver = textwrap.dedent("""
        import sys
        sys.modules["torch"] = None  # as if torch were not installed
        from nnlint.cli import main
        main(["--trace", "models:make"])
    """)
    done = subprocess.run([sys.executable, "-c", driver], cwd=project.root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("nnlint: error: --trace needs torch")
    assert "Traceback" not in done.stderr


def test_without_instruction_positions_a_site_is_the_whole_line(project):
    """Python < 3.11 has no code.co_positions(): sites fall back to the line's text."""
    from types import SimpleNamespace

    from nnlint.graph import fx

    path = project("net.py", "import torch\n\n    y = self.drop(x)  \n")
    code = SimpleNamespace(co_filename=str(path), co_firstlineno=1)
    at = fx._at(code, 10, 3)
    assert (at.span.line, at.span.column, at.span.end_line, at.span.end_column) == (3, 5, 3, 21)


def test_a_rule_that_raises_on_a_trace_is_nn000_and_the_other_rules_still_report(run_cli, model, monkeypatch):
    from nnlint.registry import get_rule

    def broken(self, graph, options):
        raise ValueError("boom")
        yield

    monkeypatch.setattr(get_rule("NN105"), "check", broken)
    target = model(FORWARD_WIRED, "Net")
    result, diagnostics = trace_json(run_cli, "--trace", target)
    assert result.exit_code == 2
    assert [d["code"] for d in diagnostics] == ["NN000", "NN101"]
    assert diagnostics[0]["message"] == "internal error in NN105 (redundant-activation): ValueError: boom"


def test_a_model_returned_in_eval_mode_is_traced_in_training_mode(run_cli, model):
    target = model("""
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Linear(8, 8)
                self.aux = nn.Linear(8, 2)

            def forward(self, x):
                x = self.body(x).relu()
                if self.training:
                    return x, self.aux(x)
                return x


        def make():
            return Net().eval()
    """)
    result = run_cli("--trace", target)
    assert result.exit_code == 0, result.stdout  # the auxiliary head is used while training: no NN111


def test_show_source_prints_the_users_line_under_a_trace_finding(run_cli, model):
    target = model(FORWARD_WIRED, "Net")
    result = run_cli("-q", "--show-source", "--trace", target)
    assert result.lines[1:] == ["        return self.bn(self.drop(x))", " " * 23 + "^"]


LOSS_INSIDE = """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 4)
            self.criterion = nn.CrossEntropyLoss()

        def forward(self, x, y):
            probs = F.softmax(self.fc(x), dim=1)
            return self.criterion(probs, y)


    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 4)

        def forward(self, x, y):
            logits = self.fc(x)
            return F.binary_cross_entropy_with_logits(torch.sigmoid(logits), y) + F.nll_loss(logits, y.long())
"""


def test_loss_rules_run_on_a_trace_when_the_loss_is_inside_the_module(run_cli, model):
    target = model(LOSS_INSIDE, "Classifier")
    other = target.replace(":Classifier", ":Tagger")
    result, diagnostics = trace_json(run_cli, "--trace", target, "--trace", other)
    assert found(diagnostics) == [(15, 16, "NN201"), (25, 16, "NN202"), (25, 79, "NN204")]
    assert diagnostics[0]["message"].startswith("'criterion' (CrossEntropyLoss) receives the softmax output")


def test_correct_loss_wiring_inside_a_traced_module_is_clean(run_cli, model):
    target = model(LOSS_INSIDE.replace("F.softmax(self.fc(x), dim=1)", "self.fc(x)")
                   .replace("torch.sigmoid(logits)", "logits").replace("F.nll_loss(logits,", "F.nll_loss(logits.log_softmax(1),"),
                   "Classifier")
    other = target.replace(":Classifier", ":Tagger")
    result = run_cli("-q", "--trace", target, "--trace", other)
    assert (result.exit_code, result.stdout) == (0, "")
