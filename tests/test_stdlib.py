"""The whole CPython standard library of the running interpreter through the CLI (slow).

Zero NN000, and every NN001/NN002 is a file CPython itself cannot read or compile. Measured at
about a minute with -j 2 on 2 cores; `.ci/run` runs it with the rest (`-m "not slow"` skips it).
"""

import json
import os
import subprocess
import sys
import sysconfig
import warnings

import pytest

from nnlint.files import Unreadable, decode_source


@pytest.mark.slow
def test_the_standard_library_gives_no_internal_error_and_only_true_syntax_errors():
    stdlib = sysconfig.get_paths()["stdlib"]
    # skip nothing of the library (the default excludes would drop Lib/venv); .gitignore files
    # above it (a pyenv checkout ignores its versions/) must not hide it either
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": os.path.dirname(stdlib)}
    proc = subprocess.run(
        [sys.executable, "-m", "nnlint", "check", "--select", "ALL", "--output-format", "json", "--isolated",
         "-j", "2", "--exit-zero", "-q", "--exclude", "site-packages", stdlib],
        capture_output=True, env=env, timeout=1500, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    diagnostics = json.loads(proc.stdout)
    assert [d for d in diagnostics if d["code"] == "NN000"] == []
    for d in diagnostics:
        if d["code"] in ("NN001", "NN002"):
            assert not _cpython_accepts(d["path"]), f"{d['path']}: {d['code']} {d['message']}"


def _cpython_accepts(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            text = decode_source(f.read())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, path, "exec", dont_inherit=True)
    except (OSError, Unreadable, SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
