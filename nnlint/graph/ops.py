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

# Dataflow ops of forward()/functional models (source front end): a forward() parameter or a
# Keras Input is "input"; a residual `a + b` / torch.add / Keras Add is "add" (all operands are
# inputs); torch.cat/stack / Keras Concatenate is "concat"; transpose/permute is "transpose"
# (not transparent: it moves the axis a norm would normalize over).
INPUT = "input"
ADD = frozenset({"add"})
CONCAT = frozenset({"concat"})
TRANSPOSE = frozenset({"transpose"})
# `self.scale * x`, `x / temperature`: a tensor times/over something not computed from the input.
SCALE = frozenset({"scale"})
