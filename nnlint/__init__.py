"""nnlint: a linter for neural-network code."""

__version__ = "0.1.0"
