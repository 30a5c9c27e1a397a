"""Keras subclassed models (issue 11, snippet 1): layers assigned in __init__, dataflow in
call(self, x, training=False), lowered to one layer graph per class; and Sequential models grown
with .add() in a for loop (snippet 2)."""

import textwrap

import pytest

from nnlint.testing import codes


def only(code, *wanted):
    return [c for c in codes(textwrap.dedent(code)) if c[2] in wanted]


SUBCLASSED = """\
import tensorflow as tf
from tensorflow import keras


class Classifier({base}):
    def __init__(self, num_classes=10):
        super().__init__()
        self.hidden = keras.layers.Dense(256, activation="relu")
        self.dropout = keras.layers.Dropout(0.4)
        self.norm = keras.layers.BatchNormalization()
        self.out = keras.layers.Dense(num_classes, activation="softmax")

    def call(self, inputs, training=False):
        x = self.hidden(inputs)
        x = self.dropout(x, training=training)
        x = self.norm(x, training=training)
        return self.out(x)


model = Classifier()
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
model.fit(x_train, y_train, epochs=5)
"""


@pytest.mark.parametrize("base", ["keras.Model", "tf.keras.Model", "keras.models.Model", "keras.layers.Layer"])
def test_subclassed_model_dropout_into_batchnorm_fires_at_the_dropout_call(base):
    assert only(SUBCLASSED.format(base=base), "NN101") == [(15, 13, "NN101")]


def test_subclassed_model_softmax_output_with_from_logits_fires_nn207():
    assert only(SUBCLASSED.format(base="keras.Model"), "NN207") == [(21, 38, "NN207")]


def test_subclassed_model_with_dropout_after_batchnorm_and_logits_is_clean():
    code = (SUBCLASSED.format(base="keras.Model")
            .replace("x = self.dropout(x, training=training)\n        x = self.norm(x, training=training)",
                     "x = self.norm(x, training=training)\n        x = self.dropout(x, training=training)")
            .replace('keras.layers.Dense(num_classes, activation="softmax")', "keras.layers.Dense(num_classes)"))
    assert only(code, "NN101", "NN207", "NN206") == []


def test_learned_layer_between_in_call_is_clean():
    code = SUBCLASSED.format(base="keras.Model").replace(
        "x = self.norm(x, training=training)", "x = self.norm(self.hidden(x), training=training)")
    assert only(code, "NN101") == []


def test_plain_class_with_a_call_method_is_not_a_model():
    code = SUBCLASSED.format(base="object")
    assert only(code, "NN101") == []


LOOP = """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential()
model.add(layers.Input(shape=(64,)))
for units in (256, 128, 64):
    model.add(layers.Dense(units, activation="relu"))
    model.add(layers.Dropout(0.3))
    model.add(layers.BatchNormalization())
model.add(layers.Dense(10, activation="softmax"))
model.compile(optimizer="adam", loss="categorical_crossentropy")
"""


def test_sequential_built_in_a_loop_fires_once_at_the_dropout_add():
    assert only(LOOP, "NN101") == [(8, 15, "NN101")]


def test_sequential_loop_with_dropout_after_batchnorm_is_clean():
    code = LOOP.replace("    model.add(layers.Dropout(0.3))\n    model.add(layers.BatchNormalization())\n",
                        "    model.add(layers.BatchNormalization())\n    model.add(layers.Dropout(0.3))\n")
    assert only(code, "NN101") == []


def test_dropout_at_the_end_of_one_iteration_feeds_the_next_iterations_batchnorm():
    code = """\
        from tensorflow import keras
        from tensorflow.keras import layers

        model = keras.Sequential()
        for _ in range(3):
            model.add(layers.BatchNormalization())
            model.add(layers.Dense(64, activation="relu"))
            model.add(layers.Dropout(0.5))
        model.add(layers.Dense(1))
    """
    assert only(code, "NN101") == [(8, 15, "NN101")]


def test_loop_body_with_a_branch_stops_the_model_silently():
    code = LOOP.replace("    model.add(layers.Dropout(0.3))\n", "    if units > 64:\n        model.add(layers.Dropout(0.3))\n")
    assert only(code, "NN101") == []
