"""Progress on stderr for long runs: `nnlint: 120/489 files`, only on a terminal.

Nothing is shown during the first second (short runs stay quiet), nothing when stderr is not a
terminal (CI logs, editors, pipes) or with -q; the line is erased when the run ends.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    DELAY = 1.0  # seconds before the first update
    INTERVAL = 0.1  # seconds between updates

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()
        self.shown_at = 0.0
        self.width = 0

    @classmethod
    def for_terminal(cls, quiet: bool) -> Progress | None:
        """A progress reporter when stderr is a terminal and the user did not ask for quiet."""
        stream = sys.stderr
        return cls(stream) if not quiet and stream.isatty() else None

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.started < self.DELAY or (now - self.shown_at < self.INTERVAL and done < total):
            return
        self.shown_at = now
        text = f"nnlint: {done}/{total} files"
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)

    def close(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0
