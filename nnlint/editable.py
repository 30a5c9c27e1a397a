"""A linted file as the text that fixes and `# noqa` comments edit, and the way back to its bytes.

A .py file is its decoded text, written back in its own encoding. A notebook is the module its
code cells make (nnlint.notebook): edits land in the cells they touch and every other byte of the
.ipynb stays as it was. `--fix`, `--diff` and `--add-noqa` go through this, so both kinds of file
are edited the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from nnlint.diagnostics import Diagnostic
from nnlint.files import decode_source
from nnlint.notebook import NOTEBOOK_SUFFIX, NotebookSource, in_cells, read_notebook, rewrite_cells


@dataclass(frozen=True)
class Editable:
    path: str
    text: str
    lint_path: str  # the name the fix loop lints `text` under (a notebook's module is Python)
    write: Callable[[str], bytes | None]  # edited text -> the file's new bytes (None: cannot)
    notebook: NotebookSource | None = None

    def text_line(self, d: Diagnostic) -> int:
        """The line of `text` that a reported diagnostic (cell-relative in a notebook) is on."""
        if self.notebook is not None and d.cell is not None:
            return self.notebook.module_line(d.cell, d.line)
        return d.line

    def reported(self, d: Diagnostic) -> Diagnostic:
        """A diagnostic of the fix loop (on `lint_path`, module lines) as the user sees it."""
        d = replace(d, path=self.path)
        return in_cells(d, {self.path: self.notebook}) if self.notebook is not None else d


def editable(path: str, data: bytes) -> Editable:
    """Raises nnlint.files.Unreadable when the file cannot be read as text or as a notebook."""
    if path.endswith(NOTEBOOK_SUFFIX):
        notebook = read_notebook(path, data)
        return Editable(path, notebook.text, path + ".py", lambda new: rewrite_cells(data, notebook, new), notebook)
    from nnlint.fixes import encode_like

    return Editable(path, decode_source(data), path, lambda new: encode_like(new, data))
