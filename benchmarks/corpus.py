"""The real code the benchmark lints: the sources of pinned PyPI wheels, downloaded once and unpacked.

Nothing is installed: `pip download --no-deps` fetches the wheel into CACHE/wheels and its
package folder is unpacked into CACHE/NAME-VERSION. The cache lives outside the repository
(default ~/.cache/nnlint-bench, or $XDG_CACHE_HOME/nnlint-bench) so no tool picks up the
repository's own configuration while linting it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PINNED = {
    "timm": "1.0.31",
    "torchvision": "0.29.1",
    "transformers": "5.23.0",
    "d2l": "1.0.3",
}
DEFAULT = ("timm", "torchvision")


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nnlint-bench"


def fetch(name: str, cache: Path) -> Path:
    """The unpacked package folder of NAME at its pinned version (downloaded and unpacked if missing)."""
    version = PINNED[name]
    target = cache / f"{name}-{version}"
    package = target / name
    if package.is_dir():
        return package
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    wheel = _wheel(wheels, name, version)
    if wheel is None:
        print(f"downloading {name}=={version} ...", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", f"{name}=={version}", "-d", str(wheels)],
            check=True,
        )
        wheel = _wheel(wheels, name, version)
        if wheel is None:
            raise SystemExit(f"pip downloaded no wheel for {name}=={version} into {wheels}")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted unpack
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if m.startswith(f"{name}/")]
        archive.extractall(partial, members)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return package


def _wheel(folder: Path, name: str, version: str) -> Path | None:
    found = sorted(folder.glob(f"{name}-{version}-*.whl"))
    return found[0] if found else None


def python_files(folders: list[Path]) -> list[Path]:
    """Every .py file under the folders, sorted (what nnlint lints there: wheels hold no excluded folders)."""
    files = []
    for folder in folders:
        for root, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            files += [Path(root) / n for n in sorted(names) if n.endswith(".py")]
    return files


def median_file(files: list[Path]) -> Path:
    """The file of median size: the 'one file changed' of a warm run, a typical model file."""
    return sorted(files, key=lambda f: (f.stat().st_size, str(f)))[len(files) // 2]


def file_near(files: list[Path], size: int) -> Path:
    """The file whose size is closest to SIZE bytes (e.g. a 100 KB model file for editor latency)."""
    return min(files, key=lambda f: (abs(f.stat().st_size - size), str(f)))
