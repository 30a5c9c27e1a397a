"""`# noqa` forms, file-level `# nnlint: noqa`, --disable-noqa; comments found with tokenize."""

import pytest

from nnlint.testing import codes

BUG = "m = nn.Sequential(nn.Dropout(), nn.BatchNorm1d(3))"


def src(suffix):
    return f"import torch.nn as nn\n{BUG}{suffix}\n"


@pytest.mark.parametrize("comment", [
    "  # noqa", "  # noqa: NN101", "  # noqa: NN1", "  # noqa:NN10", "  # NOQA: nn101", "  #noqa",
    "  # noqa: E501, NN101", "  # noqa: E501 NN101", "  # type: ignore # noqa: NN101",
])
def test_inline_noqa_forms_silence(comment):
    assert codes(src(comment)) == []


@pytest.mark.parametrize("comment", ["  # noqa: NN2", "  # noqa: NN102", "  # noqa: E501", "  # no qa", "  # nnlint: noqa"])
def test_noqa_for_other_codes_does_not_silence(comment):
    assert codes(src(comment)) == [(2, 19, "NN101")]


def test_noqa_in_a_string_does_nothing():
    source = 'import torch.nn as nn\nm = nn.Sequential(nn.Dropout(), nn.BatchNorm1d(3)); s = "# noqa"\n'
    assert codes(source) == [(2, 19, "NN101")]


def test_noqa_applies_to_its_own_line_only():
    source = "import torch.nn as nn\nm = nn.Sequential(  # noqa\n    nn.Dropout(),\n    nn.BatchNorm1d(3))\n"
    assert codes(source) == [(3, 5, "NN101")]


def test_file_level_noqa_on_its_own_line():
    assert codes("# nnlint: noqa\n" + src("")) == []
    assert codes(src("") + "# NNLINT: NOQA\n") == []
    # not on its own line: it is an inline comment, and not a noqa form
    assert codes(src("  # nnlint: noqa")) == [(2, 19, "NN101")]


def test_disable_noqa(project, run_cli):
    project("net.py", src("  # noqa: NN101"))
    assert run_cli("-q", ".").exit_code == 0
    assert run_cli("-q", "--disable-noqa", ".").lines[0].startswith("net.py:2:19: NN101")
