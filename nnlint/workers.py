"""How many worker processes a run uses, and the process pool over files.

The default is the CPUs this process may actually use: its CPU affinity and the container's
CPU quota (cgroup v2 `cpu.max`, cgroup v1 `cpu.cfs_quota_us`), not the machine's core count:
a container limited to two CPUs on a 64-core host would otherwise start 64 processes that
fight over two.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_CGROUP_ROOT = "/sys/fs/cgroup"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _cgroup_paths() -> dict[str, str]:
    """/proc/self/cgroup as {controller: path}; "" is the cgroup v2 (unified) path."""
    paths: dict[str, str] = {}
    for line in (_read("/proc/self/cgroup") or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                paths[controller] = parts[2]
    return paths


def _quota(quota: str | None, period: str | None) -> float | None:
    try:
        q, p = int(quota or ""), int(period or "")
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def cgroup_cpu_limit() -> float | None:
    """The CPU quota of this process's cgroup (and its ancestors), in CPUs; None when unlimited."""
    limits = []
    paths = _cgroup_paths()
    if "" in paths:  # cgroup v2: "max 100000" or "200000 100000", at every level up to the root
        directory = os.path.normpath(os.path.join(_CGROUP_ROOT, paths[""].lstrip("/")))
        while directory.startswith(_CGROUP_ROOT):
            fields = (_read(os.path.join(directory, "cpu.max")) or "").split()
            if len(fields) == 2:
                limits.append(_quota(fields[0], fields[1]))
            if directory == _CGROUP_ROOT:
                break
            directory = os.path.dirname(directory)
    if "cpu" in paths:  # cgroup v1
        for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
            for sub in (paths["cpu"].lstrip("/"), ""):
                directory = os.path.join(_CGROUP_ROOT, mount, sub)
                limits.append(_quota(_read(os.path.join(directory, "cpu.cfs_quota_us")),
                                     _read(os.path.join(directory, "cpu.cfs_period_us"))))
    found = [limit for limit in limits if limit is not None]
    return min(found) if found else None


def available_cpus() -> int:
    """The CPUs this process may use: affinity, capped by the cgroup CPU quota (rounded up)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    if limit is not None:
        cpus = min(cpus, max(1, math.ceil(limit)))
    return max(1, cpus)


def map_in_processes(function: Callable[[T], R], jobs: list[T], workers: int,
                     done: Callable[[int], None] | None = None) -> list[R]:
    """`function` over `jobs` in `workers` processes; results in job order (deterministic),
    `done(n)` after each result with the number finished so far."""
    results: list[R] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        outputs: Iterable[R] = pool.map(function, jobs, chunksize=max(1, len(jobs) // (workers * 8)))
        for result in outputs:
            results.append(result)
            if done is not None:
                done(len(results))
    return results
