"""`# noqa` comments, found with tokenize (a string literal can never fool it).

Same forms as flake8/ruff: `# noqa` silences every code on its line, `# noqa: NN101,NN2`
silences codes by prefix; `# nnlint: noqa` on a line of its own silences the whole file.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

# flake8's own pattern (defaults.py), with our code shape.
NOQA_INLINE = re.compile(
    r"#\s*noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?",
    re.IGNORECASE,
)
NOQA_FILE = re.compile(r"#\s*nnlint\s*:\s*noqa\s*$", re.IGNORECASE)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)

ALL = None  # a bare `# noqa`


@dataclass
class Suppressions:
    file_level: bool = False
    # line -> None (every code) or the code prefixes named
    lines: dict[int, tuple[str, ...] | None] = field(default_factory=dict)

    def suppresses(self, line: int, code: str) -> bool:
        if self.file_level:
            return True
        if line not in self.lines:
            return False
        prefixes = self.lines[line]
        return prefixes is ALL or any(code.startswith(p) for p in prefixes)


def parse_suppressions(text: str) -> Suppressions:
    """Collect noqa comments; a file that does not tokenize has none."""
    result = Suppressions()
    code_seen_on: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                line = tok.start[0]
                if line not in code_seen_on and NOQA_FILE.match(tok.string):
                    result.file_level = True
                    continue
                match = NOQA_INLINE.search(tok.string)
                if match:
                    codes = match.group("codes")
                    prefixes = tuple(c.upper() for c in _CODE.findall(codes)) if codes else ALL
                    old = result.lines.get(line, ())
                    result.lines[line] = ALL if prefixes is ALL or old is ALL else old + prefixes
            elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING):
                for l in range(tok.start[0], tok.end[0] + 1):
                    code_seen_on.add(l)
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass
    return result
