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


# -- layers held in lists and dicts on self (issue 11) ------------------------------------------
LIST_MODEL = """\
from tensorflow import keras
from tensorflow.keras import layers


class MLP(keras.Model):
    def __init__(self):
        super().__init__()
        self.blocks = [
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.BatchNormalization(),
        ]
        self.head = layers.Dense(10)

    def call(self, x, training=False):
        for layer in self.blocks:
            x = layer(x, training=training)
        return self.head(x)
"""


def test_layer_list_applied_in_a_loop_fires_at_the_dropouts_entry():
    assert only(LIST_MODEL, "NN101") == [(10, 13, "NN101")]


def test_layer_list_with_dropout_after_batchnorm_is_clean():
    code = LIST_MODEL.replace("            layers.Dropout(0.5),\n            layers.BatchNormalization(),\n",
                              "            layers.BatchNormalization(),\n            layers.Dropout(0.5),\n")
    assert only(code, "NN101") == []


def test_layer_list_changed_in_place_is_unknown():
    # the real order is Dropout, Dense, BatchNormalization: a learned layer stands between
    code = LIST_MODEL.replace("        self.head = layers.Dense(10)\n",
                              "        self.head = layers.Dense(10)\n        self.blocks.insert(2, layers.Dense(128))\n")
    assert only(code, "NN101") == []


def test_layer_list_picked_by_index_and_by_enumerate():
    by_index = LIST_MODEL.replace(
        "        for layer in self.blocks:\n            x = layer(x, training=training)\n",
        "        x = self.blocks[0](x)\n        x = self.blocks[1](x, training=training)\n        x = self.blocks[-1](x)\n")
    assert only(by_index, "NN101") == [(10, 13, "NN101")]
    enumerated = LIST_MODEL.replace("for layer in self.blocks:", "for i, layer in enumerate(self.blocks):")
    assert only(enumerated, "NN101") == [(10, 13, "NN101")]


def test_layer_dict_applied_over_its_values():
    code = """\
        import tensorflow as tf


        class Tower(tf.keras.Model):
            def __init__(self):
                super().__init__()
                self.stages = {"fc": tf.keras.layers.Dense(64), "drop": tf.keras.layers.Dropout(0.2),
                               "norm": tf.keras.layers.BatchNormalization()}

            def call(self, x):
                for stage in self.stages.values():
                    x = stage(x)
                return x
    """
    assert only(code, "NN101") == [(7, 65, "NN101")]


def test_dense_layers_of_a_list_without_activation_fire_nn104_at_each_second_layer():
    code = LIST_MODEL.replace('layers.Dense(128, activation="relu"),\n            layers.Dropout(0.5),\n'
                              '            layers.BatchNormalization(),\n',
                              'layers.Dense(128),\n            layers.Dense(64),\n')
    # Dense(128) -> Dense(64) in the list, then Dense(64) -> the head at its call
    assert only(code, "NN104") == [(10, 13, "NN104"), (17, 16, "NN104")]


# -- a custom Layer used inside a Model: its call() lowered inline -------------------------------
NESTED = """\
from tensorflow import keras
from tensorflow.keras import layers


class Block(layers.Layer):
    def __init__(self, units):
        super().__init__()
        self.dense = layers.Dense(units, activation="relu")
        self.drop = layers.Dropout(0.3)

    def call(self, x, training=False):
        return self.drop(self.dense(x), training=training)


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.block = Block(64)
        self.bn = layers.BatchNormalization()
        self.out = layers.Dense(10)

    def call(self, x, training=False):
        x = self.block(x, training=training)
        x = self.bn(x, training=training)
        return self.out(x)
"""


def test_custom_layer_ending_in_dropout_fires_at_its_call_in_the_model():
    assert only(NESTED, "NN101") == [(23, 13, "NN101")]


def test_custom_layer_ending_in_a_learned_layer_is_clean():
    code = NESTED.replace("return self.drop(self.dense(x), training=training)",
                          "return self.dense(self.drop(x, training=training))")
    assert only(code, "NN101") == []


def test_bug_inside_a_custom_layer_is_reported_once_inside_it():
    code = NESTED.replace("        self.drop = layers.Dropout(0.3)\n",
                          "        self.drop = layers.Dropout(0.3)\n        self.norm = layers.BatchNormalization()\n").replace(
        "return self.drop(self.dense(x), training=training)",
        "return self.dense(self.norm(self.drop(x, training=training)))")
    assert only(code, "NN101") == [(13, 37, "NN101")]


def test_custom_layers_in_a_list_and_a_recursive_layer_do_not_hang():
    code = NESTED.replace("self.block = Block(64)", "self.blocks = [Block(64), Block(32)]").replace(
        "x = self.block(x, training=training)", "for block in self.blocks:\n            x = block(x)")
    assert only(code, "NN101") == [(18, 35, "NN101")]
    # a layer holding its own class: lowered one level, then opaque
    recursive = NESTED.replace("        self.drop = layers.Dropout(0.3)\n",
                               "        self.drop = layers.Dropout(0.3)\n        self.again = Block(units)\n").replace(
        "return self.drop(self.dense(x), training=training)", "return self.drop(self.again(self.dense(x)))")
    assert only(recursive, "NN101") == [(24, 13, "NN101")]


# -- super().call(...) --------------------------------------------------------------------------
SUPER = """\
from tensorflow import keras
from tensorflow.keras import layers


class Backbone(keras.Model):
    def __init__(self):
        super().__init__()
        self.fc = layers.Dense(256, activation="relu")
        self.drop = layers.Dropout(0.5)

    def call(self, x, training=False):
        return self.drop(self.fc(x), training=training)


class WithNorm(Backbone):
    def __init__(self):
        super().__init__()
        self.norm = layers.BatchNormalization()

    def call(self, x, training=False):
        x = super().call(x, training=training)
        return self.norm(x, training=training)
"""


def test_super_call_lowers_the_base_call_with_the_same_self():
    assert only(SUPER, "NN101") == [(12, 16, "NN101")]


def test_super_call_followed_by_a_learned_layer_is_clean():
    code = SUPER.replace("return self.norm(x, training=training)", "return self.norm(self.fc(x), training=training)")
    assert only(code, "NN101") == []


# -- keras.Sequential held as an attribute ------------------------------------------------------
SEQ_ATTR = """\
import tensorflow as tf


class Net(tf.keras.Model):
    def __init__(self, classes=10):
        super().__init__()
        self.features = tf.keras.Sequential([
            tf.keras.layers.Dense(64, activation="relu"),
            tf.keras.layers.Dropout(0.3),
        ])
        self.bn = tf.keras.layers.BatchNormalization()
        self.head = tf.keras.Sequential([tf.keras.layers.Dense(classes, activation="softmax")])

    def call(self, x):
        return self.head(self.bn(self.features(x)))


model = Net()
model.compile(optimizer="adam", loss=tf.keras.losses.CategoricalCrossentropy(from_logits=True))
"""


def test_sequential_attribute_is_lowered_in_place():
    assert only(SEQ_ATTR, "NN101", "NN207") == [(9, 13, "NN101"), (19, 38, "NN207")]


def test_sequential_attribute_ending_in_a_learned_layer_and_logits_is_clean():
    code = SEQ_ATTR.replace("            tf.keras.layers.Dropout(0.3),\n", "            tf.keras.layers.Dropout(0.3),\n"
                            "            tf.keras.layers.Dense(64),\n").replace(', activation="softmax")', ")")
    assert only(code, "NN101", "NN207", "NN206") == []


def test_sequential_attribute_grown_elsewhere_is_unknown():
    code = SEQ_ATTR.replace("        self.bn = tf.keras.layers.BatchNormalization()\n",
                            "        self.bn = tf.keras.layers.BatchNormalization()\n"
                            "        self.features.add(tf.keras.layers.Dense(64))\n")
    assert only(code, "NN101") == []


# -- Sequential assembled under if/while --------------------------------------------------------
COND = """\
from tensorflow import keras
from tensorflow.keras import layers


def build(use_dropout=True, use_bn=True):
    model = keras.Sequential()
    model.add(layers.Dense(64, activation="relu"))
    if use_dropout:
        model.add(layers.Dropout(0.5))
    if use_bn:
        model.add(layers.BatchNormalization())
    model.add(layers.Dense(10, activation="softmax"))
    return model
"""


def test_optional_dropout_then_optional_batchnorm_fires():
    assert only(COND, "NN101") == [(9, 19, "NN101")]


def test_dropout_and_batchnorm_on_exclusive_branches_is_clean():
    either = COND.replace("    if use_bn:\n", "    else:\n")
    assert only(either, "NN101") == []
    negated = COND.replace("    if use_dropout:\n", "    if not use_bn:\n")
    assert only(negated, "NN101") == []
    exclusive = COND.replace("if use_dropout:", "if depth > 2:").replace("if use_bn:", "if depth <= 2:")
    assert only(exclusive, "NN101") == []


def test_elif_chain_and_a_raising_branch():
    code = COND.replace("    if use_bn:\n        model.add(layers.BatchNormalization())\n",
                        "    if norm == 'batch':\n        model.add(layers.BatchNormalization())\n"
                        "    elif norm == 'layer':\n        model.add(layers.LayerNormalization())\n"
                        "    else:\n        raise ValueError(norm)\n")
    assert only(code, "NN101") == [(9, 19, "NN101")]


def test_loop_invariant_branch_takes_the_same_side_in_every_iteration():
    code = """\
        from tensorflow import keras
        from tensorflow.keras import layers

        model = keras.Sequential()
        for _ in range(3):
            if use_bn:
                model.add(layers.BatchNormalization())
            else:
                model.add(layers.Dropout(0.3))
            model.add(layers.ReLU())
        model.add(layers.Dense(1))
    """
    assert only(code, "NN101") == []
    inside = code.replace("            if use_bn:\n                model.add(layers.BatchNormalization())\n"
                          "            else:\n                model.add(layers.Dropout(0.3))\n",
                          "            if use_dropout:\n                model.add(layers.Dropout(0.3))\n"
                          "            model.add(layers.BatchNormalization())\n")
    assert only(inside, "NN101") == [(7, 19, "NN101")]


def test_while_loop_of_blocks_fires_once():
    code = """\
        from tensorflow import keras
        from tensorflow.keras import layers

        model = keras.Sequential()
        units = 512
        while units > 32:
            model.add(layers.Dense(units, activation="relu"))
            model.add(layers.Dropout(0.2))
            model.add(layers.BatchNormalization())
            units //= 2
    """
    assert only(code, "NN101") == [(8, 15, "NN101")]


def test_one_iteration_loop_does_not_feed_itself():
    code = """\
        from tensorflow import keras
        from tensorflow.keras import layers

        model = keras.Sequential()
        for units in (64,):
            model.add(layers.BatchNormalization())
            model.add(layers.Dense(units, activation="relu"))
            model.add(layers.Dropout(0.5))
        model.add(layers.Dense(1))
    """
    assert only(code, "NN101") == []


# -- a layer list grown by .append in __init__ (branches and loops followed per path) ----------
APPENDED = """\
import tensorflow as tf
from tensorflow.keras import layers


class Tower(tf.keras.Model):
    def __init__(self, widths=(64, 32), rate=0.3, norm=True):
        super().__init__()
        self.stack = [layers.Dense(widths[0], activation="relu")]
        for width in widths[1:]:
            if rate:
                self.stack.append(layers.Dropout(rate))
            if norm:
                self.stack.append(layers.BatchNormalization())
            self.stack.append(layers.Dense(width, activation="relu"))
        self.stack.append(layers.Dense(1))

    def call(self, x, training=False):
        for layer in self.stack:
            x = layer(x, training=training)
        return x
"""


def test_list_grown_by_optional_appends_fires_on_the_path_with_both():
    assert only(APPENDED, "NN101") == [(11, 35, "NN101")]


def test_list_grown_on_exclusive_branches_is_clean():
    code = APPENDED.replace("            if norm:\n", "            else:\n")
    assert only(code, "NN101") == []


def test_list_with_an_append_the_analysis_cannot_follow_is_unknown():
    # a Dense appended elsewhere may sit between the two: say nothing
    code = APPENDED.replace("    def call(self, x, training=False):\n",
                            "    def build(self, input_shape):\n        self.stack.append(layers.Dense(8))\n\n"
                            "    def call(self, x, training=False):\n")
    assert only(code, "NN101") == []
    inserted = APPENDED.replace("        self.stack.append(layers.Dense(1))\n",
                                "        self.stack.append(layers.Dense(1))\n        self.stack.insert(1, layers.Dense(8))\n")
    assert only(inserted, "NN101") == []


def test_sequential_attribute_grown_by_add_in_a_loop_is_lowered_per_path():
    code = """\
        import tensorflow as tf


        class Encoder(tf.keras.Model):
            def __init__(self, depth=3, rate=0.2):
                super().__init__()
                self.body = tf.keras.Sequential()
                for _ in range(depth):
                    self.body.add(tf.keras.layers.Dense(64, activation="relu"))
                    self.body.add(tf.keras.layers.Dropout(rate))
                self.norm = tf.keras.layers.BatchNormalization()

            def call(self, x, training=False):
                return self.norm(self.body(x, training=training), training=training)
    """
    assert only(code, "NN101") == [(10, 27, "NN101")]
    learned_last = code.replace("                self.norm = tf.keras.layers.BatchNormalization()\n",
                                "                self.body.add(tf.keras.layers.Dense(64))\n"
                                "                self.norm = tf.keras.layers.BatchNormalization()\n")
    assert only(learned_last, "NN101") == []
