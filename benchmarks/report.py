"""The markdown run.py prints: the machine and versions, the table of medians, the targets of issue 10."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import corpus
import table
from steps import PEERS, Step

HERE = Path(__file__).resolve().parent


def markdown(args, names, nnlint, steps: list[Step], files: list[Path], load_before, load_after) -> str:
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
        f"- medians of {args.runs} run(s){_peer_runs(args)}, the tools alternating within each run; "
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
    for key, target, limit in (("version", "`nnlint --version`: at most 0.15 s, imports no libcst/torch/onnx", 0.15),
                               ("rules", "`nnlint rules`: at most 0.15 s, imports no libcst/torch/onnx", 0.15),
                               ("small_cold", "one small file, cold: at most 0.5 s, imports no torch/onnx", 0.5),
                               ("small_warm", "the same file, warm cache: imports no libcst", None)):
        if key in stats:
            rows.append(_single_process(target, stats[key], steps[key], limit))
    if "torchfix" in stats and stats["torchfix"].wall and cold.wall:
        rows.append(table.Target("TorchFix wall ÷ nnlint cold wall (about 10× when the first target is met)",
                                 f"{stats['torchfix'].wall / cold.wall:.1f}×", "for information"))
    return rows


def _single_process(target: str, stats: table.Stats, step: Step, limit: float | None) -> table.Target:
    """A one-process command: its CPU time (what its wall time would be on an idle machine) and imports."""
    row = table.at_most(target, stats.wall, limit, table.seconds) if limit else None
    measured = f"{table.seconds(stats.wall)} (CPU {table.seconds(stats.cpu)})"
    gaps = [row.verdict] if row and row.verdict != "met" else []
    if step.imported is None:
        measured += ", imports not checked"
        if row is None:
            return table.Target(target, measured, "not checked")
    elif step.imported:
        gaps.append(f"imports {', '.join(sorted(step.imported))}")
    verdict = "; ".join(gaps) if gaps else "met"
    return table.Target(target, measured, verdict if not gaps or verdict.startswith("gap") else f"gap: {verdict}")


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


def _peer_runs(args) -> str:
    if args.peers == "none" or args.peer_runs is None or args.peer_runs >= args.runs:
        return ""
    return f" (the peers: {args.peer_runs})"
