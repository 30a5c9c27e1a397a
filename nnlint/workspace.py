"""An editor's workspace: every Python file's per-file result (facts, noqa), kept current from
open buffers and the disk, and the project pass over them for any file.

No LSP in here: the language server (nnlint.lsp) feeds texts and paths in and reads Diagnostics
back. A file's diagnostics are what `nnlint` linting the workspace reports for it: the per-file
step on its buffer text, plus the project pass over the workspace's facts with that buffer's facts
in place of the disk's. Paths are absolute. Thread-safe: the server indexes in the background.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from nnlint.config import Config, ConfigError, find_config, load_config
from nnlint.diagnostics import Diagnostic, Span
from nnlint.discovery import _excluded_with_parents, discover, git_ignored
from nnlint.engine import FileResult, FileSettings, Run, lint_source, project_diagnostics, read_file
from nnlint.files import Unreadable
from nnlint.registry import all_rules
from nnlint.selection import resolve_selection

Stamp = tuple  # (mtime_ns, size) of a file on disk; () when it is missing


def run_from_config(config: Config) -> Run:
    """The settings `nnlint` uses with this config and no command-line options."""
    enabled = resolve_selection(config.select, config.extend_select, config.ignore, config.extend_ignore)
    settings = FileSettings(enabled, config.rule_options, False, config.max_source_bytes, config.max_graph_bytes)
    exclude = tuple(config.exclude) + tuple(config.extend_exclude)
    return Run(settings, str(config.root), exclude, dict(config.per_file_ignores))


def stamp(path: str) -> Stamp:
    try:
        info = os.stat(path)
    except OSError:
        return ()
    return (info.st_mtime_ns, info.st_size)


def _facts_only(settings: FileSettings) -> FileSettings:
    """The settings that still extract a file's facts (nnlint.engine._wants_facts) but run as few
    per-file rules as possible: about half the cost of the full per-file step on timm."""
    rules = all_rules()
    project = {c for c in settings.enabled if rules[c].kind == "project"}
    keep = project or {c for c in settings.enabled if rules[c].project_pass}
    return settings.without(settings.enabled - frozenset(keep))


def _open_cache(config: Config, root: str):
    """The cache the CLI would use from this workspace: NNLINT_CACHE_DIR, else the config's
    cache-dir, else .nnlint_cache in the project root; None when it cannot be written."""
    from nnlint.cache import DIRECTORY_NAME, ENV_VARIABLE, Cache, CacheUnavailable, project_root

    top = str(config.root) if config.path else project_root(root)
    directory = os.environ.get(ENV_VARIABLE) or (
        os.path.join(str(config.root), config.cache_dir) if config.cache_dir else os.path.join(top, DIRECTORY_NAME))
    try:
        return Cache.open(directory, top)
    except CacheUnavailable:
        return None


@dataclass
class _Entry:
    result: FileResult
    stamp: Stamp  # the disk file's stamp when it was read; () for a buffer
    text: str | None = None  # the buffer's text (None for a disk file)


class Workspace:
    def __init__(self, root: str, check_disk: bool = True,
                 per_file: Callable[[str, bytes, FileSettings], FileResult] = lint_source) -> None:
        self.root = os.path.abspath(root)
        # Without file watchers (Neovim's default) a disk file's stamp is re-checked whenever the
        # facts are used, so edits made outside the editor still count.
        self.check_disk = check_disk
        self._per_file = per_file
        self._lock = threading.RLock()
        self._disk: dict[str, _Entry] = {}
        self._buffers: dict[str, _Entry] = {}
        self.config = Config(root=Path(self.root))
        self.run = run_from_config(self.config)
        self.doc_url: str | None = None
        self._config_stamp: tuple = ()
        self.cache = None  # nnlint.cache.Cache for the disk files' facts (None: no usable directory)
        self.generation = 0  # bumped when the settings change which files hold facts: the disk is read again

    # -- configuration ------------------------------------------------------------------------
    def _config_candidates(self) -> tuple:
        return tuple((str(d / "pyproject.toml"), stamp(str(d / "pyproject.toml")))
                     for d in (Path(self.root), *Path(self.root).parents))

    def config_changed(self) -> bool:
        return self._config_candidates() != self._config_stamp

    def load_config(self) -> str | None:
        """(Re)read the nearest pyproject.toml with [tool.nnlint] from the workspace root. Returns
        the error message when it is invalid; the previous settings then stay in force."""
        with self._lock:
            self._config_stamp = self._config_candidates()
            try:
                found = find_config(Path(self.root))
                config = load_config(found) if found else Config(root=Path(self.root))
                run = run_from_config(config)
            except ConfigError as exc:
                return str(exc)
            old = self.run
            context = (_facts_only(run.settings), run.exclude, run.per_file_ignores, run.root)
            if context != (_facts_only(old.settings), old.exclude, old.per_file_ignores, old.root):
                self._disk.clear()  # which files hold facts may differ: index again
                self.generation += 1
            if run.settings != old.settings or run.per_file_ignores != old.per_file_ignores:
                for path, entry in self._buffers.items():
                    self._buffers[path] = self._lint_text(path, entry.text or "", run)
            self.config, self.run = config, run
            self.cache = _open_cache(config, self.root)
            self.doc_url = getattr(config, "doc_url", None)
            return None

    # -- the disk -----------------------------------------------------------------------------
    def python_files(self) -> list[str]:
        """The workspace's .py files as `nnlint ROOT` walks them (excludes, .gitignore)."""
        found = discover([self.root], self.run.exclude, self.run.root, suffixes=(".py",))
        return [os.path.abspath(f) for f in found.files]

    def index(self, paths: Iterable[str], stop: Callable[[], bool] = lambda: False,
              progress: Callable[[int], None] = lambda done: None) -> int:
        """Read the facts of every path not known yet (the background indexing). Returns how many."""
        done = 0
        for seen, path in enumerate(paths, start=1):
            progress(seen)
            if stop():
                break
            with self._lock:
                known = path in self._disk
                generation, run = self.generation, self.run
            if known:
                continue
            entry = self._read(path, run)
            with self._lock:
                if generation == self.generation and path not in self._disk:
                    self._disk[path] = entry
                    done += 1
        return done

    def refresh(self, path: str) -> None:
        """The file changed (or vanished) on disk: re-read it, if it is a workspace file."""
        path = os.path.abspath(path)
        with self._lock:
            generation, run = self.generation, self.run
        if not stamp(path):
            with self._lock:
                self._disk.pop(path, None)
            return
        with self._lock:
            known = path in self._disk
        if not known and not self._walked(path, run):
            return  # a new file `nnlint ROOT` would not lint (excluded, ignored, outside the root)
        entry = self._read(path, run)
        with self._lock:
            if generation == self.generation:
                self._disk[path] = entry

    def _walked(self, path: str, run: Run) -> bool:
        if not path.endswith(".py") or not self._in_workspace(path):
            return False
        if _excluded_with_parents(path, run.exclude, run.root):
            return False
        return not git_ignored(os.path.dirname(path), [path])

    def _read(self, path: str, run: Run) -> _Entry:
        """A disk file is context: only its facts and noqa comments are used (its own diagnostics
        are reported once it is opened, from the buffer), so only what extracts them runs."""
        settings = _facts_only(run.settings_for(path))
        before = stamp(path)
        try:
            data = read_file(path, settings.max_source_bytes)
        except Unreadable as exc:
            problem = Diagnostic(path, Span.point(), "NN002", str(exc))
            return _Entry(FileResult([problem] if "NN002" in settings.enabled else []), before)
        cache = self.cache
        result = cache.get(path, data, settings) if cache is not None else None
        if result is None:
            result = self._safe_lint(path, data, settings)
            if cache is not None and not result.internal_error:
                cache.put(path, data, settings, result)
        return _Entry(result, before)

    def _safe_lint(self, path: str, data: bytes, settings: FileSettings) -> FileResult:
        from nnlint.engine import _internal

        try:
            return self._per_file(path, data, settings)
        except Exception as exc:  # noqa: BLE001 - the engine's last safety net, as in the CLI
            return FileResult([_internal(path, "nnlint", exc)], internal_error=True)

    def _recheck_disk(self) -> None:
        with self._lock:
            known = [(path, entry.stamp) for path, entry in self._disk.items()]
        for path, old in known:
            if stamp(path) != old:
                self.refresh(path)

    # -- open buffers -------------------------------------------------------------------------
    def _lint_text(self, path: str, text: str, run: Run) -> _Entry:
        from nnlint.fixes import encode_like

        # Bytes as the file would hold them (a PEP 263 cookie keeps its encoding): same answer as the CLI.
        return _Entry(self._safe_lint(path, encode_like(text, text), run.settings_for(path)), (), text)

    def set_buffer(self, path: str, text: str) -> None:
        """An open buffer's text: its facts replace the disk file's until it is closed."""
        path = os.path.abspath(path)
        with self._lock:
            old = self._buffers.get(path)
            if old is not None and old.text == text:
                return
            run = self.run
        entry = self._lint_text(path, text, run)
        with self._lock:
            if run is self.run:
                self._buffers[path] = entry

    def close_buffer(self, path: str) -> None:
        """The buffer is closed: the disk file's facts count again (unsaved edits are gone)."""
        path = os.path.abspath(path)
        with self._lock:
            self._buffers.pop(path, None)
            entry = self._disk.get(path)
        if entry is not None and stamp(path) != entry.stamp:
            self.refresh(path)

    def lint_alone(self, path: str, text: str) -> list[Diagnostic]:
        """A document outside the workspace's files (an untitled buffer): its per-file step only."""
        with self._lock:
            run = self.run
        return sorted(self._lint_text(path, text, run).result.diagnostics, key=Diagnostic.sort_key)

    def buffer_text(self, path: str) -> str | None:
        with self._lock:
            entry = self._buffers.get(os.path.abspath(path))
            return entry.text if entry is not None else None

    def _in_workspace(self, path: str) -> bool:
        return path.startswith(self.root.rstrip(os.sep) + os.sep)

    # -- diagnostics --------------------------------------------------------------------------
    def diagnostics(self, paths: Iterable[str]) -> dict[str, list[Diagnostic]]:
        """Each open buffer's diagnostics: its per-file ones and the project pass's over the
        workspace's facts (buffers in place of their disk files)."""
        paths = [os.path.abspath(p) for p in paths]
        if self.check_disk:
            self._recheck_disk()
        with self._lock:
            files = {**{p: e.result for p, e in self._disk.items()}, **{p: e.result for p, e in self._buffers.items()}}
            own = {p: self._buffers[p].result.diagnostics for p in paths if p in self._buffers}
            run = self.run
        found, _ = project_diagnostics(sorted(files.items()), run.settings_for, run.settings, [self.root])
        out: dict[str, list[Diagnostic]] = {}
        for path in paths:
            seen: dict[tuple, Diagnostic] = {}
            for d in list(own.get(path, ())) + [d for d in found if d.path == path]:
                seen.setdefault((d.cell, d.code, d.span), d)
            out[path] = sorted(seen.values(), key=Diagnostic.sort_key)
        return out

    def settings_for(self, path: str) -> FileSettings:
        return self.run.settings_for(os.path.abspath(path))
