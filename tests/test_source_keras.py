"""Keras (keras, tf.keras, tensorflow.keras) and TF1 layer chains lowered to layer graphs, and NN101 on them."""

import textwrap

from nnlint.source import SourceFile, layer_graphs
from nnlint.testing import codes


def graphs(code):
    return [g for g in layer_graphs(SourceFile.parse("k.py", textwrap.dedent(code))) if g.origin == "keras"]


def nn101(code):
    return [c for c in codes(textwrap.dedent(code)) if c[2] == "NN101"]


def test_sequential_list_with_activations_and_batchnorm_momentum_in_torch_convention():
    (graph,) = graphs("""
        from tensorflow import keras
        from tensorflow.keras import layers

        model = keras.Sequential([
            layers.Dense(64, activation="relu", input_shape=(20,)),
            layers.BatchNormalization(momentum=0.9),
            layers.Dense(10, "softmax"),
        ])
    """)
    assert graph.name == "model"
    assert [n.op for n in graph.nodes] == ["linear", "relu", "batchnorm", "linear", "softmax"]
    dense, _, bn, _, softmax = graph.nodes
    assert dense.attrs["out_features"] == 64 and dense.attrs["input_shape"] == (20,)
    assert bn.attrs["keras"] is True and bn.attrs["momentum"] == 0.1
    assert softmax.attrs["dim"] == -1 and softmax.label == '"softmax" activation of layers.Dense(10, "softmax")'
    assert graph.output_nodes() == [softmax]


def test_dropout_entry_before_batchnormalization_fires_in_sequential_and_add_forms():
    assert nn101("""
        import tensorflow as tf
        from keras.layers import Activation, BatchNormalization, Dense, Dropout, SpatialDropout2D

        model = tf.keras.Sequential([
            Dense(128),
            Dropout(0.3),
            BatchNormalization(),
        ])

        model2 = tf.keras.models.Sequential()
        model2.add(tf.keras.layers.Conv2D(32, 3))
        model2.add(SpatialDropout2D(0.2))
        model2.add(Activation("relu"))
        model2.add(BatchNormalization())
        model2.add(Dense(10, activation="softmax"))
    """) == [(7, 5, "NN101"), (13, 12, "NN101")]


def test_functional_api_chain_fires_at_the_dropout_application():
    code = """
        from tensorflow.keras import Input, Model
        from tensorflow.keras.layers import BatchNormalization, Dense, Dropout

        def build(n_features):
            inputs = Input(shape=(n_features,))
            x = Dense(64, activation="relu")(inputs)
            x = Dropout(0.5)(x)
            x = BatchNormalization()(x)
            outputs = Dense(1, activation="sigmoid")(x)
            return Model(inputs=inputs, outputs=outputs)
    """
    assert nn101(code) == [(8, 9, "NN101")]
    (graph,) = graphs(code)
    assert graph.name == "build"
    assert [n.op for n in graph.nodes] == ["input", "linear", "relu", "dropout", "batchnorm", "linear", "sigmoid"]
    assert [n.op for n in graph.output_nodes()] == ["sigmoid"]


def test_learned_layer_between_or_layer_normalization_is_clean():
    assert nn101("""
        from tensorflow import keras
        from tensorflow.keras import layers

        model = keras.Sequential([
            layers.Dense(64, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(64),
            layers.BatchNormalization(),
            layers.Dropout(0.2),
            layers.LayerNormalization(),
        ])

        def head(x):
            x = layers.Dropout(0.1)(x)
            x = layers.Dense(32)(x)
            return layers.BatchNormalization()(x)
    """) == []


def test_shared_layer_instances_concatenate_and_add():
    (graph,) = graphs("""
        import keras

        def build():
            a = keras.Input(shape=(16,))
            b = keras.Input(shape=(16,))
            shared = keras.layers.Dense(8, activation="tanh")
            merged = keras.layers.Concatenate()([shared(a), shared(b)])
            total = keras.layers.add([merged, merged])
            return keras.Model([a, b], total)
    """)
    ops = [n.op for n in graph.nodes]
    assert ops == ["input", "input", "linear", "tanh", "linear", "tanh", "concat", "add"]
    concat = graph.nodes[6]
    assert [graph.nodes[i].op for i in concat.inputs] == ["tanh", "tanh"]
    assert [n.op for n in graph.output_nodes()] == ["add"]


def test_tf1_layer_chain():
    code = """
        import tensorflow as tf

        def model_fn(features, training):
            x = tf.layers.dense(features, 256, activation=tf.nn.relu)
            x = tf.layers.dropout(x, rate=0.4, training=training)
            x = tf.layers.batch_normalization(x, momentum=0.99, training=training)
            x = tf.nn.dropout(x, keep_prob=0.9)
            return tf.layers.dense(x, 10)
    """
    assert nn101(code) == [(6, 9, "NN101")]
    (graph,) = graphs(code)
    ops = [n.op for n in graph.nodes]
    assert ops == ["linear", "relu", "dropout", "batchnorm", "dropout", "linear"]
    assert graph.nodes[2].attrs["p"] == 0.4 and graph.nodes[3].attrs["momentum"] == 0.01
    assert graph.nodes[4].attrs["p"] == 0.1


def test_torch_files_that_mention_keras_get_no_keras_graphs():
    assert graphs("""
        # ported from a keras model
        import torch.nn.functional as F

        def f(x):
            return F.batch_norm(F.dropout(x), None, None)
    """) == []
