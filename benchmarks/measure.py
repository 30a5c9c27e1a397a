"""Run one command and measure it: wall time, CPU of the whole process tree, peak RSS summed over it.

CPU comes from the kernel (`wait4` returns the user+sys time of the child and of every descendant
it waited for, which includes a process pool's workers). Peak RSS is sampled from /proc: every
few milliseconds the resident sizes of the child and all its live descendants are added up, and
the largest sum is kept. A sampled peak can miss a spike shorter than the interval; it never
counts memory twice in time (two processes' peaks at different moments are not added).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass

SAMPLE_SECONDS = 0.02  # re-read the resident size of the known processes
RESCAN_SECONDS = 0.2  # walk /proc for new descendants (costs a few ms on a busy machine)
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class Sample:
    """One run of one command."""

    wall: float  # seconds
    cpu: float  # seconds, user + sys of the process tree
    rss: int | None  # bytes, peak of the summed resident size of the tree; None where /proc is missing
    returncode: int
    stdout: bytes
    stderr: bytes


def run(cmd: list[str], cwd: str | None = None, env: dict[str, str] | None = None) -> Sample:
    """Run `cmd` to completion, output captured to temporary files (no pipe can fill and block)."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        rss = sampler.peak if sampler.available else None
        return Sample(wall, usage.ru_utime + usage.ru_stime, rss, proc.returncode, out.read(), err.read())


class _TreeSampler(threading.Thread):
    """Keeps the largest sum of resident sizes over a process and its descendants."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak = 0
        self.available = os.path.isdir("/proc/self")
        self._done = threading.Event()

    def stop(self) -> None:
        self._done.set()
        self.join()

    def run(self) -> None:
        if not self.available:
            return
        tree = {self.root}
        last_scan = 0.0
        while not self._done.is_set():
            now = time.monotonic()
            if now - last_scan >= RESCAN_SECONDS:
                tree = _descendants(self.root)
                last_scan = now
            total = sum(_rss(pid) for pid in tree)
            self.peak = max(self.peak, total)
            self._done.wait(SAMPLE_SECONDS)


def _stat_fields(pid: int | str) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (which may contain spaces)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _rss(pid: int) -> int:
    fields = _stat_fields(pid)
    return int(fields[21]) * PAGE if fields else 0  # field 24 of stat: resident pages


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in tree:
                tree.add(child)
                todo.append(child)
    return tree
