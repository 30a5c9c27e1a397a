"""The parse floor: parse every file once, in one process, and do nothing else.

    python benchmarks/parse_floor.py {libcst,ast} FILE_LIST

FILE_LIST holds one path a line. run.py times this script as a whole (interpreter start-up and
the parser's import included, like a linter run) and compares nnlint with it: nnlint cannot be
much faster than libcst's own parse of the same files unless it skips or caches parsing.
`parse_seconds` is the in-process form, for latency benchmarks of one file (the language server's
"at most 3x libcst's parse of that file").
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Callable


def parser(name: str) -> Callable[[bytes], object]:
    if name == "libcst":
        import libcst

        return libcst.parse_module
    if name == "ast":
        import ast

        return ast.parse
    raise ValueError(f"unknown parser {name!r} (libcst or ast)")


def parse_seconds(source: bytes, name: str = "libcst", repeat: int = 5) -> float:
    """Median seconds one parse of `source` takes in this process (the parser already imported)."""
    parse = parser(name)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            parse(source)
        except Exception:  # a file the parser rejects still costs its attempt
            pass
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str]) -> int:
    name, listing = argv
    parse = parser(name)
    with open(listing, encoding="utf-8") as handle:
        paths = [line.rstrip("\n") for line in handle if line.strip()]
    failed = 0
    for path in paths:
        with open(path, "rb") as source:
            data = source.read()
        try:
            parse(data)
        except Exception:
            failed += 1
    print(f"{name}: {len(paths)} files, {failed} not parsed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
