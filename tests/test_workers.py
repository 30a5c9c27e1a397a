"""--jobs default (the CPUs this process may use) and the progress line on a terminal."""

import io

from nnlint import workers
from nnlint.progress import Progress


def _files(monkeypatch, contents, cpus=8):
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: set(range(cpus)))
    monkeypatch.setattr(workers, "_read", contents.get)


def test_default_jobs_follow_the_cgroup_v2_quota_and_the_affinity(monkeypatch):
    _files(monkeypatch, {"/proc/self/cgroup": "0::/job", "/sys/fs/cgroup/job/cpu.max": "150000 100000"})
    assert workers.available_cpus() == 2  # 1.5 CPUs of quota: two workers, not eight
    _files(monkeypatch, {"/proc/self/cgroup": "0::/job", "/sys/fs/cgroup/job/cpu.max": "max 100000"}, cpus=3)
    assert workers.available_cpus() == 3  # no quota: the affinity mask decides
    _files(monkeypatch, {"/proc/self/cgroup": "0::/a/b", "/sys/fs/cgroup/a/cpu.max": "100000 100000",
                         "/sys/fs/cgroup/a/b/cpu.max": "max 100000"})
    assert workers.available_cpus() == 1  # a parent's quota limits its children


def test_default_jobs_follow_the_cgroup_v1_cfs_quota(monkeypatch):
    _files(monkeypatch, {"/proc/self/cgroup": "4:cpu,cpuacct:/docker/abc",
                         "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "400000",
                         "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000"})
    assert workers.available_cpus() == 4
    _files(monkeypatch, {"/proc/self/cgroup": "4:cpu,cpuacct:/", "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1",
                         "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000"})
    assert workers.available_cpus() == 8


class _Terminal(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_progress_only_on_a_terminal_and_never_with_quiet(monkeypatch):
    monkeypatch.setattr("sys.stderr", _Terminal(False))
    assert Progress.for_terminal(quiet=False) is None
    monkeypatch.setattr("sys.stderr", _Terminal(True))
    assert Progress.for_terminal(quiet=True) is None
    progress = Progress.for_terminal(quiet=False)
    assert progress is not None
    progress.started -= Progress.DELAY  # as if the run had gone on for a second already
    progress(3, 10)
    progress(10, 10)
    assert progress.stream.getvalue().split("\r")[1:] == ["nnlint: 3/10 files", "nnlint: 10/10 files"]
    progress.close()
    assert progress.stream.getvalue().endswith("\r" + " " * len("nnlint: 10/10 files") + "\r")


def test_progress_stays_silent_during_the_first_second():
    stream = _Terminal(True)
    progress = Progress(stream)
    progress.started += 3600  # the run started "now" (far from the one-second mark)
    progress(1, 10)
    progress.close()
    assert stream.getvalue() == ""
