"""Keras/TF precision bar of issue 11: the correct spellings that must stay silent, and NN210
on Keras losses compiled with from_logits=True over a bounded final activation."""

import textwrap

from nnlint.testing import codes

LOSS_RULES = ("NN201", "NN202", "NN206", "NN207", "NN210")


def found(code, *wanted):
    return [c for c in codes(textwrap.dedent(code)) if c[2] in wanted]


def test_logits_into_softmax_cross_entropy_with_logits_is_clean():
    code = """\
        import tensorflow as tf

        x = tf.placeholder(tf.float32, [None, 784])
        y_ = tf.placeholder(tf.float32, [None, 10])
        hidden = tf.layers.dense(x, 256, activation=tf.nn.relu)
        logits = tf.layers.dense(hidden, 10)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=logits))
        loss_v2 = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=logits))
        sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.argmax(y_, 1), logits=logits)
    """
    assert found(code, *LOSS_RULES) == []


def test_softmax_used_only_for_metrics_or_predict_is_clean():
    code = """\
        import numpy as np
        import tensorflow as tf
        from tensorflow import keras
        from tensorflow.keras import layers

        x = tf.placeholder(tf.float32, [None, 784])
        y_ = tf.placeholder(tf.float32, [None, 10])
        logits = tf.layers.dense(x, 10)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=logits))
        probabilities = tf.nn.softmax(logits)
        correct = tf.equal(tf.argmax(probabilities, 1), tf.argmax(y_, 1))
        accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))

        model = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(128, activation="relu"), layers.Dense(10)])
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        model.fit(x_train, y_train, epochs=5)
        probability_model = keras.Sequential([model, layers.Softmax()])
        predictions = probability_model.predict(x_test)
        scores = tf.nn.softmax(model.predict(x_test))
        top = np.argmax(tf.nn.softmax(model(x_test)), axis=-1)
    """
    assert found(code, *LOSS_RULES) == []


def test_dense_then_activation_softmax_with_categorical_crossentropy_is_clean():
    code = """\
        from tensorflow import keras
        from tensorflow.keras.layers import Activation, Dense, Dropout

        model = keras.models.Sequential()
        model.add(Dense(512, input_shape=(784,)))
        model.add(Activation("relu"))
        model.add(Dropout(0.2))
        model.add(Dense(10))
        model.add(Activation("softmax"))
        model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    """
    assert found(code, *LOSS_RULES, "NN105", "NN104") == []


def test_subclassed_model_with_dropout_after_batchnorm_is_clean():
    code = """\
        import tensorflow as tf


        class Net(tf.keras.Model):
            def __init__(self):
                super().__init__()
                self.fc1 = tf.keras.layers.Dense(256, use_bias=False)
                self.bn1 = tf.keras.layers.BatchNormalization()
                self.drop1 = tf.keras.layers.Dropout(0.5)
                self.fc2 = tf.keras.layers.Dense(10, activation="softmax")

            def call(self, x, training=False):
                x = self.fc1(x)
                x = self.bn1(x, training=training)
                x = tf.nn.relu(x)
                x = self.drop1(x, training=training)
                return self.fc2(x)


        model = Net()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    """
    assert found(code, "NN101", "NN102", *LOSS_RULES) == []


# -- NN210 on Keras compile ---------------------------------------------------------------------
RELU_HEAD = """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dense(128, activation="relu"),
    layers.Dense(10, activation="relu"),
])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
"""


def test_keras_relu_head_with_from_logits_fires_nn210_at_the_loss():
    assert found(RELU_HEAD, *LOSS_RULES) == [(9, 38, "NN210")]


def test_keras_tanh_activation_layer_and_binary_logits_fire_nn210():
    code = RELU_HEAD.replace('layers.Dense(10, activation="relu"),', 'layers.Dense(1),\n    layers.Activation("tanh"),')
    code = code.replace("SparseCategoricalCrossentropy(from_logits=True)", "BinaryCrossentropy(from_logits=True)")
    assert found(code, *LOSS_RULES) == [(10, 38, "NN210")]


def test_keras_sigmoid_head_with_from_logits_is_nn207_only():
    code = RELU_HEAD.replace('layers.Dense(10, activation="relu")', 'layers.Dense(10, activation="sigmoid")')
    assert found(code, *LOSS_RULES) == [(9, 38, "NN207")]


def test_keras_linear_head_or_probability_loss_is_not_nn210():
    linear = RELU_HEAD.replace('layers.Dense(10, activation="relu")', 'layers.Dense(10, activation="linear")')
    assert found(linear, *LOSS_RULES) == []
    probabilities = RELU_HEAD.replace("keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
                                      "keras.losses.SparseCategoricalCrossentropy()")
    assert found(probabilities, "NN210") == []


def test_tf_layers_dense_with_relu_into_softmax_cross_entropy_fires_nn210():
    code = """\
        import tensorflow as tf

        x = tf.placeholder(tf.float32, [None, 784])
        y_ = tf.placeholder(tf.float32, [None, 10])
        out = tf.layers.dense(x, 10, activation=tf.nn.relu)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=out))
    """
    assert found(code, *LOSS_RULES) == [(6, 23, "NN210")]
