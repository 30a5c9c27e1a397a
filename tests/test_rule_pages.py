"""Every rule page in rules/ is documentation users read and a test: each Bad example
produces exactly its rule, each Good example nothing."""

import pytest

from nnlint.docs import examples, rule_page, rules_dir
from nnlint.registry import all_rules
from nnlint.testing import lint

RULES = all_rules()
PAGES = sorted(p.stem for p in rules_dir().glob("NN*.md"))
EXAMPLES = [ex for code in PAGES for ex in examples(code, rule_page(code))]


def test_every_rule_has_a_page_and_every_page_a_rule():
    assert PAGES == sorted(RULES)


@pytest.mark.parametrize("code", [c for c in PAGES if not c.startswith("NN0")])
def test_page_has_the_five_sections_and_examples(code):
    page = rule_page(code)
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Options", "## References"):
        assert heading in page, f"{code}.md lacks {heading}"
    kinds = [ex.kind for ex in examples(code, page)]
    assert kinds.count("bad") >= 1 and kinds.count("good") >= 1


def run_example(example):
    """Lint one example with the default rules plus the page's own rule."""
    if example.language == "python":
        return lint(example.text, path=f"{example.code}_{example.kind}{example.index}.py", extend_select=[example.code])
    if example.language == "onnx":
        return _lint_onnx_example(example)
    if example.language == "fx":
        return _lint_fx_example(example)
    raise AssertionError(f"no runner for ```{example.language} blocks in {example.code}.md")


def _lint_onnx_example(example):
    """```onnx blocks: Python that builds a graph with onnx.helper and leaves it in `model`;
    it is serialized to a temporary .onnx file and linted like `nnlint file.onnx`."""
    import tempfile
    from pathlib import Path

    from nnlint.diagnostics import Diagnostic
    from nnlint.engine import lint_file
    from nnlint.testing import settings

    namespace: dict = {}
    exec(compile(example.text, f"{example.code}.md", "exec"), namespace)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, f"{example.code}_{example.kind}{example.index}.onnx")
        path.write_bytes(namespace["model"].SerializeToString())
        result = lint_file(str(path), settings(extend_select=[example.code]))
    return sorted(result.diagnostics, key=Diagnostic.sort_key)


def _lint_fx_example(example):
    """```fx blocks: a Python module defining a model; it is traced like
    `nnlint --trace module:make` (the `make` function, else the last class the block defines)."""
    import ast
    import sys
    import tempfile
    from pathlib import Path

    from nnlint.diagnostics import Diagnostic
    from nnlint.testing import settings
    from nnlint.trace import parse_target, trace_diagnostics

    tree = ast.parse(example.text)
    names = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    factory = "make" if "make" in names else [n.name for n in tree.body if isinstance(n, ast.ClassDef)][-1]
    module = f"{example.code}_{example.kind}{example.index}_fx"
    run = settings(extend_select=[example.code])
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, f"{module}.py").write_text(example.text, encoding="utf-8")
        sys.path.insert(0, tmp)
        try:
            found, _ = trace_diagnostics([parse_target(f"{module}:{factory}")], run, lambda path: run)
        finally:
            sys.path.remove(tmp)
            sys.modules.pop(module, None)
    return sorted(found, key=Diagnostic.sort_key)


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "bad"], ids=lambda e: f"{e.code}-bad{e.index}")
def test_bad_example_produces_exactly_its_rule(example):
    found = {d.code for d in run_example(example)}
    assert found == {example.code}


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "good"], ids=lambda e: f"{e.code}-good{e.index}")
def test_good_example_is_clean(example):
    assert run_example(example) == []
