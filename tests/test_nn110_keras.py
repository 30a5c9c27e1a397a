"""NN110 constant-weight-init on Keras and TensorFlow models: constant kernel initializers in
every spelling, (a) two constant kernels in a row, (b) a zero kernel and zero bias into a ReLU,
and every must-not-fire case (output layers, a random next layer, biases, norms, arrays)."""

import pytest

from nnlint.testing import codes, lint


def nn110(src):
    return codes(src, select=["NN110"])


# --- (a) two constant kernels in a row: the first is reported, at its initializer -------------
SEQUENTIAL = """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    layers.Dense(256, activation="relu", kernel_initializer="zeros", input_shape=(784,)),
    layers.Dropout(0.2),
    layers.Dense(128, activation="relu", kernel_initializer=keras.initializers.Constant(0.01)),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
"""


def test_sequential_two_constant_kernels_report_the_first():
    # the second Dense is followed by a random one: silent
    assert nn110(SEQUENTIAL) == [(5, 61, "NN110")]


def test_message_names_case_a_and_the_fix():
    [diagnostic] = lint(SEQUENTIAL, select=["NN110"])
    assert diagnostic.message == (
        'layers.Dense(256, ...) starts with an all-zero kernel ("zeros") and so does the next weight layer, '
        "layers.Dense(128, ...): the units of layers.Dense(256, ...) get identical gradients and stay identical "
        "forever; use a random kernel initializer (Keras' default glorot_uniform) for at least one of them")


FUNCTIONAL = """\
import tensorflow as tf
from tensorflow.keras import Input, Model
from tensorflow.keras.layers import Conv2D, Dense, Flatten, MaxPooling2D


def build(num_classes=10):
    inputs = Input(shape=(32, 32, 3))
    x = Conv2D(32, 3, activation="relu", kernel_initializer=tf.constant_initializer(0.1))(inputs)
    x = MaxPooling2D()(x)
    x = Conv2D(64, 3, activation="relu", kernel_initializer="ones")(x)
    x = Flatten()(x)
    x = Dense(128, activation="relu")(x)
    outputs = Dense(num_classes, activation="softmax")(x)
    return Model(inputs, outputs)
"""


def test_functional_constant_conv_into_constant_conv_through_pooling():
    assert nn110(FUNCTIONAL) == [(8, 61, "NN110")]


SUBCLASSED = """\
import tensorflow as tf


class Encoder(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.fc1 = tf.keras.layers.Dense(64, kernel_initializer=tf.keras.initializers.Ones())
        self.act = tf.keras.layers.Activation("tanh")
        self.fc2 = tf.keras.layers.Dense(64, kernel_initializer=tf.keras.initializers.Ones())
        self.fc3 = tf.keras.layers.Dense(8)

    def call(self, x, training=False):
        return self.fc3(self.fc2(self.act(self.fc1(x))))
"""


def test_subclassed_constant_layers_in_call_order():
    assert nn110(SUBCLASSED) == [(7, 65, "NN110")]


ADDED_IN_LOOP = """\
from keras.models import Sequential
from keras.layers import Activation, Dense

model = Sequential()
model.add(Dense(64, input_shape=(20,)))
for _ in range(3):
    model.add(Dense(64, kernel_initializer="ones"))
    model.add(Activation("tanh"))
model.add(Dense(1, activation="sigmoid"))
"""


def test_constant_layer_added_in_a_loop_feeds_itself_reported_once():
    assert nn110(ADDED_IN_LOOP) == [(7, 44, "NN110")]
    [diagnostic] = lint(ADDED_IN_LOOP, select=["NN110"])
    assert "the next weight layer, the same layer in the loop's next iteration:" in diagnostic.message


TF_LAYERS = """\
import tensorflow as tf


def mlp(x, training):
    h = tf.layers.dense(x, 512, tf.nn.tanh, kernel_initializer=tf.zeros_initializer())
    h = tf.layers.dropout(h, rate=0.3, training=training)
    h = tf.layers.dense(h, 512, tf.nn.tanh, kernel_initializer=tf.compat.v1.initializers.constant(0.5))
    return tf.layers.dense(h, 10)
"""


def test_tf_layers_constant_kernels_through_dropout():
    assert nn110(TF_LAYERS) == [(5, 64, "NN110")]


# --- (b) a zero kernel and a zero (or no) bias into a ReLU --------------------------------------
ZERO_INTO_RELU = """\
import tensorflow as tf
from tensorflow import keras


class Classifier(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(128, activation="relu", kernel_initializer="zeros")
        self.drop = keras.layers.Dropout(0.5)
        self.head = keras.layers.Dense(10)

    def call(self, x, training=False):
        return self.head(self.drop(self.hidden(x), training=training))


def tower(x):
    h = tf.layers.dense(x, 256, kernel_initializer=tf.zeros_initializer(), use_bias=False)
    h = tf.nn.relu(h)
    return tf.layers.dense(h, 1)
"""


def test_zero_kernel_and_default_zero_bias_into_relu():
    # Keras' default bias_initializer is zeros; use_bias=False leaves no bias at all
    assert nn110(ZERO_INTO_RELU) == [(8, 85, "NN110"), (17, 52, "NN110")]


def test_message_names_case_b_and_the_fix():
    messages = [d.message for d in lint(ZERO_INTO_RELU, select=["NN110"])]
    assert messages == [
        'keras.layers.Dense(128, ...) starts with an all-zero kernel ("zeros") and a zero bias, and feeds "relu" '
        "activation of keras.layers.Dense(128, ...): the pre-activation is 0, where ReLU's gradient is 0, so the "
        "layer never learns; use a random kernel initializer (Keras' default glorot_uniform)",
        "tf.layers.dense(x, ...) starts with an all-zero kernel (tf.zeros_initializer()) and no bias, and feeds "
        "tf.nn.relu(h): the pre-activation is 0, where ReLU's gradient is 0, so the layer never learns; use a "
        "random kernel initializer (Keras' default glorot_uniform)",
    ]


KERAS1 = """\
from keras.models import Sequential
from keras.layers import Activation, Dense, Dropout

model = Sequential()
model.add(Dense(512, input_dim=784, init='zero'))
model.add(Activation('relu'))
model.add(Dropout(0.2))
model.add(Dense(10, init='glorot_uniform'))
model.add(Activation('softmax'))
"""


def test_keras1_init_zero_into_relu():
    assert nn110(KERAS1) == [(5, 42, "NN110")]


# --- every spelling of a constant kernel ---------------------------------------------------------
SPELLING = """\
import tensorflow as tf
from tensorflow import keras
from keras import initializers

model = keras.Sequential([
    keras.layers.Dense(64, activation="tanh", kernel_initializer={init}),
    keras.layers.Dense(64, activation="tanh", kernel_initializer={init}),
    keras.layers.Dense(1),
])
"""
CONSTANT_SPELLINGS = [
    '"zeros"', '"Zeros"', '"zero"', '"ones"', '"Ones"', '"constant"',
    "initializers.Zeros()", "initializers.zeros()", "initializers.Ones()", "initializers.Constant()",
    "initializers.Constant(value=0.05)", "keras.initializers.Constant(-1)", "tf.keras.initializers.constant(0.1)",
    "tf.zeros_initializer()", "tf.ones_initializer()", "tf.constant_initializer(0.1)",
    "tf.compat.v1.constant_initializer(value=0.0)", "tf.initializers.zeros()", "tf.initializers.constant(1.0)",
]


@pytest.mark.parametrize("init", CONSTANT_SPELLINGS)
def test_every_constant_spelling_is_read(init):
    assert nn110(SPELLING.format(init=init)) == [(6, 66, "NN110")]


RANDOM_SPELLINGS = [
    '"glorot_uniform"', '"he_normal"', '"identity"', "initializers.RandomNormal(stddev=0.01)",
    "tf.truncated_normal_initializer(stddev=0.1)", "initializers.Constant(pretrained)",
    "tf.constant_initializer(pretrained)", "initializers.Constant(value=[0.1] * 64)", "kernel_init", "None",
]


@pytest.mark.parametrize("init", RANDOM_SPELLINGS)
def test_random_or_unknown_initializers_are_silent(init):
    # an array (pretrained weights) or a value known only at run time is no constant
    assert nn110(SPELLING.format(init=init)) == []


# --- must not fire -------------------------------------------------------------------------------
CLEAN = """\
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

embedding_matrix = np.load("glove.npy")

# softmax regression: the only weight layer is zero-initialized on purpose (a convex problem)
logreg = keras.Sequential([layers.Dense(10, activation="softmax", kernel_initializer="zeros", input_shape=(784,))])

# a constant layer followed by a random one: the random weights break the symmetry
mlp = keras.Sequential([
    layers.Dense(64, activation="tanh", kernel_initializer=keras.initializers.Constant(0.5), input_shape=(8,)),
    layers.Dense(64, activation="relu"),
    layers.Dense(1, kernel_initializer="zeros"),
])

# bias and norm initializers, pretrained embeddings
text = keras.Sequential([
    layers.Embedding(20000, 100, embeddings_initializer=keras.initializers.Constant(embedding_matrix)),
    layers.GlobalAveragePooling1D(),
    layers.Dense(64, activation="relu", bias_initializer="zeros"),
    layers.BatchNormalization(gamma_initializer="ones", beta_initializer="zeros"),
    layers.Dense(64, activation="relu", bias_initializer=tf.constant_initializer(0.1)),
    layers.Dense(1, activation="sigmoid", bias_initializer=keras.initializers.Constant(np.log(0.01))),
])

# a zero kernel with a random or positive bias into a ReLU still gets a gradient
biased = keras.Sequential([
    layers.Dense(32, activation="relu", kernel_initializer="zeros", bias_initializer="random_normal", input_shape=(4,)),
    layers.Dense(32, activation="relu", kernel_initializer="zeros", bias_initializer=tf.constant_initializer(0.1)),
    layers.Dense(2),
])

# a frozen constant layer is a fixed operator (a sum over windows), not a layer to train
summed = keras.Sequential([
    layers.Dense(4, kernel_initializer="ones", use_bias=False, trainable=False, input_shape=(16,)),
    layers.Dense(1, kernel_initializer="ones"),
])


# a zero kernel into tanh, then a random layer; a zero-initialized detection head
def detector(features, num_anchors=9, num_classes=80):
    x = layers.Conv2D(256, 3, padding="same", activation="tanh", kernel_initializer="zeros")(features)
    x = layers.Conv2D(256, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(num_anchors * num_classes, 3, padding="same", kernel_initializer="zeros",
                         bias_initializer=keras.initializers.Constant(-4.6))(x)


class ZeroHead(keras.Model):
    def __init__(self):
        super().__init__()
        self.body = layers.Dense(128, activation="relu")
        self.head = layers.Dense(10, kernel_initializer="zeros")

    def call(self, x):
        return self.head(self.body(x))


def tf1_head(x):
    h = tf.layers.dense(x, 128, activation=tf.nn.relu)
    return tf.layers.dense(h, 10, kernel_initializer=tf.zeros_initializer())
"""


def test_clean_keras_and_tf_models_are_silent():
    assert nn110(CLEAN) == []


BRANCHES = """\
from tensorflow import keras
from tensorflow.keras import layers

inputs = keras.Input(shape=(16,))
shared = layers.Dense(32, activation="tanh", kernel_initializer="ones")(inputs)
a = layers.Dense(8, kernel_initializer="ones")(shared)
b = layers.Dense(8)(shared)
outputs = layers.Concatenate()([a, b])
model = keras.Model(inputs, outputs)

x = layers.Dense(32, activation="tanh", kernel_initializer="ones")(inputs)
y = layers.Add()([x, layers.Dense(32, kernel_initializer="ones")(x)])
residual = keras.Model(inputs, y)
"""


def test_a_random_branch_or_a_skip_connection_breaks_the_symmetry():
    # `shared` feeds a constant and a random layer; `x` also reaches the output through the add
    assert nn110(BRANCHES) == []


# --- TF1 low-level graphs: tf.Variable / tf.get_variable weights of tf.matmul / tf.nn.conv2d ------
TF1 = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 784])
W1 = tf.Variable(tf.zeros([784, 256]))
b1 = tf.Variable(tf.zeros([256]))
h1 = tf.nn.relu(tf.matmul(x, W1) + b1)
W2 = tf.Variable(tf.truncated_normal([256, 10], stddev=0.1))
b2 = tf.Variable(tf.zeros([10]))
logits = tf.matmul(h1, W2) + b2


def two_constant(x):
    w1 = tf.get_variable("w1", [784, 128], initializer=tf.constant_initializer(0.1))
    b1 = tf.get_variable("b1", [128], initializer=tf.zeros_initializer())
    h = tf.nn.tanh(tf.matmul(x, w1) + b1)
    w2 = tf.Variable(tf.ones([128, 10]))
    return tf.matmul(h, w2)


def conv(images):
    w = tf.Variable(tf.zeros([5, 5, 1, 32]))
    h = tf.nn.relu(tf.nn.conv2d(images, w, strides=[1, 1, 1, 1], padding="SAME"))
    pooled = tf.nn.max_pool(h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    w2 = tf.Variable(tf.truncated_normal([5, 5, 32, 64], stddev=0.1))
    return tf.nn.conv2d(pooled, w2, strides=[1, 1, 1, 1], padding="SAME")
"""


def test_tf1_variables_zero_into_relu_and_two_constant_layers():
    # (b) W1 zero with a zero bias into relu; (a) w1 constant, then w2 constant; (b) a bias-free zero filter
    assert nn110(TF1) == [(4, 18, "NN110"), (13, 56, "NN110"), (21, 21, "NN110")]


def test_tf1_messages():
    messages = [d.message for d in lint(TF1, select=["NN110"])]
    assert messages[0] == (
        "tf.matmul(x, W1) starts with an all-zero kernel (tf.zeros([784, 256])) and a zero bias, and feeds "
        "tf.nn.relu(tf.matmul(...) + b1): the pre-activation is 0, where ReLU's gradient is 0, so the layer never "
        "learns; use a random initial value (tf.random.truncated_normal(shape, stddev=0.1))")
    assert messages[1].startswith(
        "tf.matmul(x, w1) starts with a constant kernel (tf.constant_initializer(0.1)) and so does the next weight "
        "layer, tf.matmul(h, w2): ")


TF1_CLEAN = """\
import tensorflow as tf

# the TensorFlow MNIST tutorial: softmax regression, zero weights on purpose
x = tf.placeholder(tf.float32, [None, 784])
W = tf.Variable(tf.zeros([784, 10]))
b = tf.Variable(tf.zeros([10]))
y = tf.nn.softmax(tf.matmul(x, W) + b)


def hidden(x):
    # zero weights with a positive bias into a ReLU; then a random layer
    w1 = tf.Variable(tf.zeros([784, 256]))
    b1 = tf.Variable(tf.constant(0.1, shape=[256]))
    h = tf.nn.relu(tf.matmul(x, w1) + b1)
    w2 = tf.Variable(tf.truncated_normal([256, 10], stddev=0.1))
    return tf.matmul(h, w2)


def constant_then_random(x):
    w1 = tf.get_variable("w1", [784, 128], initializer=tf.constant_initializer(0.5))
    h = tf.nn.tanh(tf.matmul(x, w1))
    w2 = tf.get_variable("w2", [128, 10])
    return tf.matmul(h, w2)
"""


def test_tf1_softmax_regression_positive_bias_and_random_next_layer_are_silent():
    assert nn110(TF1_CLEAN) == []
