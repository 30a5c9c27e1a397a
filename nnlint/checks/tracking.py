"""NN5: track your work — seeds and experiment tracking for training entry points."""

from __future__ import annotations

from typing import Any, Iterator

from nnlint.diagnostics import Severity
from nnlint.registry import Finding, Rule
from nnlint.source import SourceFile
from nnlint.source.training import training_facts


class _EntryPointRule(Rule):
    """Reports the first training site an entry point of the file runs, unless the file does
    what the rule asks for (the `done` question)."""

    severity = Severity.INFO
    kind = "source"
    requires = (("backward", "fit(", "train("),)
    message: str
    keras_message: str  # for files that train with Keras/TensorFlow and not PyTorch

    def done(self, facts: Any) -> bool:
        raise NotImplementedError

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        facts = training_facts(source)
        sites = [span for span, from_main in facts.training_sites() if from_main]
        if sites and not self.done(facts):
            keras = source.imports.imports_any(("keras", "tensorflow")) and not source.imports.imports_any(("torch",))
            yield self.report(sites[0], self.keras_message if keras else self.message)


class UnseededTraining(_EntryPointRule):
    """Without a seed two runs of the same script differ, and a change cannot be told apart
    from noise."""

    code = "NN501"
    name = "unseeded-training"
    summary = "A file trains a model and never seeds the random number generators."
    message = ("this file trains a model and calls no seeding function; call torch.manual_seed(...) "
               "(or lightning.seed_everything / transformers.set_seed) first")
    keras_message = ("this file trains a model and calls no seeding function; call "
                     "keras.utils.set_random_seed(...) (or tf.random.set_seed) first")

    def done(self, facts: Any) -> bool:
        return facts.seeded


class UntrackedExperiment(_EntryPointRule):
    """A training run whose hyperparameters and metrics are recorded nowhere cannot be compared
    or reproduced later."""

    code = "NN502"
    name = "untracked-experiment"
    summary = "A training entry point uses no experiment tracker."
    message = ("this training entry point uses no experiment tracker; log hyperparameters and "
               "metrics with one (TensorBoard SummaryWriter, wandb, mlflow, ...)")
    keras_message = ("this training entry point uses no experiment tracker; log hyperparameters and "
                     "metrics with a keras.callbacks.TensorBoard or CSVLogger callback, or a tracker (wandb, mlflow, ...)")

    def done(self, facts: Any) -> bool:
        return facts.tracked
