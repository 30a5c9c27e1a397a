"""NN501-NN502: seeds and experiment tracking of training entry points (issue 5)."""

from nnlint.testing import codes

SCRIPT = '''
import torch
{imports}


def train(model, loader, optimizer, loss_fn):
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
{extra}


def main():
    {setup}
    train(model, loader, optimizer, loss_fn)


if __name__ == "__main__":
    main()
'''


def only(code, rule):
    return [c for c in codes(code, select=[rule]) if c[2] == rule]


def script(imports="", setup="pass", extra=""):
    return SCRIPT.format(imports=imports, setup=setup, extra=extra)


def test_nn501_unseeded_fires_at_the_loop_and_is_off_by_default():
    assert only(script(), "NN501") == [(7, 5, "NN501")]
    assert [c for c in codes(script()) if c[2] in ("NN501", "NN502")] == []


def test_nn501_silent_with_any_seed():
    assert only(script(setup="torch.manual_seed(0)"), "NN501") == []
    assert only(script(imports="import lightning as L", setup="L.seed_everything(42)"), "NN501") == []
    assert only(script(imports="from transformers import set_seed", setup="set_seed(1)"), "NN501") == []


def test_nn502_untracked_entry_point_fires():
    assert only(script(), "NN502") == [(7, 5, "NN502")]


def test_nn502_silent_with_a_tracker():
    assert only(script(imports="import wandb", setup='wandb.init(project="x")'), "NN502") == []
    assert only(script(imports="from torch.utils.tensorboard import SummaryWriter", setup="w = SummaryWriter()"),
                "NN502") == []
    assert only(script(imports="import mlflow", setup="mlflow.start_run()"), "NN502") == []


def test_nn502_silent_for_a_library_function_no_entry_point_reaches():
    code = '''
def train(model, loader, optimizer, loss_fn):
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
'''
    assert only(code, "NN502") == []


def test_nn501_silent_for_library_loops_and_step_helpers():
    code = '''
def train(model, loader, optimizer, loss_fn):
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()


class NativeScaler:
    def __call__(self, loss, optimizer):
        self._scaler.scale(loss).backward()
        self._scaler.step(optimizer)
'''
    assert only(code, "NN501") == []


KERAS_SCRIPT = """\
from tensorflow import keras

model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(x_train, y_train, epochs=5)
"""


def test_nn501_nn502_speak_keras_to_a_keras_script():
    from nnlint.testing import lint

    found = {d.code: d.message for d in lint(KERAS_SCRIPT, select=["NN501", "NN502"])}
    assert "keras.utils.set_random_seed" in found["NN501"] and "torch" not in found["NN501"]
    assert "keras.callbacks.TensorBoard" in found["NN502"]
    torch_found = {d.code: d.message for d in lint(script(), select=["NN501", "NN502"])}
    assert "torch.manual_seed" in torch_found["NN501"] and "keras" not in torch_found["NN502"]


def test_nn501_nn502_messages_claim_only_what_was_checked():
    from nnlint.testing import lint

    found = {d.code: d.message for d in lint(script(), select=["NN501", "NN502"])}
    assert found == {
        "NN501": "this file trains a model and calls no seeding function; call torch.manual_seed(...) "
                 "(or lightning.seed_everything / transformers.set_seed) first",
        "NN502": "this training entry point uses no experiment tracker; log hyperparameters and metrics with one "
                 "(TensorBoard SummaryWriter, wandb, mlflow, ...)",
    }
