"""TF1 low-level graphs (issue 11, snippet 6): `tf.matmul(x, W) + b` with variable weights is a
linear layer, `tf.nn.conv2d(x, w, strides, padding)` with a 4-D variable filter a conv layer;
tf.nn.relu/max_pool/dropout/batch_normalization between them. NN101, NN104, NN106, NN109 read
them; NN110 reads attrs["kernel_init"] / ["bias_init"] (checked here on the graph)."""

import textwrap

import pytest

from nnlint.source import SourceFile, layer_graphs
from nnlint.testing import codes, lint


def graph_nodes(code):
    source = SourceFile.parse("example.py", textwrap.dedent(code))
    return [n for g in layer_graphs(source) for n in g.nodes]


MLP = """\
import tensorflow as tf

n_input = 784
n_hidden_1 = 256
n_hidden_2 = 256
n_classes = 10

x = tf.placeholder(tf.float32, [None, n_input])
y = tf.placeholder(tf.float32, [None, n_classes])
keep_prob = tf.placeholder(tf.float32)

weights = {
    "h1": tf.Variable(tf.random_normal([n_input, n_hidden_1])),
    "h2": tf.Variable(tf.random_normal([n_hidden_1, n_hidden_2])),
    "out": tf.Variable(tf.random_normal([n_hidden_2, n_classes])),
}
biases = {
    "b1": tf.Variable(tf.random_normal([n_hidden_1])),
    "b2": tf.Variable(tf.random_normal([n_hidden_2])),
    "out": tf.Variable(tf.random_normal([n_classes])),
}


def multilayer_perceptron(x):
    layer_1 = tf.add(tf.matmul(x, weights["h1"]), biases["b1"])
    layer_1 = tf.nn.relu(layer_1)
    layer_1 = tf.nn.dropout(layer_1, keep_prob)
    layer_2 = tf.add(tf.matmul(layer_1, weights["h2"]), biases["b2"])
    layer_2 = tf.nn.relu(layer_2)
    return tf.matmul(layer_2, weights["out"]) + biases["out"]


logits = multilayer_perceptron(x)
loss_op = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=y))
train_op = tf.train.AdamOptimizer(learning_rate=0.001).minimize(loss_op)
"""


def test_clean_tf1_mlp_with_logits_into_softmax_cross_entropy_is_silent():
    assert codes(MLP, select=["ALL"]) == []


def test_tf1_mlp_missing_relu_fires_nn104_at_the_second_matmul():
    code = MLP.replace("    layer_1 = tf.nn.relu(layer_1)\n", "")
    assert codes(code, select=["NN104"]) == [(27, 22, "NN104")]
    message = lint(code, select=["NN104"])[0].message
    assert message.startswith("tf.matmul(layer_1, weights[\"h2\"]) follows tf.matmul(x, weights[\"h1\"]) through "
                              "tf.nn.dropout(layer_1, keep_prob) with no activation in between: ")
    assert "collapse into one linear map" in message


def test_tf1_mlp_dropout_into_batch_norm_fires_nn101_at_the_dropout():
    code = MLP.replace("    layer_2 = tf.add(", "    layer_1 = tf.contrib.layers.batch_norm(layer_1)\n"
                                                "    layer_2 = tf.add(")
    assert codes(code, select=["NN101", "NN104"]) == [(27, 15, "NN101")]


def test_tf1_mlp_weight_shape_mismatch_fires_nn106_at_the_consuming_matmul():
    code = MLP.replace('"h2": tf.Variable(tf.random_normal([n_hidden_1, n_hidden_2]))',
                       '"h2": tf.Variable(tf.random_normal([128, n_hidden_2]))')
    assert codes(code, select=["ALL"]) == [(28, 22, "NN106")]
    assert lint(code, select=["NN106"])[0].message == (
        'tf.matmul(layer_1, weights["h2"]) expects 128 input features but tf.matmul(x, weights["h1"]) produces 256; '
        "make the sizes agree")


def test_first_weight_disagreeing_with_the_placeholder_fires_nn106():
    code = MLP.replace('"h1": tf.Variable(tf.random_normal([n_input, n_hidden_1]))',
                       '"h1": tf.Variable(tf.random_normal([28, n_hidden_1]))')
    code = code.replace("logits = multilayer_perceptron(x)", "layer = tf.nn.relu(tf.matmul(x, weights['h1']) + biases['b1'])")
    assert codes(code, select=["NN106"]) == [(33, 20, "NN106")]
    assert lint(code, select=["NN106"])[0].message == (
        "tf.matmul(x, weights['h1']) expects 28 input features (its weight's shape) but its input has 784 "
        "(per-sample shape (784,)); make the sizes agree")


# -- the classic convnet, straight-line at module level -------------------------------------
CONVNET = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, shape=[None, 784])
y_ = tf.placeholder(tf.float32, shape=[None, 10])
keep_prob = tf.placeholder(tf.float32)
x_image = tf.reshape(x, [-1, 28, 28, 1])

W_conv1 = tf.Variable(tf.truncated_normal([5, 5, 1, 32], stddev=0.1))
b_conv1 = tf.Variable(tf.constant(0.1, shape=[32]))
h_conv1 = tf.nn.relu(tf.nn.conv2d(x_image, W_conv1, strides=[1, 1, 1, 1], padding="SAME") + b_conv1)
h_pool1 = tf.nn.max_pool(h_conv1, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")

W_conv2 = tf.get_variable("W_conv2", shape=[5, 5, 32, 64], initializer=tf.contrib.layers.xavier_initializer())
b_conv2 = tf.get_variable("b_conv2", shape=[64], initializer=tf.zeros_initializer())
h_conv2 = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(h_pool1, W_conv2, [1, 1, 1, 1], "SAME"), b_conv2))
h_pool2 = tf.nn.max_pool(h_conv2, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")

W_fc1 = tf.Variable(tf.truncated_normal([7 * 7 * 64, 1024], stddev=0.1))
b_fc1 = tf.Variable(tf.constant(0.1, shape=[1024]))
h_pool2_flat = tf.reshape(h_pool2, [-1, 7 * 7 * 64])
h_fc1 = tf.nn.relu(tf.matmul(h_pool2_flat, W_fc1) + b_fc1)
h_fc1_drop = tf.nn.dropout(h_fc1, keep_prob)

W_fc2 = tf.Variable(tf.truncated_normal([1024, 10], stddev=0.1))
b_fc2 = tf.Variable(tf.constant(0.1, shape=[10]))
y_conv = tf.matmul(h_fc1_drop, W_fc2) + b_fc2

cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y_conv))
train_step = tf.train.AdamOptimizer(1e-4).minimize(cross_entropy)
"""


def test_clean_tf1_convnet_is_silent():
    assert codes(CONVNET, select=["ALL"]) == []


def test_convnet_channel_mismatch_fires_nn106_at_the_second_conv():
    code = CONVNET.replace("shape=[5, 5, 32, 64]", "shape=[5, 5, 16, 64]")
    assert codes(code, select=["ALL"]) == [(15, 37, "NN106")]
    assert lint(code, select=["NN106"])[0].message == (
        "tf.nn.conv2d(h_pool1, ...) expects 16 input channels but tf.nn.conv2d(x_image, ...) produces 32; "
        "make the sizes agree")


def test_convnet_valid_padding_breaks_the_flatten_size_nn106_at_the_reshape():
    code = CONVNET.replace('strides=[1, 1, 1, 1], padding="SAME") + b_conv1', 'strides=[1, 1, 1, 1], padding="VALID") + b_conv1')
    assert codes(code, select=["ALL"]) == [(20, 16, "NN106")]
    assert "per-sample shape (6, 6, 64) (2304 values) into rows of 3136 values" in lint(code, select=["NN106"])[0].message


def test_convnet_valid_conv_shrinking_below_one_fires_nn106():
    code = CONVNET.replace("[5, 5, 32, 64]", "[16, 16, 32, 64]").replace('[1, 1, 1, 1], "SAME"', '[1, 1, 1, 1], "VALID"')
    assert codes(code, select=["NN106"]) == [(15, 37, "NN106")]
    assert "shrinks its 14x14 input to -1x-1 ('valid' padding, window (16, 16), stride (1, 1))" in \
        lint(code, select=["NN106"])[0].message


def test_convnet_wrong_input_channels_against_the_reshape_fires_nn106():
    code = CONVNET.replace("[5, 5, 1, 32]", "[5, 5, 3, 32]")
    assert codes(code, select=["NN106"]) == [(10, 22, "NN106")]


def test_conv_stack_without_activation_fires_nn104():
    code = CONVNET.replace("h_conv1 = tf.nn.relu(tf.nn.conv2d(x_image, W_conv1, strides=[1, 1, 1, 1], padding=\"SAME\") + b_conv1)",
                           "h_conv1 = tf.nn.conv2d(x_image, W_conv1, strides=[1, 1, 1, 1], padding=\"SAME\") + b_conv1")
    assert codes(code, select=["NN104"]) == [(15, 37, "NN104")]
    assert "max pooling is the only nonlinearity there" in lint(code, select=["NN104"])[0].message


def test_nchw_convnet_is_read_channels_first_and_silent_on_spatial_sizes():
    code = """\
        import tensorflow as tf

        x = tf.placeholder(tf.float32, [None, 3, 32, 32])
        w1 = tf.Variable(tf.truncated_normal([5, 5, 3, 32], stddev=0.1))
        h = tf.nn.relu(tf.nn.conv2d(x, w1, strides=[1, 1, 1, 1], padding="VALID", data_format="NCHW"))
        h = tf.nn.max_pool(h, ksize=[1, 1, 2, 2], strides=[1, 1, 2, 2], padding="VALID", data_format="NCHW")
        flat = tf.reshape(h, [-1, 32 * 14 * 14])
    """
    assert codes(code, select=["ALL"]) == []
    conv = [n for n in graph_nodes(code) if n.op == "conv"][0]
    assert conv.attrs["in_channels"] == 3 and conv.attrs["stride"] == 1 and "window" not in conv.attrs


# -- what must not become a layer --------------------------------------------------------------
def test_attention_scores_matmul_is_no_linear_layer():
    code = """\
        import tensorflow as tf

        d_model = 64
        Wq = tf.get_variable("Wq", [d_model, d_model])
        Wk = tf.get_variable("Wk", [d_model, d_model])
        Wv = tf.get_variable("Wv", [d_model, d_model])


        def attention(x):
            q = tf.matmul(x, Wq)
            k = tf.matmul(x, Wk)
            v = tf.matmul(x, Wv)
            scores = tf.matmul(q, k, transpose_b=True) / 8.0
            weights = tf.nn.softmax(scores)
            return tf.matmul(weights, v)
    """
    assert codes(code, select=["ALL"]) == []
    linear = [n.label for n in graph_nodes(code) if n.op == "linear"]
    assert linear == ["tf.matmul(x, Wq)", "tf.matmul(x, Wk)", "tf.matmul(x, Wv)"]


def test_matmul_by_a_parameter_or_unknown_weight_stays_opaque():
    code = """\
        import tensorflow as tf


        def dense(x, W, b):
            return tf.matmul(x, W) + b


        def two(x, W1, W2):
            return tf.matmul(tf.matmul(x, W1), W2)
    """
    assert codes(code, select=["ALL"]) == []
    assert [n for n in graph_nodes(code) if n.op == "linear"] == []


def test_bias_free_low_rank_factorization_is_not_nn104():
    code = """\
        import tensorflow as tf

        A = tf.Variable(tf.random_normal([512, 32]))
        B = tf.Variable(tf.random_normal([32, 512]))


        def low_rank(x):
            return tf.matmul(tf.matmul(x, A), B)
    """
    assert codes(code, select=["ALL"]) == []


# -- spellings ---------------------------------------------------------------------------------
@pytest.mark.parametrize("header, tf", [
    ("import tensorflow as tf", "tf"),
    ("import tensorflow.compat.v1 as tf", "tf"),
    ("import tensorflow", "tensorflow"),
    ("import tensorflow as tf", "tf.compat.v1"),
])
def test_spellings(header, tf):
    code = f"""\
{header}

W1 = {tf}.get_variable("W1", shape=[784, 256], initializer={tf}.truncated_normal_initializer(stddev=0.1))
b1 = {tf}.get_variable("b1", shape=[256], initializer={tf}.zeros_initializer())
W2 = {tf}.get_variable("W2", shape=[256, 10])


def net(x):
    h = {tf}.nn.xw_plus_b(x, W1, b1)
    h = {tf}.nn.dropout(h, keep_prob=0.5)
    return {tf}.matmul(h, W2)
"""
    assert codes(code, select=["NN104"]) == [(11, 12, "NN104")]


def test_matrix_multiply_operator_with_a_variable_is_a_linear_layer():
    code = """\
        import tensorflow as tf

        W1 = tf.Variable(tf.random_normal([784, 256]))
        W2 = tf.Variable(tf.random_normal([512, 10]))


        def net(x):
            return (x @ W1) @ W2
    """
    assert codes(code, select=["NN106"]) == [(8, 12, "NN106")]


# -- dropout: keep_prob (TF1) and rate (TF2) --------------------------------------------------
DROPOUT = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 100])
W = tf.Variable(tf.zeros([100, 10]))
h = tf.nn.relu(tf.matmul(x, W))
h = tf.nn.dropout(h, {args})
"""


@pytest.mark.parametrize("args, expected", [
    ("keep_prob=0.1", [(6, 32, "NN109")]),
    ("rate=0.9", [(6, 27, "NN109")]),
    ("0.2", [(6, 22, "NN109")]),  # TF1 file (tf.placeholder): the positional argument is keep_prob
    ("keep_prob=0.9", []),
    ("0.9", []),
    ("rate=0.1", []),
    ("keep_prob", []),
])
def test_tf_dropout_probabilities(args, expected):
    assert codes(DROPOUT.format(args=args), select=["NN109"]) == expected


def test_keep_prob_message_speaks_of_keep_prob():
    [found] = lint(DROPOUT.format(args="keep_prob=0.1"), select=["NN109"])
    assert found.message == ("tf.nn.dropout(h, keep_prob=0.1) keeps only 10% of the activations: keep_prob=0.1 looks "
                             "like a drop rate ported as the keep probability; use keep_prob=0.9")


def test_positional_dropout_argument_of_a_tf2_file_is_unknown():
    code = """\
        import tensorflow as tf

        W = tf.Variable(tf.random.normal([100, 10]))


        @tf.function
        def net(x):
            return tf.nn.dropout(tf.nn.relu(x @ W), 0.9)
    """
    assert codes(code, select=["NN109"]) == []
    [drop] = [n for n in graph_nodes(code) if n.op == "dropout"]
    assert "p" not in drop.attrs


def test_compat_v1_dropout_positional_argument_is_keep_prob():
    code = """\
        import tensorflow as tf


        def net(x):
            return tf.compat.v1.nn.dropout(x, 0.1)
    """
    assert codes(code, select=["NN109"]) == [(5, 39, "NN109")]


# -- batch normalization forms ---------------------------------------------------------------
@pytest.mark.parametrize("norm", [
    "tf.nn.batch_normalization(h, mean, var, beta, gamma, 1e-3)",
    "tf.contrib.layers.batch_norm(h, is_training=training)",
    "tf.layers.batch_normalization(h, training=training)",
    "tf.compat.v1.layers.batch_normalization(h, training=training)",
])
def test_dropout_into_each_tf1_batch_norm_fires_nn101(norm):
    code = f"""\
import tensorflow as tf

W = tf.Variable(tf.truncated_normal([784, 256], stddev=0.1))
beta = tf.Variable(tf.zeros([256]))
gamma = tf.Variable(tf.ones([256]))


def net(x, keep_prob, training):
    h = tf.nn.relu(tf.matmul(x, W))
    h = tf.nn.dropout(h, keep_prob=keep_prob)
    mean, var = tf.nn.moments(h, [0])
    h = {norm}
    return h
"""
    assert codes(code, select=["NN101"]) == [(10, 9, "NN101")]


def test_batch_norm_before_dropout_is_clean():
    code = """\
        import tensorflow as tf

        W = tf.Variable(tf.truncated_normal([784, 256], stddev=0.1))


        def net(x, keep_prob):
            h = tf.matmul(x, W)
            mean, var = tf.nn.moments(h, [0])
            h = tf.nn.relu(tf.nn.batch_normalization(h, mean, var, None, None, 1e-3))
            return tf.nn.dropout(h, keep_prob)
    """
    assert codes(code, select=["ALL"]) == []


# -- weight init attributes for NN110 ------------------------------------------------------------
def test_kernel_and_bias_init_attributes():
    code = """\
        import tensorflow as tf

        W_zero = tf.Variable(tf.zeros([784, 10]))
        b_zero = tf.Variable(tf.zeros([10]))
        W_ones = tf.Variable(tf.ones([10, 10]))
        W_fill = tf.Variable(tf.fill([10, 10], 0.5))
        W_const = tf.Variable(tf.constant(0.1, shape=[10, 10]))
        W_gv = tf.get_variable("W_gv", [10, 10], initializer=tf.zeros_initializer())
        W_ci = tf.compat.v1.get_variable("W_ci", [10, 10], initializer=tf.constant_initializer(0.2))
        W_ic = tf.get_variable("W_ic", [10, 10], initializer=tf.initializers.constant(0.0))
        W_rand = tf.Variable(tf.truncated_normal([10, 10], stddev=0.1))
        W_glorot = tf.get_variable("W_glorot", [10, 10])
        b_const = tf.Variable(tf.constant(0.1, shape=[10]))
        b_rand = tf.Variable(tf.random_normal([10]))


        def net(x):
            h = tf.matmul(x, W_zero) + b_zero
            h = tf.matmul(h, W_ones) + b_const
            h = tf.matmul(h, W_fill)
            h = tf.matmul(h, W_const) + b_rand
            h = tf.matmul(h, W_gv)
            h = tf.matmul(h, W_ci)
            h = tf.matmul(h, W_ic)
            h = tf.matmul(h, W_rand)
            return tf.matmul(h, W_glorot)
    """
    linear = [n for n in graph_nodes(code) if n.op == "linear"]
    assert [(n.attrs.get("kernel_init"), n.attrs["bias"], n.attrs.get("bias_init", "absent")) for n in linear] == [
        ("zero", True, "zero"), ("constant", True, "constant"), ("constant", False, "absent"),
        ("constant", True, None), ("zero", False, "absent"), ("constant", False, "absent"),
        ("zero", False, "absent"), (None, False, "absent"), (None, False, "absent")]
    sites = [SourceFile.code(n.attrs["kernel_init_site"]) for n in linear if "kernel_init" in n.attrs]
    assert sites == ["tf.zeros([784, 10])", "tf.ones([10, 10])", "tf.fill([10, 10], 0.5)", "tf.constant(0.1, shape=[10, 10])",
                     "tf.zeros_initializer()", "tf.constant_initializer(0.2)", "tf.initializers.constant(0.0)"]
    assert "kernel_init_site" not in linear[-1].attrs


def test_conv_kernel_init_attribute():
    code = """\
        import tensorflow as tf

        w = tf.Variable(tf.zeros([3, 3, 1, 8]))
        b = tf.Variable(tf.constant(0.0, shape=[8]))


        def net(x):
            return tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"), b))
    """
    [conv] = [n for n in graph_nodes(code) if n.op == "conv"]
    assert (conv.attrs["kernel_init"], conv.attrs["bias_init"], conv.attrs["in_channels"], conv.attrs["out_channels"],
            conv.attrs["kernel_size"]) == ("zero", "zero", 1, 8, (3, 3))


# -- helper functions: variable factories and layer helpers, inlined where they are called --------
DEEP = """\
import tensorflow as tf


def deepnn(x):
    x_image = tf.reshape(x, [-1, 28, 28, 1])
    W_conv1 = weight_variable([5, 5, 1, 32])
    b_conv1 = bias_variable([32])
    h_pool1 = max_pool_2x2(tf.nn.relu(conv2d(x_image, W_conv1) + b_conv1))
    W_conv2 = weight_variable([5, 5, 32, 64])
    b_conv2 = bias_variable([64])
    h_pool2 = max_pool_2x2(tf.nn.relu(conv2d(h_pool1, W_conv2) + b_conv2))
    W_fc1 = weight_variable([7 * 7 * 64, 1024])
    b_fc1 = bias_variable([1024])
    h_fc1 = tf.nn.relu(tf.matmul(tf.reshape(h_pool2, [-1, 7 * 7 * 64]), W_fc1) + b_fc1)
    keep_prob = tf.placeholder(tf.float32)
    h_fc1_drop = tf.nn.dropout(h_fc1, keep_prob)
    W_fc2 = weight_variable([1024, 10])
    b_fc2 = bias_variable([10])
    return tf.matmul(h_fc1_drop, W_fc2) + b_fc2, keep_prob


def conv2d(x, W):
    \"\"\"A 2-D convolution with full stride.\"\"\"
    return tf.nn.conv2d(x, W, strides=[1, 1, 1, 1], padding="SAME")


def max_pool_2x2(x):
    return tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")


def weight_variable(shape):
    initial = tf.truncated_normal(shape, stddev=0.1)
    return tf.Variable(initial)


def bias_variable(shape):
    initial = tf.constant(0.1, shape=shape)
    return tf.Variable(initial)


def main():
    x = tf.placeholder(tf.float32, [None, 784])
    y_ = tf.placeholder(tf.float32, [None, 10])
    y_conv, keep_prob = deepnn(x)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y_conv))
    return tf.train.AdamOptimizer(1e-4).minimize(loss)
"""


def test_deep_mnist_with_factories_and_helpers_is_clean():
    assert codes(DEEP, select=["ALL"]) == []
    nodes = [n for n in graph_nodes(DEEP) if n.op in ("conv", "linear")]
    assert {(n.op, n.attrs.get("in_channels", n.attrs.get("in_features")), n.attrs.get("bias_init")) for n in nodes} == {
        ("conv", 1, "constant"), ("conv", 32, "constant"), ("linear", 3136, "constant"), ("linear", 1024, "constant")}


def test_factory_weight_mismatch_is_reported_at_the_helper_call():
    code = DEEP.replace("W_conv2 = weight_variable([5, 5, 32, 64])", "W_conv2 = weight_variable([5, 5, 16, 64])")
    assert codes(code, select=["ALL"]) == [(11, 39, "NN106")]
    assert lint(code, select=["NN106"])[0].message.startswith(
        "tf.nn.conv2d(x, ...) inside conv2d(h_pool1, W_conv2) expects 16 input channels but tf.nn.conv2d(x, ...) "
        "inside conv2d(x_image, W_conv1) produces 32")


def test_valid_padding_in_the_helper_breaks_the_flatten_seen_from_the_placeholder():
    code = DEEP.replace('strides=[1, 1, 1, 1], padding="SAME"', 'strides=[1, 1, 1, 1], padding="VALID"')
    assert codes(code, select=["ALL"]) == [(14, 34, "NN106")]


def test_missing_relu_between_helper_convs_fires_nn104_at_the_second_helper_call():
    code = DEEP.replace("h_pool1 = max_pool_2x2(tf.nn.relu(conv2d(x_image, W_conv1) + b_conv1))",
                        "h_pool1 = tf.nn.avg_pool(conv2d(x_image, W_conv1) + b_conv1, [1, 2, 2, 1], [1, 2, 2, 1], 'SAME')")
    assert codes(code, select=["NN104"]) == [(11, 39, "NN104")]


RAW = """\
import tensorflow as tf

n_input = 784
n_classes = 10
dropout = 0.75

X = tf.placeholder(tf.float32, [None, n_input])
Y = tf.placeholder(tf.float32, [None, n_classes])
keep_prob = tf.placeholder(tf.float32)


def conv2d(x, W, b, strides=1):
    x = tf.nn.conv2d(x, W, strides=[1, strides, strides, 1], padding="SAME")
    x = tf.nn.bias_add(x, b)
    return tf.nn.relu(x)


def maxpool2d(x, k=2):
    return tf.nn.max_pool(x, ksize=[1, k, k, 1], strides=[1, k, k, 1], padding="SAME")


def conv_net(x, weights, biases, dropout):
    x = tf.reshape(x, shape=[-1, 28, 28, 1])
    conv1 = maxpool2d(conv2d(x, weights["wc1"], biases["bc1"]), k=2)
    conv2 = maxpool2d(conv2d(conv1, weights["wc2"], biases["bc2"]), k=2)
    fc1 = tf.reshape(conv2, [-1, 7 * 7 * 64])
    fc1 = tf.nn.relu(tf.add(tf.matmul(fc1, weights["wd1"]), biases["bd1"]))
    fc1 = tf.nn.dropout(fc1, dropout)
    return tf.add(tf.matmul(fc1, weights["out"]), biases["out"])


weights = {
    "wc1": tf.Variable(tf.random_normal([5, 5, 1, 32])),
    "wc2": tf.Variable(tf.random_normal([5, 5, 32, 64])),
    "wd1": tf.Variable(tf.random_normal([7 * 7 * 64, 1024])),
    "out": tf.Variable(tf.random_normal([1024, n_classes])),
}
biases = {
    "bc1": tf.Variable(tf.random_normal([32])),
    "bc2": tf.Variable(tf.random_normal([64])),
    "bd1": tf.Variable(tf.random_normal([1024])),
    "out": tf.Variable(tf.random_normal([n_classes])),
}

logits = conv_net(X, weights, biases, keep_prob)
loss_op = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=Y))
"""


def test_weight_dicts_passed_to_the_model_function_are_clean():
    assert codes(RAW, select=["ALL"]) == []


def test_pool_size_read_from_the_helper_call_breaks_the_flatten():
    code = RAW.replace('conv2 = maxpool2d(conv2d(conv1, weights["wc2"], biases["bc2"]), k=2)',
                       'conv2 = maxpool2d(conv2d(conv1, weights["wc2"], biases["bc2"]), k=4)')
    assert codes(code, select=["ALL"]) == [(26, 11, "NN106")]
    assert "per-sample shape (4, 4, 64) (1024 values)" in lint(code, select=["NN106"])[0].message


def test_keep_prob_passed_to_a_helper_is_reported_at_the_call():
    code = RAW.replace("logits = conv_net(X, weights, biases, keep_prob)", "logits = conv_net(X, weights, biases, 0.1)")
    assert codes(code, select=["NN109"]) == [(45, 39, "NN109")]


def test_nlintz_style_factory_and_model_function_missing_activation():
    code = """\
        import tensorflow as tf


        def init_weights(shape):
            return tf.Variable(tf.random_normal(shape, stddev=0.01))


        def model(X, w_h, w_o, p_keep_hidden):
            h = tf.matmul(X, w_h)
            h = tf.nn.dropout(h, p_keep_hidden)
            return tf.matmul(h, w_o)


        X = tf.placeholder("float", [None, 784])
        w_h = init_weights([784, 625])
        w_o = init_weights([625, 10])
        p_keep_hidden = tf.placeholder("float")
        py_x = model(X, w_h, w_o, p_keep_hidden)
    """
    assert codes(code, select=["ALL"]) == [(11, 12, "NN104")]


def test_recursive_and_star_argument_helpers_stay_opaque():
    code = """\
        import tensorflow as tf

        W = tf.Variable(tf.random_normal([64, 64]))


        def deep(x, n):
            return deep(tf.matmul(x, W), n - 1) if n else x


        def layer(*args):
            return tf.matmul(args[0], W)


        x = tf.placeholder(tf.float32, [None, 64])
        y = tf.matmul(deep(x, 3), W)
        z = tf.matmul(layer(x), W)
    """
    assert codes(code, select=["ALL"]) == []


def test_a_constant_factory_reports_each_weight_at_its_own_call():
    code = """\
        import tensorflow as tf


        def weight(shape):
            return tf.Variable(tf.zeros(shape))


        x = tf.placeholder(tf.float32, [None, 784])
        W1 = weight([784, 256])
        h = tf.nn.relu(tf.matmul(x, W1))
        W2 = weight([256, 10])
        logits = tf.matmul(h, W2)
    """
    found = lint(code, select=["NN110"])
    assert [(d.line, d.column, d.code) for d in found] == [(9, 6, "NN110")]
    assert "the next weight layer, tf.matmul(h, W2)" in found[0].message  # two layers, not one in a loop


def test_a_random_factory_gives_no_constant_init():
    code = """\
        import tensorflow as tf


        def weight(shape):
            return tf.Variable(tf.truncated_normal(shape, stddev=0.1))


        x = tf.placeholder(tf.float32, [None, 784])
        h = tf.nn.relu(tf.matmul(x, weight([784, 256])))
        logits = tf.matmul(h, weight([256, 10]))
    """
    assert lint(code, select=["NN110"]) == []
