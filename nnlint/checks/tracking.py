"""NN5: track your work — seeds and experiment tracking for training entry points."""

from __future__ import annotations

from typing import Any, Iterator

from nnlint.diagnostics import Severity
from nnlint.registry import Finding, Rule
from nnlint.source import SourceFile
from nnlint.source.training import training_facts


class UnseededTraining(Rule):
    """Without a seed two runs of the same script differ, and a change cannot be told apart
    from noise."""

    code = "NN501"
    name = "unseeded-training"
    severity = Severity.INFO
    summary = "A file trains a model and never seeds the random number generators."
    kind = "source"
    requires = (("backward", "fit(", "train("),)

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        facts = training_facts(source)
        sites = [span for span, from_main in facts.training_sites() if from_main]
        if sites and not facts.seeded:
            yield self.report(sites[0], "this file trains a model without seeding the random number "
                                           "generators; call torch.manual_seed(...) (or "
                                           "lightning.seed_everything / transformers.set_seed) first")


class UntrackedExperiment(Rule):
    """A training run whose hyperparameters and metrics are recorded nowhere cannot be compared
    or reproduced later."""

    code = "NN502"
    name = "untracked-experiment"
    severity = Severity.INFO
    summary = "A training entry point records nothing about the run."
    kind = "source"
    requires = (("backward", "fit(", "train("),)

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        facts = training_facts(source)
        if facts.tracked:
            return
        for span, from_main in facts.training_sites():
            if from_main:
                yield self.report(span, "this training entry point records nothing about the run; log "
                                        "hyperparameters and metrics with an experiment tracker "
                                        "(TensorBoard SummaryWriter, wandb, mlflow, ...)")
                return
