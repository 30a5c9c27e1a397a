"""Rule implementations, one module per checklist section. Importing registers them."""

from nnlint.checks import tool, structure  # noqa: F401
from nnlint.checks import graph  # noqa: F401  (NN112, graph front ends only)
