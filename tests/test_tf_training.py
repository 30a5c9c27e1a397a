"""NN301 on Keras models trained with fit/fit_generator/train_on_batch and on TF2 GradientTape
loops (also a keras.Model's custom train_step); NN304 never on TF2 loops (issue 11)."""

import textwrap

import pytest

from nnlint.engine import lint_sources
from nnlint.testing import codes, settings


def only(code, rule):
    return [c for c in codes(code, select=[rule]) if c[2] == rule]


# -- Keras fit ---------------------------------------------------------------------------------

TEXT_CLASSIFIER = '''
from tensorflow import keras
from tensorflow.keras import layers

max_features, maxlen = 20000, 200
(x_train, y_train), (x_val, y_val) = keras.datasets.imdb.load_data(num_words=max_features)
x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)

model = keras.Sequential([
    keras.Input(shape=(None,), dtype="int32"),
    layers.Embedding(max_features, 128),
    layers.LSTM(64),
    layers.Dense(1, activation="sigmoid"),
])
optimizer = keras.optimizers.Adam(learning_rate=1e-3{clip})
model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val))
'''


def test_nn301_lstm_text_classifier_fit_without_clipnorm():
    assert only(TEXT_CLASSIFIER.format(clip=""), "NN301") == [(17, 1, "NN301")]


@pytest.mark.parametrize("clip", [", clipnorm=1.0", ", clipvalue=0.5", ", global_clipnorm=1.0"])
def test_nn301_silent_when_the_optimizer_built_on_another_line_clips(clip):
    assert only(TEXT_CLASSIFIER.format(clip=clip), "NN301") == []


def test_nn301_bidirectional_functional_model_fit():
    code = '''
import tensorflow as tf

inputs = tf.keras.Input(shape=(None,), dtype="int32")
x = tf.keras.layers.Embedding(20000, 128)(inputs)
x = tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(64, return_sequences=True))(x)
x = tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(64))(x)
outputs = tf.keras.layers.Dense(1, activation="sigmoid")(x)
model = tf.keras.Model(inputs, outputs)
model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=2)
'''
    assert only(code, "NN301") == [(11, 1, "NN301")]


def test_nn301_keras1_sequential_add_with_fit_generator_and_train_on_batch():
    code = '''
from keras.models import Sequential
from keras.layers import Dense, Embedding, LSTM
from keras.optimizers import RMSprop

model = Sequential()
model.add(Embedding(20000, 128, input_length=80))
model.add(LSTM(128, dropout_W=0.2, dropout_U=0.2))
model.add(Dense(1, activation='sigmoid'))
model.compile(loss='binary_crossentropy', optimizer=RMSprop(lr=0.001), metrics=['accuracy'])
model.fit_generator(batches, samples_per_epoch=2000, nb_epoch=15)
for x_batch, y_batch in batches:
    model.train_on_batch(x_batch, y_batch)
'''
    assert only(code, "NN301") == [(11, 1, "NN301"), (13, 5, "NN301")]


def test_nn301_rnn_cell_model_returned_by_a_builder_function():
    code = '''
from tensorflow import keras
from tensorflow.keras import layers


def build_model(vocab_size, num_classes):
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = layers.Embedding(vocab_size, 64)(inputs)
    x = layers.RNN(layers.GRUCell(64))(x)
    return keras.Model(inputs, layers.Dense(num_classes)(x))


model = build_model(10000, 4)
model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
model.fit(ds, epochs=5)
'''
    assert only(code, "NN301") == [(15, 1, "NN301")]


def test_nn301_subclassed_model_compiled_and_fit():
    code = '''
from tensorflow import keras
from tensorflow.keras import layers


class SentimentRNN(keras.Model):
    def __init__(self, vocab_size):
        super().__init__()
        self.embed = layers.Embedding(vocab_size, 64)
        self.rnn = layers.SimpleRNN(64)
        self.out = layers.Dense(1)

    def call(self, x):
        return self.out(self.rnn(self.embed(x)))


model = SentimentRNN(10000)
model.compile(optimizer={opt}, loss=keras.losses.BinaryCrossentropy(from_logits=True))
model.fit(ds, epochs=3)
'''
    assert only(code.format(opt='"adam"'), "NN301") == [(19, 1, "NN301")]
    assert only(code.format(opt="keras.optimizers.Adam(clipnorm=1.0)"), "NN301") == []


def test_nn301_fit_of_a_dense_model_is_silent_next_to_an_unused_lstm_model():
    # one script, the same `x` reused: the fitted model is the dense one
    code = '''
from tensorflow import keras
from tensorflow.keras import layers

inputs = keras.Input(shape=(28, 28))
x = layers.LSTM(32)(inputs)
rnn_model = keras.Model(inputs, layers.Dense(10)(x))
x = layers.Flatten()(inputs)
x = layers.Dense(128, activation="relu")(x)
mlp = keras.Model(inputs, layers.Dense(10)(x))
mlp.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
mlp.fit(x_train, y_train, epochs=2)
'''
    assert only(code, "NN301") == []


def test_nn301_silent_when_the_keras_model_cannot_be_resolved():
    code = '''
from tensorflow import keras

model = keras.models.load_model("lstm.keras")
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=2)
'''
    assert only(code, "NN301") == []


# -- GradientTape loops -------------------------------------------------------------------------

TAPE_LOOP = '''
import tensorflow as tf

model = tf.keras.Sequential([
    tf.keras.layers.Embedding(5000, 64),
    tf.keras.layers.GRU(128),
    tf.keras.layers.Dense(4),
])
optimizer = tf.keras.optimizers.Adam(1e-3)
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

for epoch in range(10):
    for x, y in train_ds:
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = loss_fn(y, logits)
        grads = tape.gradient(loss, model.trainable_variables)
{clip}        optimizer.apply_gradients(zip(grads, model.trainable_variables))
'''


def test_nn301_gradient_tape_loop_without_clipping_fires_at_apply_gradients():
    assert only(TAPE_LOOP.format(clip=""), "NN301") == [(18, 9, "NN301")]


@pytest.mark.parametrize("clip", [
    "        grads, _ = tf.clip_by_global_norm(grads, 5.0)\n",
    "        grads = [tf.clip_by_norm(g, 1.0) for g in grads]\n",
    "        grads = [tf.clip_by_value(g, -1.0, 1.0) for g in grads]\n",
])
def test_nn301_gradient_tape_loop_that_clips_the_gradients_is_silent(clip):
    assert only(TAPE_LOOP.format(clip=clip), "NN301") == []


def test_nn301_clip_of_the_predictions_is_no_gradient_clipping():
    clip = "        probs = tf.clip_by_value(tf.nn.softmax(logits), 1e-7, 1.0)\n"
    assert only(TAPE_LOOP.format(clip=clip), "NN301") == [(19, 9, "NN301")]


def test_nn301_gradient_tape_loop_silent_when_the_optimizer_clips():
    code = TAPE_LOOP.format(clip="").replace("Adam(1e-3)", "Adam(1e-3, global_clipnorm=1.0)")
    assert only(code, "NN301") == []


def test_nn301_tf_function_train_step_with_variables_bound_to_a_name():
    code = '''
import tensorflow as tf
from tensorflow.keras import layers

encoder = tf.keras.Sequential([layers.Embedding(8000, 256), layers.LSTM(512)])
head = tf.keras.Sequential([layers.Dense(8000)])
optimizer = tf.optimizers.Adam()


@tf.function
def train_step(inp, targ):
    with tf.GradientTape() as tape:
        predictions = head(encoder(inp))
        loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(targ, predictions, from_logits=True))
    variables = encoder.trainable_variables + head.trainable_variables
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss


for epoch in range(20):
    for inp, targ in dataset:
        train_step(inp, targ)
'''
    assert only(code, "NN301") == [(17, 5, "NN301")]


def test_nn301_silent_for_a_tape_loop_over_a_model_without_rnn_or_unresolved():
    code = '''
import tensorflow as tf
from zoo import build

cnn = tf.keras.Sequential([tf.keras.layers.Conv2D(32, 3, activation="relu"), tf.keras.layers.Flatten(),
                           tf.keras.layers.Dense(10)])
other = build("lstm")
optimizer = tf.keras.optimizers.Adam()

for x, y in ds:
    for model in (cnn,):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.keras.losses.mse(y, model(x)))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.keras.losses.mse(y, other(x)))
    grads = tape.gradient(loss, other.trainable_variables)
    optimizer.apply_gradients(zip(grads, other.trainable_variables))
'''
    assert only(code, "NN301") == []


CUSTOM_TRAIN_STEP = '''
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers


class Forecaster(keras.Model):
    def __init__(self, units):
        super().__init__()
        self.encoder = layers.Bidirectional(layers.LSTM(units))
        self.head = layers.Dense(1)

    def call(self, x, training=False):
        return self.head(self.encoder(x))

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
{clip}        self.optimizer.apply_gradients(zip(gradients, trainable_vars))
        return {{"loss": loss}}


model = Forecaster(32)
model.compile(optimizer={opt}, loss="mse")
model.fit(windows, epochs=20)
'''


def test_nn301_custom_train_step_fires_at_apply_gradients_not_at_fit():
    code = CUSTOM_TRAIN_STEP.format(clip="", opt='"adam"')
    assert only(code, "NN301") == [(23, 9, "NN301")]


@pytest.mark.parametrize("clip, opt", [
    ("        gradients, _ = tf.clip_by_global_norm(gradients, 1.0)\n", '"adam"'),
    ("", "keras.optimizers.Adam(clipnorm=1.0)"),
])
def test_nn301_custom_train_step_silent_when_it_or_the_compiled_optimizer_clips(clip, opt):
    assert only(CUSTOM_TRAIN_STEP.format(clip=clip, opt=opt), "NN301") == []


def test_nn301_custom_train_step_silent_when_the_compiled_optimizer_is_unknown():
    # the model class lives in this file, but nothing here compiles it
    code = CUSTOM_TRAIN_STEP.format(clip="", opt='"adam"').split("\n\nmodel = ")[0] + "\n"
    assert only(code, "NN301") == []


def test_nn301_imported_model_with_its_own_train_step_is_checked_there_not_at_fit():
    models = CUSTOM_TRAIN_STEP.format(clip="        gradients, _ = tf.clip_by_global_norm(gradients, 1.0)\n",
                                      opt='"adam"').split("\n\nmodel = ")[0] + "\n"
    train = textwrap.dedent('''
        from models import Forecaster

        model = Forecaster(32)
        model.compile(optimizer="adam", loss="mse")
        model.fit(windows, epochs=20)
    ''')
    found = lint_sources([("proj/models.py", models.encode()), ("proj/train.py", train.encode())],
                         settings(select=["NN301"]))
    assert found == []


def test_nn301_imported_keras_model_compiled_and_fit_in_train_py():
    models = textwrap.dedent('''
        from tensorflow import keras
        from tensorflow.keras import layers


        class CharModel(keras.Model):
            def __init__(self, vocab):
                super().__init__()
                self.embed = layers.Embedding(vocab, 256)
                self.gru = layers.GRU(1024, return_sequences=True)
                self.dense = layers.Dense(vocab)

            def call(self, x):
                return self.dense(self.gru(self.embed(x)))
    ''')
    train = textwrap.dedent('''
        from models import CharModel

        model = CharModel(65)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(dataset, epochs=20)
    ''')
    found = lint_sources([("proj/models.py", models.encode()), ("proj/train.py", train.encode())],
                         settings(select=["NN301"]))
    assert [(d.path, d.line, d.column, d.code) for d in found] == [("proj/train.py", 6, 1, "NN301")]


# -- NN304 does not apply to TF2 ------------------------------------------------------------

def test_nn304_never_fires_on_gradient_tape_loops():
    assert only(TAPE_LOOP.format(clip=""), "NN304") == []
    assert only(CUSTOM_TRAIN_STEP.format(clip="", opt='"adam"'), "NN304") == []
    # a file with both: the torch loop still gets it
    torch_loop = '''
import torch

for x, y in loader:
    loss = torch.nn.functional.mse_loss(net(x), y)
    loss.backward()
    opt.step()
'''
    assert only(TAPE_LOOP.format(clip="") + torch_loop, "NN304") == [(24, 5, "NN304")]


def test_nn301_keras3_optimizer_apply_and_states_unpacked_from_an_lstm():
    code = '''
import keras
import tensorflow as tf

encoder_inputs = keras.Input(shape=(None, 71))
encoder_outputs, state_h, state_c = keras.layers.LSTM(256, return_state=True)(encoder_inputs)
decoder_inputs = keras.Input(shape=(None, 93))
decoder_outputs, _, _ = keras.layers.LSTM(256, return_sequences=True, return_state=True)(
    decoder_inputs, initial_state=[state_h, state_c])
decoder_outputs = keras.layers.Dense(93)(decoder_outputs)
model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)
optimizer = keras.optimizers.RMSprop()
loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)

for (enc, dec), target in train_ds:
    with tf.GradientTape() as tape:
        loss = loss_fn(target, model([enc, dec], training=True))
    grads = tape.gradient(loss, model.trainable_weights)
    optimizer.apply(grads, model.trainable_weights)
'''
    assert only(code, "NN301") == [(19, 5, "NN301")]
    assert only(code.replace("RMSprop()", "RMSprop(clipnorm=1.0)"), "NN301") == []


def test_nn301_clipping_in_a_helper_and_an_optimizer_held_by_a_trainer_class():
    code = '''
import tensorflow as tf


def clip(gradients, max_norm=5.0):
    return [tf.clip_by_norm(g, max_norm) for g in gradients]


class Trainer:
    def __init__(self):
        self.model = tf.keras.Sequential([tf.keras.layers.LSTM(32), tf.keras.layers.Dense(1)])
        self.optimizer = tf.keras.optimizers.Adam({clip})

    def step(self, x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self.model(x) - y))
        grads = tape.gradient(loss, self.model.trainable_variables)
{helper}        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
'''
    assert only(code.format(clip="", helper=""), "NN301") == [(18, 9, "NN301")]
    assert only(code.format(clip="clipvalue=1.0", helper=""), "NN301") == []
    assert only(code.format(clip="", helper="        grads = clip(grads)\\n"), "NN301") == []


def test_nn301_a_script_that_rebinds_model_and_compile_reads_the_ones_before_each_fit():
    code = '''
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([layers.LSTM(32), layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(clipnorm=1.0), loss="mse")
model.fit(x, y, epochs=3)

model = keras.Sequential([layers.Dense(32, activation="relu"), layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=3)

model = keras.Sequential([layers.GRU(32), layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=3)
'''
    assert only(code, "NN301") == [(15, 1, "NN301")]


def test_nn301_silent_when_the_model_overrides_compile():
    code = CUSTOM_TRAIN_STEP.format(clip="", opt='"adam"').replace(
        "    def train_step(self, data):",
        "    def compile(self, opt, **kwargs):\n        super().compile(optimizer=opt, **kwargs)\n\n"
        "    def train_step(self, data):").replace('model.compile(optimizer="adam", loss="mse")',
                                              'model.compile(opt=keras.optimizers.Adam(clipnorm=1.0), loss="mse")')
    assert only(code, "NN301") == []
