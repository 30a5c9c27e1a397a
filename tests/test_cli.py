"""The command line as a user meets it: output format, sorting, summary, exit codes, subcommands."""

import json
import subprocess
import sys

from conftest import BUGGY_SEQUENTIAL

MESSAGE = "nn.Dropout(0.5) feeds nn.BatchNorm1d(8) directly; apply dropout after the normalization (variance shift)"


def test_text_output_is_exactly_the_flake8_line(project, run_cli):
    project("pkg/net.py", BUGGY_SEQUENTIAL)
    result = run_cli("pkg")
    assert result.exit_code == 1
    assert result.stdout == f"pkg/net.py:3:38: NN101 {MESSAGE}\n"
    assert result.stderr == "Found 1 problem in 1 file (1 checked).\n"


def test_check_is_the_default_command_and_dot_the_default_path(project, run_cli):
    project("net.py", BUGGY_SEQUENTIAL)
    assert run_cli().stdout == run_cli("check").stdout == run_cli("check", ".").stdout == f"net.py:3:38: NN101 {MESSAGE}\n"


def test_clean_run_exits_zero_with_a_summary(project, run_cli):
    project("ok.py", "import torch.nn as nn\nnet = nn.Sequential(nn.Linear(2, 2))\n")
    result = run_cli(".")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "All checks passed (1 file checked).\n")


def test_quiet_silences_the_summary_and_exit_zero_the_status(project, run_cli):
    project("net.py", BUGGY_SEQUENTIAL)
    result = run_cli("-q", "--exit-zero", ".")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.startswith("net.py:3:38: NN101")


def test_diagnostics_sorted_by_path_line_column(project, run_cli):
    two = "import torch.nn as nn\na = nn.Sequential(nn.Dropout(), nn.BatchNorm1d(2)); b = nn.Sequential(nn.Dropout(), nn.BatchNorm1d(2))\n"
    project("b.py", two)
    project("a/z.py", "\n\n" + two)
    project("a/b.py", two)
    lines = run_cli("-q", ".").lines
    assert [line.split(": ")[0] for line in lines] == [
        "a/b.py:2:19", "a/b.py:2:71", "a/z.py:4:19", "a/z.py:4:71", "b.py:2:19", "b.py:2:71"]


def test_paths_are_relative_to_the_current_directory_when_below_it(project, run_cli):
    path = project("deep/net.py", BUGGY_SEQUENTIAL)
    assert run_cli("-q", str(path)).stdout.startswith("deep/net.py:3:38:")


def test_show_source_adds_the_line_and_a_caret(project, run_cli):
    project("net.py", BUGGY_SEQUENTIAL)
    assert run_cli("-q", "--show-source", ".").lines == [
        f"net.py:3:38: NN101 {MESSAGE}",
        "net = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.BatchNorm1d(8))",
        " " * 37 + "^",
    ]


def test_statistics_counts_per_rule(project, run_cli):
    project("a.py", BUGGY_SEQUENTIAL)
    project("b.py", BUGGY_SEQUENTIAL)
    project("c.py", "x = (\n")
    result = run_cli("--statistics", ".")
    assert result.lines == ["2\tNN101\tdropout-before-batchnorm", "1\tNN001\tsyntax-error"]
    assert result.exit_code == 1


def test_json_output_has_exactly_the_documented_fields(project, run_cli):
    project("net.py", BUGGY_SEQUENTIAL)
    (item,) = json.loads(run_cli("-q", "--output-format", "json", ".").stdout)
    assert item == {
        "path": "net.py", "cell": None, "line": 3, "column": 38, "end_line": 3, "end_column": 53,
        "code": "NN101", "name": "dropout-before-batchnorm", "severity": "W", "message": MESSAGE,
        "url": "https://github.com/nnlint/nnlint/blob/main/rules/NN101.md",
        "related": [{"path": "net.py", "cell": None, "line": 3, "column": 55,
                     "message": "nn.BatchNorm1d(8) normalizes the dropped-out activations"}],
        "fix": {"message": "Swap the dropout and the normalization (renumbers the Sequential's state_dict keys)",
                "applicability": "unsafe",
                "edits": [{"line": 3, "column": 38, "end_line": 3, "end_column": 53, "content": "nn.BatchNorm1d(8)"},
                          {"line": 3, "column": 55, "end_line": 3, "end_column": 72, "content": "nn.Dropout(0.5)"}]},
    }


def test_json_output_of_a_clean_run_is_an_empty_list(project, run_cli):
    project("ok.py", "x = 1\n")
    assert json.loads(run_cli("-q", "--output-format", "json").stdout) == []


def test_stdin_is_reported_under_stdin_filename(project, run_cli):
    result = run_cli("-", "--stdin-filename", "models/net.py", input=BUGGY_SEQUENTIAL)
    assert result.stdout == f"models/net.py:3:38: NN101 {MESSAGE}\n"
    assert result.exit_code == 1
    assert run_cli("-", input=BUGGY_SEQUENTIAL).stdout.startswith("-:3:38: NN101")


def test_stdin_show_source_uses_the_stdin_text(project, run_cli):
    lines = run_cli("-q", "--show-source", "-", "--stdin-filename", "x.py", input=BUGGY_SEQUENTIAL).lines
    assert lines[1].startswith("net = nn.Sequential(")


def test_unknown_code_is_a_usage_error_naming_it(project, run_cli):
    result = run_cli("--select", "NN1,NN999", ".")
    assert result.exit_code == 2
    assert "NN999" in result.stderr and "--select" in result.stderr
    assert run_cli("--ignore", "E501").exit_code == 2


def test_select_and_ignore_by_prefix(project, run_cli):
    project("net.py", BUGGY_SEQUENTIAL)
    for args, expected in [
        (("--select", "NN1"), 1), (("--select", "NN10"), 1), (("--select", "ALL"), 1),
        (("--ignore", "NN1"), 0), (("--ignore", "nn101"), 0), (("--select", "NN1", "--ignore", "NN101"), 0),
        (("--ignore", "NN1", "--extend-select", "NN101"), 1), (("--extend-ignore", "NN10"), 0),
        (("--select", "NN0"), 0),
    ]:
        result = run_cli("-q", *args, ".")
        assert result.exit_code == expected, args


def test_version_help_rules_and_rule(run_cli):
    from nnlint import __version__

    assert run_cli("--version").stdout.strip() == f"nnlint, version {__version__}"
    assert "check" in run_cli("--help").stdout and "--select" in run_cli("check", "--help").stdout
    rules = run_cli("rules").stdout
    assert "NN101  dropout-before-batchnorm" in rules
    row = next(line for line in rules.splitlines() if line.startswith("NN101"))
    assert row.split()[2:6] == ["W", "on", "S,F,O", "yes"]
    listed = json.loads(run_cli("rules", "--output-format", "json").stdout)
    assert {"code": "NN101", "name": "dropout-before-batchnorm", "severity": "W", "default": True,
            "front_ends": ["source", "torch.fx", "onnx"], "fixable": True}.items() <= listed[[r["code"] for r in listed].index("NN101")].items()
    page = run_cli("rule", "NN101")
    assert page.exit_code == 0 and page.stdout.startswith("# NN101 dropout-before-batchnorm") and "## Why is this bad?" in page.stdout
    assert run_cli("rule", "nn101").stdout == page.stdout
    missing = run_cli("rule", "NN999")
    assert missing.exit_code == 2 and "NN999" in missing.stderr


def test_python_dash_m_runs_the_cli(project):
    project("net.py", BUGGY_SEQUENTIAL)
    proc = subprocess.run([sys.executable, "-m", "nnlint", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "Usage:" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "nnlint", "net.py"], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stdout.startswith("net.py:3:38: NN101")
