"""The probe's child process: `python -m nnlint.probe.worker`, a JSON request on stdin.

It builds each model the request names, runs one seeded forward and backward pass on a small
random CPU batch (and, when asked, a few optimizer steps on that batch), and writes what it
measured, one line per model, to stdout. It measures and never judges: thresholds and
messages live in the NN6 rules (nnlint.checks.probe), which run in the parent process.

Everything here runs the user's code, so it lives in its own process: a hang, a crash or an
out-of-memory kills this process, not nnlint (nnlint.probe restarts it for the next model).
Sites are [path, line, column, end_line, end_column] in the user's files.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import sys
import time
from typing import Any, Callable

MARK = "\x1enn-probe "  # prefix of the lines the parent reads (user code may print to stdout too)

RELU_FAMILY = ("ReLU", "ReLU6")
SATURATING = {"Sigmoid": (0.0, 1.0), "Tanh": (-1.0, 1.0)}
WEIGHT_LAYERS = ("Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
                 "ConvTranspose3d", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")
DEFAULT_SEQUENCE = 16  # tokens (or time steps) per sample when no --input-shape is given


class ProbeFailed(Exception):
    """The model cannot be probed: `reason`, and the user's line that raised (or None)."""

    def __init__(self, reason: str, where: list | None = None) -> None:
        super().__init__(reason)
        self.reason, self.where = reason, where


def _site(at: Any) -> list | None:
    return None if at is None else [at.path, at.span.line, at.span.column, at.span.end_line, at.span.end_column]


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _number(value: float) -> float:
    """Rounded to 4 significant digits: messages stay identical across runs and thread counts."""
    return float(f"{value:.4g}") if math.isfinite(value) else value


class _Model:
    """The built model with every submodule's name, class and the user's line that built it."""

    def __init__(self, model: Any, sites: Any) -> None:
        self.model = model
        self.names = {id(m): name for name, m in model.named_modules()}
        self.root_site = _class_site(type(model))
        self._sites = sites

    def site(self, module: Any) -> list | None:
        if module is self.model:
            return self.root_site
        at = self._sites.built.get(id(module)) or self._sites.registered.get(id(module))
        return _site(at) if at is not None else self.root_site

    def describe(self, module: Any) -> dict:
        name = self.names.get(id(module), "?")
        return {"name": name or type(self.model).__name__, "type": type(module).__name__, "site": self.site(module)}


def _class_site(cls: type) -> list | None:
    try:
        path = inspect.getsourcefile(cls)
        lines, start = inspect.getsourcelines(cls)
    except (TypeError, OSError):
        return None
    if not path:
        return None
    text = next((line for line in lines if line.lstrip().startswith("class ")), lines[0])
    line = start + lines.index(text)
    column = len(text) - len(text.lstrip())
    return [os.path.abspath(path), line, column + 1, line, len(text.rstrip()) + 1]


# --- the batch ---------------------------------------------------------------------------------

def _first_layer(model: Any) -> Any:
    return next((m for m in model.modules() if not list(m.children())), None)


def _inputs(model: Any, shape: list | None, batch: int) -> Any:
    """A seeded batch: token ids below num_embeddings for an Embedding-first model, else normal."""
    import torch
    from torch import nn

    first = _first_layer(model)
    if shape is not None:
        size = [batch, *shape[1:]]
    elif isinstance(first, (nn.Embedding, nn.EmbeddingBag)):
        size = [batch, DEFAULT_SEQUENCE]
    elif isinstance(first, nn.Linear):
        size = [batch, first.in_features]
    elif isinstance(first, nn.RNNBase):
        size = [batch, DEFAULT_SEQUENCE, first.input_size] if first.batch_first else [DEFAULT_SEQUENCE, batch, first.input_size]
    else:
        kind = type(first).__name__ if first is not None else "no layer"
        raise ProbeFailed(f"cannot tell the input size (the first layer is {kind}); give --input-shape")
    if isinstance(first, (nn.Embedding, nn.EmbeddingBag)):
        return torch.randint(0, first.num_embeddings, tuple(size))
    return torch.randn(tuple(size))


def _prediction(output: Any) -> Any:
    """The tensor a loss reads: the output itself, `.logits`/['logits'], or a tuple's first entry."""
    import torch

    if isinstance(output, torch.Tensor):
        return output
    logits = output.get("logits") if isinstance(output, dict) else getattr(output, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    return None


def _tensors(value: Any) -> list:
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


# --- the loss ----------------------------------------------------------------------------------

class _Loss:
    """The loss the training code applies (or --probe-loss), with targets drawn once to match
    the prediction: class ids from its class dimension, 0/1 for BCE, normal for MSE."""

    CLASSIFICATION = ("cross_entropy", "nll")

    def __init__(self, kind: str, custom: Callable | None = None) -> None:
        self.kind, self.custom = kind, custom
        self.target: Any = None
        self.classes: int | None = None

    def _flat(self, prediction: Any) -> Any:
        if prediction.dim() >= 4:  # images: (N, C, H, W): classes on dimension 1
            prediction = prediction.movedim(1, -1)
        return prediction.reshape(-1, prediction.shape[-1]) if prediction.dim() >= 2 else prediction

    def __call__(self, output: Any, inputs: Any) -> Any:
        import torch
        import torch.nn.functional as F

        if self.custom is not None:
            return self.custom(output, inputs)
        prediction = _prediction(output)
        if prediction is None or not prediction.is_floating_point():
            raise ProbeFailed(f"the model's output ({type(output).__name__}) is not a floating-point tensor the loss can read")
        if self.kind in self.CLASSIFICATION:
            flat = self._flat(prediction)
            if flat.dim() != 2:
                raise ProbeFailed(f"{self.kind} needs an output with a class dimension, got shape {tuple(prediction.shape)}")
            if self.target is None:
                self.classes = flat.shape[-1]
                self.target = torch.randint(0, self.classes, (flat.shape[0],))
            fn = F.cross_entropy if self.kind == "cross_entropy" else F.nll_loss
            return fn(flat, self.target)
        if self.target is None:
            if self.kind in ("bce", "bce_with_logits"):
                self.classes = 2
                self.target = torch.randint(0, 2, prediction.shape).to(prediction.dtype)
            else:
                self.target = torch.randn_like(prediction)
        if self.kind == "bce":
            return F.binary_cross_entropy(prediction, self.target)
        if self.kind == "bce_with_logits":
            return F.binary_cross_entropy_with_logits(prediction, self.target)
        return F.mse_loss(prediction, self.target)


def _custom_loss(spec: str) -> Callable:
    from nnlint.trace import parse_target, _load_factory

    try:
        return _load_factory(parse_target(spec))
    except Exception as exc:  # noqa: BLE001 - the user's module may raise anything
        raise ProbeFailed(f"cannot import the loss '{spec}': {_one_line(exc)}") from None


def _plan(model: Any, request: dict) -> dict:
    """What the facts know about the model's class (its loss, penalties, optimizer), else the
    --probe-loss of the command line."""
    cls = type(model)
    try:
        keys = [f"{os.path.abspath(inspect.getsourcefile(cls) or '')}::{cls.__name__}"]
    except TypeError:
        keys = []
    keys.append(f"{cls.__module__}.{cls.__qualname__}")
    plans = request.get("plans", {})
    known = next((plans[k] for k in keys if k in plans), None)
    if known is not None:
        return {"loss": _Loss(known["loss"]["kind"]), "loss_site": known["loss"]["site"],
                "regularization": known["regularization"], "optimizer": known["optimizer"]}
    default = request.get("default_loss")
    if not default:
        return {}
    if ":" in default:
        return {"loss": _Loss("custom", _custom_loss(default))}
    return {"loss": _Loss(default)}


# --- watching the forward pass -----------------------------------------------------------------

def _saturation(name: str, y: Any) -> tuple[str, int]:
    """("dead", zero outputs) for the ReLU family, ("saturated", outputs within 1% of a bound)."""
    if name in RELU_FAMILY:
        return "dead", int((y == 0).sum())
    low, high = SATURATING[name]
    margin = 0.01 * (high - low) / 2 if name == "Tanh" else 0.01
    return "saturated", int(((y < low + margin) | (y > high - margin)).sum())


def _functions() -> dict:
    """Activation functions called directly in forward() (torch.relu(x), F.sigmoid, x.tanh())."""
    import torch
    import torch.nn.functional as F

    table = {}
    for name, kind in (("relu", "ReLU"), ("relu6", "ReLU6"), ("sigmoid", "Sigmoid"), ("tanh", "Tanh")):
        for owner in (torch, F, torch.Tensor):
            fn = getattr(owner, name, None)
            if fn is not None:
                table[fn] = (name, kind)
    return table


class _Watch:
    """Forward hooks on every module: the first module whose output is non-finite, the share of
    dead/saturated units of each activation (module, or function called in the user's forward),
    and which module made each output tensor."""

    def __init__(self, built: _Model) -> None:
        from torch.overrides import TorchFunctionMode

        self.built = built
        self.first_non_finite: Any = None
        self.activity: dict[Any, list] = {}  # id(module) or call site -> [description, kind, hits, total]
        self.makers: dict[int, Any] = {}  # id(tensor) -> the innermost module that returned it
        self.keep: list = []  # output tensors, so their ids stay unique while watched
        self.handles = [m.register_forward_hook(self._hook) for m in built.model.modules()]
        functions, watch = _functions(), self

        class Calls(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
                out = func(*args, **(kwargs or {}))
                if func in functions:
                    watch._called(functions[func], out)
                return out

        self.calls = Calls()

    def __enter__(self) -> _Watch:
        self.calls.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.calls.__exit__(*exc)
        for handle in self.handles:
            handle.remove()
        self.keep.clear()

    def _count(self, key: Any, describe: Callable[[], dict], name: str, y: Any) -> None:
        kind, hits = _saturation(name, y.detach())
        entry = self.activity.get(key)
        if entry is None:
            entry = self.activity[key] = [describe(), kind, 0, 0]
        entry[2] += hits
        entry[3] += y.numel()

    def _called(self, function: tuple[str, str], out: Any) -> None:
        """An activation function called from the user's code (a module's own call is counted
        by its hook: a torch forward() stands between)."""
        from nnlint.graph import fx

        frame, via_module = fx._user_frame(sys._getframe(2))
        if frame is None or via_module or not hasattr(out, "is_floating_point") or not out.is_floating_point():
            return
        at = fx._frame_at(frame)
        label = fx._source_text(at) or f"{function[0]}()"
        self._count(("call", at.path, at.span), lambda: {"name": label, "type": function[0], "site": _site(at)},
                    function[1], out)

    def _hook(self, module: Any, args: Any, output: Any) -> None:
        import torch

        tensors = [t for t in _tensors(output) if t.is_floating_point()]
        for t in tensors:
            if id(t) not in self.makers:
                self.makers[id(t)] = module
                self.keep.append(t)
        if self.first_non_finite is None and any(not torch.isfinite(t).all() for t in tensors):
            self.first_non_finite = module
        name = type(module).__name__
        if tensors and (name in RELU_FAMILY or name in SATURATING):
            self._count(id(module), lambda: self.built.describe(module), name, tensors[0])


# --- one model ---------------------------------------------------------------------------------

def probe(request: dict) -> dict:
    """Everything measured for one model (plain data for the NN6 rules)."""
    import torch

    from nnlint.graph import fx
    from nnlint.trace import _load_factory, parse_target

    target = parse_target(request["spec"])
    started = time.monotonic()
    try:
        factory = _load_factory(target)
    except Exception as exc:  # noqa: BLE001
        raise ProbeFailed(f"cannot import '{target.spec}': {_one_line(exc)}") from None  # at the module, like --trace
    torch.manual_seed(0)
    try:
        model, sites = fx.build_model(factory)
    except Exception as exc:  # noqa: BLE001
        raise ProbeFailed(f"'{target.spec}' raised while building the model: {_one_line(exc)}",
                          _site(fx._where_raised(exc))) from None
    if not isinstance(model, torch.nn.Module):
        raise ProbeFailed(f"'{target.spec}' returned {type(model).__name__}, not a torch.nn.Module")
    model = model.float().train()
    built = _Model(model, sites)
    plan = _plan(model, request)
    result: dict = {"model": built.describe(model), "batch": request["batch"], "loss": None,
                    "loss_site": plan.get("loss_site")}
    loss = plan.get("loss")

    torch.manual_seed(0)
    inputs = _inputs(model, request.get("input_shape"), request["batch"])
    result["input"] = list(inputs.shape)
    watch = _Watch(built)
    try:
        with watch:
            output = model(inputs)
    except Exception as exc:  # noqa: BLE001 - a shape the model rejects, or a bug in forward
        raise ProbeFailed(f"'{target.spec}' failed on the probe batch of shape {'x'.join(map(str, inputs.shape))}: "
                          f"{_one_line(exc)}", _site(fx._where_raised(exc))) from None
    prediction = _prediction(output)
    result["output"] = _output_facts(built, watch, prediction)
    result["activations"] = [{**where, "kind": kind, "fraction": _number(hits / total)}
                             for where, kind, hits, total in watch.activity.values() if total]
    non_finite = None
    if watch.first_non_finite is not None:
        non_finite = {"where": "output", **built.describe(watch.first_non_finite)}

    if loss is not None:
        try:
            value = loss(output, inputs)
        except ProbeFailed:
            raise
        except Exception as exc:  # noqa: BLE001
            raise ProbeFailed(f"the loss failed on the output of '{target.spec}': {_one_line(exc)}",
                              _site(fx._where_raised(exc))) from None
        result["loss"] = {"kind": loss.kind, "value": _number(float(value.detach())), "classes": loss.classes}
        objective = value
    else:  # no loss: a random projection of the output still tells which parameters are connected
        torch.manual_seed(1)
        objective = _projection(output)
    if non_finite is None and loss is not None and not math.isfinite(float(objective.detach())):
        non_finite = {"where": "loss", **result["model"]}
    if isinstance(objective, torch.Tensor) and objective.requires_grad:
        objective.backward()
    blocked = _blocked_by_zero_weights(model, lambda: _objective(loss, model, inputs))
    result["gradients"] = _gradients(built, non_finite is None, blocked)
    if non_finite is None and result["gradients"]["non_finite"] is not None:
        non_finite = result["gradients"]["non_finite"]
    result["non_finite"] = non_finite
    if loss is not None:
        result["regularization"] = _regularization(model, plan.get("regularization") or [], float(objective.detach()))
        if request.get("steps"):
            deadline = started + 0.8 * request["timeout"]
            result["overfit"] = _overfit(model, loss, inputs, float(objective.detach()), request, plan.get("optimizer"), deadline)
    return result


def _output_facts(built: _Model, watch: _Watch, prediction: Any) -> dict | None:
    if prediction is None:
        return None
    maker = watch.makers.get(id(prediction), built.model)
    return {**built.describe(maker), "shape": list(prediction.shape)}


def _projection(output: Any) -> Any:
    """Without a loss: a seeded random projection of the output (every connected parameter
    gets a gradient, whatever the output's range)."""
    import torch

    torch.manual_seed(1)
    return sum((t * torch.randn_like(t)).sum() for t in _tensors(output) if t.is_floating_point() and t.requires_grad)


def _objective(loss: Any, model: Any, inputs: Any) -> Any:
    output = model(inputs)
    return loss(output, inputs) if loss is not None else _projection(output)


def _blocked_by_zero_weights(model: Any, objective: Callable[[], Any]) -> set[int] | None:
    """Parameters whose all-zero gradient only comes from a weight initialized to exactly zero
    downstream (a zero-initialized classifier head, a residual branch's last norm at gamma=0):
    with those weights nudged off zero, they get a gradient, so they train after the first
    step. Returns the ids of the parameters whose gradient stays zero (None: nothing to nudge)."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    zero_grad = [p for p in params if p.grad is not None and not bool(p.grad.any())]
    zero_valued = [p for p in params if not bool(p.detach().any())]
    if not zero_grad or not zero_valued:
        return None
    saved = [p.detach().clone() for p in params]
    grads = [p.grad for p in params]
    try:
        torch.manual_seed(3)
        with torch.no_grad():
            for p in zero_valued:
                p.add_(torch.randn_like(p) * 1e-2)
        for p in params:
            p.grad = None
        value = objective()
        if isinstance(value, torch.Tensor) and value.requires_grad:
            value.backward()
        return {id(p) for p in zero_grad if p.grad is None or not bool(p.grad.any())}
    finally:
        with torch.no_grad():
            for p, old, grad in zip(params, saved, grads):
                p.copy_(old)
                p.grad = grad


def _gradients(built: _Model, want_non_finite: bool, still_zero: set[int] | None = None) -> dict:
    """Per module: parameters without gradient; per weight layer: the gradient norm."""
    import torch

    missing, norms, non_finite = [], [], None
    for module in built.model.modules():
        params = [(n, p) for n, p in module.named_parameters(recurse=False) if p.requires_grad]
        if not params:
            continue
        none = [n for n, p in params if p.grad is None]
        zero = [n for n, p in params if p.grad is not None and not bool(p.grad.any())
                and (still_zero is None or id(p) in still_zero)]
        if none or zero:
            missing.append({**built.describe(module), "none": none, "zero": zero})
        if want_non_finite and non_finite is None and any(p.grad is not None and not torch.isfinite(p.grad).all() for _, p in params):
            non_finite = {"where": "gradient", **built.describe(module)}
        if type(module).__name__ in WEIGHT_LAYERS:
            grads = [p.grad for n, p in params if n.startswith("weight") and p.grad is not None]
            if grads:
                norm = math.sqrt(sum(float(g.double().pow(2).sum()) for g in grads))
                if math.isfinite(norm) and norm > 0:
                    norms.append({**built.describe(module), "norm": _number(norm)})
    return {"missing": missing, "norms": norms, "non_finite": non_finite}


def _regularization(model: Any, terms: list, data_loss: float) -> list:
    """Each statically known penalty, computed on the real parameters, next to the data loss."""
    params = [p.detach().double() for p in model.parameters() if p.requires_grad]
    squares = sum(float(p.pow(2).sum()) for p in params)
    found = []
    for term in terms:
        if term["kind"] == "weight_decay":
            value = 0.5 * term["coefficient"] * squares
        elif term.get("norm") == "l1":
            value = term["coefficient"] * sum(float(p.abs().sum()) for p in params)
        elif term.get("norm") == "l2":
            value = term["coefficient"] * sum(float(p.norm()) for p in params)
        else:
            value = term["coefficient"] * squares
        found.append({**term, "value": _number(value), "data_loss": _number(data_loss)})
    return found


def _overfit(model: Any, loss: _Loss, inputs: Any, start: float, request: dict, plan: dict | None, deadline: float) -> dict:
    """Train on the one probe batch: a model that cannot drive its loss down here cannot learn."""
    import torch

    plan = plan or {}
    optimizer, label = None, "Adam(lr=0.001)"
    cls = getattr(torch.optim, plan.get("cls") or "", None)
    if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer):
        kwargs = {k: plan[k] for k in ("lr", "weight_decay") if plan.get(k) is not None}
        try:
            optimizer = cls(model.parameters(), **kwargs)
            label = f"{cls.__name__}({', '.join(f'{k}={v:g}' for k, v in kwargs.items())})"
        except Exception:  # noqa: BLE001 - arguments this optimizer does not take: use the default
            optimizer = None
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    torch.manual_seed(2)
    done = 0
    for _ in range(request["steps"]):
        if time.monotonic() > deadline:
            break
        optimizer.zero_grad()
        value = loss(model(inputs), inputs)
        value.backward()
        optimizer.step()
        done += 1
    with torch.no_grad():
        end = float(loss(model(inputs), inputs).detach())
    return {"steps": request["steps"], "done": done, "start": _number(start), "end": _number(end),
            "optimizer": label, "from_facts": optimizer is not None and bool(plan.get("cls"))}


# --- the process -------------------------------------------------------------------------------

def main() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # the user's prints must not mix with the results
    request = json.loads(sys.stdin.read())
    for entry in reversed(request.get("sys_path", [])):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    import torch

    # one thread: probe batches are small, and on a shared machine intra-op threads contend
    # (a small ResNet took 12 s with two threads under load, 0.3 s with one); same numbers every run
    torch.set_num_threads(1)

    def send(data: dict) -> None:
        out.write(MARK + json.dumps(data) + "\n")
        out.flush()

    send({"ready": True})
    for target in request["targets"]:
        try:
            send({"spec": target["spec"], "measured": probe(target)})
        except ProbeFailed as exc:
            send({"spec": target["spec"], "failed": exc.reason, "where": exc.where})
        except MemoryError:
            send({"spec": target["spec"], "failed": "out of memory on the probe batch (try a smaller --probe-batch or --input-shape)"})
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's code may raise anything
            from nnlint.graph import fx

            send({"spec": target["spec"], "failed": f"'{target['spec']}' raised during the probe: {_one_line(exc)}",
                  "where": _site(fx._where_raised(exc))})


if __name__ == "__main__":
    main()
