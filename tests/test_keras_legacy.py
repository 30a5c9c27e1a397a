"""Keras 1 and standalone Keras 2.0-2.3 arguments read as that Keras reads them (issue 11 snippet 3).

`Convolution2D(64, 5, 5)` is (nb_filter, nb_row, nb_col), not a stride of 5; `subsample=` is the
stride, `border_mode=` the padding, `dim_ordering=` the channel order (unknown when absent: the
user's keras.json decided it). tf.keras reads `Conv2D(32, 3, 3)` as strides 3; a standalone
`keras` file that does not show its version leaves that window unknown.
"""

import textwrap

from nnlint.source import SourceFile, layer_graphs
from nnlint.testing import codes, lint


def graph_nodes(code):
    graphs = [g for g in layer_graphs(SourceFile.parse("k.py", textwrap.dedent(code))) if g.origin == "keras"]
    return [n for g in graphs for n in g.nodes]


# The snippet: read as stride 5 on a 3x32 input this "shrank below 1".
SNIPPET = """\
from keras.models import Sequential
from keras.layers import Convolution2D, MaxPooling2D, Flatten, Dense, Activation

model = Sequential()
model.add(Convolution2D(64, 5, 5, border_mode='valid', input_shape=(3, 32, 32)))
model.add(Activation('relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Convolution2D(64, 5, 5))
model.add(Activation('relu'))
model.add(Flatten())
model.add(Dense(output_dim=10))
model.add(Activation('softmax'))
model.compile(loss='categorical_crossentropy', optimizer='adadelta')
"""


def test_keras1_snippet_is_silent():
    assert codes(SNIPPET) == []


def test_keras1_convolution_reads_nb_row_nb_col_subsample_border_mode():
    conv = [n for n in graph_nodes(SNIPPET) if n.op == "conv"]
    assert [(n.attrs["out_channels"], n.attrs["kernel_size"], n.attrs["stride"], n.attrs["padding"]) for n in conv] == [
        (64, (5, 5), 1, "valid"), (64, (5, 5), 1, "valid")]
    # no dim_ordering and no backend setting in the file: the channel order is the user's keras.json
    assert {n.attrs["data_format"] for n in conv} == {"unknown"}


CIFAR_TH = """\
from keras.models import Sequential
from keras.layers import Convolution2D, MaxPooling2D, Flatten, Dense, Dropout, Activation


def cifar_convnet(nb_classes=10):
    model = Sequential()
    model.add(Convolution2D(32, 3, 3, border_mode='same', input_shape=(3, 32, 32), dim_ordering='th'))
    model.add(Activation('relu'))
    model.add(Convolution2D(32, 3, 3, dim_ordering='th'))
    model.add(Activation('relu'))
    model.add(MaxPooling2D(pool_size=(2, 2), dim_ordering='th'))
    model.add(Dropout(0.25))
    model.add(Convolution2D(64, 5, 5, subsample=(2, 2), dim_ordering='th'))
    model.add(Activation('relu'))
    model.add(MaxPooling2D(pool_size=(2, 2), dim_ordering='th'))
    model.add(Convolution2D(64, 5, 5, dim_ordering='th'))
    model.add(Activation('relu'))
    model.add(Flatten())
    model.add(Dense(output_dim=512, init='he_normal'))
    model.add(Activation('relu'))
    model.add(Dropout(p=0.5))
    model.add(Dense(nb_classes))
    model.add(Activation('softmax'))
    return model
"""


def test_keras1_channels_first_convnet_that_shrinks_below_one_fires():
    # 32 ->(same) 32 ->(3x3) 30 ->(pool) 15 ->(5x5 stride 2) 6 ->(pool) 3 ->(5x5) -1
    [found] = lint(CIFAR_TH)
    assert (found.line, found.column, found.code) == (16, 15, "NN106")
    assert found.message == ("Convolution2D(64, ...) shrinks its 3x3 input to -1x-1 ('valid' padding, window (5, 5), "
                             "stride 1): the model cannot be built; use padding='same' or a smaller window or stride")


def test_keras1_channels_first_convnet_that_fits_is_silent():
    assert codes(CIFAR_TH.replace("Convolution2D(64, 5, 5, dim_ordering='th'))",
                                  "Convolution2D(64, 3, 3, dim_ordering='th'))")) == []


def test_channels_last_reading_of_the_same_model_would_be_wrong():
    # dim_ordering='tf' says the (3, 32, 32) input is 3 rows of 32 columns with 32 channels:
    # the first 3x3 'same' conv keeps 3x32, the next 'valid' 3x3 makes 1x30, the pool 0x15
    assert codes(CIFAR_TH.replace("'th'", "'tf'")) == [(11, 15, "NN106")]


def test_backend_dim_ordering_set_in_the_file_decides_the_channel_order():
    code = """\
    from keras import backend as K
    from keras.models import Sequential
    from keras.layers import Conv2D, MaxPooling2D, Flatten, Dense

    K.set_image_dim_ordering('th')

    model = Sequential()
    model.add(Conv2D(32, 3, 3, activation='relu', input_shape=(1, 28, 28)))
    model.add(Conv2D(64, 3, 3, activation='relu'))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dense(10, activation='softmax'))
    """
    # Keras <= 2.3 (set_image_dim_ordering): Conv2D(32, 3, 3) is a 3x3 kernel, channels first
    assert codes(code) == []
    conv = [n for n in graph_nodes(code) if n.op == "conv"]
    assert [(n.attrs["kernel_size"], n.attrs["stride"], n.attrs["data_format"]) for n in conv] == [
        ((3, 3), 1, "channels_first"), ((3, 3), 1, "channels_first")]
    shrinking = code.replace("(1, 28, 28)", "(1, 5, 5)")
    assert codes(shrinking) == [(10, 11, "NN106")]


def test_keras1_layers_keep_dropout_dense_and_batchnorm_rules():
    code = """\
    from keras.models import Sequential
    from keras.layers import Dense, Dropout, BatchNormalization, Activation

    model = Sequential()
    model.add(Dense(output_dim=256, input_dim=784, init='glorot_uniform'))
    model.add(Dropout(p=0.9))
    model.add(BatchNormalization())
    model.add(Dense(output_dim=10))
    model.add(Activation('softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='sgd')
    model.fit(X_train, Y_train, nb_epoch=20)
    """
    found = lint(code)
    assert [(d.line, d.column, d.code) for d in found] == [(6, 11, "NN101"), (6, 21, "NN109"), (8, 11, "NN104")]
    assert "p=0.9 looks like a keep probability" in found[1].message and "use p=0.1" in found[1].message


def test_keras1_init_zero_is_recorded_for_nn110():
    code = """\
    from keras.models import Sequential
    from keras.layers import Dense, Convolution2D

    model = Sequential()
    model.add(Convolution2D(16, 3, 3, init='one', input_shape=(1, 8, 8)))
    model.add(Dense(output_dim=64, init='zero', activation='relu'))
    model.add(Dense(output_dim=10, init='glorot_uniform'))
    """
    nodes = [n for n in graph_nodes(code) if n.op in ("linear", "conv")]
    assert [n.attrs.get("kernel_init") for n in nodes] == ["constant", "zero", None]
    assert [SourceFile.code(n.attrs["kernel_init_site"]) for n in nodes[:2]] == ["'one'", "'zero'"]


TWO_STRIDED = """\
{imports}


def strided():
    return {sequential}([
        layers.Conv2D(32, 3, 3, input_shape=(8, 8, 3)),
        layers.Activation("relu"),
        layers.Conv2D(64, 3, 3),
        layers.Activation("relu"),
        layers.Flatten(),
        layers.Dense(10),
    ])
"""


def test_tf_keras_reads_the_third_positional_as_strides():
    # 8 ->(3, stride 3) 2 ->(3, stride 3) 0
    code = TWO_STRIDED.format(imports="import tensorflow as tf\nfrom tensorflow.keras import layers",
                              sequential="tf.keras.Sequential")
    assert codes(code) == [(9, 9, "NN106")]
    conv = [n for n in graph_nodes(code) if n.op == "conv"]
    assert [(n.attrs["kernel_size"], n.attrs["stride"]) for n in conv] == [(3, 3), (3, 3)]


def test_standalone_keras_without_a_version_marker_leaves_the_window_unknown():
    # Keras 2.0-2.3 reads a 3x3 kernel (fine), Keras 3 strides 3 (fails): nnlint cannot tell
    code = TWO_STRIDED.format(imports="import keras\nfrom keras import layers", sequential="keras.Sequential")
    assert codes(code) == []
    assert all("kernel_size" not in n.attrs for n in graph_nodes(code) if n.op == "conv")


def test_standalone_keras_2_with_a_legacy_marker_reads_a_kernel():
    code = TWO_STRIDED.format(
        imports="import keras\nfrom keras import layers\nfrom keras import backend as K\n\nK.set_image_dim_ordering('tf')",
        sequential="keras.Sequential")
    assert codes(code) == []  # 8 -> 6 -> 4 with 3x3 kernels
    assert codes(code.replace("(8, 8, 3)", "(4, 4, 3)")) == [(12, 9, "NN106")]  # 4 -> 2 -> 0


def test_keras1_pooling_border_mode_and_channels_first_global_pooling():
    code = """\
    from keras.models import Sequential
    from keras.layers import Convolution2D, MaxPooling2D, GlobalAveragePooling2D, Dense

    model = Sequential()
    model.add(Convolution2D(8, 3, 3, border_mode='same', activation='relu', input_shape=(3, 9, 9), dim_ordering='th'))
    model.add(MaxPooling2D(pool_size=(3, 3), border_mode='valid', dim_ordering='th'))
    model.add(MaxPooling2D(pool_size=(3, 3), border_mode='same', dim_ordering='th'))
    model.add(MaxPooling2D(pool_size=(2, 2), border_mode='valid', dim_ordering='th'))
    model.add(GlobalAveragePooling2D(dim_ordering='th'))
    model.add(Dense(10, activation='softmax'))
    """
    # 9 ->(pool 3) 3 ->(pool 3, same) 1 ->(pool 2, valid) 0
    assert codes(code) == [(8, 11, "NN106")]
    assert codes(code.replace("(pool_size=(2, 2), border_mode='valid'", "(pool_size=(2, 2), border_mode='same'")) == []


def test_channel_order_named_on_a_tf_keras_layer_or_set_for_the_backend():
    code = """\
    import tensorflow as tf
    from tensorflow.keras import layers


    def channels_first():
        return tf.keras.Sequential([
            layers.Conv2D(16, 5, activation="relu", data_format="channels_first", input_shape=(3, 8, 8)),
            layers.Conv2D(32, 5, activation="relu", data_format="channels_first"),
            layers.GlobalAveragePooling2D(data_format="channels_first"),
            layers.Dense(10),
        ])
    """
    # 8 -> 4 -> 0 over the last two axes (read channels last, 3x8 would fail at the first conv)
    assert codes(code) == [(8, 9, "NN106")]
    backend = code.replace(', data_format="channels_first"', "").replace(
        "def channels_first():", 'tf.keras.backend.set_image_data_format("channels_first")\n\n\n    def channels_first():')
    assert codes(backend) == [(11, 9, "NN106")]
    assert codes(code.replace("(3, 8, 8)", "(3, 12, 12)")) == []
