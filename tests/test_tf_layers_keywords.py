"""TF1 layer functions called with keywords (`tf.layers.dense(inputs=x, units=10)`), every
tf.layers / tf.compat.v1.layers function, and tf.contrib.layers with its own defaults
(fully_connected and conv2d apply ReLU unless `activation_fn=` says otherwise; dropout takes
keep_prob) (issue 11 snippet 5)."""

import textwrap

from nnlint.source import SourceFile, layer_graphs
from nnlint.testing import codes, lint


def graph_nodes(code):
    graphs = [g for g in layer_graphs(SourceFile.parse("k.py", textwrap.dedent(code))) if g.origin == "keras"]
    return [n for g in graphs for n in g.nodes]


KEYWORD_CHAIN = """\
import tensorflow as tf


def classifier(features, is_training):
    net = tf.layers.dense(inputs=features, units=256, activation=tf.nn.relu)
    net = tf.layers.dropout(inputs=net, rate=0.5, training=is_training)
    net = tf.layers.batch_normalization(inputs=net, training=is_training)
    net = tf.layers.dense(inputs=net, units=128, activation=None)
    logits = tf.layers.dense(inputs=net, units=10)
    return logits
"""


def test_keyword_chain_dense_dropout_batchnorm_fires_nn101_and_nn104():
    found = lint(KEYWORD_CHAIN)
    assert [(d.line, d.column, d.code) for d in found] == [(6, 11, "NN101"), (9, 14, "NN104")]
    assert "batch_normalization" in found[0].message


def test_keyword_chain_lowered_with_its_arguments():
    nodes = graph_nodes(KEYWORD_CHAIN)
    assert [(n.op, n.attrs.get("out_features"), n.attrs.get("p")) for n in nodes if n.op != "input"] == [
        ("linear", 256, None), ("relu", None, None), ("dropout", None, 0.5), ("batchnorm", None, None),
        ("linear", 128, None), ("linear", 10, None)]


def test_clean_keyword_chain_is_silent():
    code = """\
    import tensorflow as tf


    def classifier(features, is_training):
        net = tf.compat.v1.layers.dense(inputs=features, units=256, activation=None)
        net = tf.compat.v1.layers.batch_normalization(inputs=net, training=is_training)
        net = tf.nn.relu(net)
        net = tf.compat.v1.layers.dropout(inputs=net, rate=0.3, training=is_training)
        net = tf.compat.v1.layers.dense(inputs=net, units=64, activation=tf.nn.relu)
        return tf.compat.v1.layers.dense(inputs=net, units=10)
    """
    assert codes(code) == []


CONVNET = """\
import tensorflow as tf


def convnet(is_training):
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    net = tf.layers.conv2d(inputs=x, filters=32, kernel_size=5, padding='same', activation=tf.nn.relu)
    net = tf.layers.max_pooling2d(inputs=net, pool_size=2, strides=2)
    net = tf.layers.conv2d(inputs=net, filters=64, kernel_size=[5, 5], padding='valid', activation=tf.nn.relu)
    net = tf.layers.max_pooling2d(inputs=net, pool_size=[2, 2], strides=2)
    net = tf.layers.conv2d(inputs=net, filters=64, kernel_size=7, activation=tf.nn.relu)
    net = tf.layers.flatten(inputs=net)
    net = tf.layers.dropout(inputs=net, rate=0.9, training=is_training)
    return tf.layers.dense(inputs=net, units=10)
"""


def test_keyword_convnet_spatial_sizes_and_rate():
    # 28 ->(same) 28 ->(pool) 14 ->(5 valid) 10 ->(pool) 5 ->(7 valid) -1
    found = lint(CONVNET)
    assert [(d.line, d.column, d.code) for d in found] == [(10, 11, "NN106"), (12, 46, "NN109")]
    assert "shrinks its 5x5 input to -1x-1" in found[0].message


def test_keyword_convnet_that_fits_is_silent():
    assert codes(CONVNET.replace("kernel_size=7", "kernel_size=3").replace("rate=0.9", "rate=0.4")) == []


def test_transpose_and_separable_convs_are_followed():
    code = """\
    import tensorflow as tf


    def decoder(z):
        net = tf.layers.dense(z, 7 * 7 * 64, activation=tf.nn.relu)
        net = tf.reshape(net, [-1, 7, 7, 64])
        net = tf.layers.conv2d_transpose(inputs=net, filters=32, kernel_size=9, strides=2, activation=tf.nn.relu)
        net = tf.layers.separable_conv2d(inputs=net, filters=16, kernel_size=3, padding='same')
        return tf.layers.conv2d(inputs=net, filters=1, kernel_size=3, padding='same')
    """
    # the 'valid' 9x9 transposed conv grows the 7x7 map (no shrink reported); the separable conv
    # feeds the last conv with no activation: NN104
    assert codes(code) == [(9, 12, "NN104")]


CONTRIB = """\
import tensorflow as tf


def contrib_net(x, is_training):
    net = tf.contrib.layers.fully_connected(x, 256)
    net = tf.contrib.layers.dropout(net, keep_prob=0.1, is_training=is_training)
    net = tf.contrib.layers.batch_norm(net, is_training=is_training)
    net = tf.contrib.layers.fully_connected(net, 128)
    net = tf.contrib.layers.fully_connected(net, 64, activation_fn=None)
    return tf.contrib.layers.fully_connected(net, 10, activation_fn=None)
"""


def test_contrib_defaults_relu_and_keep_prob():
    found = lint(CONTRIB)
    # fully_connected(net, 128) applies ReLU by default: no NN104 before the next layer;
    # the two activation_fn=None layers meet with nothing between them
    assert [(d.line, d.column, d.code) for d in found] == [(6, 11, "NN101"), (6, 52, "NN109"), (10, 12, "NN104")]
    assert found[1].message == (
        "tf.contrib.layers.dropout(net, ...) keeps only 10% of the activations: keep_prob=0.1 looks like a drop "
        "rate ported as the keep probability; use keep_prob=0.9")


def test_contrib_keep_prob_read_as_keep_probability():
    assert codes(CONTRIB.replace("keep_prob=0.1", "keep_prob=0.8"), select=["NN109"]) == []
    assert codes(CONTRIB.replace("keep_prob=0.1", "0.5"), select=["NN109"]) == []


def test_contrib_normalizer_fn_is_a_batchnorm_before_the_activation():
    code = """\
    import tensorflow as tf

    slim = tf.contrib.slim


    def net(x, is_training):
        h = tf.contrib.layers.dropout(x, keep_prob=0.8, is_training=is_training)
        h = tf.contrib.layers.fully_connected(h, 256, normalizer_fn=tf.contrib.layers.batch_norm)
        return tf.contrib.layers.fully_connected(h, 10, activation_fn=None)
    """
    # dropout -> linear -> batchnorm: a linear layer stands between, NN101 is silent
    assert codes(code) == []
    ops = [n.op for n in graph_nodes(code)]
    assert ops[-4:] == ["linear", "batchnorm", "relu", "linear"]


def test_contrib_defaults_under_an_arg_scope_are_unknown():
    code = """\
    import tensorflow as tf
    import tensorflow.contrib.slim as slim


    def net():
        images = tf.placeholder(tf.float32, [None, 3, 3, 1])
        with slim.arg_scope([slim.max_pool2d], padding='SAME'):
            h = slim.conv2d(images, 32, 3)
            h = slim.max_pool2d(h, 2)
            h = slim.max_pool2d(h, 2)
            h = slim.max_pool2d(h, 2)
        return slim.fully_connected(slim.flatten(h), 10, activation_fn=None)
    """
    # the arg_scope makes the pools SAME (3 -> 2 -> 1 -> 1): their VALID default is not assumed
    assert codes(code) == []
    unscoped = code.replace("        with slim.arg_scope([slim.max_pool2d], padding='SAME'):\n", "        if images is not None:\n")
    assert codes(unscoped) == [(10, 13, "NN106")]  # VALID: 3 -> 1 -> 0


def test_contrib_conv_window_defaults_same_padding():
    code = """\
    import tensorflow as tf


    def net():
        x = tf.placeholder(tf.float32, [None, 6, 6, 3])
        h = tf.contrib.layers.conv2d(x, 16, 5)
        h = tf.contrib.layers.max_pool2d(h, 2)
        h = tf.contrib.layers.conv2d(h, 32, 5, padding='VALID')
        return tf.contrib.layers.fully_connected(tf.contrib.layers.flatten(h), 10, activation_fn=None)
    """
    # SAME keeps 6, the pool (stride 2 by default) halves it to 3, a VALID 5x5 cannot fit
    assert codes(code) == [(8, 9, "NN106")]
    assert codes(code.replace("padding='VALID'", "padding='SAME'")) == []


def test_contrib_bias_and_initializers_in_keras_names():
    code = """\
    import tensorflow as tf


    def net(x):
        a = tf.contrib.layers.fully_connected(x, 64, normalizer_fn=tf.contrib.layers.batch_norm)
        b = tf.contrib.layers.fully_connected(a, 64, biases_initializer=None)
        return tf.contrib.layers.fully_connected(b, 10, activation_fn=None, normalizer_fn=None)
    """
    linear = [n for n in graph_nodes(code) if n.op == "linear"]
    # a normalizer_fn or biases_initializer=None drops the bias; normalizer_fn=None keeps it
    assert [n.attrs.get("bias") for n in linear] == [False, False, None]
    assert [n.attrs["out_features"] for n in linear] == [64, 64, 10]
