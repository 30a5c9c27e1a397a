"""Never crash, never lose a file, as properties.

Generated valid programs (hypothesmith) and byte-level mutations of the fixtures (truncation,
bit flips, inserted NULs, re-indented lines, duplicated blocks) go through the whole engine:
no NN000, no traceback, and the other files of the run are reported exactly as without the
mutated one. The runs are derandomized and bounded so CI stays fast; for a long local run:

    NNLINT_FUZZ_EXAMPLES=2000 python -m pytest tests/test_robustness.py

A failure found here is a front-end bug to fix (the front end must never raise).
"""

import os
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnlint.engine import lint_sources
from nnlint.testing import settings as lint_settings

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("NNLINT_FUZZ_EXAMPLES", "20"))
BOUNDED = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))
EVERYTHING = lint_settings(select=["ALL"])

# standalone fixtures (no imports between them): the mutated file cannot change their findings
FIXTURES = sorted(p for p in (REPO / "fixtures").rglob("*.py") if "project" not in str(p.parent.name))
WITNESSES = [REPO / "fixtures" / "buggy" / name for name in ("tf_port.py", "lstm_forecaster.py", "mnist_script.py")]


def _witness_sources() -> list[tuple[str, bytes]]:
    return [(str(p.relative_to(REPO)), p.read_bytes()) for p in WITNESSES]


BASELINE = None


def _baseline() -> list:
    global BASELINE
    if BASELINE is None:
        BASELINE = lint_sources(_witness_sources(), EVERYTHING)
    return BASELINE


def _no_internal_errors(diagnostics) -> None:
    internal = [f"{d.path}:{d.line}: {d.message}" for d in diagnostics if d.code == "NN000"]
    assert internal == []


@BOUNDED
@given(hypothesmith.from_grammar(auto_target=False))
def test_generated_programs_never_give_an_internal_error(program):
    diagnostics = lint_sources([("generated.py", program.encode("utf-8", "surrogatepass"))], EVERYTHING)
    _no_internal_errors(diagnostics)


@BOUNDED
@given(hypothesmith.from_node(auto_target=False))
def test_generated_syntax_trees_never_give_an_internal_error(program):
    diagnostics = lint_sources([("generated.py", program.encode("utf-8", "surrogatepass"))], EVERYTHING)
    _no_internal_errors(diagnostics)


def mutate(data: bytes, kind: str, a: int, b: int) -> bytes:
    """One byte-level damage of a source file; a and b pick where (taken modulo the size)."""
    n = max(len(data), 1)
    i, j = sorted((a % n, b % n))
    if kind == "truncate":
        return data[:i]
    if kind == "flip":
        return data[:i] + bytes([data[i] ^ (1 << (b % 8))]) + data[i + 1:] if data else data
    if kind == "nul":
        return data[:i] + b"\x00" * (1 + b % 3) + data[i:]
    lines = data.splitlines(keepends=True)
    if not lines:
        return data
    k, m = a % len(lines), b % len(lines)
    if kind == "reindent":
        return b"".join(lines[:k] + [b" " * (1 + b % 7) + lines[k]] + lines[k + 1:])
    if kind == "dedent":
        return b"".join(lines[:k] + [lines[k].lstrip(b" \t")] + lines[k + 1:])
    if kind == "duplicate":
        k, m = min(k, m), max(k, m)
        block = lines[k:m + 1][:20]
        return b"".join(lines[:m + 1] + block + lines[m + 1:])
    if kind == "tabs":
        return data.replace(b"    ", b"\t", 1 + a % 5)
    raise ValueError(kind)


KINDS = ["truncate", "flip", "nul", "reindent", "dedent", "duplicate", "tabs"]


@BOUNDED
@given(st.sampled_from(FIXTURES), st.sampled_from(KINDS), st.integers(0, 1 << 20), st.integers(0, 1 << 20))
def test_mutated_fixtures_never_give_an_internal_error_nor_lose_other_files(fixture, kind, a, b):
    damaged = mutate(fixture.read_bytes(), kind, a, b)
    diagnostics = lint_sources([*_witness_sources(), ("mutated/" + fixture.name, damaged)], EVERYTHING)
    _no_internal_errors(diagnostics)
    others = [d for d in diagnostics if not d.path.startswith("mutated/")]
    assert others == _baseline()


@pytest.mark.parametrize("kind", KINDS)
def test_each_mutation_changes_the_bytes(kind):
    data = (REPO / "fixtures" / "buggy" / "tf_port.py").read_bytes()
    assert mutate(data, kind, 56, 678) != data  # line 57 is indented

