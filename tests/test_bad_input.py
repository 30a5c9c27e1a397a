"""Bad input never crashes the run nor hides other files (RULES.md NN0)."""

import os

import pytest

from conftest import BUGGY_SEQUENTIAL
from nnlint.registry import Rule
from nnlint.testing import lint


def test_a_directory_of_broken_files_reports_each_and_the_bug(project, run_cli):
    project("a_syntax.py", "def f(:\n    pass\n")
    project("b_latin1.py", data="# -*- coding: latin-1 -*-\n# caf\xe9\nimport torch.nn as nn\nm = nn.Sequential(nn.Dropout(), nn.BatchNorm1d(3))\n".encode("latin-1"))
    project("c_binary.py", data=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    project("d_buggy.py", BUGGY_SEQUENTIAL)
    result = run_cli(".")
    try:
        compile("def f(:\n    pass\n", "a_syntax.py", "exec")
    except SyntaxError as exc:
        syntax = f"a_syntax.py:{exc.lineno}:{exc.offset}: NN001 SyntaxError: {exc.msg}"
    assert result.lines == [
        syntax,
        "b_latin1.py:4:19: NN101 nn.Dropout() feeds nn.BatchNorm1d(3) directly; apply dropout after the normalization (variance shift)",
        "c_binary.py:1:1: NN002 file contains null bytes (binary file?)",
        "d_buggy.py:3:38: NN101 nn.Dropout(0.5) feeds nn.BatchNorm1d(8) directly; apply dropout after the normalization (variance shift)",
    ]
    assert result.exit_code == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr == "Found 4 problems in 4 files (4 checked).\n"


@pytest.mark.parametrize(
    "source",
    ["x = (1,\n", "def f():\nreturn 1\n", "return 5\n", "print 'hello'\n", "x = 1\n  y = 2\n", "f(**x, *y)\n",
     "class A:\n    nonlocal x\n", "def f(a, a): pass\n"],
)
def test_syntax_errors_carry_cpython_compile_position_and_message(source):
    with pytest.raises(SyntaxError) as info:
        compile(source, "x.py", "exec", dont_inherit=True)
    exc = info.value
    (diag,) = lint(source, path="x.py")
    assert (diag.code, diag.line, diag.column) == ("NN001", exc.lineno, exc.offset or 1)
    assert diag.message == f"{type(exc).__name__}: {exc.msg}"


def test_undecodable_utf8_is_nn002_with_the_reason(project, run_cli):
    project("bad.py", data=b"x = '\xff\xfe'\n")
    result = run_cli("-q", ".")
    assert result.lines == ["bad.py:1:1: NN002 cannot decode as utf-8 (byte 0xff at offset 5); declare the encoding with a coding cookie (PEP 263)"]


def test_unknown_coding_cookie_is_nn002(project, run_cli):
    project("bad.py", data=b"# -*- coding: klingon -*-\nx = 1\n")
    (line,) = run_cli("-q", ".").lines
    assert line.startswith("bad.py:1:1: NN002 bad encoding declaration")


def test_bom_crlf_tabs_and_form_feeds_are_fine(project, run_cli):
    source = "\ufeffimport torch.nn as nn\r\n\x0c\r\nif True:\r\n\tm = nn.Sequential(nn.Dropout(), nn.BatchNorm1d(3))\r\n"
    project("win.py", data=source.encode("utf-8"))
    assert run_cli("-q", ".").lines == [
        "win.py:4:20: NN101 nn.Dropout() feeds nn.BatchNorm1d(3) directly; apply dropout after the normalization (variance shift)"]


def test_missing_path_is_nn002_and_other_paths_still_run(project, run_cli):
    project("net.py", BUGGY_SEQUENTIAL)
    result = run_cli("-q", "nope.py", "net.py")
    assert result.lines[0] == "net.py:3:38: NN101 nn.Dropout(0.5) feeds nn.BatchNorm1d(8) directly; apply dropout after the normalization (variance shift)"
    assert result.lines[1] == "nope.py:1:1: NN002 No such file or directory (os error 2)"
    assert result.exit_code == 1


def test_unreadable_file_is_nn002_even_as_root(project, run_cli, monkeypatch):
    """Permission errors surface as OSError from open(); simulate it so the test runs as root too."""
    project("secret.py", "x = 1\n")
    import builtins

    real_open = builtins.open

    def deny(file, *args, **kwargs):
        if str(file).endswith("secret.py"):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", deny)
    assert run_cli("-q", "-j", "1", ".").lines == ["secret.py:1:1: NN002 Permission denied (os error 13)"]


def test_directory_symlink_loop_is_nn002(project, run_cli):
    project("pkg/net.py", BUGGY_SEQUENTIAL)
    os.symlink("..", project.root / "pkg" / "loop")
    result = run_cli("-q", ".")
    assert result.lines == [
        "pkg/loop:1:1: NN002 directory symlink loop; not followed",
        "pkg/net.py:3:38: NN101 nn.Dropout(0.5) feeds nn.BatchNorm1d(8) directly; apply dropout after the normalization (variance shift)",
    ]


def test_file_over_the_size_limit_is_nn002(project, run_cli):
    project("pyproject.toml", "[tool.nnlint]\nmax-source-bytes = 100\n")
    project("big.py", "x = 1\n" * 50)
    project("small.py", "x = 1\n")
    assert run_cli("-q", ".").lines == ["big.py:1:1: NN002 file is 300 bytes, over the 100-byte limit (max-source-bytes)"]


def test_deeply_nested_code_is_nn002_not_a_crash():
    source = "x = " + "(" * 150 + "1" + ")" * 150 + "\n"
    deep = "x = " + "[" * 5000 + "]" * 5000 + "\n"
    for text in (source, deep):
        found = lint(text)
        assert all(d.code in ("NN001", "NN002") for d in found)


class _Exploding(Rule):
    """A rule that raises. It has no `code` of its own, so it never registers itself;
    the test puts it in the registry for its own duration only."""

    name = "test-exploding-rule"
    summary = "raises"

    def check(self, graph, options):
        raise ValueError("boom")


def test_a_rule_that_raises_gives_nn000_and_other_rules_still_run(project, run_cli, monkeypatch):
    from nnlint import registry
    from nnlint.diagnostics import Severity

    monkeypatch.setattr(_Exploding, "code", "NN199", raising=False)
    monkeypatch.setattr(_Exploding, "severity", Severity.WARNING, raising=False)
    monkeypatch.setitem(registry._RULES, "NN199", _Exploding)
    project("net.py", BUGGY_SEQUENTIAL)
    project("other.py", BUGGY_SEQUENTIAL)
    result = run_cli("-q", "-j", "1", ".")
    assert result.lines[:2] == [
        "net.py:1:1: NN000 internal error in NN199 (test-exploding-rule): ValueError: boom",
        "net.py:3:38: NN101 nn.Dropout(0.5) feeds nn.BatchNorm1d(8) directly; apply dropout after the normalization (variance shift)",
    ]
    assert result.lines[2].startswith("other.py:1:1: NN000") and result.lines[3].startswith("other.py:3:38: NN101")
    assert result.exit_code == 2
    assert "Traceback" not in result.stdout + result.stderr


def test_a_bug_outside_any_rule_is_nn000_for_that_file_only(project, run_cli, monkeypatch):
    import nnlint.engine as engine

    real = engine.lint_source

    def broken(path, data, settings):
        if path.endswith("net.py"):
            raise KeyError("engine bug")
        return real(path, data, settings)

    monkeypatch.setattr(engine, "lint_source", broken)
    project("net.py", BUGGY_SEQUENTIAL)
    project("other.py", BUGGY_SEQUENTIAL)
    result = run_cli("-q", "-j", "1", ".")
    assert result.lines[0] == "net.py:1:1: NN000 internal error in nnlint: KeyError: 'engine bug'"
    assert result.lines[1].startswith("other.py:3:38: NN101")
    assert result.exit_code == 2
