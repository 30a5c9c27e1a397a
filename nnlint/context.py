"""Context files: the project files that the linted files import, read for their facts only.

A file's diagnostics must not depend on which other files happen to be linted with it
(pre-commit passes only the changed files, an editor has one file open). So for every linted
file, the `.py` files of its project that its imports may resolve to are read too, as context:
their facts join the project pass, their own diagnostics are not reported. The project pass
(nnlint.project) still decides what every import means; this module only finds the files it
could need, following the import chain as deep as it goes (context files' imports too).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable

_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
_MAX_ROUNDS = 12  # as deep as the project pass follows imports (nnlint.project._MAX_DEPTH)


def project_root(start: str) -> str:
    """The nearest directory from `start` upwards (a file's own directory first) that holds
    pyproject.toml, setup.py, setup.cfg or .git; the current directory when there is none."""
    directory = os.path.abspath(start)
    if not os.path.isdir(directory):
        directory = os.path.dirname(directory)
    while True:
        if any(os.path.exists(os.path.join(directory, marker)) for marker in _PROJECT_MARKERS):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return os.getcwd()
        directory = parent


class _Listings:
    """Directory contents, read once per run (an import is looked up in many directories)."""

    def __init__(self) -> None:
        self._seen: dict[str, frozenset[str]] = {}
        self._modules: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        self._imports: dict[tuple[str, str], tuple[str, ...]] = {}
        self._search: dict[tuple[str, str], tuple[list[str], frozenset[str], frozenset[str]]] = {}

    def names(self, directory: str) -> frozenset[str]:
        if directory not in self._seen:
            try:
                self._seen[directory] = frozenset(os.listdir(directory))
            except OSError:
                self._seen[directory] = frozenset()
        return self._seen[directory]

    def search_path(self, directory: str, root: str) -> tuple[list[str], frozenset[str], frozenset[str]]:
        """For a file in `directory`: where Python could find a top-level module (the folders up to
        the project root, and their src/), the names found there, and the package __init__.py
        files above the file (they decide its module name)."""
        key = (directory, root)
        if key not in self._search:
            above = _ancestors(directory, root)
            search = above + [os.path.join(d, "src") for d in above if "src" in self.names(d)]
            heads = frozenset(name[:-3] if name.endswith(".py") else name for d in search for name in self.names(d))
            inits = frozenset(os.path.join(d, "__init__.py") for d in above if "__init__.py" in self.names(d))
            self._search[key] = (search, heads, inits)
        return self._search[key]

    def import_files(self, directory: str, root: str, raw: str) -> tuple[str, ...]:
        """The files an import as written (`a.b.C`, `..x.Y`) in a file of `directory` may need."""
        key = (directory, raw)
        if key not in self._imports:
            search, heads, _ = self.search_path(directory, root)
            level = len(raw) - len(raw.lstrip("."))
            parts = [p for p in raw[level:].split(".") if p]
            found: list[str] = []
            if level:
                base = directory
                for _ in range(level - 1):
                    base = os.path.dirname(base)
                if base == root or base.startswith(root + os.sep):
                    if "__init__.py" in self.names(base):
                        found.append(os.path.join(base, "__init__.py"))
                    found += self.module_files(base, parts)
            elif parts and parts[0] in heads:  # else not a module of this project (torch, os, ...)
                for base in search:
                    found += self.module_files(base, parts)
            self._imports[key] = tuple(found)
        return self._imports[key]

    def module_files(self, directory: str, parts: list[str]) -> list[str]:
        """`parts` (a dotted name) below `directory`: every package __init__.py on the way and
        the module itself (a.py or a/__init__.py), as far as they exist."""
        key = (directory, tuple(parts))
        if key not in self._modules:
            self._modules[key] = self._module_files(directory, parts)
        return self._modules[key]

    def _module_files(self, directory: str, parts: list[str]) -> list[str]:
        found = []
        for part in parts:
            names = self.names(directory)
            if part + ".py" in names:
                found.append(os.path.join(directory, part + ".py"))
            if part not in names:
                break
            directory = os.path.join(directory, part)
            if "__init__.py" in self.names(directory):
                found.append(os.path.join(directory, "__init__.py"))
        return found


def _ancestors(directory: str, root: str) -> list[str]:
    """`directory` and its parents up to `root` (inclusive)."""
    found = [directory]
    while directory != root and directory.startswith(root + os.sep):
        directory = os.path.dirname(directory)
        found.append(directory)
    return found


def _candidates(path: str, imports: Iterable[str | None], listings: _Listings, root: str) -> set[str]:
    """The files (absolute) that the imports of `path` may resolve to, and the package
    __init__.py files above it; a superset: the project pass resolves. Only files inside `root`."""
    directory = os.path.dirname(os.path.abspath(path))
    if not (directory == root or directory.startswith(root + os.sep)):
        return set()
    found = set(listings.search_path(directory, root)[2])
    for raw in imports:
        if raw:
            found.update(listings.import_files(directory, root, raw))
    return found


def context_files(linted: dict[str, Any], read: Callable[[list[str]], list[Any]],
                  excluded: Callable[[str], bool]) -> dict[str, Any]:
    """The context of the linted files ({path: facts}, facts None when a file has none):
    {path: result} of every project file their imports may reach, read with `read(paths)` (a
    list of per-file results in path order, each with .facts), round by round, as deep as the
    imports go. Paths are spelled relative to the current directory when below it."""
    known = {os.path.abspath(path) for path in linted}
    listings = _Listings()
    roots: dict[str, str] = {}
    frontier = list(linted.items())
    context: dict[str, Any] = {}
    for _ in range(_MAX_ROUNDS):
        wanted: set[str] = set()
        for path, facts in frontier:
            if facts is None:
                continue
            directory = os.path.dirname(os.path.abspath(path))
            if directory not in roots:
                roots[directory] = project_root(directory)
            wanted |= _candidates(path, facts.imports.values(), listings, roots[directory])
        new = sorted(_spelled(p) for p in wanted - known)
        new = [p for p in new if not excluded(p)]
        known |= {os.path.abspath(p) for p in new}
        if not new:
            break
        results = read(new)
        context.update(zip(new, results))
        frontier = [(p, r.facts) for p, r in zip(new, results)]
    return context


def _spelled(absolute: str) -> str:
    cwd = os.getcwd()
    return os.path.relpath(absolute, cwd) if absolute.startswith(cwd.rstrip(os.sep) + os.sep) else absolute
