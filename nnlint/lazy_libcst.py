"""libcst, imported on first use: `from nnlint import lazy_libcst as cst`.

`nnlint --version`, `nnlint rules` and a run served entirely from the cache never parse Python,
so they must not pay for importing libcst (a third of a second). Every module that reads the
tree imports this instead of libcst; the first `cst.Name` (or any attribute) imports libcst
and copies the attribute here, so later lookups cost what a module attribute costs.
Module-level code must not touch `cst.X` (that would import libcst at import time).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    import libcst

    try:
        value = getattr(libcst, name)
    except AttributeError:
        raise AttributeError(f"module 'libcst' has no attribute '{name}'") from None
    globals()[name] = value
    return value
