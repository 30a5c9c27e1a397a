"""Lint real model code with every rule and compare the counts with the checked-in summary.

    python scripts/real_code_check.py                      # /tmp/nn-corpus/{timm,torchvision,transformers,d2l}
    python scripts/real_code_check.py timm=path/to/timm d2l=path/to/d2l
    python scripts/real_code_check.py --update             # rewrite scripts/real_code_summary.json

Prints the count per rule code for each corpus and every difference from
scripts/real_code_summary.json, so a change of findings on real code shows up in review (commit
the updated summary with the change that caused it). Exits 1 when the counts differ. Not part of
the test suite: it takes minutes (`/work/shared/tools/real-corpus` style layout: one directory per
project holding the installed package).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
from pathlib import Path

SUMMARY = Path(__file__).with_name("real_code_summary.json")
CORPORA = ("timm", "torchvision", "transformers", "d2l")
DEFAULT_ROOT = Path("/tmp/nn-corpus")


def corpus_paths(arguments: list[str]) -> dict[str, Path]:
    """name=path arguments, or the /tmp/nn-corpus layout (<root>/<name>/<name>)."""
    if arguments:
        return {name: Path(path) for name, _, path in (a.partition("=") for a in arguments)}
    return {name: DEFAULT_ROOT / name / name for name in CORPORA if (DEFAULT_ROOT / name / name).is_dir()}


def counts(path: Path, jobs: int) -> dict[str, int]:
    proc = subprocess.run(
        [sys.executable, "-m", "nnlint", "check", "--select", "ALL", "--output-format", "json", "--isolated",
         "-j", str(jobs), "--exit-zero", "-q", str(path)],
        capture_output=True, check=False, env={**os.environ, "GIT_CEILING_DIRECTORIES": str(path.parent)})
    if proc.returncode != 0:
        raise SystemExit(f"nnlint failed on {path}:\n{proc.stderr.decode(errors='replace')}")
    found = collections.Counter(d["code"] for d in json.loads(proc.stdout))
    return dict(sorted(found.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="*", help="name=path (default: /tmp/nn-corpus/<name>/<name>)")
    parser.add_argument("--update", action="store_true", help="write the counts to the summary file")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args()
    expected = json.loads(SUMMARY.read_text()) if SUMMARY.exists() else {}
    measured = {}
    differ = False
    for name, path in corpus_paths(args.corpora).items():
        measured[name] = counts(path, args.jobs)
        listed = ", ".join(f"{code} {n}" for code, n in measured[name].items())
        print(f"{name}: {listed or 'nothing'}")
        before = expected.get(name)
        if before is None:
            continue
        for code in sorted(set(before) | set(measured[name])):
            if before.get(code, 0) != measured[name].get(code, 0):
                differ = True
                print(f"  {code}: {before.get(code, 0)} -> {measured[name].get(code, 0)}")
    if args.update:
        SUMMARY.write_text(json.dumps({**expected, **measured}, indent=2, sort_keys=True) + "\n")
        return 0
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
