"""Normalized op kinds of the layer graph, and the groups rules ask about."""

DROPOUT = frozenset({"dropout"})
BATCHNORM = frozenset({"batchnorm"})
OTHER_NORM = frozenset({"layernorm", "groupnorm", "instancenorm", "localresponsenorm"})
LINEAR = frozenset({"linear"})
CONV = frozenset({"conv"})

# Elementwise activations: a value passes through them with its statistics reshaped but
# nothing learned in between. Softmax is not here: it mixes a whole axis.
ACTIVATION = frozenset(
    {"relu", "leaky_relu", "prelu", "elu", "selu", "celu", "gelu", "silu", "mish", "sigmoid",
     "tanh", "hardtanh", "hardswish", "hardsigmoid", "softplus", "softsign", "tanhshrink",
     "threshold", "logsigmoid", "relu6", "rrelu", "softshrink", "hardshrink", "glu"}
)
IDENTITY = frozenset({"identity"})
RESHAPE = frozenset({"flatten", "unflatten", "reshape"})
POOL = frozenset({"pool"})

# "Transparent" ops of RULES.md NN101: activation, identity, reshape/flatten/view, pooling.
TRANSPARENT = ACTIVATION | IDENTITY | RESHAPE | POOL

OPAQUE = "opaque"
