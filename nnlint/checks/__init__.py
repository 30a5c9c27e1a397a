"""Rule implementations, one module per checklist section. Importing registers them."""

from nnlint.checks import tool, structure  # noqa: F401
