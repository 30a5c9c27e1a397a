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


import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import corpus  # noqa: E402
import measure  # noqa: E402
import probe  # noqa: E402
import report  # noqa: E402
import steps as plan  # noqa: E402
from steps import PEERS, Step  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = [n.strip() for n in args.corpus.split(",") if n.strip()]
    unknown = [n for n in names if n not in corpus.PINNED]
    if unknown:
        sys.exit(f"unknown corpus {', '.join(unknown)}; choose from {', '.join(corpus.PINNED)}")
    nnlint = _nnlint_command(args.nnlint)
    args.peers_env = Path(args.peers_env or Path(args.cache) / "peers")
    if args.install_peers:
        plan.install_peers(args.peers_env)
    load_before = os.getloadavg()
    packages = [corpus.fetch(n, Path(args.cache)) for n in names]

    work = Path(tempfile.mkdtemp(prefix="nnlint-bench-"))
    try:
        targets, files = _copy(packages, work / "src", args.limit)
        listing = work / "files.txt"
        listing.write_text("".join(f"{f}\n" for f in files), encoding="utf-8")
        steps = plan.plan(args, nnlint, work, targets, files, listing)
        _run_warmup(nnlint, work)
        for run in range(args.runs):
            for step in steps:
                if step.key in PEERS and args.peer_runs is not None and run >= args.peer_runs:
                    continue
                if step.before:
                    step.before()
                try:
                    sample = measure.run(step.cmd, cwd=str(work))
                finally:
                    if step.after:
                        step.after()
                step.samples.append(sample)
                state = "" if sample.returncode in step.ok_codes else f" (exit {sample.returncode})"
                print(f"run {run + 1}/{args.runs}  {step.label:<44} {sample.wall:8.2f} s wall {sample.cpu:8.2f} s CPU"
                      f"{state}", file=sys.stderr)
                if state and args.verbose:
                    print(sample.stderr.decode(errors="replace")[-2000:], file=sys.stderr)
        load_after = os.getloadavg()
        python = probe.python_of(nnlint)
        if python:
            _check_imports(python, nnlint, steps, work)
        text = report.markdown(args, names, nnlint, steps, files, load_before, load_after)
        if args.profile and python:
            print("profiling nnlint -j 1 ...", file=sys.stderr)
            text += "\n" + probe.profile(python, plan.corpus_argv(args, targets), str(work), args.profile) + "\n"
        print(text)
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
    parser.add_argument("--peer-runs", type=int, metavar="N",
                        help="time the peers in the first N runs only (they are slow; default: every run)")
    parser.add_argument("--install-peers", action="store_true",
                        help=f"create the peers' virtualenv first ({', '.join(f'{n} {v}' for n, v in PEERS.items())})")
    parser.add_argument("--onnx-nodes", type=int, default=0,
                        help="also lint a synthetic ONNX graph of about N nodes with --select ALL (e.g. 100000)")
    parser.add_argument("--limit", type=int, help="lint only the first N files of the corpus (smoke runs)")
    parser.add_argument("--cache", default=str(corpus.default_cache()),
                        help="where the wheels and their sources are kept (default: %(default)s)")
    parser.add_argument("--nnlint", help="the nnlint executable to measure (default: the one beside this Python)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="after the runs, profile nnlint -j 1 on the corpus and print its N slowest functions")
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


def _check_imports(python: str, nnlint: list[str], steps: list[Step], work: Path) -> None:
    """Rerun each command that has import targets under -X importtime, in the measured order (the
    warm small file after the cold one, so its cache is there)."""
    for step in steps:
        if step.forbidden:
            if step.before:
                step.before()
            found = probe.imported(python, step.cmd[len(nnlint):], str(work))
            step.imported = found & set(step.forbidden)


def _run_warmup(nnlint: list[str], work: Path) -> None:
    """One untimed nnlint run so the first measured run does not pay for compiling nnlint's bytecode."""
    subprocess.run([*nnlint, "check", "-q", str(work / "small")], cwd=work, capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
