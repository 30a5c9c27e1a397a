"""The content-hash cache of per-file results (`.nnlint_cache/` in the project root).

A per-file result (diagnostics, facts, noqa comments) is a function of the file's path and
bytes, the settings that apply to it, nnlint's own code, and the Python, libcst and onnx
versions; an entry is reused only when all of them match. Anything that reads other files'
facts runs in the project pass, which always reruns on the (cached) facts, so a cache hit can
never change an answer. Any doubt (a corrupt, truncated, foreign or unreadable entry) means
"recompute". Entries are written to a temporary file and renamed into place, so concurrent
runs never see half an entry.

A warm run does not read the files it lints: an entry also records what stat said about the
file just before it was read (size, mtime, ctime, inode, device), and an identical stat means
the entry still holds. A file modified within RACY_WINDOW_NS of its reading is "racily clean"
(git's term: a change in the same timestamp tick leaves stat unchanged), so its stat is not
recorded and it is read and hashed again next time; a stat that differs (a touched file, a git
checkout) falls back to the content hash, and an entry whose content still matches is a hit
that records the new stat.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import operator
import os
import pickle
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from nnlint.context import project_root  # noqa: F401 - the default cache lives in the project root

DIRECTORY_NAME = ".nnlint_cache"
ENV_VARIABLE = "NNLINT_CACHE_DIR"
_MAGIC = b"nnlint-cache-2\n"
RACY_WINDOW_NS = 2_000_000_000  # above every filesystem's timestamp granularity (FAT: 2 s)
_SIGNATURE = operator.attrgetter("st_size", "st_mtime_ns", "st_ctime_ns", "st_ino", "st_dev")
_clock = time.time_ns  # the racy check's "now" (tests move it)
KEEP_OTHER_BUILDS = 3  # fingerprint folders kept beside the current one (other interpreters, nnlint builds)
UNUSED_FOR_S = 7 * 24 * 3600  # ... and only while used within this time
IN_USE_FOR_S = 3600  # a folder used this recently may serve a concurrent run: never removed
_FINGERPRINT_NAME = re.compile(r"[0-9a-f]{40}")
_TRASH = ".trash-"
_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by nnlint.\n"
        "# For information about cache directory tags see https://bford.info/cachedir/\n")


def _digest(*parts: bytes) -> str:
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def file_signature(path: str) -> tuple[int, ...] | None:
    """What stat says about a file, taken just before it is read; None when it cannot be
    trusted later: the file changed within RACY_WINDOW_NS of now (or in the future), so a
    further change in the same timestamp tick would go unseen, or stat failed. mtime can be
    set back (os.utime, tar); ctime cannot, hence both."""
    checked = _clock()
    try:
        st = os.stat(path)
    except OSError:
        return None
    if max(st.st_mtime_ns, st.st_ctime_ns) > checked - RACY_WINDOW_NS:
        return None
    return _SIGNATURE(st)


def _distribution_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def environment_fingerprint() -> str:
    """nnlint's own code (the contents of its installed .py files: development builds keep one
    version string), the interpreter (NN001 comes from its compile()), libcst and onnx."""
    package = Path(__file__).resolve().parent
    h = hashlib.blake2b(digest_size=20)
    for path in sorted(package.rglob("*.py")):
        try:
            data = path.read_bytes()
        except OSError:
            data = b"?"
        h.update(path.relative_to(package).as_posix().encode() + b"\0" + len(data).to_bytes(8, "little") + data)
    versions = f"{sys.version}|{sys.implementation.cache_tag}|libcst {_distribution_version('libcst')}" \
               f"|onnx {_distribution_version('onnx')}"
    return _digest(h.digest(), versions.encode())


def _canonical(value: Any) -> Any:
    """Settings as a value whose repr does not depend on hash seeds or insertion order."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, tuple((f.name, _canonical(getattr(value, f.name))) for f in dataclasses.fields(value)))
    if isinstance(value, dict):
        return ("dict", tuple(sorted(((repr(_canonical(k)), _canonical(v)) for k, v in value.items()), key=repr)))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted((_canonical(v) for v in value), key=repr)))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_canonical(v) for v in value))
    return value


_SETTINGS_KEYS: dict[int, tuple[Any, str]] = {}  # id -> (settings, digest): one digest per settings object


def settings_key(settings: Any) -> str:
    """The part of the configuration that affects one file (its FileSettings), as a digest."""
    known = _SETTINGS_KEYS.get(id(settings))
    if known is not None and known[0] is settings:
        return known[1]
    digest = _digest(repr(_canonical(settings)).encode())
    _SETTINGS_KEYS[id(settings)] = (settings, digest)
    return digest


class _Unpickler(pickle.Unpickler):
    """Only nnlint's own data classes and plain builtins: a foreign file is not code to run."""

    _BUILTINS = frozenset({"frozenset", "set", "complex", "slice"})

    def find_class(self, module: str, name: str) -> Any:
        if module == "nnlint" or module.startswith("nnlint.") or (module == "builtins" and name in self._BUILTINS):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")


class CacheUnavailable(Exception):
    """The cache directory cannot be created or written; the run goes on without it."""


@dataclasses.dataclass(frozen=True)
class Cache:
    """A cache directory for one run (picklable: the pool's workers write their own entries)."""

    directory: str
    root: str  # entries are keyed by paths relative to this project root
    fingerprint: str

    @classmethod
    def open(cls, directory: str, root: str) -> Cache:
        """Create the directory (with a .gitignore and a CACHEDIR.TAG) and check it is writable."""
        base = Path(directory)
        try:
            base.mkdir(parents=True, exist_ok=True)
            for name, text in ((".gitignore", "# Automatically created by nnlint.\n*\n"), ("CACHEDIR.TAG", _TAG)):
                if not (base / name).exists():
                    _write_atomic(base / name, text.encode())
            fingerprint = environment_fingerprint()
            (base / fingerprint).mkdir(exist_ok=True)
            _write_atomic(base / fingerprint / ".probe", b"")
            os.utime(base / fingerprint)  # its mtime says when it was last used (prune)
        except OSError as exc:
            raise CacheUnavailable(f"{exc.strerror or exc}" + (f" (os error {exc.errno})" if exc.errno else "")) from None
        prune(base, fingerprint)
        return cls(str(base), os.path.abspath(root), fingerprint)

    def _entry(self, path: str, settings_digest: str) -> Path:
        absolute = os.path.abspath(path)
        relative = os.path.relpath(absolute, self.root) if absolute.startswith(self.root + os.sep) else absolute
        name = _digest(relative.replace(os.sep, "/").encode(), path.encode(), settings_digest.encode())
        return Path(self.directory, self.fingerprint, name[:2], name)

    def lookup(self, path: str, settings: Any, read: Callable[[], bytes]) -> tuple[Any, bytes | None, tuple | None]:
        """(cached result or None, the bytes if `read` was called, the file's signature for
        `put`). The file is read only when its stat differs from the entry's (or the entry
        has none); `read`'s exceptions propagate."""
        digest = settings_key(settings)
        target = self._entry(path, digest)
        signature = file_signature(path)  # before reading: a later change then shows in the next stat
        entry = _load(target)
        if entry is not None and signature is not None and entry.signature == signature \
                and entry.key[0] == path and entry.key[2] == digest:
            result = entry.result()
            if result is not None:
                return result, None, signature
        data = read()
        if entry is None or entry.key != (path, _digest(data), digest):
            return None, data, signature
        result = entry.result()
        if result is not None and signature is not None and entry.signature != signature:
            try:  # touched but unchanged: record the new stat, so the next run need not read it
                _write_atomic(target, _MAGIC + _header(entry.key, signature) + entry.body)
            except OSError:
                pass
        return result, data, signature

    def get(self, path: str, data: bytes, settings: Any) -> Any:
        """The cached result of linting `data` as `path` under `settings`, or None."""
        digest = settings_key(settings)
        entry = _load(self._entry(path, digest))
        if entry is None or entry.key != (path, _digest(data), digest):
            return None
        return entry.result()

    def put(self, path: str, data: bytes, settings: Any, result: Any, signature: tuple | None = None) -> None:
        """Store a result, with the file's signature taken before `data` was read (None: the
        next run reads the file). Failures (full disk, a directory made read-only mid-run)
        are ignored."""
        digest = settings_key(settings)
        target = self._entry(path, digest)
        key = (path, _digest(data), digest)
        try:
            blob = _MAGIC + _header(key, signature) + pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            target.parent.mkdir(exist_ok=True)
            _write_atomic(target, blob)
        except (OSError, pickle.PicklingError, RecursionError, TypeError, AttributeError):
            return


def _header(key: tuple, signature: tuple | None) -> bytes:
    return pickle.dumps((key, signature), protocol=pickle.HIGHEST_PROTOCOL)


@dataclasses.dataclass(frozen=True)
class _Entry:
    """An entry file: its key and recorded signature, and the pickled result (unpickled on demand)."""

    key: tuple
    signature: tuple | None
    body: bytes

    def result(self) -> Any:
        try:
            return _Unpickler(io.BytesIO(self.body)).load()
        except Exception:  # noqa: BLE001 - corrupt or truncated: recompute
            return None


def _load(target: Path) -> _Entry | None:
    """The entry at `target`, or None when missing, unreadable, foreign or damaged."""
    try:
        with open(target, "rb") as handle:
            blob = handle.read()
    except OSError:
        return None
    if not blob.startswith(_MAGIC):
        return None
    stream = io.BytesIO(blob)
    stream.seek(len(_MAGIC))
    try:
        key, signature = _Unpickler(stream).load()
    except Exception:  # noqa: BLE001 - corrupt or truncated: recompute
        return None
    if not (isinstance(key, tuple) and len(key) == 3 and (signature is None or isinstance(signature, tuple))):
        return None
    return _Entry(key, signature, blob[stream.tell():])


def _write_atomic(target: Path, blob: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def prune(base: Path, current: str) -> None:
    """Remove the folders other fingerprints left (earlier nnlint builds, other interpreters):
    all but the KEEP_OTHER_BUILDS most recently used, and any unused for UNUSED_FOR_S; never
    one used in the last IN_USE_FOR_S. A folder's mtime is its last use (Cache.open touches
    it). Each is renamed away before it is deleted, so two runs never delete one together and a
    run still using it only loses its cache; nothing here fails the run."""
    try:
        with os.scandir(base) as found:
            folders = [(entry.stat(follow_symlinks=False).st_mtime, entry.name) for entry in found
                       if entry.name != current and entry.is_dir(follow_symlinks=False)
                       and (_FINGERPRINT_NAME.fullmatch(entry.name) or entry.name.startswith(_TRASH))]
    except OSError:
        return
    now = time.time()
    others = sorted((folder for folder in folders if not folder[1].startswith(_TRASH)), reverse=True)
    for rank, (used, name) in enumerate(others):
        if now - used < IN_USE_FOR_S or (rank < KEEP_OTHER_BUILDS and now - used < UNUSED_FOR_S):
            continue
        trash = base / f"{_TRASH}{name}-{os.getpid()}-{time.time_ns()}"
        try:
            os.rename(base / name, trash)
        except OSError:
            continue  # another run took it, or the directory may not be changed
        shutil.rmtree(trash, ignore_errors=True)
    for used, name in folders:  # what a run that was stopped mid-removal left
        if name.startswith(_TRASH) and now - used >= IN_USE_FOR_S:
            shutil.rmtree(base / name, ignore_errors=True)


def clear(directory: str) -> bool:
    """Remove a cache directory; only one nnlint made (it holds nnlint's CACHEDIR.TAG).
    True when something was removed."""
    tag = Path(directory, "CACHEDIR.TAG")
    try:
        if "created by nnlint" not in tag.read_text(encoding="utf-8"):
            return False
    except (OSError, UnicodeDecodeError):
        return False
    shutil.rmtree(directory, ignore_errors=True)
    return True
