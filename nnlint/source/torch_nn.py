"""What each torch.nn layer class is in the layer graph: its op kind and constructor parameters."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerSpec:
    op: str
    params: tuple[str, ...] = ()  # positional parameter names, in constructor order


def _specs(op: str, names: str, params: tuple[str, ...] = ()) -> dict[str, LayerSpec]:
    return {name: LayerSpec(op, params) for name in names.split()}


_CONV = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias")
_CONVT = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias")
_NORM = ("num_features", "eps", "momentum", "affine", "track_running_stats")
_RNN = ("input_size", "hidden_size", "num_layers")

TORCH_NN: dict[str, LayerSpec] = {
    **_specs("dropout", "Dropout Dropout1d Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout", ("p", "inplace")),
    **_specs("batchnorm", "BatchNorm1d BatchNorm2d BatchNorm3d SyncBatchNorm", _NORM),
    **_specs("batchnorm", "LazyBatchNorm1d LazyBatchNorm2d LazyBatchNorm3d", ("eps", "momentum", "affine", "track_running_stats")),
    **_specs("instancenorm", "InstanceNorm1d InstanceNorm2d InstanceNorm3d", _NORM),
    **_specs("instancenorm", "LazyInstanceNorm1d LazyInstanceNorm2d LazyInstanceNorm3d", ("eps", "momentum", "affine")),
    **_specs("layernorm", "LayerNorm RMSNorm", ("normalized_shape", "eps", "elementwise_affine")),
    **_specs("groupnorm", "GroupNorm", ("num_groups", "num_channels", "eps", "affine")),
    **_specs("localresponsenorm", "LocalResponseNorm CrossMapLRN2d", ("size",)),
    **_specs("linear", "Linear", ("in_features", "out_features", "bias")),
    **_specs("linear", "LazyLinear", ("out_features", "bias")),
    **_specs("linear", "Bilinear", ("in1_features", "in2_features", "out_features", "bias")),
    **_specs("conv", "Conv1d Conv2d Conv3d", _CONV),
    **_specs("conv", "LazyConv1d LazyConv2d LazyConv3d", _CONV[1:]),
    **_specs("conv", "ConvTranspose1d ConvTranspose2d ConvTranspose3d", _CONVT),
    **_specs("conv", "LazyConvTranspose1d LazyConvTranspose2d LazyConvTranspose3d", _CONVT[1:]),
    **_specs("rnn", "RNN LSTM GRU", _RNN),
    **_specs("rnn", "RNNCell LSTMCell GRUCell", ("input_size", "hidden_size", "bias")),
    **_specs("embedding", "Embedding", ("num_embeddings", "embedding_dim")),
    **_specs("embedding", "EmbeddingBag", ("num_embeddings", "embedding_dim")),
    **_specs("attention", "MultiheadAttention", ("embed_dim", "num_heads")),
    **_specs("attention", "Transformer TransformerEncoder TransformerDecoder TransformerEncoderLayer TransformerDecoderLayer"),
    **_specs("relu", "ReLU", ("inplace",)),
    **_specs("relu6", "ReLU6", ("inplace",)),
    **_specs("leaky_relu", "LeakyReLU", ("negative_slope", "inplace")),
    **_specs("prelu", "PReLU", ("num_parameters", "init")),
    **_specs("rrelu", "RReLU", ("lower", "upper", "inplace")),
    **_specs("elu", "ELU", ("alpha", "inplace")),
    **_specs("celu", "CELU", ("alpha", "inplace")),
    **_specs("selu", "SELU", ("inplace",)),
    **_specs("gelu", "GELU", ("approximate",)),
    **_specs("silu", "SiLU", ("inplace",)),
    **_specs("mish", "Mish", ("inplace",)),
    **_specs("sigmoid", "Sigmoid"),
    **_specs("tanh", "Tanh"),
    **_specs("hardtanh", "Hardtanh", ("min_val", "max_val", "inplace")),
    **_specs("hardswish", "Hardswish", ("inplace",)),
    **_specs("hardsigmoid", "Hardsigmoid", ("inplace",)),
    **_specs("softplus", "Softplus", ("beta", "threshold")),
    **_specs("softsign", "Softsign"),
    **_specs("softshrink", "Softshrink", ("lambd",)),
    **_specs("hardshrink", "Hardshrink", ("lambd",)),
    **_specs("tanhshrink", "Tanhshrink"),
    **_specs("threshold", "Threshold", ("threshold", "value", "inplace")),
    **_specs("logsigmoid", "LogSigmoid"),
    **_specs("glu", "GLU", ("dim",)),
    **_specs("softmax", "Softmax Softmin Softmax2d", ("dim",)),
    **_specs("log_softmax", "LogSoftmax", ("dim",)),
    **_specs("identity", "Identity"),
    **_specs("flatten", "Flatten", ("start_dim", "end_dim")),
    **_specs("unflatten", "Unflatten", ("dim", "unflattened_size")),
    **_specs(
        "pool",
        "MaxPool1d MaxPool2d MaxPool3d AvgPool1d AvgPool2d AvgPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d "
        "AdaptiveAvgPool3d AdaptiveMaxPool1d AdaptiveMaxPool2d AdaptiveMaxPool3d LPPool1d LPPool2d LPPool3d "
        "FractionalMaxPool2d FractionalMaxPool3d",
        ("kernel_size", "stride", "padding"),
    ),
}

# Layers from other libraries that behave like a torch.nn layer of the same kind.
EXTRA_LAYERS: dict[str, LayerSpec] = {
    "torch_geometric.nn.BatchNorm": LayerSpec("batchnorm", ("in_channels", "eps", "momentum", "affine")),
}


def layer_spec(qualified: str | None) -> LayerSpec | None:
    """The spec of a layer class given its qualified name (canonical form), if it is one."""
    if not qualified:
        return None
    if qualified.startswith("torch.nn.") and qualified.count(".") == 2:
        return TORCH_NN.get(qualified[len("torch.nn."):])
    return EXTRA_LAYERS.get(qualified)
