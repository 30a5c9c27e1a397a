"""Which rules run: select/ignore prefixes resolved by specificity, as flake8 and ruff do.

The longest matching prefix decides (`--select NN1 --ignore NN101` keeps the rest of NN1;
`--ignore NN1 --extend-select NN102` brings NN102 back); a tie goes to ignore. Defaults
(every E and W rule) rank below any explicit prefix; NN0 codes are always on unless ignored.
"""

from __future__ import annotations

from typing import Iterable

from nnlint.registry import all_rules

_DEFAULT_RANK = -1


def _rank(code: str, prefixes: Iterable[str]) -> int | None:
    best = None
    for prefix in prefixes:
        prefix = prefix.strip().upper()
        rank = 0 if prefix == "ALL" else len(prefix) if code.startswith(prefix) else None
        if rank is not None and (best is None or rank > best):
            best = rank
    return best


def resolve_selection(
    select: list[str] | None, extend_select: Iterable[str], ignore: Iterable[str], extend_ignore: Iterable[str]
) -> frozenset[str]:
    chosen = list(select or []) + list(extend_select)
    dropped = list(ignore) + list(extend_ignore)
    enabled = set()
    for code, rule in all_rules().items():
        rank = _rank(code, chosen)
        if (select is None and rule.default_enabled()) or code.startswith("NN0"):
            rank = max(rank if rank is not None else _DEFAULT_RANK, _DEFAULT_RANK)
        against = _rank(code, dropped)
        if rank is not None and (against is None or rank > against):
            enabled.add(code)
    return frozenset(enabled)


def ignored_codes(codes: Iterable[str], enabled: frozenset[str]) -> frozenset[str]:
    """The enabled codes that a per-file-ignores entry turns off."""
    prefixes = [c.strip().upper() for c in codes]
    return frozenset(c for c in enabled if "ALL" in prefixes or any(c.startswith(p) for p in prefixes))
