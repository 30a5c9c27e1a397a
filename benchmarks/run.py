"""nnlint's speed benchmark (issue 10): nnlint against the parse floor and its peers on real model code.

    python benchmarks/run.py                                   # timm + torchvision, medians of 3 runs
    python benchmarks/run.py --corpus transformers --select ALL
    python benchmarks/run.py --runs 1 --limit 60               # a quick smoke run

The corpora are the sources of pinned PyPI wheels (corpus.py), downloaded with pip into a cache
folder outside the repository when missing and copied into a temporary folder for the run (the
"one file changed" step edits the copy). Every run measures, alternating in this order so that
a busy machine slows every tool alike: the libcst and ast parse floors (every file parsed once in
one process), nnlint cold (a fresh cache), nnlint warm (nothing changed), nnlint warm with one
file changed, TorchFix, Fixit and ruff when installed, optionally a synthetic ONNX graph
(--onnx-nodes, onnx_graph.py), `nnlint --version`, `nnlint rules`, and
one small file cold and warm. Each step is a subprocess measured for wall time, CPU (user+sys of
the whole process tree) and peak RSS summed over the tree (measure.py). The script prints
ready-to-paste markdown: the machine, the table of medians with ratios to the libcst floor, and
each target of issue 10 as met or its gap. Nothing here runs in the test suite.

Editor latency (the language server's target, "at most 3x libcst's parse of a 100 KB file"):
the table ends with that reference, `parse_floor.parse_seconds` of `corpus.file_near(files, 100_000)`;
a language-server benchmark can import both.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import corpus  # noqa: E402
import measure  # noqa: E402
import table  # noqa: E402

HERE = Path(__file__).resolve().parent
PEERS = {"torchfix": "0.7.0", "fixit": "2.2.1", "ruff": "0.17.6"}  # what --install-peers installs
SMALL_FILE = '''\
"""A small classifier, the size of a file a pre-commit hook sees."""
import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self, features: int, classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(features, 128),
            nn.Dropout(0.3),
            nn.BatchNorm1d(128),
            nn.ReLU(),
            nn.Linear(128, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
'''


@dataclass
class Step:
    """One command measured once per run; `before`/`after` prepare and undo its situation."""

    key: str
    label: str
    cmd: list[str]
    before: Callable[[], None] | None = None
    after: Callable[[], None] | None = None
    ok_codes: tuple[int, ...] = (0,)
    samples: list[measure.Sample] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = [n.strip() for n in args.corpus.split(",") if n.strip()]
    unknown = [n for n in names if n not in corpus.PINNED]
    if unknown:
        sys.exit(f"unknown corpus {', '.join(unknown)}; choose from {', '.join(corpus.PINNED)}")
    nnlint = _nnlint_command(args.nnlint)
    args.peers_env = Path(args.peers_env or Path(args.cache) / "peers")
    if args.install_peers:
        _install_peers(args.peers_env)
    load_before = os.getloadavg()
    packages = [corpus.fetch(n, Path(args.cache)) for n in names]

    work = Path(tempfile.mkdtemp(prefix="nnlint-bench-"))
    try:
        targets, files = _copy(packages, work / "src", args.limit)
        listing = work / "files.txt"
        listing.write_text("".join(f"{f}\n" for f in files), encoding="utf-8")
        steps = _steps(args, nnlint, work, targets, files, listing)
        _run_warmup(nnlint, work)
        for run in range(args.runs):
            for step in steps:
                if step.before:
                    step.before()
                try:
                    sample = measure.run(step.cmd, cwd=str(work))
                finally:
                    if step.after:
                        step.after()
                step.samples.append(sample)
                state = "" if sample.returncode in step.ok_codes else f" (exit {sample.returncode})"
                print(f"run {run + 1}/{args.runs}  {step.label:<44} {sample.wall:8.2f} s{state}", file=sys.stderr)
                if state and args.verbose:
                    print(sample.stderr.decode(errors="replace")[-2000:], file=sys.stderr)
        print(_report(args, names, nnlint, steps, files, load_before, os.getloadavg()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog="Prints markdown on stdout, progress on stderr.")
    parser.add_argument("--corpus", default=",".join(corpus.DEFAULT),
                        help=f"comma-separated, linted together (default: {','.join(corpus.DEFAULT)}; "
                             f"known: {', '.join(f'{n} {v}' for n, v in corpus.PINNED.items())})")
    parser.add_argument("--runs", type=int, default=3, help="runs to take medians over (default 3)")
    parser.add_argument("--jobs", "-j", type=int, help="nnlint and TorchFix worker processes (default: theirs)")
    parser.add_argument("--select", help="nnlint --select for the corpus runs (default: the default rules)")
    parser.add_argument("--peers", default=",".join(PEERS),
                        help="peers to time when installed, or 'none' (default: torchfix,fixit,ruff)")
    parser.add_argument("--peers-env", help="the virtualenv holding the peers (default: CACHE/peers); "
                                            "they pin old libcst and click, so keep them out of nnlint's venv")
    parser.add_argument("--install-peers", action="store_true",
                        help=f"create the peers' virtualenv first ({', '.join(f'{n} {v}' for n, v in PEERS.items())})")
    parser.add_argument("--onnx-nodes", type=int, default=0,
                        help="also lint a synthetic ONNX graph of about N nodes with --select ALL (e.g. 100000)")
    parser.add_argument("--limit", type=int, help="lint only the first N files of the corpus (smoke runs)")
    parser.add_argument("--cache", default=str(corpus.default_cache()),
                        help="where the wheels and their sources are kept (default: %(default)s)")
    parser.add_argument("--nnlint", help="the nnlint executable to measure (default: the one beside this Python)")
    parser.add_argument("--verbose", "-v", action="store_true", help="print the stderr of failed runs")
    return parser


def _nnlint_command(explicit: str | None) -> list[str]:
    if explicit:
        return [explicit]
    beside = Path(sys.executable).with_name("nnlint")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "nnlint"]


def _copy(packages: list[Path], dest: Path, limit: int | None) -> tuple[list[Path], list[Path]]:
    """Copy the .py files of each package (the first `limit` in all) under dest; returns folders and files."""
    targets, files = [], []
    for package in packages:
        target = dest / package.parent.name / package.name
        for source in corpus.python_files([package]):
            if limit is not None and len(files) >= limit:
                break
            copy = target / source.relative_to(package)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
            files.append(copy)
        if target.is_dir():
            targets.append(target)
    return targets, files


def _cache_flags(nnlint: list[str]) -> set[str]:
    """Which cache options the measured nnlint has (the cache arrived with issue 10)."""
    help_text = subprocess.run([*nnlint, "check", "--help"], capture_output=True, text=True).stdout
    return {flag for flag in ("--cache-dir", "--no-cache") if flag in help_text}


def _steps(args, nnlint: list[str], work: Path, targets: list[Path], files: list[Path], listing: Path) -> list[Step]:
    flags = _cache_flags(nnlint)
    lint = [*nnlint, "check", "-q", "--exit-zero", "--output-format", "json"]
    if args.jobs:
        lint += ["-j", str(args.jobs)]
    if args.select:
        lint += ["--select", args.select]
    dirs = [str(t) for t in targets]
    floor = [sys.executable, str(HERE / "parse_floor.py")]
    steps = [
        Step("libcst", "libcst parse floor (one process)", [*floor, "libcst", str(listing)]),
        Step("ast", "ast parse floor (one process)", [*floor, "ast", str(listing)]),
    ]
    cache = work / "cache"
    if "--cache-dir" in flags:
        changed = corpus.median_file(files)
        original = changed.read_bytes()
        steps += [
            Step("cold", "nnlint cold (fresh cache)", [*lint, "--cache-dir", str(cache), *dirs],
                 before=lambda: shutil.rmtree(cache, ignore_errors=True)),
            Step("warm", "nnlint warm (nothing changed)", [*lint, "--cache-dir", str(cache), *dirs]),
            Step("changed", f"nnlint warm, one file changed ({changed.name})",
                 [*lint, "--cache-dir", str(cache), *dirs],
                 before=lambda: changed.write_bytes(original + b"\n# edited by the benchmark\n"),
                 after=lambda: changed.write_bytes(original)),
        ]
    else:
        cold = [*lint, "--no-cache", *dirs] if "--no-cache" in flags else [*lint, *dirs]
        steps.append(Step("cold", "nnlint (no cache support)" if not flags else "nnlint cold (--no-cache)", cold))
    steps += _peer_steps(args, dirs)
    if args.onnx_nodes:
        import onnx_graph  # numpy and onnx: only when asked for

        graph = work / "graph" / "synthetic.onnx"
        graph.parent.mkdir(parents=True, exist_ok=True)
        count = onnx_graph.write(str(graph), args.onnx_nodes)
        steps.append(Step("onnx", f"nnlint --select ALL, ONNX graph of {count:,} nodes ({graph.stat().st_size / 1e6:.1f} MB)",
                          [*nnlint, "check", "-q", "--exit-zero", "--select", "ALL", str(graph)]))
    small = work / "small" / "classifier.py"
    small.parent.mkdir(parents=True, exist_ok=True)
    small.write_text(SMALL_FILE, encoding="utf-8")
    small_cache = work / "small-cache"
    steps += [
        Step("version", "nnlint --version", [*nnlint, "--version"]),
        Step("rules", "nnlint rules", [*nnlint, "rules"]),
    ]
    if "--cache-dir" in flags:
        steps += [
            Step("small_cold", "one small file, cold", [*nnlint, "check", "--cache-dir", str(small_cache), str(small)],
                 before=lambda: shutil.rmtree(small_cache, ignore_errors=True), ok_codes=(0, 1)),
            Step("small_warm", "one small file, warm", [*nnlint, "check", "--cache-dir", str(small_cache), str(small)],
                 ok_codes=(0, 1)),
        ]
    else:
        no_cache = ["--no-cache"] if "--no-cache" in flags else []
        steps.append(Step("small_cold", "one small file", [*nnlint, "check", *no_cache, str(small)], ok_codes=(0, 1)))
    return steps


def _install_peers(env: Path) -> None:
    """A virtualenv of its own for the peers: TorchFix pins libcst < 1.6 and Fixit click < 8.2."""
    python = env / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *(f"{n}=={v}" for n, v in PEERS.items())], check=True)


def _peer_steps(args, dirs: list[str]) -> list[Step]:
    wanted = [] if args.peers == "none" else [p.strip() for p in args.peers.split(",") if p.strip()]
    found = {name: _which(name, args.peers_env / "bin") for name in wanted}
    steps = []
    if found.get("torchfix"):
        jobs = ["-j", str(args.jobs)] if args.jobs else []
        steps.append(Step("torchfix", "TorchFix (default rules)", [found["torchfix"], *jobs, *dirs], ok_codes=(0, 1)))
    if found.get("fixit"):
        steps.append(Step("fixit", "Fixit lint (default rules)", [found["fixit"], "lint", *dirs], ok_codes=(0, 1)))
    if found.get("ruff"):
        steps.append(Step("ruff", "ruff check --no-cache --select ALL",
                          [found["ruff"], "check", "--no-cache", "--select", "ALL", "--exit-zero", *dirs]))
    return steps


def _which(name: str, peers_bin: Path) -> str | None:
    """The tool in the peers' virtualenv first, then beside this Python, then on PATH."""
    path = [str(peers_bin), os.path.dirname(sys.executable), os.environ.get("PATH", "")]
    return shutil.which(name, path=os.pathsep.join(path))


def _run_warmup(nnlint: list[str], work: Path) -> None:
    """One untimed nnlint run so the first measured run does not pay for compiling nnlint's bytecode."""
    subprocess.run([*nnlint, "check", "-q", str(work / "small")], cwd=work, capture_output=True)


def _report(args, names, nnlint, steps: list[Step], files: list[Path], load_before, load_after) -> str:
    by_key = {step.key: step for step in steps}
    stats = {s.key: table.summarize(s.label, s.samples, lambda x, s=s: x.returncode in s.ok_codes) for s in steps}
    floor = stats["libcst"]
    size = sum(f.stat().st_size for f in files)
    corpora = " + ".join(f"{n} {corpus.PINNED[n]}" for n in names)
    subset = f", first {args.limit} files" if args.limit else ""
    rules = f"`--select {args.select}`" if args.select else "default rules"
    cpus = _usable_cpus()
    lines = [
        f"### {corpora}: {len(files)} files, {size / 1e6:.1f} MB{subset}",
        "",
        f"- nnlint: {_version(nnlint)}{_commit()}; {rules}; jobs: {args.jobs or f'default ({cpus} CPUs usable)'}",
        f"- Python {platform.python_version()}, libcst {_libcst_version(sys.executable)}; "
        f"peers: {_peer_versions(steps, args.peers_env)}",
        f"- machine: {_machine(cpus)}; load average {load_before[0]:.1f} before the run, {load_after[0]:.1f} after",
        f"- medians of {args.runs} run(s), the tools alternating within each run; "
        f"parse floor: {_floor_note(by_key['libcst'])}",
    ]
    if load_before[0] > cpus:
        lines.append(f"- **shared machine**: the load before the run ({load_before[0]:.1f}) exceeded the "
                     f"{cpus} CPUs; wall times are noisy, CPU times less so")
    if "warm" not in by_key:
        lines.append("- this nnlint has no `--cache-dir`: no warm runs")
    lines += ["", table.results([stats[s.key] for s in steps], floor)]
    reference = corpus.file_near(files, 100_000)
    from parse_floor import parse_seconds  # imports libcst into this process only now, after the timed runs

    lsp = parse_seconds(reference.read_bytes())
    lines += ["", f"Editor latency reference: libcst parses {reference.name} ({reference.stat().st_size / 1e3:.0f} KB) "
                  f"in {lsp * 1e3:.0f} ms in process; the language server's budget for it is 3× that, "
                  f"{3 * lsp * 1e3:.0f} ms."]
    lines += ["", table.targets(_targets(args, names, stats, by_key)), ""]
    return "\n".join(lines)


def _targets(args, names, stats: dict[str, table.Stats], steps: dict[str, Step]) -> list[table.Target]:
    floor, cold = stats["libcst"], stats["cold"]
    rules = f"--select {args.select}" if args.select else "default rules"
    rows = [table.at_most(f"cold, {rules}: wall at most 1.0× the libcst parse floor ({table.seconds(floor.wall)})",
                          cold.wall, floor.wall, table.seconds)]
    if "warm" in stats:
        warm = table.at_most("warm, nothing changed: at most 1.0 s", stats["warm"].wall, 1.0, table.seconds)
        same = _same_output(steps["cold"], steps["warm"])
        if same is False:
            warm = table.Target(warm.target, warm.measured, "gap: the diagnostics differ from the cold run's")
        elif same:
            warm = table.Target(warm.target, warm.measured + ", same diagnostics", warm.verdict)
        rows.append(warm)
        changed = stats["changed"]
        rows.append(table.Target(
            "one file changed: re-reads that file, redoes the project pass only",
            f"{table.seconds(changed.wall)} ({table.ratio(changed.wall, cold.wall)} cold)",
            "no limit to compare with (what is re-read is checked by the cache tests)"))
    else:
        rows.append(table.Target("warm, nothing changed: at most 1.0 s", "n/a", "gap: no cache in this nnlint"))
    if "transformers" in names:
        rows.append(table.at_most("transformers: peak RSS summed over the process tree at most 1.5 GB",
                                  cold.rss, 1.5e9, lambda v: table.size(int(v))))
    for key, target, limit in (("version", "`nnlint --version`: at most 0.15 s", 0.15),
                               ("rules", "`nnlint rules`: at most 0.15 s", 0.15),
                               ("small_cold", "one small file, cold: at most 0.5 s", 0.5)):
        row = table.at_most(target, stats[key].wall, limit, table.seconds)
        # one process: its CPU time is what the wall time would be on an idle machine
        rows.append(table.Target(row.target, f"{row.measured} (CPU {table.seconds(stats[key].cpu)})", row.verdict))
    if "torchfix" in stats and stats["torchfix"].wall and cold.wall:
        rows.append(table.Target("TorchFix wall ÷ nnlint cold wall (about 10× when the first target is met)",
                                 f"{stats['torchfix'].wall / cold.wall:.1f}×", "for information"))
    return rows


def _same_output(first: Step, second: Step) -> bool | None:
    """Whether every run printed the same diagnostics in both steps (None: nothing to compare)."""
    pairs = [(a.stdout, b.stdout) for a, b in zip(first.samples, second.samples)
             if a.returncode in first.ok_codes and b.returncode in second.ok_codes]
    return all(a == b for a, b in pairs) if pairs else None


def _floor_note(step: Step) -> str:
    last = step.samples[-1].stdout.decode(errors="replace").strip() if step.samples else ""
    return last or "no output"


def _version(nnlint: list[str]) -> str:
    out = subprocess.run([*nnlint, "--version"], capture_output=True, text=True).stdout.strip()
    return out.rsplit(" ", 1)[-1] if out else "unknown version"


def _commit() -> str:
    """The commit of this checkout (the nnlint measured, when it is installed editable from here)."""
    out = subprocess.run(["git", "-C", str(HERE), "log", "-1", "--format=%h %cs"], capture_output=True, text=True)
    return f" (checkout {out.stdout.strip()})" if out.returncode == 0 and out.stdout.strip() else ""


def _libcst_version(python: str) -> str:
    code = "from importlib.metadata import version; print(version('libcst'))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else "not installed"


def _peer_versions(steps: list[Step], env: Path) -> str:
    versions = []
    for step in steps:
        if step.key in PEERS:
            out = subprocess.run([step.cmd[0], "--version"], capture_output=True, text=True)
            text = (out.stdout or out.stderr).strip().splitlines()
            versions.append(f"{step.key} {text[0].split()[-1] if text else '?'}")
    if versions and (env / "bin" / "python").exists():
        versions.append(f"libcst {_libcst_version(str(env / 'bin' / 'python'))} in their virtualenv")
    return ", ".join(versions) or "none installed"


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _machine(cpus: int) -> str:
    model = platform.processor() or platform.machine()
    memory = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), model)
        with open("/proc/meminfo", encoding="utf-8") as handle:
            kib = int(next(line.split()[1] for line in handle if line.startswith("MemTotal")))
            memory = f", {kib / 1024 ** 2:.0f} GB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{cpus} CPUs usable ({model}){memory}, {platform.system()} {platform.release()}"


if __name__ == "__main__":
    sys.exit(main())
