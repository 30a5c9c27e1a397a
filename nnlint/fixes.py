"""Autofix and `# noqa` writing for one in-memory file: text in, text out (no disk, no printing).

`apply_fixes` is what `--fix`/`--diff` and the language server's fix-all run: lint the text,
apply every offered fix whose edits do not overlap an earlier one, re-lint, and repeat until
nothing is left to fix (at most MAX_ROUNDS rounds, as ruff does). A round whose result does not
parse keeps only the fixes that parse on their own; the others are dropped with an NN000.
`add_noqa` is what `--add-noqa` and the "Disable NNxxx for this line" code action run.

Fixes only ever edit the file they were reported in: a diagnostic of another path (a context
file read for its facts) is never applied here, and the CLI calls this only for linted files.
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import Iterable

from nnlint import lazy_libcst as cst

from nnlint.diagnostics import Diagnostic, Edit, Span
from nnlint.files import syntax_error
from nnlint.suppress import NOQA_INLINE, _CODE

MAX_ROUNDS = 10
_NEWLINE = re.compile(r"\r\n|\r|\n")


# -- text edits ----------------------------------------------------------------------------
def line_starts(text: str) -> list[int]:
    """Offset of each line's first character (lines as libcst and tokenize count them)."""
    return [0] + [m.end() for m in _NEWLINE.finditer(text)]


def _offset(starts: list[int], text: str, line: int, column: int) -> int:
    if line > len(starts):
        return len(text)
    return min(starts[line - 1] + column - 1, len(text))


def edit_range(starts: list[int], text: str, edit: Edit) -> tuple[int, int]:
    """An edit's [start, end) offsets in `text` (Span columns are 1-based code points)."""
    span = edit.span
    return _offset(starts, text, span.line, span.column), _offset(starts, text, span.end_line, span.end_column)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    if a[0] == a[1] == b[0] == b[1]:
        return True  # two insertions at one point: their order would be arbitrary
    return a[0] < b[1] and b[0] < a[1]


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """`text` with non-overlapping edits applied (callers check overlaps first)."""
    starts = line_starts(text)
    ranges = sorted(((edit_range(starts, text, e), e.content) for e in edits), key=lambda r: r[0], reverse=True)
    for (start, end), content in ranges:
        text = text[:start] + content + text[end:]
    return text


def parses(path: str, text: str) -> bool:
    """CPython compiles it and libcst parses it: what the linter needs of a fixed file."""
    try:
        if syntax_error(path, text) is not None:
            return False
        cst.parse_module(text)
    except Exception:  # noqa: BLE001 - Unreadable, ParserSyntaxError, RecursionError: does not parse
        return False
    return True


# -- edits rules build ------------------------------------------------------------------------
def one_line_code(node: cst.CSTNode) -> str | None:
    """A node's code as written, when it fits on one line. (libcst regenerates a multi-line
    node without the indentation of the block around it, so rules do not rewrite those.)"""
    from nnlint.source import SourceFile

    code = SourceFile.code(node)
    return None if "\n" in code or "\r" in code else code


def add_argument(call: cst.Call, argument: str) -> Edit | None:
    """An edit that appends `argument` (`bias=False`) to a call, touching only its last
    argument (or its empty parentheses); None when that part spans several lines."""
    if not call.args:
        code = one_line_code(call)
        return Edit(call, code[:-1].rstrip() + argument + ")") if code is not None and code.endswith(")") else None
    last = call.args[-1].value
    code = one_line_code(last)
    return Edit(last, f"{code}, {argument}") if code is not None else None


# -- the fix loop ----------------------------------------------------------------------------
def _lint(path: str, text: str, settings) -> list[Diagnostic]:
    from nnlint.engine import lint_sources

    return lint_sources([(path, encode_like(text, text))], settings)


def _fix_key(d: Diagnostic) -> tuple:
    return (d.code, d.fix.edits) if d.fix is not None else (d.code,)


def _broken(path: str, d: Diagnostic) -> Diagnostic:
    from nnlint.registry import get_rule

    rule = get_rule(d.code)
    name = f"{d.code} ({rule.name})" if rule is not None else d.code
    return Diagnostic(path, d.span, "NN000", f"internal error in {name}: its fix does not parse; the fix was not applied")


def apply_fixes(path: str, text: str, settings, unsafe: bool = False,
                problems: list[Diagnostic] | None = None) -> tuple[str, list[Diagnostic]]:
    """Fix one file in memory: (new text, the diagnostics whose fixes were applied, in order).

    Safe fixes only, unless `unsafe`. `settings` is the file's nnlint.engine.FileSettings (its
    per-file-ignores already applied); noqa comments are honoured. A fix that breaks parsing is
    skipped and, when `problems` is given, an NN000 for its rule is appended to it.
    """
    applied: list[Diagnostic] = []
    rejected: set[tuple] = set()
    for _ in range(MAX_ROUNDS):
        offered = [d for d in _lint(path, text, settings)
                   if d.fix is not None and d.fix.edits and d.path == path and (d.fix.safe or unsafe)
                   and _fix_key(d) not in rejected]
        if not offered:
            break
        starts = line_starts(text)
        chosen: list[Diagnostic] = []
        taken: list[tuple[int, int]] = []
        for d in offered:
            ranges = [edit_range(starts, text, e) for e in d.fix.edits]
            if any(_overlaps(r, t) for r in ranges for t in taken):
                continue
            chosen.append(d)
            taken += ranges
        new = apply_edits(text, [e for d in chosen for e in d.fix.edits])
        if not parses(path, new):
            good = []
            for d in chosen:
                if parses(path, apply_edits(text, d.fix.edits)):
                    good.append(d)
                else:
                    rejected.add(_fix_key(d))
                    if problems is not None:
                        problems.append(_broken(path, d))
            chosen = good
            new = apply_edits(text, [e for d in chosen for e in d.fix.edits])
            if chosen and not parses(path, new):  # each parses alone, not together: one per round
                chosen = chosen[:1]
                new = apply_edits(text, chosen[0].fix.edits)
        if not chosen or new == text:
            break
        applied += chosen
        text = new
    return text, applied


def encode_like(text: str, original: str | bytes) -> bytes:
    """`text` as bytes in the encoding the original declares (PEP 263 cookie or BOM), so the
    linter decodes it back to the same characters and a fixed file keeps its encoding."""
    data = original if isinstance(original, bytes) else original.encode("utf-8", "surrogatepass")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        if isinstance(original, str) and encoding == "utf-8-sig":
            encoding = "utf-8"
        return text.encode(encoding)
    except (SyntaxError, LookupError, UnicodeEncodeError):
        return text.encode("utf-8", "surrogatepass")


# -- noqa -----------------------------------------------------------------------------------
def add_noqa(text: str, line: int, codes: Iterable[str]) -> str:
    """`text` with `# noqa: CODES` on `line` (1-based), merged into an existing noqa comment
    (`# noqa: NN101` + NN105 -> `# noqa: NN101, NN105`; a bare `# noqa` already covers all).
    A line that cannot end in a comment (its end is inside a string, or it continues with a
    backslash) is left as is: suppress.py reads noqa only on the reported line."""
    return add_noqa_lines(text, {line: tuple(codes)})[0]


def add_noqa_lines(text: str, wanted: dict[int, Iterable[str]]) -> tuple[str, int]:
    """add_noqa for several lines at once: (new text, number of lines that got a directive)."""
    comments, blocked = _line_comments(text)
    if comments is None:
        return text, 0
    starts = line_starts(text)
    edits: list[Edit] = []
    for line, codes in sorted(wanted.items()):
        if not 1 <= line <= len(starts) or line in blocked:
            continue
        edit = _noqa_edit(text, starts, line, sorted(set(codes)), comments.get(line))
        if edit is not None:
            edits.append(edit)
    return apply_edits(text, edits), len(edits)


def _line_comments(text: str) -> tuple[dict[int, tokenize.TokenInfo] | None, set[int]]:
    """Each line's comment token, and the lines whose end lies inside a string (or a backslash
    continuation) where no comment can go; (None, ...) when the text does not tokenize."""
    comments: dict[int, tokenize.TokenInfo] = {}
    blocked: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok
            elif tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
                blocked.update(range(tok.start[0], tok.end[0]))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None, blocked
    lines = _NEWLINE.split(text)
    for number, content in enumerate(lines, start=1):
        if number not in comments and content.rstrip().endswith("\\"):
            blocked.add(number)
    return comments, blocked


def _noqa_edit(text: str, starts: list[int], line: int, codes: list[str],
               comment: tokenize.TokenInfo | None) -> Edit | None:
    end = starts[line] if line < len(starts) else len(text)
    content = text[starts[line - 1]:end]
    body = _NEWLINE.split(content)[0]
    if comment is not None:
        match = NOQA_INLINE.search(comment.string)
        if match is not None:
            listed = match.group("codes")
            if not listed:
                return None  # a bare `# noqa` silences every code already
            existing = [c.upper() for c in _CODE.findall(listed)]
            new = [c for c in codes if not any(c.startswith(p) for p in existing)]
            if not new:
                return None
            rest = comment.string[match.end():]
            if rest and not rest[0].isspace() and listed[-1:].isspace():
                rest = " " + rest
            rewritten = comment.string[:match.start()] + "# noqa: " + ", ".join(existing + new) + rest
            column = comment.start[1] + 1
            return Edit(Span(line, column, line, column + len(comment.string)), rewritten)
    stripped = body.rstrip()
    column = len(stripped) + 1
    return Edit(Span(line, column, line, len(body) + 1), f"  # noqa: {', '.join(codes)}")
