"""NN106 spatial sizes beyond Keras input_shape=: TF1 placeholder shapes feeding tf.layers chains."""

from nnlint.testing import codes, lint

TF1_BAD = """\
import tensorflow as tf


def cnn(training):
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    h = tf.layers.conv2d(x, 32, 5, activation=tf.nn.relu)
    h = tf.layers.max_pooling2d(h, 2, 2)
    h = tf.layers.conv2d(h, 64, 5, activation=tf.nn.relu)
    h = tf.layers.max_pooling2d(h, 2, 2)
    h = tf.reshape(h, [-1, 7 * 7 * 64])
    return tf.layers.dense(h, 10)


def shrinks():
    x = tf.compat.v1.placeholder(tf.float32, shape=[None, 12, 12, 3])
    h = tf.compat.v1.layers.conv2d(x, 16, 5, padding="valid")
    h = tf.compat.v1.layers.max_pooling2d(h, pool_size=2, strides=2)
    h = tf.compat.v1.layers.conv2d(h, 32, kernel_size=(5, 5))
    return tf.compat.v1.layers.dense(tf.layers.flatten(h), 10)
"""


def test_tf1_placeholder_shape_reaches_the_chain():
    assert codes(TF1_BAD, select=["NN106"]) == [(10, 9, "NN106"), (18, 9, "NN106")]


def test_tf1_messages():
    reshape, conv = lint(TF1_BAD, select=["NN106"])
    assert reshape.message == ("tf.reshape(h, ...) reshapes the per-sample shape (4, 4, 64) (1024 values) into rows of "
                               "3136 values: 1024 is not a multiple of 3136, so the batch does not split into such "
                               "rows; make the non-batch dimensions multiply to 1024")
    assert conv.message.endswith(" shrinks its 4x4 input to 0x0 ('valid' padding, window (5, 5), stride 1): the model "
                                 "cannot be built; use padding='same' or a smaller window or stride")


TF1_GOOD = """\
import tensorflow as tf

SEQ, HIDDEN = 20, 128


def cnn():
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    h = tf.layers.conv2d(x, 32, 5, padding="same", activation=tf.nn.relu)
    h = tf.layers.max_pooling2d(h, 2, 2)
    h = tf.layers.conv2d(h, 64, 5, padding="same", activation=tf.nn.relu)
    h = tf.layers.max_pooling2d(h, 2, 2)
    h = tf.reshape(h, [-1, 7 * 7 * 64])
    h = tf.layers.dense(h, 1024, activation=tf.nn.relu)
    return tf.layers.dense(h, 10)


def flat_input():
    x = tf.placeholder(tf.float32, [None, 784])
    h = tf.reshape(x, [-1, 28, 28, 1])
    h = tf.layers.conv2d(h, 8, 3)
    return tf.layers.dense(tf.layers.flatten(h), 10)


def merge_rows():
    x = tf.placeholder(tf.float32, [None, 20, 128])
    h = tf.layers.dense(x, 64)
    rows = tf.reshape(h, [-1, 64])
    back = tf.reshape(rows, [-1, 20, 64])
    return tf.layers.dense(back, 10)


def unknown_spatial():
    x = tf.placeholder(tf.float32, [None, None, None, 3])
    h = tf.layers.conv2d(x, 16, 7)
    h = tf.layers.max_pooling2d(h, 4, 4)
    return tf.reshape(h, [-1, 5 * 5 * 16])


def unknown_batch_or_target(batch_size, n):
    x = tf.placeholder(tf.float32, [None, 4, 4, 3])
    a = tf.reshape(x, [batch_size, 7])
    b = tf.reshape(x, [-1, n])
    c = tf.reshape(x, [-1])
    return tf.layers.dense(a, 1), tf.layers.dense(b, 1), c
"""


def test_tf1_correct_and_unknown_shapes_are_silent():
    assert codes(TF1_GOOD, select=["NN106"]) == []


def test_placeholder_without_static_shape_is_silent():
    src = """\
import tensorflow as tf

x = tf.placeholder(tf.float32)
keep = tf.placeholder(tf.float32, [])
h = tf.layers.conv2d(x, 16, 9)
h = tf.nn.dropout(h, keep_prob=keep)
out = tf.reshape(h, [-1, 3])
"""
    assert codes(src, select=["NN106"]) == []
