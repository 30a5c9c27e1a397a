"""Keras losses called in a GradientTape loop or a custom train_step (instances, loss functions,
loss classes, wrappers) read by NN201/NN202/NN206/NN207/NN210 (issue 11); the precision bar."""

import textwrap

import pytest

from nnlint.engine import lint_sources
from nnlint.testing import codes, settings

NN2 = ["NN201", "NN202", "NN206", "NN207", "NN210"]


def nn2(code):
    return [c for c in codes(code, select=NN2) if c[2] in NN2]


TAPE_LOOP = '''
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    layers.Embedding(10000, 64),
    layers.GlobalAveragePooling1D(),
    layers.Dense(64, activation="relu"),
    layers.Dense(4{head}),
])
optimizer = keras.optimizers.Adam(1e-3)
loss_fn = {loss}

for epoch in range(5):
    for x, y in train_ds:
        with tf.GradientTape() as tape:
            preds = model(x, training=True)
            loss = loss_fn(y, preds)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
'''


def test_nn207_softmax_model_with_from_logits_loss_in_a_gradient_tape_loop():
    code = TAPE_LOOP.format(head=', activation="softmax"', loss="keras.losses.SparseCategoricalCrossentropy(from_logits=True)")
    assert nn2(code) == [(19, 20, "NN207")]


@pytest.mark.parametrize("head, loss", [
    ("", "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"),
    (', activation="softmax"', "keras.losses.SparseCategoricalCrossentropy()"),
    (', activation="softmax"', "keras.losses.SparseCategoricalCrossentropy(from_logits=False)"),
    (', activation="softmax"', "keras.losses.sparse_categorical_crossentropy"),
])
def test_consistent_keras_losses_in_a_gradient_tape_loop_are_silent(head, loss):
    assert nn2(TAPE_LOOP.format(head=head, loss=loss)) == []


@pytest.mark.parametrize("loss", [
    "keras.losses.CategoricalCrossentropy()",
    "keras.losses.categorical_crossentropy",
    "tf.losses.SparseCategoricalCrossentropy()",
])
def test_nn206_logits_model_with_a_probability_loss_in_a_gradient_tape_loop(loss):
    assert nn2(TAPE_LOOP.format(head="", loss=loss)) == [(19, 20, "NN206")]


def test_nn210_relu_ended_model_into_a_from_logits_loss():
    code = TAPE_LOOP.format(head=', activation="relu"', loss="keras.losses.SparseCategoricalCrossentropy(from_logits=True)")
    assert nn2(code) == [(19, 20, "NN210")]


def test_nn207_loss_function_called_with_from_logits_true_and_a_wrapper_function():
    code = '''
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.Embedding(65, 256), tf.keras.layers.GRU(1024, return_sequences=True),
                             tf.keras.layers.Dense(65, activation="softmax")])
loss_object = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")


def loss_function(real, pred):
    mask = tf.math.logical_not(tf.math.equal(real, 0))
    loss_ = loss_object(real, pred)
    return tf.reduce_mean(loss_ * tf.cast(mask, dtype=loss_.dtype))


@tf.function
def train_step(inp, target):
    with tf.GradientTape() as tape:
        predictions = model(inp)
        loss = loss_function(target, predictions)
        direct = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(target, predictions, from_logits=True))
    grads = tape.gradient(loss, model.trainable_variables)
    return grads
'''
    assert nn2(code) == [(19, 16, "NN207"), (20, 33, "NN207")]


def test_nn207_custom_train_step_of_a_subclassed_softmax_model():
    code = '''
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers


class Classifier(keras.Model):
    def __init__(self, classes):
        super().__init__()
        self.hidden = layers.Dense(128, activation="relu")
        self.drop = layers.Dropout(0.2)
        self.out = layers.Dense(classes, activation="softmax")
        self.loss_fn = keras.losses.CategoricalCrossentropy(from_logits={from_logits})

    def call(self, x, training=False):
        return self.out(self.drop(self.hidden(x), training=training))

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = self.loss_fn(y, self(x, training=True))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {{"loss": loss}}
'''
    assert nn2(code.format(from_logits="True")) == [(21, 20, "NN207")]
    assert nn2(code.format(from_logits="False")) == []


def test_nn201_and_nn202_keras_models_into_tf_logit_losses():
    code = '''
import tensorflow as tf

classifier = tf.keras.Sequential([tf.keras.layers.Dense(10, activation="softmax")])
tagger = tf.keras.Sequential([tf.keras.layers.Dense(5, activation="sigmoid")])
logits_model = tf.keras.Sequential([tf.keras.layers.Dense(10)])

with tf.GradientTape() as tape:
    ce = tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=classifier(x))
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=tags, logits=tagger(x))
    fine = tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits_model(x))
    loss = tf.reduce_mean(ce) + tf.reduce_mean(bce) + tf.reduce_mean(fine)
'''
    assert nn2(code) == [(9, 10, "NN201"), (10, 11, "NN202")]


def test_softmax_only_for_metrics_and_predict_is_silent():
    code = '''
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(128, activation="relu"),
                             tf.keras.layers.Dense(10)])
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
accuracy = tf.keras.metrics.SparseCategoricalAccuracy()
optimizer = tf.keras.optimizers.SGD(0.01)

for x, y in ds:
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = loss_fn(y, logits)
        xent = tf.nn.softmax_cross_entropy_with_logits(labels=tf.one_hot(y, 10), logits=logits)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    probs = tf.nn.softmax(logits)
    accuracy.update_state(y, probs)

probability_model = tf.keras.Sequential([model, tf.keras.layers.Softmax()])
predictions = probability_model.predict(x_test)
'''
    assert nn2(code) == []


def test_dense_then_activation_softmax_with_categorical_crossentropy_is_silent():
    code = '''
import tensorflow as tf
from tensorflow.keras import layers

model = tf.keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(10), layers.Activation("softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy")
loss_fn = tf.keras.losses.CategoricalCrossentropy()
with tf.GradientTape() as tape:
    loss = loss_fn(y, model(x))
'''
    assert nn2(code) == []


def test_nn206_loss_class_named_without_instantiating_it_in_compile():
    code = '''
from tensorflow import keras

model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])
model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy)
'''
    assert nn2(code) == [(5, 1, "NN206")]


def test_keras_loss_call_across_files():
    models = textwrap.dedent('''
        from tensorflow import keras
        from tensorflow.keras import layers


        class Tagger(keras.Model):
            def __init__(self):
                super().__init__()
                self.out = layers.Dense(3, activation="softmax")

            def call(self, x):
                return self.out(x)
    ''')
    train = textwrap.dedent('''
        import tensorflow as tf
        from models import Tagger

        model = Tagger()
        loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x))
    ''')
    found = lint_sources([("proj/models.py", models.encode()), ("proj/train.py", train.encode())],
                         settings(select=NN2))
    assert [(d.path, d.line, d.column, d.code) for d in found] == [("proj/train.py", 8, 12, "NN207")]
