"""The content-hash cache (nnlint.cache): a warm run gives the same diagnostics without parsing,
and no entry that does not match the file, the settings and nnlint's own code is ever used."""

import json
import operator
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO
from test_project import MODELS, TRAIN

from nnlint import cache as cache_module, engine
from nnlint.cache import Cache
from nnlint.engine import FileSettings, Run
from nnlint.selection import resolve_selection

# Runs nnlint's CLI in a fresh interpreter, then writes which heavy packages it imported to argv[1].
_IMPORTS = """\
import json, sys
from nnlint.cli import main
out, sys.argv = sys.argv[1], ["nnlint", *sys.argv[2:]]
try:
    main()
except SystemExit:
    pass
with open(out, "w") as handle:
    json.dump(sorted({m.split(".")[0] for m in sys.modules} & {"libcst", "torch", "onnx"}), handle)
"""

BUGGY = "import torch.nn as nn\n\nnet = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.BatchNorm1d(8))\n"


def nnlint(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "nnlint", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})})


def imports_of(*args, cwd, tmp_path, env=None):
    out = tmp_path / "imports.json"
    subprocess.run([sys.executable, "-c", _IMPORTS, str(out), *args], capture_output=True, cwd=cwd,
                   env={**os.environ, **(env or {})}, check=True)
    return json.loads(out.read_text())


def entries(cache_dir):
    return sorted(p for p in Path(cache_dir).rglob("*") if p.is_file() and len(p.name) == 40)


@pytest.fixture
def cache_dir(tmp_path):
    return str(tmp_path / "cache")


def test_warm_run_gives_the_same_output_and_never_imports_libcst(tmp_path, cache_dir):
    cold = nnlint("--cache-dir", cache_dir, "fixtures/", cwd=REPO)
    assert cold.returncode == 1 and "NN101" in cold.stdout
    assert entries(cache_dir)
    warm = nnlint("--cache-dir", cache_dir, "fixtures/", cwd=REPO)
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert imports_of("--cache-dir", cache_dir, "fixtures/", cwd=REPO, tmp_path=tmp_path) == []


def test_version_and_rules_import_neither_libcst_torch_nor_onnx(tmp_path):
    assert imports_of("--version", cwd=REPO, tmp_path=tmp_path) == []
    assert imports_of("rules", cwd=REPO, tmp_path=tmp_path) == []


def test_one_small_file_cold_imports_no_torch_or_onnx_and_warm_no_libcst(tmp_path, cache_dir):
    (tmp_path / "net.py").write_text(BUGGY)
    assert imports_of("--cache-dir", cache_dir, "net.py", cwd=tmp_path, tmp_path=tmp_path) == ["libcst"]
    assert imports_of("--cache-dir", cache_dir, "net.py", cwd=tmp_path, tmp_path=tmp_path) == []


def test_default_cache_is_in_the_project_root_with_gitignore_and_cachedir_tag(project, monkeypatch):
    monkeypatch.delenv("NNLINT_CACHE_DIR")
    project("pyproject.toml", "[project]\nname = 'demo'\n")
    project("src/net.py", BUGGY)
    assert nnlint("net.py", cwd=project.root / "src").returncode == 1
    cache = project.root / ".nnlint_cache"
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert entries(cache)
    assert not (project.root / "src" / ".nnlint_cache").exists()


def test_no_cache_writes_nothing_and_config_cache_dir_is_relative_to_the_config(project, monkeypatch):
    monkeypatch.delenv("NNLINT_CACHE_DIR")
    project("net.py", BUGGY)
    assert nnlint("--no-cache", "net.py", cwd=project.root).returncode == 1
    assert not (project.root / ".nnlint_cache").exists()
    project("pyproject.toml", "[tool.nnlint]\ncache-dir = 'build/lint-cache'\n")
    project("sub/other.py", BUGGY)
    assert nnlint("other.py", cwd=project.root / "sub").returncode == 1
    assert entries(project.root / "build" / "lint-cache") and not (project.root / ".nnlint_cache").exists()


def test_clean_and_clear_cache_remove_only_an_nnlint_cache(project, cache_dir):
    project("net.py", BUGGY)
    nnlint("--cache-dir", cache_dir, "net.py", cwd=project.root)
    assert entries(cache_dir)
    assert nnlint("clean", "--cache-dir", cache_dir, cwd=project.root).returncode == 0
    assert not os.path.exists(cache_dir)
    nnlint("--cache-dir", cache_dir, "net.py", cwd=project.root)
    first = entries(cache_dir)
    assert nnlint("--cache-dir", cache_dir, "--clear-cache", "--no-cache", "net.py", cwd=project.root).returncode == 1
    assert not os.path.exists(first[0])
    mine = project("mine/notes.txt", "keep me")
    assert nnlint("clean", "--cache-dir", str(mine.parent), cwd=project.root).returncode == 0
    assert mine.read_text() == "keep me"  # no CACHEDIR.TAG of nnlint: not a cache, not removed


def test_corrupt_truncated_and_foreign_entries_are_ignored_and_rebuilt(tmp_path, cache_dir):
    cold = nnlint("--cache-dir", cache_dir, "fixtures/", cwd=REPO)
    found = entries(cache_dir)
    assert len(found) >= 10
    foreign = b"nnlint-cache-1\n" + b"cos\nsystem\n(S'echo pwned > " + str(tmp_path / "pwned").encode() + b"'\ntR."
    for i, entry in enumerate(found):
        blob = entry.read_bytes()
        entry.write_bytes([blob[: len(blob) // 2], b"garbage", b"", foreign][i % 4])
    again = nnlint("--cache-dir", cache_dir, "fixtures/", cwd=REPO)
    assert (again.returncode, again.stdout) == (cold.returncode, cold.stdout)
    assert not (tmp_path / "pwned").exists()
    assert imports_of("--cache-dir", cache_dir, "fixtures/", cwd=REPO, tmp_path=tmp_path) == []  # rebuilt


def test_concurrent_runs_on_one_cache_never_corrupt_it(tmp_path, cache_dir):
    reference = nnlint("--no-cache", "fixtures/", cwd=REPO)
    outputs = [None] * 3

    def run(i):
        outputs[i] = nnlint("--cache-dir", cache_dir, "-j", "1", "fixtures/", cwd=REPO).stdout

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outputs == [reference.stdout] * 3
    assert not [p for p in Path(cache_dir).rglob(".tmp-*")]
    assert nnlint("--cache-dir", cache_dir, "fixtures/", cwd=REPO).stdout == reference.stdout
    assert imports_of("--cache-dir", cache_dir, "fixtures/", cwd=REPO, tmp_path=tmp_path) == []


def test_read_only_cache_directory_runs_without_cache_and_warns_once(project, tmp_path):
    project("a.py", BUGGY)
    project("b.py", BUGGY)
    if os.geteuid() == 0:  # root writes through any mode bits: use a directory the kernel refuses
        readonly = Path("/sys/nnlint-cache")
    else:
        readonly = tmp_path / "readonly"
        readonly.mkdir(mode=0o555)
    proc = nnlint("--cache-dir", str(readonly), ".", cwd=project.root)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.count("NN101") == 2
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and str(readonly) in warnings[0] and "without a cache" in warnings[0]
    assert not readonly.exists() or list(readonly.iterdir()) == []


def test_a_config_change_invalidates_entries(project, cache_dir):
    project("net.py", BUGGY)
    project("pyproject.toml", "[tool.nnlint]\n")
    assert "NN101" in nnlint("--cache-dir", cache_dir, "net.py", cwd=project.root).stdout
    project("pyproject.toml", "[tool.nnlint]\nper-file-ignores = {'net.py' = ['NN101']}\n")
    assert nnlint("--cache-dir", cache_dir, "net.py", cwd=project.root).stdout == ""
    project("pyproject.toml", "[tool.nnlint]\n[tool.nnlint.NN101]\n")
    assert "NN101" in nnlint("--cache-dir", cache_dir, "net.py", cwd=project.root).stdout


def test_an_nnlint_code_change_invalidates_entries(project, cache_dir, tmp_path):
    project("net.py", BUGGY)
    assert "variance shift" in nnlint("--cache-dir", cache_dir, "net.py", cwd=project.root).stdout
    changed = tmp_path / "changed"
    shutil.copytree(Path(engine.__file__).parent, changed / "nnlint", ignore=shutil.ignore_patterns("__pycache__"))
    structure = changed / "nnlint" / "checks" / "structure.py"
    assert "variance shift" in structure.read_text()
    structure.write_text(structure.read_text().replace("variance shift", "VARIANCE SHIFT"))
    out = nnlint("--cache-dir", cache_dir, "net.py", cwd=project.root, env={"PYTHONPATH": str(changed)}).stdout
    assert "VARIANCE SHIFT" in out and "variance shift" not in out


def test_identical_output_across_jobs_hash_seeds_cold_and_warm(tmp_path):
    def run(seed, jobs, cache):
        cached = ["--cache-dir", str(tmp_path / cache)] if cache else ["--no-cache"]
        proc = nnlint("--select", "ALL", "-j", jobs, *cached, "fixtures/", cwd=REPO, env={"PYTHONHASHSEED": seed})
        assert proc.returncode == 1
        return proc.stdout

    reference = run("0", "1", None)
    assert reference.count("\n") > 30
    for seed, jobs, cache in [("1", "2", "a"), ("2", "2", "a"), ("0", "1", "a"),  # cold -j2, then warm -j2 and -j1
                              ("2", "1", "b"), ("1", "2", "b"), ("0", "2", "b")]:  # cold -j1, then warm -j2
        assert run(seed, jobs, cache) == reference, (seed, jobs, cache)


@pytest.fixture
def later(monkeypatch):
    """The cache's clock, 10 s ahead: the files a test just wrote are past the racy window."""
    real = cache_module._clock
    monkeypatch.setattr(cache_module, "_clock", lambda: real() + 10 * 10**9)


@pytest.fixture
def counted(monkeypatch):
    """Which files a run reads (engine.read_file) and which it analyses (engine.lint_source)."""
    calls = {"read": [], "linted": []}
    read, lint = engine.read_file, engine.lint_source
    monkeypatch.setattr(engine, "read_file", lambda path, *a: calls["read"].append(path) or read(path, *a))
    monkeypatch.setattr(engine, "lint_source", lambda path, *a: calls["linted"].append(path) or lint(path, *a))

    def take():
        taken = {key: sorted(value) for key, value in calls.items()}
        calls["read"].clear()
        calls["linted"].clear()
        return taken

    return take


def cached_run(project, cache_dir, select=None):
    settings = FileSettings(resolve_selection(select, [], [], []))
    return Run(settings, str(project.root), jobs=1, cache=Cache.open(cache_dir, str(project.root)))


def app(project, models=MODELS):
    project("app/models.py", models)
    project("app/train.py", TRAIN)
    project("app/other.py", BUGGY)


def test_one_changed_file_is_the_only_one_analysed_again_and_the_project_pass_reruns(project, cache_dir, later, counted):
    app(project, MODELS.replace("return F.softmax(self.fc2(x), dim=1)", "return self.fc2(x)"))
    run = cached_run(project, cache_dir)
    first = run.lint_paths(["app"])
    assert [(d.path, d.code) for d in first.diagnostics] == [("app/other.py", "NN101")]
    counted()
    assert run.lint_paths(["app"]).diagnostics == first.diagnostics
    assert counted() == {"read": [], "linted": []}
    project("app/models.py", MODELS)
    second = run.lint_paths(["app"])
    # the other files' facts come from the cache; the project pass reran on them (NN201 in train.py)
    assert counted() == {"read": ["app/models.py"], "linted": ["app/models.py"]}
    assert [(d.path, d.line, d.code) for d in second.diagnostics] == [("app/other.py", 3, "NN101"), ("app/train.py", 13, "NN201")]


def test_a_warm_run_reads_no_unchanged_file_and_reports_what_a_cold_run_does(project, cache_dir, later, counted):
    app(project)
    cold = cached_run(project, cache_dir, ["ALL"]).lint_paths(["app"])
    assert [(d.path, d.line, d.code) for d in cold.diagnostics] == [
        ("app/other.py", 3, "NN101"), ("app/train.py", 11, "NN501"), ("app/train.py", 11, "NN502"), ("app/train.py", 13, "NN201")]
    assert counted()["read"] == ["app/models.py", "app/other.py", "app/train.py"]
    warm = cached_run(project, cache_dir, ["ALL"]).lint_paths(["app"])
    assert counted() == {"read": [], "linted": []}
    assert warm.diagnostics == cold.diagnostics and warm.files_checked == 3


def test_a_file_changed_within_the_racy_window_is_read_again_even_when_stat_looks_the_same(project, cache_dir, monkeypatch,
                                                                                          counted):
    # ctime out of the picture, as on a filesystem where it says nothing about writes: only the
    # racy window can tell a change that keeps the size and sets mtime back
    monkeypatch.setattr(cache_module, "_SIGNATURE", operator.attrgetter("st_size", "st_mtime_ns", "st_ino", "st_dev"))
    net = project("net.py", BUGGY)
    before = net.stat()
    assert [d.code for d in cached_run(project, cache_dir).lint_paths(["net.py"]).diagnostics] == ["NN101"]
    net.write_text(BUGGY.replace("nn.Dropout(0.5), nn.BatchNorm1d(8)", "nn.BatchNorm1d(8), nn.Dropout(0.5)"))
    os.utime(net, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (net.stat().st_size, net.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    real = cache_module._clock
    monkeypatch.setattr(cache_module, "_clock", lambda: real() + 10 * 10**9)  # the next run is 10 s later
    counted()
    assert cached_run(project, cache_dir).lint_paths(["net.py"]).diagnostics == []
    assert counted() == {"read": ["net.py"], "linted": ["net.py"]}


def test_a_change_hidden_by_setting_mtime_back_is_caught_by_ctime(project, cache_dir, later, counted):
    net = project("net.py", BUGGY)
    before = net.stat()
    assert [d.code for d in cached_run(project, cache_dir).lint_paths(["net.py"]).diagnostics] == ["NN101"]
    net.write_text(BUGGY.replace("nn.Dropout(0.5), nn.BatchNorm1d(8)", "nn.BatchNorm1d(8), nn.Dropout(0.5)"))
    os.utime(net, ns=(before.st_atime_ns, before.st_mtime_ns))
    counted()
    assert cached_run(project, cache_dir).lint_paths(["net.py"]).diagnostics == []
    assert counted() == {"read": ["net.py"], "linted": ["net.py"]}


def test_a_touched_but_unchanged_file_is_a_hit_and_is_not_read_on_the_next_run(project, cache_dir, later, counted):
    app(project)
    cold = cached_run(project, cache_dir).lint_paths(["app"])
    os.utime(project.root / "app" / "models.py", (1_600_000_000, 1_600_000_000))
    counted()
    assert cached_run(project, cache_dir).lint_paths(["app"]).diagnostics == cold.diagnostics
    assert counted() == {"read": ["app/models.py"], "linted": []}  # read and hashed: the same bytes
    assert cached_run(project, cache_dir).lint_paths(["app"]).diagnostics == cold.diagnostics
    assert counted() == {"read": [], "linted": []}  # its new stat was recorded


def test_context_files_come_from_the_cache(project, tmp_path, cache_dir):
    project("app/models.py", MODELS)
    project("app/train.py", TRAIN)
    cold = nnlint("--cache-dir", cache_dir, "--select", "NN2", "app/train.py", cwd=project.root)
    assert cold.stdout.startswith("app/train.py:13:16: NN201 ")
    assert nnlint("--cache-dir", cache_dir, "--select", "NN2", "app/train.py", cwd=project.root).stdout == cold.stdout
    assert imports_of("--cache-dir", cache_dir, "--select", "NN2", "app/train.py", cwd=project.root, tmp_path=tmp_path) == []


def old_builds(cache_dir, days, first=0):
    """Fingerprint folders as earlier nnlint builds left them, each last used `days` ago."""
    folders = []
    for i, age in enumerate(days, first):
        folder = Path(cache_dir, f"{i:02d}" + "ab" * 19)
        (folder / "ab").mkdir(parents=True)
        (folder / "ab" / ("cd" * 20)).write_bytes(b"nnlint-cache-1\n")
        used = time.time() - age * 24 * 3600
        os.utime(folder, (used, used))
        folders.append(folder)
    return folders


def test_old_builds_folders_are_pruned_keeping_the_three_last_used_within_a_week(project, cache_dir):
    current = Cache.open(cache_dir, str(project.root))
    mine = Path(cache_dir, "mine")
    mine.mkdir()
    os.utime(mine, (0, 0))
    folders = old_builds(cache_dir, [1, 2, 3, 4, 8])
    again = Cache.open(cache_dir, str(project.root))
    assert again.fingerprint == current.fingerprint
    assert [f.exists() for f in folders] == [True, True, True, False, False]
    assert sorted(p.name for p in Path(cache_dir).iterdir()) == sorted(
        [".gitignore", "CACHEDIR.TAG", current.fingerprint, "mine"] + [f.name for f in folders[:3]])
    shutil.rmtree(folders[1])
    shutil.rmtree(folders[2])
    [older] = old_builds(cache_dir, [9], first=10)  # among the three last used, but not used for a week
    Cache.open(cache_dir, str(project.root))
    assert folders[0].exists() and not older.exists()


def test_folders_used_in_the_last_hour_are_kept_and_concurrent_runs_prune_together(project, cache_dir):
    Cache.open(cache_dir, str(project.root))
    busy = old_builds(cache_dir, [0.01, 0.02, 0.03, 0.04, 0.002])  # maybe serving runs of other builds now
    Cache.open(cache_dir, str(project.root))
    assert all(f.exists() for f in busy)
    for f in busy:
        shutil.rmtree(f)
    stale = old_builds(cache_dir, [10] * 6)
    errors = []

    def run():
        try:
            Cache.open(cache_dir, str(project.root))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and not any(f.exists() for f in stale)
    assert not [p for p in Path(cache_dir).iterdir() if p.name.startswith(".trash-")]


def test_a_cache_whose_old_folders_cannot_be_removed_still_serves_the_run(project, cache_dir, monkeypatch):
    project("net.py", BUGGY)
    Cache.open(cache_dir, str(project.root))
    stale = old_builds(cache_dir, [30])
    if os.geteuid() == 0:  # root writes through any mode bits: the kernel's refusal, simulated
        def refused(*args):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(cache_module.os, "rename", refused)
    else:
        os.chmod(cache_dir, 0o555)  # the current folder stays writable: the cache works
    try:
        cache = Cache.open(cache_dir, str(project.root))
        run = Run(FileSettings(resolve_selection(None, [], [], [])), str(project.root), jobs=1, cache=cache)
        assert [d.code for d in run.lint_paths(["net.py"]).diagnostics] == ["NN101"]
    finally:
        os.chmod(cache_dir, 0o755)
    assert stale[0].exists()
