"""Which files a run lints: walking, default excludes, .gitignore, explicit files, --force-exclude."""

import subprocess

from conftest import BUGGY_SEQUENTIAL


def linted(run_cli, *args):
    return sorted({line.split(":")[0] for line in run_cli("-q", *args).lines})


def test_default_excludes_are_skipped(project, run_cli):
    for folder in (".git", ".venv", "venv", "env", "__pycache__", "build", "dist", ".tox", ".nox",
                   ".eggs", "node_modules", "site-packages", ".hg", ".svn"):
        project(f"{folder}/net.py", BUGGY_SEQUENTIAL)
    project("lib/site-packages/pkg/net.py", BUGGY_SEQUENTIAL)
    project("src/net.py", BUGGY_SEQUENTIAL)
    project("src/notes.txt", BUGGY_SEQUENTIAL)
    assert linted(run_cli, ".") == ["src/net.py"]


def test_explicit_files_are_linted_even_when_excluded_unless_force_exclude(project, run_cli):
    project("build/gen.py", BUGGY_SEQUENTIAL)
    assert linted(run_cli, "build/gen.py") == ["build/gen.py"]
    assert linted(run_cli, "--force-exclude", "build/gen.py") == []
    assert linted(run_cli, "--extend-exclude", "gen.py", "--force-exclude", "build/gen.py") == []


def test_gitignored_files_are_skipped_inside_a_git_repository(project, run_cli):
    subprocess.run(["git", "init", "-q", str(project.root)], check=True)
    project(".gitignore", "generated/\nscratch_*.py\n")
    project("generated/net.py", BUGGY_SEQUENTIAL)
    project("scratch_1.py", BUGGY_SEQUENTIAL)
    project("models/net.py", BUGGY_SEQUENTIAL)
    project("models/.gitignore", "local.py\n")
    project("models/local.py", BUGGY_SEQUENTIAL)
    assert linted(run_cli, ".") == ["models/net.py"]
    assert linted(run_cli, "scratch_1.py") == ["scratch_1.py"]  # named explicitly


def test_gitignore_outside_a_repository_is_not_applied(project, run_cli):
    project(".gitignore", "net.py\n")
    project("net.py", BUGGY_SEQUENTIAL)
    assert linted(run_cli, ".") == ["net.py"]


def test_files_reached_twice_are_linted_once(project, run_cli):
    project("pkg/net.py", BUGGY_SEQUENTIAL)
    result = run_cli("pkg", "pkg/net.py", "./pkg")
    assert len(result.lines) == 1 and result.stderr == "Found 1 problem in 1 file (1 checked).\n"


def test_parallel_and_serial_runs_agree(project, run_cli):
    for i in range(40):
        project(f"pkg/m{i:02d}.py", BUGGY_SEQUENTIAL if i % 3 else "x = 1\n")
    project("pkg/broken.py", "def (:\n")
    serial = run_cli("-j", "1", ".")
    parallel = run_cli("-j", "2", ".")
    assert serial.stdout == parallel.stdout and serial.stderr == parallel.stderr
    assert len(serial.lines) == 27
