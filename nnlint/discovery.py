"""Which files to lint: explicit paths, directory walks with excludes and .gitignore.

Returns plain data: the files, and NN002 diagnostics for paths that cannot be walked.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from nnlint.diagnostics import Diagnostic, Span

DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".venv", "venv", "env", "__pycache__", "build", "dist", ".tox",
    ".nox", ".eggs", "node_modules", "site-packages",
)
SOURCE_SUFFIXES = (".py", ".onnx", ".ipynb")


@dataclass(frozen=True)
class Discovered:
    files: list[str]
    problems: list[Diagnostic]


def _matches(path: str, patterns: Iterable[str], root: str) -> bool:
    """Glob match against the basename, the path relative to the project root, and as given."""
    name = os.path.basename(path.rstrip(os.sep)) or path
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, root)
    except ValueError:
        relative = absolute
    forms = {name, relative.replace(os.sep, "/"), absolute.replace(os.sep, "/"), path.replace(os.sep, "/")}
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if pattern.startswith("./"):
            pattern = pattern[2:]
        if any(fnmatch.fnmatchcase(form, pattern) for form in forms):
            return True
    return False


def _problem(path: str, message: str) -> Diagnostic:
    return Diagnostic(path, Span.point(), "NN002", message)


def _os_message(exc: OSError) -> str:
    return f"{exc.strerror or exc} (os error {exc.errno})" if exc.errno else str(exc)


class _Walker:
    def __init__(self, patterns: tuple[str, ...], root: str, suffixes: tuple[str, ...]) -> None:
        self.patterns, self.root, self.suffixes = patterns, root, suffixes
        self.files: list[str] = []
        self.problems: list[Diagnostic] = []

    def walk(self, directory: str, ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            info = os.stat(directory)
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            self.problems.append(_problem(directory, _os_message(exc)))
            return
        key = (info.st_dev, info.st_ino)
        if key in ancestors:
            self.problems.append(_problem(directory, "directory symlink loop; not followed"))
            return
        ancestors = ancestors | {key}
        for entry in entries:
            path = entry.path
            if _matches(path, self.patterns, self.root):
                continue
            try:
                is_dir = entry.is_dir()
                is_file = not is_dir and entry.is_file()
            except OSError as exc:
                self.problems.append(_problem(path, _os_message(exc)))
                continue
            if is_dir:
                self.walk(path, ancestors)
            elif is_file and path.endswith(self.suffixes):
                self.files.append(path)
            elif not is_dir and not is_file and entry.is_symlink() and path.endswith(self.suffixes):
                self.problems.append(_problem(path, "broken symbolic link"))


def _excluded_with_parents(path: str, patterns: tuple[str, ...], root: str) -> bool:
    """--force-exclude: the file or any directory above it (below the root) is excluded."""
    current = os.path.normpath(path)
    top = os.path.abspath(root)
    while current and current not in (os.curdir, os.sep):
        absolute = os.path.abspath(current)
        if current != os.path.normpath(path) and not absolute.startswith(top.rstrip(os.sep) + os.sep):
            break  # directories above the project root never exclude it
        if _matches(current, patterns, root):
            return True
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return False


def git_ignored(directory: str, files: list[str]) -> set[str]:
    """The files that .gitignore rules exclude, asked of git itself; none outside a repository."""
    if not files:
        return set()
    try:
        proc = subprocess.run(
            ["git", "-C", directory, "check-ignore", "--no-index", "--stdin", "-z"],
            input="\0".join(os.path.abspath(f) for f in files).encode(),
            capture_output=True, timeout=60, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return set()
    if proc.returncode != 0:
        return set()
    ignored = {p for p in proc.stdout.decode(errors="surrogateescape").split("\0") if p}
    return {f for f in files if os.path.abspath(f) in ignored}


def discover(
    paths: list[str], exclude: tuple[str, ...], root: str, force_exclude: bool = False,
    suffixes: tuple[str, ...] = SOURCE_SUFFIXES,
) -> Discovered:
    """Expand command-line paths into the files to lint, sorted and without duplicates."""
    files: list[str] = []
    problems: list[Diagnostic] = []
    for path in paths:
        if not os.path.lexists(path):
            problems.append(_problem(path, "No such file or directory (os error 2)"))
        elif os.path.isdir(path):
            walker = _Walker(exclude, root, suffixes)
            walker.walk(path, frozenset())
            ignored = git_ignored(path, walker.files)
            files += [f for f in walker.files if f not in ignored]
            problems += walker.problems
        elif not (force_exclude and _excluded_with_parents(path, exclude, root)):
            files.append(path)
    unique = list(dict.fromkeys(os.path.normpath(f) for f in files))
    return Discovered(unique, problems)
