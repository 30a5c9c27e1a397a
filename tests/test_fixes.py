"""Autofix and --add-noqa: nnlint.fixes on in-memory text, and the CLI flags as a user runs them."""

import textwrap

import pytest

from nnlint import fixes
from nnlint.diagnostics import Diagnostic, Edit, Fix, Span
from nnlint.engine import FileSettings
from nnlint.fixes import add_noqa, apply_fixes
from nnlint.registry import all_rules
from nnlint.selection import resolve_selection

SETTINGS = FileSettings(resolve_selection(None, [], [], []))

DROPOUT_AND_LOG = textwrap.dedent("""\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(10, 2)

        def forward(self, x):
            x = F.dropout(self.fc(x), 0.5)  # regularize
            return torch.log(F.softmax(x, dim=1))
    """)

DROPOUT_AND_LOG_FIXED = DROPOUT_AND_LOG.replace(
    "F.dropout(self.fc(x), 0.5)", "F.dropout(self.fc(x), 0.5, training=self.training)").replace(
    "torch.log(F.softmax(x, dim=1))", "F.log_softmax(x, dim=1)")


def fixed(text, unsafe=False, path="net.py"):
    new, applied = apply_fixes(path, text, SETTINGS, unsafe)
    again, more = apply_fixes(path, new, SETTINGS, unsafe)
    assert (again, more) == (new, []), "a second --fix run must change nothing"
    return new, [d.code for d in applied]


def test_safe_fixes_nn108_and_nn208_give_this_exact_text_and_a_second_run_changes_nothing():
    assert fixed(DROPOUT_AND_LOG) == (DROPOUT_AND_LOG_FIXED, ["NN108", "NN208"])


def test_overlapping_fixes_are_applied_over_several_rounds():
    text = DROPOUT_AND_LOG.replace("x = F.dropout(self.fc(x), 0.5)  # regularize\n        ", "").replace(
        "F.softmax(x, dim=1)", "F.softmax(F.dropout(x, 0.5), dim=1)")
    new, codes = fixed(text)
    assert codes == ["NN208", "NN108"]  # the log call holds the dropout call: one per round
    assert "return F.log_softmax(F.dropout(x, 0.5, training=self.training), dim=1)\n" in new


def test_noqa_and_per_file_settings_are_honoured():
    text = DROPOUT_AND_LOG.replace("# regularize", "# noqa: NN108")
    assert fixed(text)[1] == ["NN208"]
    assert apply_fixes("net.py", DROPOUT_AND_LOG, SETTINGS.without(frozenset({"NN208"})))[1][0].code == "NN108"


def test_clean_and_unparsable_text_are_returned_unchanged():
    assert apply_fixes("net.py", "import torch\n", SETTINGS) == ("import torch\n", [])
    assert apply_fixes("net.py", "def f(:\n", SETTINGS) == ("def f(:\n", [])


def _offering(monkeypatch, *diagnostics):
    """Make the linter offer exactly these diagnostics on every round."""
    monkeypatch.setattr(fixes, "_lint", lambda path, text, settings: list(diagnostics))


def test_a_fix_that_breaks_parsing_is_dropped_with_nn000_and_the_others_still_apply(monkeypatch):
    breaks = Diagnostic("m.py", Span(1, 1, 1, 6), "NN108", "x", fix=Fix("bad", (Edit(Span(1, 1, 1, 2), "("),)))
    works = Diagnostic("m.py", Span(2, 1, 2, 2), "NN208", "y", fix=Fix("good", (Edit(Span(2, 1, 2, 2), "z"),)))
    _offering(monkeypatch, breaks, works)
    problems = []
    new, applied = apply_fixes("m.py", "a = 1\nb = 2\n", SETTINGS, problems=problems)
    assert (new, [d.code for d in applied]) == ("a = 1\nz = 2\n", ["NN208"])
    assert [(p.path, p.line, p.code) for p in problems] == [("m.py", 1, "NN000")]
    assert problems[0].message == ("internal error in NN108 (functional-dropout-always-on): its fix does not parse; "
                                   "the fix was not applied")


def test_fixes_of_another_file_and_unsafe_fixes_are_not_applied(monkeypatch):
    other = Diagnostic("models.py", Span(1, 1, 1, 2), "NN108", "x", fix=Fix("m", (Edit(Span(1, 1, 1, 2), "b"),)))
    unsafe = Diagnostic("m.py", Span(1, 1, 1, 2), "NN101", "x", fix=Fix("m", (Edit(Span(1, 1, 1, 2), "c"),), safe=False))
    _offering(monkeypatch, other, unsafe)
    assert apply_fixes("m.py", "a = 1\n", SETTINGS) == ("a = 1\n", [])
    assert apply_fixes("m.py", "a = 1\n", SETTINGS, unsafe=True)[0] == "c = 1\n"


def test_a_fix_that_never_converges_stops_after_the_round_limit(monkeypatch):
    grows = Diagnostic("m.py", Span(1, 1, 1, 1), "NN108", "x", fix=Fix("m", (Edit(Span(1, 1, 1, 1), "#"),)))
    _offering(monkeypatch, grows)
    assert apply_fixes("m.py", "a = 1\n", SETTINGS)[0] == "#" * fixes.MAX_ROUNDS + "a = 1\n"


def test_edits_count_columns_in_code_points_and_keep_crlf():
    text = "s = 'é😀'; t = 1\r\nu = 2\r\n"
    assert fixes.apply_edits(text, [Edit(Span(1, 11, 1, 12), "T"), Edit(Span(2, 5, 2, 6), "3")]) == \
        "s = 'é😀'; T = 1\r\nu = 3\r\n"


# -- add_noqa -----------------------------------------------------------------------------
@pytest.mark.parametrize("line, codes, expected", [
    ("x = 1\n", ["NN105"], "x = 1  # noqa: NN105\n"),
    ("x = 1   \n", ["NN105", "NN101"], "x = 1  # noqa: NN101, NN105\n"),
    ("x = 1  # noqa: NN101\n", ["NN105"], "x = 1  # noqa: NN101, NN105\n"),
    ("x = 1  # noqa:NN101,NN2\n", ["NN105"], "x = 1  # noqa: NN101, NN2, NN105\n"),
    ("x = 1  # noqa: NN101 dropout is deliberate\n", ["NN105"], "x = 1  # noqa: NN101, NN105 dropout is deliberate\n"),
    ("x = 1  # noqa: NN1\n", ["NN105"], "x = 1  # noqa: NN1\n"),
    ("x = 1  # noqa\n", ["NN105"], "x = 1  # noqa\n"),
    ("x = 1  # the width\n", ["NN105"], "x = 1  # the width  # noqa: NN105\n"),
    ("x = 1", ["NN105"], "x = 1  # noqa: NN105"),
    ("x = 1\r\n", ["NN105"], "x = 1  # noqa: NN105\r\n"),
])
def test_add_noqa_writes_or_merges_the_comment(line, codes, expected):
    assert add_noqa(line, 1, codes) == expected


def test_add_noqa_goes_on_the_reported_line_of_a_multiline_statement():
    text = "net = nn.Sequential(\n    nn.Dropout(0.5),\n    nn.BatchNorm1d(8),\n)\n"
    assert add_noqa(text, 2, ["NN101"]) == "net = nn.Sequential(\n    nn.Dropout(0.5),  # noqa: NN101\n    nn.BatchNorm1d(8),\n)\n"


def test_add_noqa_leaves_lines_that_cannot_end_in_a_comment():
    in_string = 'doc = """\nline\n"""\n'
    continued = "x = 1 + \\\n    2\n"
    assert add_noqa(in_string, 1, ["NN101"]) == in_string
    assert add_noqa(in_string, 2, ["NN101"]) == in_string
    assert add_noqa(in_string, 3, ["NN101"]) == 'doc = """\nline\n"""  # noqa: NN101\n'
    assert add_noqa(continued, 1, ["NN101"]) == continued
    assert add_noqa("def f(:\n", 1, ["NN101"]) == "def f(:\n"


# -- the command line ---------------------------------------------------------------------
SEQUENTIAL_DROPOUT = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def forward(self, x):
        return F.dropout(x, 0.5)
"""


def test_fix_writes_the_file_prints_what_remains_and_exits_like_ruff(project, run_cli):
    path = project("net.py", DROPOUT_AND_LOG)
    result = run_cli("--fix", "--show-fixes", "net.py")
    assert path.read_text() == DROPOUT_AND_LOG_FIXED
    assert result.exit_code == 0
    assert result.stdout == ("\nFixed 2 problems:\n- net.py:\n    1 × NN108 (functional-dropout-always-on)\n"
                             "    1 × NN208 (log-of-softmax)\n")
    assert result.stderr == "Found 2 problems (2 fixed, 0 remaining) (1 file checked).\n"
    again = run_cli("--fix", "net.py")
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "All checks passed (1 file checked).\n")
    assert path.read_text() == DROPOUT_AND_LOG_FIXED


def test_fix_exits_one_when_findings_remain(project, run_cli):
    from conftest import BUGGY_SEQUENTIAL

    project("net.py", DROPOUT_AND_LOG)
    project("seq.py", BUGGY_SEQUENTIAL)
    result = run_cli("--fix", ".")
    assert result.exit_code == 1
    assert [line.split(": ")[1].split()[0] for line in result.lines] == ["NN101"]
    assert result.stderr == "Found 3 problems (2 fixed, 1 remaining) (2 files checked).\n"


def test_without_fix_the_summary_says_how_many_are_fixable(project, run_cli):
    project("net.py", DROPOUT_AND_LOG)
    result = run_cli("net.py")
    assert result.exit_code == 1
    assert result.stderr == "Found 2 problems in 1 file (1 checked).\n[*] 2 fixable with the `--fix` option.\n"


def test_diff_prints_a_unified_diff_writes_nothing_and_exits_one(project, run_cli):
    path = project("net.py", DROPOUT_AND_LOG)
    result = run_cli("--diff", "net.py")
    assert path.read_text() == DROPOUT_AND_LOG
    assert result.exit_code == 1
    assert result.stdout == (
        "--- net.py\n+++ net.py\n@@ -9,5 +9,5 @@\n         self.fc = nn.Linear(10, 2)\n \n     def forward(self, x):\n"
        "-        x = F.dropout(self.fc(x), 0.5)  # regularize\n-        return torch.log(F.softmax(x, dim=1))\n"
        "+        x = F.dropout(self.fc(x), 0.5, training=self.training)  # regularize\n"
        "+        return F.log_softmax(x, dim=1)\n")
    assert result.stderr == "Would fix 2 problems.\n"
    path.write_text(DROPOUT_AND_LOG_FIXED)
    clean = run_cli("--diff", "net.py")
    assert (clean.exit_code, clean.stdout, clean.stderr) == (0, "", "No problems would be fixed.\n")


def test_fix_on_stdin_prints_the_fixed_source(project, run_cli):
    result = run_cli("--fix", "-", "--stdin-filename", "net.py", input=DROPOUT_AND_LOG)
    assert result.stdout == DROPOUT_AND_LOG_FIXED
    assert result.exit_code == 0


def test_fix_keeps_the_file_encoding(project, run_cli):
    text = "# -*- coding: latin-1 -*-\n# Modèle\n" + DROPOUT_AND_LOG
    path = project("net.py", data=text.encode("latin-1"))
    assert run_cli("--fix", "net.py").exit_code == 0
    assert path.read_bytes() == ("# -*- coding: latin-1 -*-\n# Modèle\n" + DROPOUT_AND_LOG_FIXED).encode("latin-1")


def test_fix_edits_only_the_linted_files(project, run_cli):
    """models.py is imported by train.py but not linted: its fixable finding stays as it is."""
    models = project("proj/models.py", DROPOUT_AND_LOG)
    project("proj/pyproject.toml", "")
    train = project("proj/train.py", "from models import Net\n" + SEQUENTIAL_DROPOUT.replace("class Net", "class Head")
                    + "\nmodel = Net()\n")
    before = train.read_text()
    result = run_cli("--fix", "proj/train.py")
    assert models.read_text() == DROPOUT_AND_LOG
    assert train.read_text() == before.replace("F.dropout(x, 0.5)", "F.dropout(x, 0.5, training=self.training)")
    assert result.exit_code == 0


def test_add_noqa_silences_every_finding_and_says_how_many_lines(project, run_cli):
    from conftest import BUGGY_SEQUENTIAL

    net = project("net.py", DROPOUT_AND_LOG)
    seq = project("seq.py", BUGGY_SEQUENTIAL.replace("nn.BatchNorm1d(8))", "nn.BatchNorm1d(8))  # noqa: NN105"))
    result = run_cli("--add-noqa", ".")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "Added 3 noqa directives.\n")
    assert net.read_text() == DROPOUT_AND_LOG.replace("# regularize", "# regularize  # noqa: NN108").replace(
        "dim=1))\n", "dim=1))  # noqa: NN208\n")
    assert seq.read_text().endswith("nn.BatchNorm1d(8))  # noqa: NN105, NN101\n")
    after = run_cli(".")
    assert (after.exit_code, after.stdout) == (0, "")
    assert run_cli("--add-noqa", ".").stderr == "Added 0 noqa directives.\n"


def test_rules_lists_the_fixable_rules(run_cli):
    import json

    listed = json.loads(run_cli("rules", "--output-format", "json").stdout)
    fixable = {r["code"] for r in listed if r["fixable"]}
    assert fixable == {code for code, rule in all_rules().items() if rule.fixable}
    assert {"NN108", "NN208"} <= fixable
