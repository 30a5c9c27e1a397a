"""nnlint.source.positions gives every node the span libcst's PositionProvider gives it."""

from pathlib import Path

import libcst as cst
import pytest

from nnlint.diagnostics import Span
from nnlint.source import SourceFile
from nnlint.source.positions import Positions

FIXTURES = sorted(Path(__file__).resolve().parent.parent.joinpath("fixtures").rglob("*.py"))

ODD = '''\
#!/usr/bin/env python
# a header comment

@decorator(
    arg=1,
)
class Net(nn.Module):  # trailing comment
    """Docstring
    over lines."""

    def forward(self, x, *, y=lambda q: q ** 2):
        if x: return x; pass
        elif y:
            x = [i for i in range(3) if i]  # comment
        else:
            x = (
                x
                + 1
            )
        text = f"{x!r:>{10}} {'é' * 2}" \\
            "next"
        with open(p) as (a, b), g():
            del a
        try:
            pass
        except* ValueError as e:
            raise
        match x:
            case [1, *rest] if rest:
                return {**x}
        return x[1:2, ...]
    # a dedented comment at the end of the class body
if True:
\ttabbed = 1 if True else 2
'''


def _reference(module: cst.Module) -> dict:
    wrapper = cst.metadata.MetadataWrapper(module, unsafe_skip_copy=True)
    return wrapper.resolve(cst.metadata.PositionProvider)


def _assert_same(text: str) -> int:
    """Asked in source order, in reverse order (the code is generated only as far as asked) and
    interleaved, every node's span is libcst's."""
    module = cst.parse_module(text)
    reference = list(_reference(module).items())
    half = len(reference) // 2
    interleaved = [x for pair in zip(reference[half:], reference[:half]) for x in pair] + reference[2 * half:]
    for order in (reference, reference[::-1], interleaved):
        positions = Positions(module, text)
        for node, where in order:
            assert positions.span(node) == Span(where.start.line, where.start.column + 1, where.end.line,
                                                where.end.column + 1), (type(node).__name__, SourceFile.code(node))
    return len(reference)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_every_node_of_the_fixtures_has_libcsts_span(path):
    assert _assert_same(path.read_text(encoding="utf-8")) > 10


@pytest.mark.parametrize("text", [ODD, ODD.replace("\t", "    ") + "x = 1", "", "\n", "# only a comment", "x = 1"],
                         ids=["odd", "no-trailing-newline", "empty", "newline", "comment", "one-line"])
def test_every_node_of_odd_code_has_libcsts_span(text):
    _assert_same(text)


def test_carriage_returns_fall_back_to_libcst():
    assert _assert_same(ODD.replace("\n", "\r\n")) > 100
    assert _assert_same("x = 1\ry = (2,\r 3)\r") > 5


def test_a_node_of_another_tree_has_no_span():
    positions = Positions(cst.parse_module("x = 1\n"))
    assert positions.span(cst.Name("x")) == Span.point()


def test_the_sourcefile_spans_a_call_where_it_is_written():
    source = SourceFile.parse("m.py", "import torch\n\n\ny = torch.softmax(\n    x, dim=1)\n")
    call = source.module.body[1].body[0].value
    assert source.span(call) == Span(4, 5, 5, 14)
