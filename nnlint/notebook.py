"""Jupyter notebooks as one Python module with a cell map.

The code cells of a notebook are one program, in order: a model defined in cell 3 and trained in
cell 9 is read exactly like one file. IPython syntax is not Python, so magics, shell escapes and
help lines are blanked (`pass`, same indentation: line numbers and block structure are kept), a
cell magic that runs Python keeps its body, any other cell magic blanks its cell. A cell that does
not compile is analysed as if it were empty and gets its own NN001.

Positions come back as (cell number, line in cell) for the text output, and as the line of the
.ipynb file that holds the source line for formats that annotate the file itself (SARIF, GitHub).
Everything here is pure: bytes in, plain data out.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
from dataclasses import dataclass, replace
from typing import Mapping

from nnlint.diagnostics import Diagnostic, Edit, Fix, Related, Span
from nnlint.files import Unreadable, syntax_error

NOTEBOOK_SUFFIX = ".ipynb"
# Cell magics whose body is Python run in the kernel: only their first line is IPython syntax.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
_LINE_MAGIC = re.compile(r"\s*(%|!|\?)")            # %matplotlib inline, !pip install, ?x
_ASSIGNED_ESCAPE = re.compile(r"\s*[\w.,\s]+=\s*(%|!)")  # files = !ls, t = %timeit -o f() (not x = y % 2)
_HELP_SUFFIX = re.compile(r"\s*[\w.\[\]()]+\?{1,2}\s*$")  # x?, x.y??


@dataclass(frozen=True)
class Cell:
    """One code cell in the module: where it starts and which .ipynb lines hold its lines."""

    number: int             # 1-based over all cells, as the notebook UI shows them
    start: int              # 1-based line of the module where the cell's first line is
    length: int             # lines in the cell
    file_lines: tuple[int, ...]  # per cell line: the 1-based line of the .ipynb file holding it


@dataclass(frozen=True)
class NotebookSource:
    """The code cells as one module (`text`), the cell map, and the cells that do not compile."""

    text: str
    cells: tuple[Cell, ...]
    errors: tuple[Diagnostic, ...] = ()   # NN001 in module lines (see `locate`)
    python: bool = True                   # False for R, Julia ... kernels: nothing is analysed

    def cell_at(self, line: int) -> Cell | None:
        starts = [c.start for c in self.cells]
        i = bisect.bisect_right(starts, line) - 1
        if i >= 0 and line < self.cells[i].start + max(self.cells[i].length, 1):
            return self.cells[i]
        return None

    def locate(self, line: int) -> tuple[int | None, int]:
        """Module line -> (cell number, line within the cell); (None, line) outside any cell."""
        cell = self.cell_at(line)
        return (cell.number, line - cell.start + 1) if cell else (None, line)

    def file_line(self, line: int) -> int:
        """Module line -> the line of the .ipynb file that holds it (1 when unknown)."""
        cell = self.cell_at(line)
        if cell is None or not cell.file_lines:
            return 1
        return cell.file_lines[min(line - cell.start, len(cell.file_lines) - 1)]


    def module_line(self, cell: int, line: int) -> int:
        """(cell number, line in the cell) -> the module line (what --add-noqa and fixes edit)."""
        start = next(c.start for c in self.cells if c.number == cell)
        return start + line - 1

    def cell_span(self, span: Span) -> Span:
        """A module span -> the same span relative to its cell."""
        _, line = self.locate(span.line)
        return Span(line, span.column, line + span.end_line - span.line, span.end_column)


def in_cells(d: Diagnostic, notebooks: Mapping[str, NotebookSource]) -> Diagnostic:
    """A diagnostic in module coordinates -> cell coordinates, for its own file and for related
    locations in notebooks (other files are returned unchanged)."""
    related = tuple(
        replace(r, span=notebooks[r.path].cell_span(r.span), cell=notebooks[r.path].locate(r.span.line)[0])
        if r.path in notebooks else r for r in d.related)
    own = notebooks.get(d.path)
    if own is None:
        return replace(d, related=related) if related != d.related else d
    fix = d.fix and Fix(d.fix.message, tuple(Edit(own.cell_span(e.span), e.content) for e in d.fix.edits), d.fix.safe)
    return replace(d, span=own.cell_span(d.span), related=related, fix=fix,
                   cell=own.locate(d.span.line)[0], file_line=own.file_line(d.span.line))


def read_notebook(path: str, data: bytes) -> NotebookSource:
    """Parse .ipynb bytes; Unreadable (NN002) with the reason when it is not a notebook nnlint reads."""
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"notebook is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    try:
        document, _ = _Located(raw).value(_skip_ws(raw, 0))
    except (ValueError, IndexError) as exc:
        raise Unreadable(f"not a notebook: invalid JSON ({exc})") from None
    except RecursionError:
        raise Unreadable("not a notebook: JSON nested too deeply") from None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        version = document.get("nbformat") if isinstance(document, dict) else None
        if isinstance(version, int) and version < 4:
            raise Unreadable(f"nbformat {version} notebook: only nbformat 4 is read "
                             "(convert it with `jupyter nbconvert --to notebook`)")
        raise Unreadable("not a notebook: no 'cells' list")
    version = document.get("nbformat")
    if version != 4:
        raise Unreadable(f"nbformat {version!r} notebook: only nbformat 4 is read")
    if not _is_python(document.get("metadata")):
        return NotebookSource("", (), (), python=False)
    return _assemble(path, raw, document["cells"])


def notebook_json(cells: list[tuple[str, str]], metadata: object = None) -> str:
    """An nbformat 4 document holding `cells` ((kind, text) in order: "code", "markdown" ...), so
    an editor's notebook is linted by the same per-file step as a .ipynb file on disk."""
    meta = metadata if isinstance(metadata, dict) else {}
    return json.dumps({"cells": [{"cell_type": kind, "metadata": {}, "source": text} for kind, text in cells],
                       "metadata": meta, "nbformat": 4, "nbformat_minor": 5}, ensure_ascii=False)


def cell_lines(data: bytes, cell: int) -> list[str] | None:
    """The lines of cell `cell` (1-based) as the user wrote them (for --show-source)."""
    try:
        cells = json.loads(data.decode("utf-8-sig")).get("cells")
        source = cells[cell - 1].get("source", "")
    except (ValueError, AttributeError, IndexError, TypeError, RecursionError):
        return None
    return ("".join(source) if isinstance(source, list) else str(source)).splitlines()


def rewrite_cells(data: bytes, notebook: NotebookSource, fixed: str) -> bytes | None:
    """The notebook's bytes with the code cells edited as `fixed` (the module text after fixes)
    says, every other byte unchanged: indent, key order, metadata and outputs stay as they were.
    None when an edit would touch a line that was IPython syntax (blanked) or span two cells."""
    raw = data.decode("utf-8-sig")
    document, _ = _Located(raw).value(_skip_ws(raw, 0))
    before, after = notebook.text.splitlines(), fixed.splitlines()
    changes: dict[int, list[tuple[int, int, list[str]]]] = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        cell = notebook.cell_at(i1 + 1) or (notebook.cell_at(i1) if i1 else None)
        if cell is None or i2 > cell.start - 1 + cell.length:
            return None
        changes.setdefault(cell.number, []).append((i1 - cell.start + 1, i2 - cell.start + 1, after[j1:j2]))
    edits = []
    for number, replacements in changes.items():
        cell = document["cells"][number - 1]
        original = _cell_text(cell["source"]).splitlines()
        blanked = before[notebook.module_line(number, 1) - 1:][:len(original)]
        lines = list(original)
        for first, last, new in sorted(replacements, reverse=True):
            if any(original[k] != blanked[k] for k in range(first, min(last, len(original)))):
                return None  # the edit reaches a magic or shell line: leave the notebook alone
            lines[first:last] = new
        ending = "\n" if _cell_text(cell["source"]).endswith("\n") else ""
        text = "\n".join(lines) + ending
        start = cell.offsets["source"]
        _, end = _Located(raw).value(start)
        edits.append((start, end, _source_json(raw, start, end, cell["source"], text)))
    for start, end, content in sorted(edits, reverse=True):
        raw = raw[:start] + content + raw[end:]
    return (b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b"") + raw.encode("utf-8")


def _cell_text(source: object) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def _source_json(raw: str, start: int, end: int, old: object, text: str) -> str:
    """`text` as a cell source value written the way the file writes it: a list of lines with the
    file's indentation (nbformat's form), or one string."""
    ascii_only = raw.isascii() and "\\u" in raw

    def dump(value: str) -> str:
        return json.dumps(value, ensure_ascii=ascii_only)

    if not isinstance(old, list):
        return dump(text)
    lines = text.splitlines(keepends=True)
    if not old or not lines:
        return "[" + ", ".join(dump(l) for l in lines) + "]"
    inside = raw[start + 1:end - 1]
    lead = inside[: len(inside) - len(inside.lstrip())]
    tail = inside[len(inside.rstrip()):]
    return "[" + lead + ("," + lead).join(dump(l) for l in lines) + tail + "]"


def _is_python(metadata: object) -> bool:
    """A kernel that says it speaks another language (R, Julia) is skipped; no word means Python."""
    if not isinstance(metadata, dict):
        return True
    for key, field in (("kernelspec", "language"), ("language_info", "name")):
        table = metadata.get(key)
        if isinstance(table, dict) and isinstance(table.get(field), str):
            return table[field].lower() in ("python", "python3", "ipython", "ipython3")
    return True


def _assemble(path: str, raw: str, cells: list) -> NotebookSource:
    newlines = [i for i, ch in enumerate(raw) if ch == "\n"]

    def raw_line(offset: int) -> int:
        return bisect.bisect_left(newlines, offset) + 1

    parts: list[str] = []
    placed: list[Cell] = []
    errors: list[Diagnostic] = []
    line = 1
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source, file_lines = _cell_source(cell, raw_line)
        lines = source.splitlines()
        code = _blank_ipython(lines)
        text = "".join(l + "\n" for l in code)
        # Never compile under the notebook's own name: CPython would read the .ipynb's JSON lines
        # from disk to place the error and report a wrong column.
        error = syntax_error(f"<{path} cell {number}>", text) if text.strip() else None
        if error is not None:
            errors.append(_shifted(replace(error, path=path), line - 1))
            text = "\n" * len(code)  # analysed as if empty; later lines keep their numbers
        placed.append(Cell(number, line, len(code), tuple(file_lines[: len(code)])))
        parts.append(text)
        line += len(code)
    return NotebookSource("".join(parts), tuple(placed), tuple(errors))


def _cell_source(cell: dict, raw_line) -> tuple[str, list[int]]:
    """The cell's text and, per line of it, the .ipynb line where that line's text starts."""
    source = cell.get("source", "")
    offsets = cell.offsets.get("source") if isinstance(cell, _LocDict) else None
    if isinstance(source, str):
        first = raw_line(offsets) if isinstance(offsets, int) else 1
        return source, [first] * (source.count("\n") + 1)
    if not isinstance(source, list):
        return "", []
    pieces = [s for s in source if isinstance(s, str)]
    element_offsets = getattr(source, "offsets", None) or []
    text, file_lines, at_line_start = "", [], True
    for index, piece in enumerate(pieces):
        where = raw_line(element_offsets[index]) if index < len(element_offsets) else 1
        for chunk in piece.splitlines(keepends=True):
            if at_line_start:
                file_lines.append(where)
            at_line_start = chunk.endswith(("\n", "\r"))
        text += piece
    return text, file_lines


def _blank_ipython(lines: list[str]) -> list[str]:
    """IPython-only lines become `pass` at their indentation; the count of lines never changes."""
    if not lines:
        return lines
    first = next((i for i, l in enumerate(lines) if l.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        name = lines[first].lstrip()[2:].split(maxsplit=1)[0] if lines[first].strip() != "%%" else ""
        if name not in PYTHON_CELL_MAGICS:
            return [""] * len(lines)  # %%bash, %%writefile, %%html ...: not Python
        lines = lines[:first] + [""] + lines[first + 1:]
    out = []
    for line, starts_statement in zip(lines, _statement_starts(lines)):
        if starts_statement and _is_ipython_line(line):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + "pass")
        else:
            out.append(line)
    return out


def _is_ipython_line(line: str) -> bool:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return False
    if _LINE_MAGIC.match(line) or _HELP_SUFFIX.match(line):
        return True
    return bool(_ASSIGNED_ESCAPE.match(line))


def _statement_starts(lines: list[str]) -> list[bool]:
    """For each line: does a new statement start there (not inside a bracket, a string, or after a
    backslash continuation)? A small scanner, not tokenize: IPython lines do not tokenize."""
    starts, depth, quote, continued = [], 0, "", False
    for line in lines:
        starts.append(depth == 0 and not quote and not continued)
        i, continued = 0, False
        while i < len(line):
            ch = line[i]
            if quote:
                if ch == "\\":
                    i += 2
                    continue
                if line.startswith(quote, i):
                    i += len(quote)
                    quote = ""
                    continue
            elif ch == "#":
                break
            elif ch in "\"'":
                quote = line[i:i + 3] if line[i:i + 3] in ('"""', "'''") else ch
                i += len(quote)
                continue
            elif ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth = max(0, depth - 1)
            elif ch == "\\" and i == len(line) - 1:
                continued = True
            i += 1
        if quote in ("'", '"'):
            quote = ""  # an unterminated one-line string ends with its line
    return starts


def _shifted(d: Diagnostic, by: int) -> Diagnostic:
    s = d.span
    return Diagnostic(d.path, Span(s.line + by, s.column, s.end_line + by, s.end_column), d.code, d.message)


# --- JSON with the offsets of strings, so a source line maps back to a line of the .ipynb file ---

class _LocDict(dict):
    """A JSON object that remembers where each of its values starts in the text."""

    offsets: dict


class _LocList(list):
    """A JSON array that remembers where each element starts."""

    offsets: list


_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_WS = re.compile(r"[ \t\n\r]*")
_LITERALS = {"true": True, "false": False, "null": None}


def _skip_ws(text: str, i: int) -> int:
    return _WS.match(text, i).end()


class _Located:
    """A small JSON reader (json's own C string scanner for strings) that keeps offsets."""

    def __init__(self, text: str) -> None:
        self.text = text

    def value(self, i: int):
        text = self.text
        ch = text[i]
        if ch == "{":
            return self._object(i + 1)
        if ch == "[":
            return self._array(i + 1)
        if ch == '"':
            return json.decoder.scanstring(text, i + 1)
        for word, literal in _LITERALS.items():
            if text.startswith(word, i):
                return literal, i + len(word)
        match = _NUMBER.match(text, i)
        if not match:
            raise ValueError(f"unexpected {ch!r} at offset {i}")
        number = match.group()
        return (float(number) if any(c in number for c in ".eE") else int(number)), match.end()

    def _object(self, i: int):
        result = _LocDict()
        result.offsets = {}
        i = _skip_ws(self.text, i)
        if self.text[i] == "}":
            return result, i + 1
        while True:
            if self.text[i] != '"':
                raise ValueError(f"expected a key at offset {i}")
            key, i = json.decoder.scanstring(self.text, i + 1)
            i = _skip_ws(self.text, i)
            if self.text[i] != ":":
                raise ValueError(f"expected ':' at offset {i}")
            i = _skip_ws(self.text, i + 1)
            result.offsets[key] = i
            result[key], i = self.value(i)
            i = _skip_ws(self.text, i)
            if self.text[i] == "}":
                return result, i + 1
            if self.text[i] != ",":
                raise ValueError(f"expected ',' or '}}' at offset {i}")
            i = _skip_ws(self.text, i + 1)

    def _array(self, i: int):
        result = _LocList()
        result.offsets = []
        i = _skip_ws(self.text, i)
        if self.text[i] == "]":
            return result, i + 1
        while True:
            result.offsets.append(i)
            item, i = self.value(i)
            result.append(item)
            i = _skip_ws(self.text, i)
            if self.text[i] == "]":
                return result, i + 1
            if self.text[i] != ",":
                raise ValueError(f"expected ',' or ']' at offset {i}")
            i = _skip_ws(self.text, i + 1)
