import os
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from nnlint.cli import main

REPO = Path(__file__).resolve().parent.parent


class Result:
    def __init__(self, click_result):
        self.exit_code = click_result.exit_code
        self.stdout = click_result.stdout
        self.stderr = click_result.stderr
        self.exception = click_result.exception

    @property
    def lines(self):
        return self.stdout.splitlines()


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path_factory, monkeypatch):
    """Every test gets its own empty cache (NNLINT_CACHE_DIR, inherited by subprocesses): no test
    sees results another test cached, e.g. while a rule was monkeypatched."""
    monkeypatch.setenv("NNLINT_CACHE_DIR", str(tmp_path_factory.mktemp("nnlint-cache")))


@pytest.fixture
def run_cli():
    """Run `nnlint ARGS` in-process; returns exit code, stdout, stderr."""

    def run(*args, input=None):
        result = CliRunner().invoke(main, list(args), input=input)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Result(result)

    return run


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A temporary project directory, made the current directory; write(path, text) adds files."""
    monkeypatch.chdir(tmp_path)

    def write(relative, text="", data=None):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is not None:
            path.write_bytes(data)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    write.root = tmp_path
    return write


BUGGY_SEQUENTIAL = """\
import torch.nn as nn

net = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.BatchNorm1d(8))
"""
