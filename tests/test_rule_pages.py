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
    if example.language == "probe":
        return _probe_examples()[example]
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


_PROBED: dict = {}


def _probe_examples():
    """```probe blocks: a Python module defining a model (the `make` function, else the last
    class), probed like `nnlint FILE --probe --trace module:make` with the options of its first
    line (`# nnlint --probe --probe-loss cross_entropy`). Every probe example of every page runs
    in ONE child process (importing torch costs seconds), once per test session."""
    if _PROBED:
        return _PROBED
    import ast
    import shlex
    import sys
    import tempfile
    from pathlib import Path

    from nnlint.diagnostics import Diagnostic
    from nnlint.engine import lint_source
    from nnlint.probe import ProbeOptions, probe_targets
    from nnlint.testing import settings
    from nnlint.trace import kept, parse_shape, parse_target

    probes = [e for e in EXAMPLES if e.language == "probe"]
    run = settings()
    with tempfile.TemporaryDirectory() as tmp:
        jobs, facts, paths = [], {}, {}
        for example in probes:
            module = f"{example.code}_{example.kind}{example.index}_probe"
            path = Path(tmp, f"{module}.py")
            path.write_text(example.text, encoding="utf-8")
            paths[example] = str(path)
            facts[str(path)] = lint_source(str(path), example.text.encode("utf-8"), run).facts
            tree = ast.parse(example.text)
            names = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            factory = "make" if "make" in names else [n.name for n in tree.body if isinstance(n, ast.ClassDef)][-1]
            words = shlex.split(example.text.splitlines()[0].lstrip("#"))
            value = {w: words[i + 1] for i, w in enumerate(words[:-1]) if w.startswith("--probe-") or w == "--input-shape"}
            shape = parse_shape(value["--input-shape"]) if "--input-shape" in value else None
            options = ProbeOptions(value.get("--probe-loss"), int(value.get("--probe-batch", 8)),
                                   int(value.get("--probe-steps", 0)))
            jobs.append((parse_target(f"{module}:{factory}", shape), options))
        sys.path.insert(0, tmp)
        try:
            outcome = probe_targets(jobs, run.enabled, {}, {p: f for p, f in facts.items() if f is not None})
        finally:
            sys.path.remove(tmp)
        found = kept(outcome.diagnostics, run, lambda path: run)
        for example in probes:
            _PROBED[example] = sorted((d for d in found if d.path == paths[example]), key=Diagnostic.sort_key)
    return _PROBED


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "bad"], ids=lambda e: f"{e.code}-bad{e.index}")
def test_bad_example_produces_exactly_its_rule(example):
    found = {d.code for d in run_example(example)}
    assert found == {example.code}


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "good"], ids=lambda e: f"{e.code}-good{e.index}")
def test_good_example_is_clean(example):
    assert run_example(example) == []
