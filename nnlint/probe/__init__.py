"""`--probe`: one real forward and backward pass of each model named with --trace, on a small
seeded random CPU batch, judged by the NN6 rules (nnlint.checks.probe).

This side never imports torch: it plans each probe from the linted files' facts (which loss
the training code applies to the model's class, its penalty and optimizer), runs the models
in a child process (nnlint.probe.worker) with a timeout, and turns what was measured into
diagnostics. A model that cannot be probed (import error, a factory that raises, an input
that does not fit, a timeout, a crash, out of memory) gives NN003 and the next model still runs.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from nnlint.diagnostics import Diagnostic, Span
from nnlint.registry import all_rules

LOSSES = ("cross_entropy", "nll", "bce_with_logits", "bce", "mse")
STARTUP_SECONDS = 60.0  # importing torch in the child, on a busy machine
LOSS_FREE = "NN601, NN605, NN606 and NN607"


@dataclass(frozen=True)
class ProbeOptions:
    """The command line's --probe-* values."""

    loss: str | None = None  # one of LOSSES, or pkg.module:callable (called as fn(output, inputs))
    batch: int = 8
    steps: int = 0
    timeout: float = 60.0


@dataclass
class ProbeOutcome:
    diagnostics: list[Diagnostic]
    internal_error: bool = False
    notes: list[str] = field(default_factory=list)  # for stderr: what the probe could not do


def parse_loss(value: str) -> str:
    from nnlint.trace import TraceSpecError, parse_target

    if value in LOSSES:
        return value
    try:
        return parse_target(value).spec
    except TraceSpecError:
        raise TraceSpecError(f"expected one of {', '.join(LOSSES)} or pkg.module:callable, got '{value}'") from None


# --- what the training code says about each model class ------------------------------------------

def _norm(text: str) -> str | None:
    """Which norm a penalty term computes, when its text shows it."""
    compact = text.replace(" ", "")
    if "abs(" in compact:
        return "l1"
    if any(s in compact for s in ("pow(2)", "**2", "square(")):
        return "l2sq"
    if "norm(" in compact:
        return "l2"
    return None


def plans(files: dict[str, Any], roots: list[str] = ()) -> dict[str, dict]:
    """"abspath::Class" -> what the probe of that class needs from the facts: the loss the
    training code applies to its instances (when every use agrees), that file's penalties
    and its optimizer (one torch optimizer in the file)."""
    from nnlint.checks.regularization import _COUPLED
    from nnlint.project import Project

    project = Project(files, roots)
    uses: dict[str, list] = {}
    for path, facts in project:
        for use in facts.loss_uses:
            value = use.input
            if value and value[0] == "field":
                value = value[1]
            if not value or value[0] != "call":
                continue
            for key in _class_keys(project, path, value[1]):
                uses.setdefault(key, []).append((path, use))
    found = {}
    for key, entries in sorted(uses.items()):
        kinds = {use.loss for _, use in entries}
        if len(kinds) != 1 or next(iter(kinds)) not in LOSSES:
            continue
        path, use = min(entries, key=lambda e: (e[0], e[1].span))
        plan: dict = {"loss": {"kind": use.loss, "site": _site(path, use.span)}, "regularization": [], "optimizer": None}
        data = project.files[path].extra.get("training")
        training = data.facts if data is not None else None
        if training is not None:
            for penalty in training.penalties:
                norm = _norm(penalty.text)
                if norm is not None:
                    plan["regularization"].append({"kind": "penalty", "coefficient": penalty.coefficient, "norm": norm,
                                                   "site": _site(path, penalty.span)})
            optimizers = [o for o in training.optimizers if o.framework == "torch"]
            if len(optimizers) == 1:
                opt = optimizers[0]
                plan["optimizer"] = {"cls": opt.cls, "lr": opt.lr[0] if opt.lr else None,
                                     "weight_decay": opt.weight_decay[0] if opt.weight_decay else None}
                if opt.weight_decay and opt.cls in _COUPLED and not opt.decoupled and opt.weight_decay[0] > 0:
                    plan["regularization"].append({"kind": "weight_decay", "coefficient": opt.weight_decay[0],
                                                   "optimizer": opt.cls, "site": _site(path, opt.weight_decay[1])})
        found[key] = plan
    return found


def _class_keys(project: Any, path: str, value: Any) -> list[str]:
    """How the worker may name the class of a model the training code builds: "abspath::Class"
    when the class is among the linted files, "module.Class" as imported (the model's file need
    not be linted: `from models import Net` is enough)."""
    instance = project.instance_of(path, value)
    if instance is not None and instance[0] == "class":
        symbol = instance[1]
        module = project.module_name(symbol.path)
        return [f"{os.path.abspath(symbol.path)}::{symbol.name}"] + ([f"{module}.{symbol.name}"] if module else [])
    if instance is not None or not value or value[0] != "new":
        return []
    head, _, rest = value[1].partition(".")
    target = project.files[path].imports.get(head)
    absolute = project.absolute_import(path, target) if target else None
    return [absolute + (f".{rest}" if rest else "")] if absolute else []


def _site(path: str, span: Span) -> list:
    return [path, span.line, span.column, span.end_line, span.end_column]


# --- running the child process -------------------------------------------------------------------

class _Child:
    """One worker process and a reader thread: results arrive one line per model."""

    def __init__(self, requests: list[dict]) -> None:
        from nnlint.probe.worker import MARK

        self.mark = MARK
        self.proc = subprocess.Popen([sys.executable, "-m", "nnlint.probe.worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, encoding="utf-8", cwd=os.getcwd())
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"targets": requests, "sys_path": [p for p in sys.path if p]}))
            self.proc.stdin.close()
        except OSError:
            pass

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(self.mark):
                self.lines.put(json.loads(line[len(self.mark):]))
        self.lines.put(None)

    def next(self, timeout: float) -> dict | None | str:
        """The next result; None when the process ended; "timeout"."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return "timeout"

    def stop(self) -> str:
        """Kill the process (if running); why it ended, in words."""
        if self.proc.poll() is None:
            self.proc.kill()
        code = self.proc.wait()
        if code < 0:
            import signal

            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            return f"the probe process was killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
        return f"the probe process exited with code {code}"


def run_probes(requests: list[dict]) -> list[dict]:
    """One result per request, in order: {"measured": ...} or {"failed": reason, "where": site}.
    A model that hangs or kills the process fails alone: the rest run in a fresh process."""
    results: list[dict] = []
    while len(results) < len(requests):
        pending = requests[len(results):]
        child = _Child(pending)
        ready = child.next(STARTUP_SECONDS)
        if not isinstance(ready, dict):
            why = "timed out while starting" if ready == "timeout" else child.stop()
            child.stop()
            results += [{"spec": r["spec"], "failed": f"the probe could not start: {why}"} for r in pending]
            break
        for request in pending:
            timeout = request["timeout"]
            result = child.next(timeout)
            if isinstance(result, dict):
                results.append(result)
                continue
            if result == "timeout":
                child.stop()
                results.append({"spec": request["spec"], "failed": f"'{request['spec']}' did not finish within "
                                                                   f"--probe-timeout {timeout:g} s"})
            else:
                results.append({"spec": request["spec"], "failed": f"{child.stop()} while probing '{request['spec']}'"})
            break
        else:
            child.stop()
    return results


# --- the whole --probe step ----------------------------------------------------------------------

def probe_targets(jobs: list[tuple[Any, ProbeOptions]], enabled: frozenset[str], rule_options: dict[str, dict],
                  facts: dict[str, Any] | None = None, roots: list[str] = ()) -> ProbeOutcome:
    """Probe every (nnlint.trace.TraceTarget, ProbeOptions) in one child process and run the
    enabled NN6 rules on what was measured. The caller applies the files' noqa comments."""
    from nnlint.checks.probe import site
    from nnlint.project import At
    from nnlint.trace import _diagnostic, _module_path, _one_line

    rules = [rule for code, rule in all_rules().items() if code in enabled and rule.kind == "probe"]
    if not rules:
        return ProbeOutcome([], notes=["probe: no NN6 rule is selected; nothing was probed"])
    known = plans(facts, roots) if facts else {}
    requests = [{"spec": target.spec, "input_shape": list(target.input_shape) if target.input_shape else None,
                 "batch": options.batch, "steps": options.steps, "timeout": options.timeout,
                 "plans": known, "default_loss": options.loss} for target, options in jobs]
    targets = [target for target, _ in jobs]
    outcome = ProbeOutcome([])
    no_loss = []
    for target, result in zip(targets, run_probes(requests)):
        fallback = At(_module_path(target), Span.point())
        if "failed" in result:
            where = site(result.get("where")) or fallback
            outcome.diagnostics.append(Diagnostic(where.path, where.span, "NN003", f"cannot probe: {result['failed']}"))
            continue
        measured = result["measured"]
        if measured.get("loss") is None:
            no_loss.append(target.spec)
        for rule in rules:
            try:
                findings = list(rule().check(measured, rule_options.get(rule.code) or rule.default_options()))
            except Exception as exc:  # noqa: BLE001 - a rule bug must not lose the other rules
                outcome.diagnostics.append(Diagnostic(fallback.path, fallback.span, "NN000",
                                                      f"internal error in {rule.code} ({rule.name}): {_one_line(exc)}"))
                outcome.internal_error = True
                continue
            outcome.diagnostics += [_diagnostic(f, fallback) for f in findings if f.site is not None]
    if no_loss:
        outcome.notes.append(f"probe: no loss known for {', '.join(no_loss)}: {LOSS_FREE} skipped (lint the training "
                             "code in the same run, or name the loss with --probe-loss)")
    return outcome
