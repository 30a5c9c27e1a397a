"""Reading source bytes into text the way CPython does (PEP 263 cookie, BOM), and compiling it.

Both return plain data: the text, or the NN001/NN002 diagnostic that says why not.
"""

from __future__ import annotations

import io
import re
import tokenize
import warnings

from nnlint.diagnostics import Diagnostic, Span


class Unreadable(Exception):
    """A file that cannot be analyzed; the message becomes an NN002 diagnostic."""


def decode_source(data: bytes) -> str:
    """Decode Python source bytes per PEP 263; raise Unreadable with a user-facing reason."""
    if b"\x00" in data:
        raise Unreadable("file contains null bytes (binary file?)")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "unknown encoding" in str(exc) or "encoding problem" in str(exc):
            raise Unreadable(f"bad encoding declaration: {exc}") from None
        encoding = "utf-8"  # undecodable first lines: let the decode below name the byte
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Unreadable(
            f"cannot decode as {exc.encoding} (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "declare the encoding with a coding cookie (PEP 263)"
        ) from None
    except LookupError:
        raise Unreadable(f"unknown encoding {encoding!r}") from None


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def source_lines(text: str) -> list[str]:
    """The lines as CPython, libcst and LSP number them: only CR LF, CR and LF end a line
    (str.splitlines also splits at form feeds and U+2028, which would shift every later line)."""
    return _LINE_BREAK.split(text)


def syntax_error(path: str, text: str) -> Diagnostic | None:
    """NN001 from CPython's own compile() of the running interpreter, or None if it compiles."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the user's SyntaxWarnings are not nnlint's output
            compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = exc.lineno or 1
        column = exc.offset if exc.offset and exc.offset > 0 else 1
        end_line = exc.end_lineno if exc.end_lineno and exc.end_lineno >= line else line
        end_column = exc.end_offset if exc.end_offset and exc.end_offset > 0 else column
        message = f"{type(exc).__name__}: {exc.msg}"
        return Diagnostic(path, Span(line, column, end_line, end_column), "NN001", message)
    except (ValueError, MemoryError) as exc:
        # ValueError: null bytes on older CPythons; MemoryError: absurd nesting.
        raise Unreadable(str(exc)) from None
    except RecursionError:
        raise Unreadable("code nested too deeply to analyze") from None
    return None
