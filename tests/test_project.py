"""The project pass: module names, imports across files, and the NN2 cross-file cases through
the real CLI (a directory, or one file whose imports are read as context: the same answer)."""

import json
import os

import pytest

from nnlint.project import Project, Symbol
from nnlint.source.facts import ClassFacts, FileFacts, FunctionFacts


def facts(path, imports=(), classes=(), functions=()):
    f = FileFacts(path)
    f.imports = dict(imports)
    f.classes = {c: ClassFacts(c, ("nn.Module",), None, False, None, None) for c in classes}
    f.functions = {n: FunctionFacts(n, (None,), None) for n in functions}
    return f


def project_of(*files, roots=()):
    return Project({f.path: f for f in files}, roots)


def test_sibling_module_of_a_script():
    p = project_of(facts("app/models.py", classes=["Net"]), facts("app/train.py", imports={"Net": "models.Net"}))
    assert p.resolve("app/train.py", "Net") == Symbol("class", "app/models.py", "Net")


def test_package_import_relative_import_and_reexport_through_init():
    p = project_of(
        facts("repo/pkg/__init__.py", imports={"Classifier": ".nets.core.Classifier"}),
        facts("repo/pkg/nets/__init__.py"),
        facts("repo/pkg/nets/core.py", classes=["Classifier"]),
        facts("repo/pkg/nets/other.py", imports={"C": "..nets.core.Classifier", "core": ".core"}),
        facts("repo/train.py", imports={"Classifier": "pkg.Classifier", "pkg": "pkg"}),
    )
    expected = Symbol("class", "repo/pkg/nets/core.py", "Classifier")
    assert p.module_name("repo/pkg/nets/core.py") == "pkg.nets.core"
    assert p.resolve("repo/train.py", "Classifier") == expected
    assert p.resolve("repo/train.py", "pkg.Classifier") == expected
    assert p.resolve("repo/train.py", "pkg.nets.core.Classifier") == expected
    assert p.resolve("repo/pkg/nets/other.py", "C") == expected
    assert p.resolve("repo/pkg/nets/other.py", "core.Classifier") == expected


def test_src_layout_and_command_line_roots():
    p = project_of(
        facts("proj/src/mylib/__init__.py"),
        facts("proj/src/mylib/model.py", classes=["Net"]),
        facts("proj/scripts/train.py", imports={"Net": "mylib.model.Net"}),
        facts("proj/tools/lib/helpers.py", functions=["build"]),
        facts("proj/tools/run.py", imports={"build": "lib.helpers.build"}),
    )
    assert p.resolve("proj/scripts/train.py", "Net") == Symbol("class", "proj/src/mylib/model.py", "Net")
    # tools/lib has no __init__.py: lib.helpers is found from the script's own folder
    assert p.resolve("proj/tools/run.py", "build") == Symbol("function", "proj/tools/lib/helpers.py", "build")
    rooted = project_of(facts("proj/a/b/model.py", classes=["Net"]), facts("proj/main.py", imports={"Net": "a.b.model.Net"}),
                        roots=["proj"])
    assert rooted.resolve("proj/main.py", "Net") == Symbol("class", "proj/a/b/model.py", "Net")


def test_ambiguous_names_resolve_to_nothing():
    p = project_of(
        facts("x/one/models.py", classes=["Net"]),
        facts("x/two/models.py", classes=["Net"]),
        facts("x/train.py", imports={"Net": "models.Net"}),
        facts("x/one/train.py", imports={"Net": "models.Net"}),
    )
    # x/train.py sees no models.py in its own folder, and two elsewhere: nothing
    assert p.resolve("x/train.py", "Net") is None
    # a script's own folder comes first (sys.path[0])
    assert p.resolve("x/one/train.py", "Net") == Symbol("class", "x/one/models.py", "Net")
    twice = facts("y/train.py", imports={"Net": None})
    assert project_of(twice, facts("y/models.py", classes=["Net"])).resolve("y/train.py", "Net") is None


def test_a_local_definition_and_an_import_of_the_same_name_is_ambiguous():
    p = project_of(facts("z/models.py", classes=["Net"]), facts("z/train.py", imports={"Net": "models.Net"}, classes=["Net"]))
    assert p.resolve("z/train.py", "Net") is None


def test_import_cycles_and_missing_modules_are_silent():
    p = project_of(
        facts("c/a.py", imports={"X": "b.X"}),
        facts("c/b.py", imports={"X": "a.X"}),
        facts("c/d.py", imports={"Y": "numpy.Y", "Z": "....too.far.Z"}),
    )
    assert p.resolve("c/a.py", "X") is None
    assert p.resolve("c/d.py", "Y") is None and p.resolve("c/d.py", "Z") is None


MODELS = """\
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.fc1 = nn.Linear(n_in, 64)
        self.fc2 = nn.Linear(64, n_out)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return F.softmax(self.fc2(x), dim=1)
"""

TRAIN = """\
import torch
from torch import nn

from models import Classifier


def main():
    model = Classifier(20, 3)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
"""


def diagnostics(run_cli, *args):
    result = run_cli("--select", "NN2", "--output-format", "json", *args)
    return [(d["path"], d["line"], d["column"], d["code"]) for d in json.loads(result.stdout)], result


def test_model_class_imported_from_a_sibling_file_fires_when_the_directory_is_linted(project, run_cli):
    project("app/models.py", MODELS)
    project("app/train.py", TRAIN)
    found, result = diagnostics(run_cli, "app")
    assert found == [("app/train.py", 13, 16, "NN201")]
    assert result.exit_code == 1


def test_related_location_is_in_the_model_file(project, run_cli):
    project("app/models.py", MODELS)
    project("app/train.py", TRAIN)
    result = run_cli("--select", "NN201", "--output-format", "json", "app")
    (diag,) = json.loads(result.stdout)
    assert json.dumps(diag).count("app/models.py") >= 1


def test_a_file_linted_alone_reads_the_files_it_imports_as_context(project, run_cli):
    # One answer everywhere: pre-commit passes only the changed file, an editor has one file
    # open; the model class train.py imports is read from models.py, whose own findings stay out.
    project("app/models.py", MODELS)
    project("app/train.py", TRAIN)
    whole, _ = diagnostics(run_cli, "app")
    alone, result = diagnostics(run_cli, "app/train.py")
    assert alone == whole == [("app/train.py", 13, 16, "NN201")]
    assert result.exit_code == 1 and "(1 checked)" in result.stderr
    found, result = diagnostics(run_cli, "app/models.py")
    assert found == [] and result.exit_code == 0


def test_context_files_follow_packages_reexports_and_src_layouts(project, run_cli):
    project("repo/pyproject.toml", "[project]\nname = 'vision'\n")
    project("repo/src/vision/__init__.py", "from .nets import Classifier\n")
    project("repo/src/vision/nets.py", MODELS)
    project("repo/src/vision/train.py", TRAIN.replace("from models import Classifier", "from . import Classifier"))
    project("repo/scripts/run.py", TRAIN.replace("from models import Classifier", "from vision import Classifier"))
    whole, _ = diagnostics(run_cli, "repo")
    assert whole == [("repo/scripts/run.py", 13, 16, "NN201"), ("repo/src/vision/train.py", 13, 16, "NN201")]
    for path in ("repo/scripts/run.py", "repo/src/vision/train.py"):
        alone, _ = diagnostics(run_cli, path)
        assert alone == [d for d in whole if d[0] == path]


def test_context_files_obey_excludes_and_stay_inside_the_project_root(project, run_cli):
    project("app/models.py", MODELS)
    project("app/train.py", TRAIN)
    found, _ = diagnostics(run_cli, "--extend-exclude", "models.py", "app/train.py")
    assert found == []
    project("outside/models.py", MODELS)
    project("outside/proj/pyproject.toml", "[project]\nname = 'p'\n")
    project("outside/proj/train.py", TRAIN.replace("from models import", "from outside.models import"))
    found, _ = diagnostics(run_cli, "outside/proj/train.py")
    assert found == []  # outside/models.py is above train.py's project root


def test_package_with_reexport_and_relative_import(project, run_cli):
    project("repo/src/vision/__init__.py", "from .nets import Classifier\n")
    project("repo/src/vision/nets.py", MODELS)
    project("repo/src/vision/train.py", TRAIN.replace("from models import Classifier", "from . import Classifier"))
    project("repo/scripts/run.py", TRAIN.replace("from models import Classifier", "from vision import Classifier"))
    found, _ = diagnostics(run_cli, "repo")
    assert found == [("repo/scripts/run.py", 13, 16, "NN201"), ("repo/src/vision/train.py", 13, 16, "NN201")]


def test_two_models_modules_make_the_import_ambiguous(project, run_cli):
    project("exp/a/models.py", MODELS)
    project("exp/b/models.py", MODELS.replace("F.softmax(self.fc2(x), dim=1)", "self.fc2(x)"))
    project("exp/train.py", TRAIN)
    found, _ = diagnostics(run_cli, "exp")
    assert found == []


def test_noqa_and_per_file_ignores_apply_to_project_findings(project, run_cli):
    project("app/models.py", MODELS)
    project("app/train.py", TRAIN.replace("loss = criterion(model(x), y)", "loss = criterion(model(x), y)  # noqa: NN201"))
    found, _ = diagnostics(run_cli, "app")
    assert found == []
    project("app/train.py", TRAIN)
    found, _ = diagnostics(run_cli, "--per-file-ignores", "app/train.py:NN201", "app")
    assert found == []


def test_a_factory_in_another_file_and_a_model_subclass_without_forward(project, run_cli):
    project("app/models.py", MODELS + "\n\nclass Big(Classifier):\n    pass\n\n\ndef build():\n    return Big(8, 2)\n")
    project("app/train.py", TRAIN.replace("from models import Classifier", "from models import build")
            .replace("Classifier(20, 3)", "build()"))
    found, _ = diagnostics(run_cli, "app")
    assert found == [("app/train.py", 13, 16, "NN201")]


@pytest.mark.parametrize("seed", ["0", "1", "12345"])
def test_output_does_not_depend_on_hash_seed(project, seed):
    import subprocess
    import sys

    project("app/models.py", MODELS)
    project("app/train.py", TRAIN)
    project("app/other.py", TRAIN.replace("criterion(model(x), y)", "nn.NLLLoss()(model(x), y)"))
    env = dict(os.environ, PYTHONHASHSEED=seed)
    out = subprocess.run([sys.executable, "-m", "nnlint", "--select", "NN2", "app"], capture_output=True, text=True, env=env)
    assert out.stdout.splitlines()[:2] == [
        "app/other.py:13:16: NN203 nn.NLLLoss receives the softmax output of F.softmax(self.fc2(x), dim=1) returned by "
        "Classifier.forward; it expects log-probabilities, not probabilities; use log_softmax",
        "app/train.py:13:16: NN201 nn.CrossEntropyLoss receives the softmax output of F.softmax(self.fc2(x), dim=1) "
        "returned by Classifier.forward; cross-entropy applies log-softmax to its input itself, so the softmax is "
        "applied twice: the loss can no longer get near 0 and its gradients shrink; pass the logits",
    ]


def test_recursive_definitions_are_silent_and_terminate():
    from nnlint.testing import codes

    code = """
        import torch.nn as nn
        import torch.nn.functional as F

        def f(x, k):
            if k == 0:
                return f(x, 1)
            if k == 1:
                return f(x, 2)
            return f(x, k - 1)

        class Net(nn.Module):
            def forward(self, x):
                return self(x)

        loss = F.cross_entropy(f(x, 3), y) + F.cross_entropy(Net()(x), y)
    """
    assert codes(code, select=["NN2"]) == []
