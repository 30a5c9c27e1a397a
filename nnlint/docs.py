"""Rule pages (rules/NNxxx.md): where they live, and the Bad/Good examples inside them.

The pages ship in the wheel as nnlint/rules; in a source checkout they are ../rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCS_URL = "https://github.com/nnlint/nnlint/blob/main/rules/{code}.md"

_PACKAGE = Path(__file__).resolve().parent
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
_HEADING = re.compile(r"^## (.+)$", re.M)
BAD_SECTION = "Example"
GOOD_SECTION = "Use instead"


def rules_dir() -> Path:
    for candidate in (_PACKAGE / "rules", _PACKAGE.parent / "rules"):
        if candidate.is_dir():
            return candidate
    return _PACKAGE.parent / "rules"


def rule_url(code: str, doc_url: str | None = None) -> str:
    """The rule's hosted page: the `doc-url` template when the config sets one, else the project's."""
    return (doc_url or DOCS_URL).format(code=code)


def rule_href(code: str, doc_url: str | None = None) -> str:
    """Where an editor links a diagnostic: `doc-url` when set, else the page shipped inside the
    installed package as a file:// URI (works offline), else the hosted page."""
    if doc_url:
        return doc_url.format(code=code)
    path = rules_dir() / f"{code.upper()}.md"
    return path.as_uri() if path.is_file() else rule_url(code)


def rule_page(code: str) -> str | None:
    path = rules_dir() / f"{code.upper()}.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None


@dataclass(frozen=True)
class Example:
    code: str  # the rule the page documents
    kind: str  # "bad" or "good"
    language: str  # "python", or a graph front end's language
    text: str
    index: int


def sections(page: str) -> dict[str, str]:
    """`## Heading` -> body text."""
    parts = _HEADING.split(page)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def examples(code: str, page: str) -> list[Example]:
    """Every fenced block under `## Example` (bad) and `## Use instead` (good)."""
    found = []
    for kind, title in (("bad", BAD_SECTION), ("good", GOOD_SECTION)):
        body = sections(page).get(title, "")
        for index, match in enumerate(_FENCE.finditer(body)):
            found.append(Example(code, kind, match.group(1) or "python", match.group(2), index))
    return found
