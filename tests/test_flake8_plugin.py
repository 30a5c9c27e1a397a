"""The flake8 plugin as a user meets it: `flake8 --select NN` in a subprocess, flake8's noqa."""

import subprocess
import sys

TAGGER = """\
import torch.nn as nn


class SequenceTagger(nn.Module):
    def __init__(self, vocab: int, tags: int, dim: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.proj = nn.Sequential(nn.Linear(dim, dim), nn.Dropout(0.3), nn.BatchNorm1d(dim))
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.Dropout(0.3), nn.BatchNorm1d(dim))  # noqa: NN101
        self.norm = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, tags)

    def forward(self, tokens):
        return self.out(self.head(self.proj(self.embed(tokens))))
"""
NN101 = "nn.Dropout(0.3) feeds nn.BatchNorm1d(dim) directly; apply dropout after the normalization (variance shift)"
NN111 = ("'self.norm' (LayerNorm) is built in __init__ but never used: its parameters train nothing and are "
         "saved anyway; call it in forward() or remove it")


def _flake8(cwd, *args):
    return subprocess.run([sys.executable, "-m", "flake8", *args], cwd=cwd, capture_output=True, text=True)


def test_flake8_select_nn_runs_nnlint_and_honours_its_noqa(project):
    project("tagger.py", TAGGER)
    result = _flake8(project.root, "--select", "NN", "tagger.py")
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [f"tagger.py:8:56: NN101 {NN101}", f"tagger.py:10:9: NN111 {NN111}"]
    nnlint = subprocess.run([sys.executable, "-m", "nnlint", "-q", "tagger.py"], cwd=project.root, capture_output=True, text=True)
    assert nnlint.stdout == result.stdout  # the same lines as nnlint's own
    shown = _flake8(project.root, "--select", "NN", "--disable-noqa", "tagger.py").stdout.splitlines()
    assert shown == [f"tagger.py:8:56: NN101 {NN101}", f"tagger.py:9:56: NN101 {NN101}", f"tagger.py:10:9: NN111 {NN111}"]
    assert _flake8(project.root, "--select", "NN", "--extend-ignore", "NN111", "tagger.py").stdout.splitlines() == [
        f"tagger.py:8:56: NN101 {NN101}"]


def test_flake8_plugin_reads_the_nnlint_config_and_is_silent_on_clean_code(project):
    project("pyproject.toml", '[tool.nnlint]\nignore = ["NN101"]\n')
    project("tagger.py", TAGGER)
    project("clean.py", TAGGER.replace("nn.Dropout(0.3), nn.BatchNorm1d(dim)", "nn.BatchNorm1d(dim), nn.Dropout(0.3)")
            .replace("self.norm = nn.LayerNorm(dim)\n", ""))
    result = _flake8(project.root, "--select", "NN", "--disable-noqa", ".")
    assert result.stdout.splitlines() == [f"./tagger.py:10:9: NN111 {NN111}"]


def test_flake8_reports_the_cross_file_finding_of_the_file_it_checks(project):
    """flake8 hands the plugin train.py alone; the model it imports from models.py is read as context."""
    from test_pre_commit import MODELS, TRAIN

    project("pyproject.toml", "[project]\nname = 'digits'\n")
    project("models.py", MODELS)
    project("train.py", TRAIN)
    nnlint = subprocess.run([sys.executable, "-m", "nnlint", "-q", "."], cwd=project.root, capture_output=True, text=True)
    assert [line.split(": NN201")[0] for line in nnlint.stdout.splitlines() if " NN201 " in line] == ["train.py:14:20"]
    result = _flake8(project.root, "--select", "NN", "train.py")
    assert result.stdout.splitlines() == [line for line in nnlint.stdout.splitlines() if line.startswith("train.py:")]
