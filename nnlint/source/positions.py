"""Where the nodes of a parsed module are: libcst's syntactic positions at a fraction of the cost.

libcst's PositionProvider regenerates the module's code and, for every token and node, splits
the token at newlines and builds CodePosition and CodeRange objects: about twice the cost of the
parse itself, and it was the largest single cost of a cold run. The same code generation
keeping only character offsets (how much code was written before a node starts and ends)
costs about a fifth of that; offsets become lines and columns by bisection over the line
starts, only for the nodes asked about. The rules for which offsets a node gets are
PositionProvider's (before/after codegen, syntactic positions, start/end hoisted from child
nodes), so the spans are the same; a module holding a carriage return, where a newline could
in theory straddle two tokens, falls back to PositionProvider itself.
"""

from __future__ import annotations

from bisect import bisect_right
from contextlib import contextmanager
from functools import cache
from typing import Any, Iterator

from nnlint import lazy_libcst as cst

from nnlint.diagnostics import Span


class _OffsetState:
    """The methods of a libcst CodegenState that record offsets (the class is made on first
    use, on top of libcst's CodegenState: nnlint.lazy_libcst)."""

    __slots__ = ()

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.tokens.append(token)
            self.offset += len(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.offset += len(value)

    def before_codegen(self, node: Any) -> None:
        self.stack.append(self.offset)

    def after_codegen(self, node: Any) -> None:
        start = self.stack.pop()
        key = id(node)
        if key not in self.ranges:  # a syntactic position recorded inside wins (as in libcst)
            self.ranges[key] = (start, self.offset)

    def pop_trailing_newline(self) -> None:
        if self.tokens:  # the offset stays, as libcst's line and column do
            self.popped = self.tokens.pop()

    @contextmanager
    def record_syntactic_position(self, node: Any, *, start_node: Any = None, end_node: Any = None) -> Iterator[None]:
        start = self.offset
        try:
            yield
        finally:
            end = self.offset
            if start_node is not None:
                start = self.ranges[id(start_node)][0]
            if end_node is not None:
                end = self.ranges[id(end_node)][1]
            self.ranges[id(node)] = (start, end)


@cache
def _state_class() -> type:
    base = cst._nodes.internal.CodegenState
    return type("_OffsetCodegenState", (_OffsetState, base), {"__slots__": ("offset", "stack", "ranges", "popped")})


class Positions:
    """The spans of one module's nodes (`span(node)`). The code is generated lazily, one
    top-level statement at a time, only as far as the nodes asked about: a file's findings and
    facts are mostly in its first quarter (timm's models end with long tables of configs and
    registered constructors). Nodes are keyed by id(): the module is kept alive with them, so no
    id is reused while this object lives."""

    def __init__(self, module: Any, text: str | None = None) -> None:
        self._module = module
        self._provider: Any = None
        text = module.code if text is None else text  # the parsed text is the module's code
        if "\r" in text:
            wrapper = cst.metadata.MetadataWrapper(module, unsafe_skip_copy=True)
            self._provider = wrapper.resolve(cst.metadata.PositionProvider)
            return
        state = _state_class()(default_indent=module.default_indent, default_newline=module.default_newline)
        state.offset, state.stack, state.ranges, state.popped = 0, [], {}, ""
        state.before_codegen(module)  # Module._codegen, unrolled (libcst's Module._codegen_impl)
        self._state = state
        self._ranges: dict[int, tuple[int, int]] = state.ranges
        self._units = iter((*module.header, *module.body, *module.footer))
        self._done = False
        if not module.has_trailing_newline:
            text += "\n"  # generated, then popped by the module: nodes before it still end after it
        starts = [0]
        find = text.find
        at = find("\n")
        while at >= 0:
            starts.append(at + 1)
            at = find("\n", at + 1)
        self._starts = starts

    def _range(self, node: Any) -> tuple[int, int] | None:
        key = id(node)
        ranges = self._ranges
        while key not in ranges and not self._done:
            unit = next(self._units, None)
            if unit is not None:
                unit._codegen(self._state)
                continue
            module, state = self._module, self._state
            if not module.has_trailing_newline:
                state.pop_trailing_newline()
            elif not state.tokens:
                state.add_token(state.default_newline)
            state.after_codegen(module)
            self._done = True
        return ranges.get(key)

    def _point(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1

    def span(self, node: Any) -> Span:
        """Where `node` is (1-based lines and columns); Span.point() for a node of another tree."""
        if self._provider is not None:
            where = self._provider.get(node)
            if where is None:
                return Span.point()
            return Span(where.start.line, where.start.column + 1, where.end.line, where.end.column + 1)
        found = self._range(node)
        if found is None:
            return Span.point()
        return Span(*self._point(found[0]), *self._point(found[1]))
