"""NN3: the training loop — diagnose parameters (clipping, zero_grad, schedules, eval mode,
learning rates, batch sizes). Every rule reads nnlint.source.training facts."""

from __future__ import annotations

from typing import Any, Iterator

from nnlint.diagnostics import Severity
from nnlint.project import At, Project
from nnlint.registry import Finding, Option, Rule
from nnlint.source import SourceFile
from nnlint.source.training import Event, Loop, Model, training_facts


class TrainingRule(Rule):
    kind = "source"
    severity = Severity.WARNING


def _contains(models: list[Model] | None, op: str) -> bool:
    """Every resolved alternative of the trained model contains the layer kind."""
    return bool(models) and all(op in m.ops for m in models)


def _model_label(models: list[Model]) -> str:
    return f"'{models[0].label}'"


def _unique(findings: Iterator[Finding]) -> Iterator[Finding]:
    seen = set()
    for f in findings:
        key = (f.site, f.message)
        if key not in seen:
            seen.add(key)
            yield f


class RnnWithoutGradientClipping(TrainingRule):
    """Recurrent networks are prone to exploding gradients (Pascanu et al., 2013): one long
    sequence can produce a gradient large enough to throw the weights far away.

    A project rule: the model class may live in another linted file (models.py) than the
    loop (train.py)."""

    code = "NN301"
    name = "rnn-without-gradient-clipping"
    summary = "A recurrent model is trained without gradient clipping."
    kind = "project"
    requires = (("backward", "fit(", ".train(", "apply_gradients", "GradientTape", "fit_generator(", "train_on_batch("),)

    def check(self, project: Project, options: dict[str, Any]) -> Iterator[Finding]:
        findings = []
        for path, file in project:
            data = file.extra.get("training")
            if data is None or data.facts is None:
                continue
            facts = data.facts
            for loop in facts.loops:
                if loop.of("clip") or loop.optimizer_clips is not False or not _recurrent(project, path, loop.models):
                    continue
                if loop.framework == "tf":
                    findings.append(self.report(
                        At(path, loop.of("step")[0].span),
                        f"{_model_label(loop.models)} contains a recurrent layer and this loop applies its gradients "
                        "without clipping; clip them first (grads, _ = tf.clip_by_global_norm(grads, max_norm)) or "
                        "give the optimizer global_clipnorm= (exploding gradients)"))
                    continue
                # with a GradScaler the gradients are scaled until unscale_: clipping them as they are is NN303
                where = ("after scaler.unscale_(optimizer), before scaler.step(optimizer)" if loop.scaler
                         else "between backward() and step()")
                findings.append(self.report(
                    At(path, loop.of("step")[0].span),
                    f"{_model_label(loop.models)} contains a recurrent layer and this loop steps the optimizer "
                    "without clipping gradients; call torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm) "
                    f"{where} (exploding gradients)"))
            for fw in facts.frameworks:
                if fw.clips is not False or not _recurrent(project, path, fw.models):
                    continue
                if fw.kind == "keras" and _own_train_step(project, path, fw.models):
                    continue  # fit runs the imported class's train_step: that loop is checked where it is
                how = {"lightning": "pass gradient_clip_val= to the Trainer",
                       "d2l": "pass gradient_clip_val= to d2l.Trainer",
                       "hf": "keep TrainingArguments' default max_grad_norm=1.0",
                       "keras": "give the optimizer clipnorm= (or global_clipnorm=)"}[fw.kind]
                findings.append(self.report(
                    At(path, fw.span),
                    f"{_model_label(fw.models)} contains a recurrent layer and is trained without gradient "
                    f"clipping; {how} (exploding gradients)"))
        yield from _unique(iter(findings))


def _recurrent(project: Project, path: str, models: list[Model] | None) -> bool:
    """Every alternative of the trained model contains a recurrent layer, looking through
    imported project classes (Seq2Seq -> Encoder -> nn.LSTM) in other linted files."""
    if not models:
        return False
    return all("rnn" in _ops(project, path, m) for m in models)


def _own_train_step(project: Project, path: str, models: list[Model]) -> bool:
    """Some imported project class the model is built from overrides train_step."""
    for model in models:
        for ext in model.external:
            symbol = project.resolve(path, ext)
            data = project.files[symbol.path].extra.get("training") if symbol and symbol.kind == "class" else None
            summary = data.classes.get(symbol.name) if data is not None else None
            if summary is not None and summary.train_step:
                return True
    return False


def _class_ops(project: Project, path: str, dotted: str, depth: int) -> frozenset[str]:
    if depth > 8:
        return frozenset()
    symbol = project.resolve(path, dotted)
    if symbol is None or symbol.kind != "class":
        return frozenset()
    data = project.files[symbol.path].extra.get("training")
    summary = data.classes.get(symbol.name) if data is not None else None
    if summary is None:
        return frozenset()
    ops = set(summary.ops)
    for ext in summary.external:
        ops |= _class_ops(project, symbol.path, ext, depth + 1)
    return frozenset(ops)


class GradientClippingMisplaced(TrainingRule):
    """Clipping must act on the gradients of this iteration, after backward() produced them and
    before step() applies them."""

    code = "NN302"
    name = "gradient-clipping-misplaced"
    severity = Severity.ERROR
    summary = "Gradients are clipped before backward() or after the optimizer step."
    requires = (("clip",), ("backward",))

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        findings = []
        for loop in training_facts(source).loops:
            for clip in loop.of("clip"):
                if clip.detail.startswith("helper:"):
                    continue
                together = [e for e in loop.events if e.kind in ("backward", "step") and not clip.exclusive(e)
                            and e.depth == clip.depth]
                backwards = [e for e in together if e.kind == "backward"]
                steps = [e for e in together if e.kind == "step"]
                if not backwards or not steps:
                    continue
                where = ("after scaler.unscale_(optimizer) and before scaler.step(optimizer)" if loop.scaler
                         else "after loss.backward() and before optimizer.step()")
                if all(b.order > clip.order for b in backwards) and all(s.order > clip.order for s in steps):
                    findings.append(self.report(
                        clip.span, f"gradients are clipped before backward() computes them in this iteration; clip {where}",
                        related=((backwards[0].span, "backward() runs here, after the clip"),)))
                elif all(s.order < clip.order for s in steps) and all(b.order < clip.order for b in backwards):
                    findings.append(self.report(
                        clip.span, f"gradients are clipped after the optimizer step already applied them; clip {where}",
                        related=((steps[-1].span, "the optimizer steps here, before the clip"),)))
        yield from _unique(iter(findings))


_TORCH_CLIPS = ("clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "clip_grads_with_norm_")


class ClippingUnscaledGradients(TrainingRule):
    """With a GradScaler the gradients are multiplied by the loss scale (65536 at the start);
    clipping them before scaler.unscale_(optimizer) compares the scaled norm with max_norm."""

    code = "NN303"
    name = "clipping-unscaled-gradients"
    severity = Severity.ERROR
    summary = "Gradients of a GradScaler loop are clipped before scaler.unscale_()."
    requires = (("clip",), ("scaler", "GradScaler"))

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        findings = []
        for loop in training_facts(source).loops:
            if not loop.scaler:
                continue
            for clip in loop.of("clip"):
                if clip.detail not in _TORCH_CLIPS:
                    continue
                if any(u.order < clip.order and not u.exclusive(clip) for u in loop.of("unscale")):
                    continue
                scaled = [b for b in loop.of("backward") if "scale(" in b.receiver]
                if scaled and all(b.exclusive(clip) for b in scaled):
                    continue  # the clip of the branch without AMP: its gradients are not scaled
                if not any(s.order > clip.order for s in loop.of("step")):
                    continue
                findings.append(self.report(
                    clip.span, "gradients are still multiplied by the GradScaler's loss scale here; call "
                    "scaler.unscale_(optimizer) before clipping, or max_norm compares against scaled gradients"))
        yield from _unique(iter(findings))


class MissingZeroGrad(TrainingRule):
    """PyTorch accumulates gradients: without zero_grad() each step applies the sum of every
    gradient computed so far."""

    code = "NN304"
    name = "missing-zero-grad"
    severity = Severity.ERROR
    summary = "A training loop never zeroes the gradients."
    requires = (("backward",), ("step",))

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        findings = []
        facts = training_facts(source)
        for loop in facts.loops if not facts.other_framework else ():
            if loop.kind == "function" or loop.of("zero_grad") or loop.framework == "tf":
                continue  # TF2 GradientTape loops compute fresh gradients every step: nothing accumulates
            if all(b.detail == "distributed" for b in loop.of("backward")):
                continue  # distributed autograd: gradients live in the iteration's context, nothing to zero
            backward = loop.of("backward")[0]
            findings.append(self.report(
                backward.span, "gradients accumulate across iterations: this loop calls backward() and "
                "step() but never zero_grad(); call optimizer.zero_grad() once per step"))
        yield from _unique(iter(findings))


class ZeroGradBetweenBackwardAndStep(TrainingRule):
    """zero_grad() after backward() erases the gradients the next step() was meant to apply."""

    code = "NN305"
    name = "zero-grad-between-backward-and-step"
    severity = Severity.ERROR
    summary = "zero_grad() runs between backward() and the optimizer step."
    requires = (("zero_grad",), ("backward",))

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        findings = []
        for loop in training_facts(source).loops:
            events = loop.events
            for zero in loop.of("zero_grad"):
                before = [e for e in events if e.order < zero.order and not e.exclusive(zero)
                          and e.kind in ("backward", "step")]
                if not before or before[-1].kind != "backward" or before[-1].depth != zero.depth:
                    continue
                after = [e for e in events if e.order > zero.order and not e.exclusive(zero)
                         and e.kind in ("backward", "step")]
                if not after or after[0].kind != "step":
                    continue
                step = after[0]
                if not _same_target(zero, step, loop):
                    continue
                findings.append(self.report(
                    zero.span, f"'{zero.receiver}.zero_grad()' erases the gradients that backward() just "
                    f"computed, before '{step.receiver}.step()' applies them; zero the gradients before "
                    "backward() (or after step())",
                    related=((before[-1].span, "backward() computes the gradients here"),
                             (step.span, "the optimizer steps here, after the gradients were erased"))))
        yield from _unique(iter(findings))


def _same_target(zero: Event, step: Event, loop: Loop) -> bool:
    """The zero_grad clears what the step applies: the same optimizer, or a model/parameter
    grad when the loop steps a single optimizer (with two, netG.zero_grad() may not touch optD)."""
    if zero.receiver == step.receiver:
        return True
    return "opt" not in zero.receiver.lower() and len(loop.optimizers) == 1


class SchedulerBeforeOptimizerStep(TrainingRule):
    """Since PyTorch 1.1 the scheduler must step after the optimizer; the other order skips the
    first value of the schedule (PyTorch warns at run time, once, easy to miss)."""

    code = "NN306"
    name = "scheduler-before-optimizer-step"
    summary = "An LR scheduler steps before the optimizer in the same iteration."
    requires = (("step",), ("sched", "lr_scheduler", "Schedule"))

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        for event in training_facts(source).early_schedulers:
            yield self.report(
                event.span, f"'{event.receiver}.step()' runs before the optimizer's step() of the same "
                "iteration, so the first learning rate of the schedule is skipped; step the scheduler "
                "after optimizer.step()")


class MissingEvalMode(TrainingRule):
    """no_grad() only stops gradient tracking; dropout keeps dropping and batch norm keeps using
    (and updating) batch statistics until model.eval() is called. A project rule: the model
    class may be defined in another linted file."""

    code = "NN307"
    name = "missing-eval-mode"
    summary = "An evaluation loop runs a model with dropout/batch norm without model.eval()."
    kind = "project"
    requires = (("no_grad", "inference_mode", "set_grad_enabled"), ("for ",))

    def check(self, project: Project, options: dict[str, Any]) -> Iterator[Finding]:
        for path, facts in _training_files(project):
            for ev in facts.eval_loops:
                alternatives = [_ops(project, path, m) for m in ev.models]
                if not all(ops & _MODE_DEPENDENT.keys() for ops in alternatives):
                    continue
                yield self.report(
                    At(path, ev.span), f"this evaluation loop runs '{ev.model}' ({_has(alternatives)}) without "
                    f"calling {ev.model}.eval() first; disabling gradients (no_grad, inference_mode) does not switch "
                    "layers to evaluation behaviour")


_MODE_DEPENDENT = {"dropout": "dropout", "batchnorm": "batch norm", "droppath": "stochastic depth"}


def _has(alternatives: list[frozenset[str]]) -> str:
    """What the evaluated model contains that training mode changes; for a model nnlint only
    knows by its constructor (timm.create_model) that is what such models usually have."""
    kinds = sorted({k for ops in alternatives for k in ops if k in _MODE_DEPENDENT})
    what = " and ".join(_MODE_DEPENDENT[k] for k in kinds)
    if any("assumed" in ops for ops in alternatives):
        return f"a timm model; most have {what.replace(' and ', ' or ')}"
    return f"it has {what}"


class LearningRateOutOfRange(TrainingRule):
    """A learning rate far outside the usual range for the optimizer family is almost always a
    typo or a value ported from another optimizer (SGD's 0.1 given to Adam)."""

    code = "NN308"
    name = "learning-rate-out-of-range"
    summary = "A literal learning rate far outside the usual range of its optimizer family."
    requires = (("Adam", "SGD"),)
    options = (
        Option("adam-max", float, 3e-2, "largest usual lr for Adam, AdamW, NAdam, RAdam, Adamax"),
        Option("adam-min", float, 1e-7, "smallest usual lr for the Adam family"),
        Option("sgd-max", float, 10.0, "largest usual lr for SGD"),
        Option("sgd-min", float, 1e-6, "smallest usual lr for SGD"),
    )

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        for opt in training_facts(source).optimizers:
            if opt.lr is None or opt.family not in ("adam", "sgd") or opt.framework == "config":
                continue
            value, span = opt.lr
            low, high = float(options[f"{opt.family}-min"]), float(options[f"{opt.family}-max"])
            if low <= value <= high:
                continue
            side = "above" if value > high else "below"
            yield self.report(span, f"lr={value:g} is {side} the usual range for {opt.cls} ({low:g} to {high:g}); "
                                    "check for a typo or a value meant for another optimizer")


class BatchNormWithBatchSizeOne(TrainingRule):
    """In training mode batch norm normalizes with the statistics of the current batch; with
    one sample per batch there is nothing to normalize over. A project rule: the model class
    may be defined in another linted file."""

    code = "NN309"
    name = "batchnorm-with-batch-size-one"
    summary = "A model with batch norm is trained on batches of one sample."
    kind = "project"
    requires = (("DataLoader",), ("batch_size",))

    def check(self, project: Project, options: dict[str, Any]) -> Iterator[Finding]:
        findings = []
        for path, facts in _training_files(project):
            for loop in facts.loops:
                if loop.loader_batch_size is None or not loop.models or \
                        not all("batchnorm" in _ops(project, path, m) for m in loop.models):
                    continue
                assumed = any("assumed" in _ops(project, path, m) for m in loop.models)
                findings.append(self.report(
                    At(path, loop.loader_batch_size[1]),
                    f"this DataLoader gives batches of one sample to {_model_label(loop.models)}, "
                    f"{'a timm model (most have batch norm)' if assumed else 'which has batch norm'}: in training "
                    "mode batch norm then takes its statistics from a single sample (noisy, unlike the running "
                    "statistics used at evaluation; on (batch, features) inputs it raises); use a larger "
                    "batch_size (or GroupNorm/LayerNorm)"))
        yield from _unique(iter(findings))


def _training_files(project: Project) -> Iterator[tuple[str, Any]]:
    for path, file in project:
        data = file.extra.get("training")
        if data is not None and data.facts is not None:
            yield path, data.facts


def _ops(project: Project, path: str, model: Model) -> frozenset[str]:
    """The layer kinds of a model, with the imported project classes it is built from."""
    ops = set(model.ops)
    for ext in model.external:
        ops |= _class_ops(project, path, ext, 0)
    return frozenset(ops)


class NoLearningRateSchedule(TrainingRule):
    """A constant learning rate over many epochs usually leaves accuracy on the table; decaying
    it (step, cosine, plateau) is part of nearly every published training recipe."""

    code = "NN310"
    name = "no-learning-rate-schedule"
    severity = Severity.INFO
    summary = "A multi-epoch training loop never changes the learning rate."
    requires = (("backward", ".fit("), ("step(", "epochs"))

    def check(self, source: SourceFile, options: dict[str, Any]) -> Iterator[Finding]:
        facts = training_facts(source)
        if facts.scheduled:
            return
        findings = []
        for fw in facts.frameworks:
            if fw.kind == "keras" and fw.optimizer_site and (fw.epochs or 0) > 1 and not fw.scheduled:
                findings.append(self.report(
                    fw.optimizer_site, f"this optimizer trains for {fw.epochs} epochs with a constant learning "
                    "rate; pass a keras.optimizers.schedules object as learning_rate or a "
                    "LearningRateScheduler/ReduceLROnPlateau callback"))
        for loop in facts.loops:
            if loop.nested and loop.optimizer_sites:
                findings.append(self.report(
                    loop.optimizer_sites[0], "this optimizer trains over several epochs with a constant "
                    "learning rate; add a schedule (torch.optim.lr_scheduler) or note why none is needed"))
        yield from _unique(iter(findings))
