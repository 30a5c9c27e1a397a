"""Jupyter notebooks: code cells are one module, positions name the cell, IPython syntax is
blanked, bad notebooks are NN002 and never a traceback."""

import json

import pytest

from nnlint.engine import FileSettings, lint_source
from nnlint.notebook import read_notebook
from nnlint.files import Unreadable
from nnlint.selection import resolve_selection


def notebook(*cells, language="python", nbformat=4, as_string=False):
    """An nbformat-4 notebook: each cell is ("code"|"markdown"|"raw", text)."""
    out = []
    for kind, text in cells:
        lines = text.split("\n")
        source = text if as_string else [line + "\n" for line in lines[:-1]] + [lines[-1]]
        cell = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)
    meta = {"kernelspec": {"display_name": language, "language": language, "name": language}}
    return json.dumps({"cells": out, "metadata": meta, "nbformat": nbformat, "nbformat_minor": 5}, indent=1)


IMPORTS = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F"
MODEL = """class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)"""
TRAIN = """model = Net()
criterion = nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    opt.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    opt.step()"""
BLOCK = "head = nn.Sequential(nn.Linear(64, 64), nn.Dropout(0.5), nn.BatchNorm1d(64))"


def lines_of(result):
    return [line for line in result.stdout.splitlines()]


def test_cells_are_one_program_and_positions_name_the_cell(project, run_cli):
    project("train.ipynb", notebook(("markdown", "# Train"), ("code", IMPORTS), ("code", MODEL),
                                          ("markdown", "## Loop"), ("code", TRAIN)))
    result = run_cli("-q", "train.ipynb")
    assert result.exit_code == 1
    assert [line.split(" NN")[0] + " NN" + line.split(" NN")[1][:3] for line in result.lines] == [
        "train.ipynb:cell 5:6:12: NN201"]


def test_json_gives_cell_relative_positions_and_related_cells(project, run_cli):
    project("train.ipynb", notebook(("code", IMPORTS), ("code", MODEL), ("code", TRAIN)))
    project("plain.py", IMPORTS + "\n" + BLOCK + "\n")
    found = json.loads(run_cli("-q", "--output-format", "json", ".").stdout)
    by_code = {(d["path"], d["code"]): d for d in found}
    nn201 = by_code[("train.ipynb", "NN201")]
    assert (nn201["cell"], nn201["line"], nn201["column"], nn201["end_line"]) == (3, 6, 12, 6)
    assert [(r["path"], r["cell"], r["line"]) for r in nn201["related"]] == [("train.ipynb", 2, 7)]
    nn101 = by_code[("plain.py", "NN101")]
    assert (nn101["cell"], nn101["line"], nn101["column"]) == (None, 4, 41)


def test_ipython_syntax_is_blanked_keeping_line_numbers(project, run_cli):
    cell = "\n".join([
        "%matplotlib inline",
        "!pip install -q torch",
        "files = !ls data",
        "nn.Linear?",
        "??nn.Dropout",
        "for name in files:",
        "    !echo $name",
        'doc = """does it work?',
        "%not a magic inside a string",
        '"""',
        "x = 7 % 2",
        BLOCK,
    ])
    project("nb.ipynb", notebook(("code", IMPORTS), ("code", cell)))
    result = run_cli("-q", "nb.ipynb")
    assert [line[:len("nb.ipynb:cell 2:12:41: NN101")] for line in result.lines] == ["nb.ipynb:cell 2:12:41: NN101"]


def test_python_cell_magics_keep_their_body_other_cell_magics_blank_the_cell(project, run_cli):
    project("nb.ipynb", notebook(
        ("code", IMPORTS),
        ("code", "%%time\n" + BLOCK),
        ("code", "%%capture out\n" + BLOCK),
        ("code", "%%bash\nfor f in *; do echo $f; done\n" + BLOCK),
        ("code", "%%writefile model.py\n" + BLOCK),
    ))
    result = run_cli("-q", "nb.ipynb")
    assert [line.split(": ")[0] + ": " + line.split(": ")[1][:5] for line in result.lines] == [
        "nb.ipynb:cell 2:2:41: NN101", "nb.ipynb:cell 3:2:41: NN101"]


def test_a_cell_that_does_not_compile_is_nn001_and_the_other_cells_are_analysed(project, run_cli):
    project("nb.ipynb", notebook(("code", IMPORTS), ("code", "def broken(:\n    pass"), ("code", BLOCK)))
    try:
        compile("def broken(:\n    pass\n", "x", "exec")
    except SyntaxError as exc:
        column = exc.offset  # CPython's own column, whatever its version
    result = run_cli("-q", "nb.ipynb")
    assert [" ".join(line.split(" ")[:3]) for line in result.lines] == [
        f"nb.ipynb:cell 2:1:{column}: NN001", "nb.ipynb:cell 3:1:41: NN101"]


def test_noqa_per_line_and_file_level_inside_cells(project, run_cli):
    project("a.ipynb", notebook(("code", IMPORTS), ("code", BLOCK + "  # noqa: NN101"), ("code", BLOCK)))
    assert [line[:len("a.ipynb:cell 3:1:41")] for line in run_cli("-q", "a.ipynb").lines] == ["a.ipynb:cell 3:1:41"]
    project("b.ipynb", notebook(("code", IMPORTS), ("code", "# nnlint: noqa"), ("code", BLOCK)))
    assert run_cli("-q", "b.ipynb").lines == []


def test_source_as_a_string_rather_than_a_list(project, run_cli):
    project("nb.ipynb", notebook(("code", IMPORTS + "\n" + BLOCK), as_string=True))
    assert [line[:len("nb.ipynb:cell 1:4:41: NN101")] for line in run_cli("-q", "nb.ipynb").lines] == [
        "nb.ipynb:cell 1:4:41: NN101"]


def test_other_kernels_are_skipped(project, run_cli):
    project("r.ipynb", notebook(("code", "library(torch)\nx <- 1"), language="R"))
    result = run_cli("-q", "r.ipynb")
    assert (result.exit_code, result.lines) == (0, [])


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not a notebook: invalid JSON"),
    ('{"cells": 3, "nbformat": 4}', "not a notebook: no 'cells' list"),
    ('[1, 2]', "not a notebook: no 'cells' list"),
    (json.dumps({"worksheets": [{"cells": []}], "nbformat": 3}), "nbformat 3 notebook: only nbformat 4 is read"),
    (json.dumps({"cells": [], "nbformat": 5, "metadata": {}}), "nbformat 5 notebook: only nbformat 4 is read"),
    ("[" * 100000, "not a notebook"),
])
def test_bad_notebooks_are_nn002_with_the_reason(project, run_cli, content, reason):
    project("bad.ipynb", content)
    project("good.py", IMPORTS + "\n" + BLOCK + "\n")
    result = run_cli("-q", ".")
    assert result.exit_code == 1
    assert result.lines[0].startswith(f"bad.ipynb:1:1: NN002 {reason}")
    assert result.lines[1].startswith("good.py:4:41: NN101")


def test_the_size_limit_applies_to_the_code_not_to_stored_outputs(project, run_cli):
    text = json.loads(notebook(("code", IMPORTS + "\n" + BLOCK)))
    text["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["x" * 4000]}]
    project("big_outputs.ipynb", json.dumps(text))
    project("pyproject.toml", "[tool.nnlint]\nmax-source-bytes = 1000\n")
    assert [line[:len("big_outputs.ipynb:cell 1:4:41: NN101")] for line in run_cli("-q", ".").lines] == [
        "big_outputs.ipynb:cell 1:4:41: NN101"]
    project("big_code.ipynb", notebook(("code", IMPORTS + "\n" + BLOCK + "\n" + "# padding\n" * 200)))
    assert any(line.startswith("big_code.ipynb:1:1: NN002 code cells are") for line in run_cli("-q", ".").lines)


def test_directories_are_walked_for_notebooks_and_excludes_apply(project, run_cli):
    project("nbs/a.ipynb", notebook(("code", IMPORTS + "\n" + BLOCK)))
    project("nbs/scratch/b.ipynb", notebook(("code", IMPORTS + "\n" + BLOCK)))
    result = run_cli("-q", "--extend-exclude", "scratch", ".")
    assert [line.split(":")[0] for line in result.lines] == ["nbs/a.ipynb"]


def test_a_notebook_importing_a_project_module_gets_cross_file_answers(project, run_cli):
    project("models.py", IMPORTS + "\n\n\n" + MODEL + "\n")
    project("train.ipynb", notebook(("code", IMPORTS + "\nfrom models import Net"), ("code", TRAIN)))
    result = run_cli("-q", ".")
    assert [line[:len("train.ipynb:cell 2:6:12: NN201")] for line in result.lines] == ["train.ipynb:cell 2:6:12: NN201"]


def test_show_source_prints_the_cell_line_as_written(project, run_cli):
    project("nb.ipynb", notebook(("code", IMPORTS), ("code", "%time x = 1\n" + BLOCK)))
    result = run_cli("-q", "--show-source", "nb.ipynb")
    assert result.lines[1:] == [BLOCK, " " * 40 + "^"]


def test_file_lines_point_into_the_ipynb_json():
    text = notebook(("markdown", "# T"), ("code", IMPORTS), ("code", "%%time\n" + BLOCK))
    source = read_notebook("nb.ipynb", text.encode())
    raw = text.splitlines()
    module_line = source.cells[1].start + 1  # BLOCK, second line of cell 3
    assert source.locate(module_line) == (3, 2)
    assert BLOCK.replace('"', '\\"') in raw[source.file_line(module_line) - 1]


def test_the_per_file_step_never_raises_on_mutated_notebooks():
    settings = FileSettings(resolve_selection(["ALL"], [], [], []))
    base = notebook(("code", IMPORTS), ("code", MODEL), ("code", TRAIN)).encode()
    for cut in range(0, len(base), 97):
        for data in (base[:cut], base[:cut] + b"\x00" + base[cut:], base[:cut] + b'"' + base[cut:]):
            result = lint_source("nb.ipynb", data, settings)
            assert not result.internal_error
            assert all(d.code != "NN000" for d in result.diagnostics)


def test_reading_a_non_notebook_raises_unreadable():
    with pytest.raises(Unreadable):
        read_notebook("x.ipynb", b"\xff\xfe garbage")


LOG_SOFTMAX = "def score(logits):\n    return torch.log(F.softmax(logits, dim=1))"


def test_rewrite_cells_changes_only_the_edited_cell_and_keeps_every_other_byte():
    from nnlint.fixes import apply_fixes
    from nnlint.notebook import rewrite_cells

    text = notebook(("code", IMPORTS), ("code", "%time x = 1\n" + LOG_SOFTMAX), ("markdown", "done ✓"))
    document = json.loads(text)
    document["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["CPU times: 1 µs\n"]}]
    document["metadata"]["widgets"] = {"state": {}}
    data = json.dumps(document, indent=1, ensure_ascii=False).encode()
    source = read_notebook("nb.ipynb", data)
    fixed, applied = apply_fixes("nb.ipynb.py", source.text, FileSettings(resolve_selection(None, [], [], [])))
    assert [d.code for d in applied] == ["NN208"]
    new = rewrite_cells(data, source, fixed)
    expected = dict(document)
    expected["cells"] = [dict(c) for c in document["cells"]]
    expected["cells"][1]["source"] = ["%time x = 1\n", "def score(logits):\n",
                                      "    return F.log_softmax(logits, dim=1)"]
    assert new == json.dumps(expected, indent=1, ensure_ascii=False).encode()


def test_rewrite_cells_refuses_an_edit_that_reaches_a_magic_line():
    from nnlint.notebook import rewrite_cells

    data = notebook(("code", "!ls\nx = 1")).encode()
    source = read_notebook("nb.ipynb", data)
    assert rewrite_cells(data, source, "pass  # changed\nx = 1\n") is None
    assert rewrite_cells(data, source, "pass\nx = 2\n") == notebook(("code", "!ls\nx = 2")).encode()


def _fixable_notebook():
    document = json.loads(notebook(("code", IMPORTS), ("code", "%time x = 1\n" + LOG_SOFTMAX),
                                   ("code", BLOCK)))
    document["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["CPU times: 1 µs\n"]}]
    return document


def test_fix_writes_only_the_edited_cell_and_a_second_run_changes_nothing(project, run_cli):
    document = _fixable_notebook()
    path = project("nb.ipynb", json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    result = run_cli("-q", "--fix", "nb.ipynb")
    assert [" ".join(line.split(" ")[:3]) for line in result.lines] == ["nb.ipynb:cell 3:1:41: NN101"]
    document["cells"][1]["source"][-1] = "    return F.log_softmax(logits, dim=1)"
    assert path.read_text(encoding="utf-8") == json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    before = path.read_bytes()
    run_cli("-q", "--fix", "nb.ipynb")
    assert path.read_bytes() == before


def test_diff_shows_the_notebook_json_change_and_writes_nothing(project, run_cli):
    path = project("nb.ipynb", json.dumps(_fixable_notebook(), indent=1))
    before = path.read_bytes()
    result = run_cli("-q", "--diff", "nb.ipynb")
    assert result.exit_code == 1
    assert [line for line in result.lines if line.startswith(("-  ", "+  "))] == [
        '-    "    return torch.log(F.softmax(logits, dim=1))"', '+    "    return F.log_softmax(logits, dim=1)"']
    assert path.read_bytes() == before


def test_add_noqa_writes_into_the_reported_cell_lines(project, run_cli):
    path = project("nb.ipynb", notebook(("code", IMPORTS), ("code", "!nvidia-smi\n" + BLOCK)))
    run_cli("-q", "--add-noqa", "nb.ipynb")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert cells[1]["source"] == ["!nvidia-smi\n", BLOCK + "  # noqa: NN101"]
    assert run_cli("-q", "nb.ipynb").lines == []
