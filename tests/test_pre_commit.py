"""pre-commit, as a user meets it: `pre-commit try-repo` installs this project's hook from
.pre-commit-hooks.yaml into a fresh virtualenv (from the package registry) and runs it in a
git repository with a buggy model."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

BUGGY = """\
import torch.nn as nn

head = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.BatchNorm1d(8))
"""
NN101 = ("net.py:3:39: NN101 nn.Dropout(0.5) feeds nn.BatchNorm1d(8) directly; apply dropout after the "
         "normalization (variance shift)")


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(PRE_COMMIT_HOME=str(home), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    return env


def _git(cwd: Path, *args: str, env: dict) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory):
    """This project's working tree (tracked and untracked, not ignored files) as one commit:
    what `try-repo` itself does for a tree with uncommitted changes, done once so that every
    run of the module reuses one hook environment instead of installing it again."""
    home = tmp_path_factory.mktemp("pre-commit-home")
    snapshot = tmp_path_factory.mktemp("nnlint-repo")
    env = _env(home)
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, env=env,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    _git(snapshot, "init", "-q", env=env)
    _git(snapshot, "add", "-A", env=env)
    _git(snapshot, "commit", "-q", "-m", "snapshot", env=env)
    return snapshot, env


def _try_repo(hook_repo, project: Path, *args: str) -> subprocess.CompletedProcess:
    snapshot, env = hook_repo
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(snapshot), "nnlint", *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=900)


def _project(tmp_path: Path, env: dict, files: dict) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    _git(tmp_path, "init", "-q", env=env)
    _git(tmp_path, "add", "-A", env=env)
    _git(tmp_path, "commit", "-q", "-m", "model", env=env)
    return tmp_path


def test_the_hooks_manifest_is_valid():
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_pre_commit_hook_fails_on_the_bug_and_passes_once_fixed(hook_repo, tmp_path):
    project = _project(tmp_path, hook_repo[1], {"net.py": BUGGY, "README.md": "# pets\n"})
    failed = _try_repo(hook_repo, project, "--all-files")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert NN101 in failed.stdout.splitlines()
    assert "README" not in failed.stdout  # only Python files reach the hook

    (project / "net.py").write_text(BUGGY.replace("nn.Dropout(0.5), nn.BatchNorm1d(8)", "nn.BatchNorm1d(8), nn.Dropout(0.5)"))
    passed = _try_repo(hook_repo, project, "--all-files")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "NN101" not in passed.stdout


def _notebook(code: str) -> str:
    lines = code.splitlines(keepends=True)
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": lines}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


@pytest.mark.slow
def test_pre_commit_hook_lints_notebooks(hook_repo, tmp_path):
    project = _project(tmp_path, hook_repo[1], {"explore.ipynb": _notebook("%matplotlib inline\n" + BUGGY)})
    failed = _try_repo(hook_repo, project, "--all-files")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert NN101.replace("net.py:3:", "explore.ipynb:cell 1:4:") in failed.stdout.splitlines()

    fixed = BUGGY.replace("nn.Dropout(0.5), nn.BatchNorm1d(8)", "nn.BatchNorm1d(8), nn.Dropout(0.5)")
    (project / "explore.ipynb").write_text(_notebook("%matplotlib inline\n" + fixed), encoding="utf-8")
    passed = _try_repo(hook_repo, project, "--all-files")
    assert passed.returncode == 0, passed.stdout + passed.stderr


MODELS = """\
import torch.nn as nn
import torch.nn.functional as F


class DigitClassifier(nn.Module):
    def __init__(self, hidden: int = 128, classes: int = 10):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = F.relu(self.fc1(x.flatten(1)))
        return F.softmax(self.fc2(x), dim=1)
"""
TRAIN = """\
import torch
from torch import nn

from models import DigitClassifier


def train(loader, epochs: int = 5):
    model = DigitClassifier()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for epoch in range(epochs):
        for images, labels in loader:
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
"""


@pytest.mark.slow
def test_a_commit_touching_only_train_py_reports_the_same_cross_file_line(hook_repo, tmp_path):
    """One answer everywhere: pre-commit passes only train.py, nnlint reads models.py as context."""
    env = hook_repo[1]
    project = _project(tmp_path, env, {"models.py": MODELS, "train.py": TRAIN})
    whole = subprocess.run([sys.executable, "-m", "nnlint", "-q", "."], cwd=project, env=env, capture_output=True, text=True)
    nn201 = [line for line in whole.stdout.splitlines() if " NN201 " in line]
    assert [line.split(": NN201")[0] for line in nn201] == ["train.py:14:20"]

    (project / "train.py").write_text(TRAIN.replace("lr=0.05", "lr=0.01"))
    _git(project, "add", "train.py", env=env)
    staged = _try_repo(hook_repo, project)  # no --all-files: the staged files, train.py only
    assert staged.returncode == 1, staged.stdout + staged.stderr
    assert [line for line in staged.stdout.splitlines() if " NN201 " in line] == nn201
    assert "models.py" not in staged.stdout
