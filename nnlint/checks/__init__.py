"""Rule implementations, one module per checklist section. Importing registers them."""

from nnlint.checks import tool, structure  # noqa: F401
from nnlint.checks import loss  # noqa: F401,E402
from nnlint.checks import modules  # noqa: F401  (NN107, NN108, NN110, NN111: source rules)
from nnlint.checks import graph  # noqa: F401  (NN112, graph front ends only)
from nnlint.checks import training, regularization, tracking  # noqa: F401  (NN3, NN4, NN5)
from nnlint.checks import probe  # noqa: F401  (NN6: judged on what --probe measured)
