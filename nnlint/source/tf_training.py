"""Keras and TensorFlow 2 training facts: what NN301 asks about a Keras model trained with
fit()/fit_generator()/train_on_batch(), and about a GradientTape loop (`tape.gradient(...)`
then `optimizer.apply_gradients(...)`, also a keras.Model's custom train_step).

- The layer kinds of a Keras model: a Sequential (its list and the `.add` calls on the variable
  it is bound to), a functional Model traced back from its outputs through the layers applied
  (and the sub-models called), a subclassed model (layers built in __init__), a same-file
  function that returns one. What is found is a lower bound: a part that cannot be followed
  adds nothing, so "it has a recurrent layer" is never a guess.
- Whether gradients are clipped: the optimizer's clipnorm/clipvalue/global_clipnorm (for a
  subclassed model's `self.optimizer`, the optimizers compile() gives its instances), or a
  tf.clip_by_* on the gradients (the statement names what tape.gradient returned).
- Which model a GradientTape loop trains: the owners of the `trainable_variables` handed to
  tape.gradient/apply_gradients.
Unknown is None: the rule stays silent.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from nnlint import lazy_libcst as cst

from nnlint.source import SourceFile
from nnlint.source.index import Scope
from nnlint.source.walk import collect

if TYPE_CHECKING:
    from nnlint.source.training import Model, TrainingExtractor

TAPES = frozenset({"tensorflow.GradientTape", "tensorflow.autodiff.GradientTape"})
TF_CLIPS = frozenset({"clip_by_global_norm", "clip_by_norm", "clip_by_value", "clip_by_average_norm"})
CLIP_KEYWORDS = ("clipnorm", "clipvalue", "global_clipnorm")
VARIABLES = frozenset({"trainable_variables", "trainable_weights", "variables", "weights"})
KERAS_FITS = ("fit", "fit_generator", "train_on_batch")
_MAX_DEPTH = 8
_MAX_NODES = 400


def _last(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


def _kw(call: cst.Call, name: str) -> cst.BaseExpression | None:
    return next((a.value for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def _pos(call: cst.Call, index: int) -> cst.BaseExpression | None:
    positional = [a for a in call.args if a.keyword is None]
    if any(a.star for a in positional[: index + 1]) or index >= len(positional):
        return None
    return positional[index].value


def is_tf_optimizer(qualified: str) -> bool:
    """A Keras/TF optimizer class (tf.optimizers is tf.keras.optimizers; tf.compat.v1.train.*Optimizer)."""
    from nnlint.source.training import KERAS_OPTIMIZERS

    last = _last(qualified)
    if qualified.startswith(("keras.optimizers.", "tensorflow.optimizers.")):
        return last in KERAS_OPTIMIZERS or last in ("Nadam", "Adamax")
    if qualified.startswith(("tensorflow.train.", "tensorflow.compat.v1.train.")):
        return last.endswith("Optimizer")
    return False


class KerasTraining:
    """Keras model contents and TF clipping, read through a TrainingExtractor's index."""

    def __init__(self, ex: TrainingExtractor) -> None:
        self.ex = ex
        self._budget = 0
        self._unpacked_cache: dict[int, dict[str, list[cst.BaseExpression]]] = {}

    # -- what a Keras model contains ----------------------------------------------------------
    def ops(self, value: cst.BaseExpression, where: Scope, depth: int = 0) -> frozenset[str] | None:
        """Layer kinds of a model construction: keras Sequential/Model, a same-file class, a
        same-file function returning a model; None when `value` is none of these."""
        if not isinstance(value, cst.Call) or depth > _MAX_DEPTH:
            return None
        ex = self.ex
        qual = ex.qualify(value.func) or ""
        if depth == 0:
            self._budget = 0
        if qual.startswith("keras.") and _last(qual) == "Sequential":
            found: set[str] = set()
            for arg in value.args:
                self.trace(arg.value, where, found, depth + 1)
            for add, scope in self._adds(value, where):
                for arg in add.args:
                    self.trace(arg.value, scope, found, depth + 1)
            return frozenset(found)
        if qual.startswith("keras.") and _last(qual) in ("Model", "Functional"):
            found = set()
            outputs = _kw(value, "outputs") or _kw(value, "output") or _pos(value, 1)
            if outputs is not None:
                self.trace(outputs, where, found, depth + 1)
            return frozenset(found)
        if isinstance(value.func, cst.Name) and not qual:
            name = value.func.value
            if name in ex.index.classes:
                found = set(ex.class_contents(name, depth + 1) or ())
                for arg in value.args:
                    self.trace(arg.value, where, found, depth + 1)
                return frozenset(found)
            function = self._function(name, where)
            if function is not None:
                return self._returned(function, depth + 1)
        return None

    def self_ops(self, cls: str) -> frozenset[str]:
        """A class's own layers, and what its same-file constructions pass it (a functional
        `CustomModel(inputs, outputs)` that only overrides train_step)."""
        ex = self.ex
        found = set(ex.class_contents(cls, 0) or ())
        self._budget = 0
        for call, scope in ex.calls_by_func.get(cls, []):
            for arg in call.args:
                self.trace(arg.value, scope, found, 1)
        return frozenset(found)

    def _function(self, name: str, where: Scope) -> Scope | None:
        candidates = [s for s in self.ex.index.functions.get(name, []) if s.cls is None and s.node is not None]
        return candidates[0] if len(candidates) == 1 else None

    def _returned(self, function: Scope, depth: int) -> frozenset[str] | None:
        found: set[str] = set()
        known = False
        for ret in _returns(function):
            for value, where in self.ex.definitions(ret, function) or []:
                got = self.ops(value, where, depth + 1)
                if got is not None:
                    known = True
                    found |= got
        return frozenset(found) if known else None

    def _adds(self, sequential: cst.Call, where: Scope) -> list[tuple[cst.Call, Scope]]:
        """`model.add(layer)` calls on a variable bound to this Sequential, in its scope."""
        names = {name for name, values in where.assigns.items() if any(v is sequential for v in values)}
        return [(call, scope) for call, scope in self.ex.calls_by_attr.get("add", [])
                if scope is where and isinstance(call.func.value, cst.Name) and call.func.value.value in names]

    def trace(self, expr: cst.BaseExpression, scope: Scope, found: set[str], depth: int,
              seen: set[int] | None = None) -> None:
        """Add the recurrent layers a tensor or layer expression was computed with. Names are
        followed to their last assignment before the use in the same scope (a script that builds
        an LSTM model and then a dense one with the same `x` traces each to its own layers);
        parameters are not followed (the call that passed them is traced at its own site)."""
        from nnlint.source.training import KERAS_RNN

        seen = set() if seen is None else seen
        if depth > _MAX_DEPTH + 8 or id(expr) in seen or self._budget > _MAX_NODES:
            return
        seen.add(id(expr))
        self._budget += 1
        ex = self.ex
        if isinstance(expr, cst.Call):
            qual = ex.qualify(expr.func) or ""
            if qual.startswith("keras.") and KERAS_RNN.get(_last(qual)) == "rnn":
                found.add("rnn")
            if not qual:
                got = self.ops(expr, scope, depth + 1)
                if got is not None:
                    found |= got
                elif isinstance(expr.func, cst.Name):
                    function = self._function(expr.func.value, scope)
                    if function is not None:  # a same-file block `x = block(x)`: what it returns
                        for ret in _returns(function):
                            self.trace(ret, function, found, depth + 1, seen)
                    for value, where in self._bound(expr.func, scope):
                        self._trace_model_or_layer(value, where, found, depth + 1, seen)
                elif isinstance(expr.func, cst.Attribute):
                    for value, where in ex.definitions(expr.func, scope) or []:
                        if value is not expr.func:
                            self._trace_model_or_layer(value, where, found, depth + 1, seen)
                else:
                    self.trace(expr.func, scope, found, depth + 1, seen)
            for arg in expr.args:
                self.trace(arg.value, scope, found, depth + 1, seen)
        elif isinstance(expr, cst.Name):
            for value, where in self._bound(expr, scope):
                self.trace(value, where, found, depth + 1, seen)
        elif isinstance(expr, cst.Attribute):
            if isinstance(expr.value, cst.Name) and expr.value.value == "self":
                for value, where in ex.definitions(expr, scope) or []:
                    if value is not expr:
                        self.trace(value, where, found, depth + 1, seen)
            else:
                self.trace(expr.value, scope, found, depth + 1, seen)
        elif isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            for element in expr.elements:
                self.trace(element.value, scope, found, depth + 1, seen)
        elif isinstance(expr, cst.Dict):
            for element in expr.elements:
                if isinstance(element, cst.DictElement):
                    self.trace(element.value, scope, found, depth + 1, seen)
        elif isinstance(expr, cst.BinaryOperation):
            self.trace(expr.left, scope, found, depth + 1, seen)
            self.trace(expr.right, scope, found, depth + 1, seen)
        elif isinstance(expr, cst.Subscript):
            self.trace(expr.value, scope, found, depth + 1, seen)

    def _trace_model_or_layer(self, value: cst.BaseExpression, where: Scope, found: set[str], depth: int,
                              seen: set[int]) -> None:
        got = self.ops(value, where, depth)
        if got is not None:
            found |= got
        else:
            self.trace(value, where, found, depth, seen)

    def _bound(self, name: cst.Name, scope: Scope) -> list[tuple[cst.BaseExpression, Scope]]:
        """What a name holds where it is used: in its own scope the last assignment before the
        use; in an enclosing scope every assignment; nothing for a parameter."""
        s: Scope | None = scope
        while s is not None:
            if name.value in s.assigns:
                values = [v for v in s.assigns[name.value] if v is not None] + self._unpacked(s).get(name.value, [])
                if s is scope:
                    use = self.ex.span(name)
                    ends = {id(v): (self.ex.span(v).end_line, self.ex.span(v).end_column) for v in values}
                    before = sorted((v for v in values if ends[id(v)] <= (use.line, use.column)), key=lambda v: ends[id(v)])
                    values = before[-1:]
                return [(v, s) for v in values]
            if name.value in s.params:
                return []
            s = s.parent
        return []

    def _unpacked(self, scope: Scope) -> dict[str, list[cst.BaseExpression]]:
        """Values of tuple assignments in a scope's own code, by target name
        (`outputs, state_h, state_c = encoder(inputs)`: each name holds a part of the call)."""
        found = self._unpacked_cache.get(id(scope))
        if found is None:
            found = self._unpacked_cache[id(scope)] = {}
            root = scope.node.body if scope.node is not None else self.ex.source.module
            prune = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
            for node in collect(root, lambda n: isinstance(n, cst.Assign), lambda n: isinstance(n, prune)):
                for target in node.targets:
                    if isinstance(target.target, (cst.Tuple, cst.List)):
                        for part in collect(target.target, lambda n: isinstance(n, cst.Name)):
                            found.setdefault(part.value, []).append(node.value)
        return found

    def models(self, expr: cst.BaseExpression, scope: Scope) -> list[Model] | None:
        """The alternatives of the model an expression holds (None: unresolved)."""
        from nnlint.source.training import Model

        ex = self.ex
        if isinstance(expr, cst.Name) and expr.value == "self" and scope.cls is not None:
            return [Model(self.self_ops(scope.cls.name), scope.cls.name, (scope.cls.name,))]
        out: list[Model] = []
        for value, where in ex.definitions(expr, scope) or []:
            ops = self.ops(value, where)
            label = SourceFile.code(value)[:60]
            if ops is not None:
                out.append(Model(ops, label))
                continue
            external = ex.external_class(value)
            if external is None:
                return None
            out.append(Model(frozenset(), label, (), (external,)))
        return out or None

    # -- clipping -----------------------------------------------------------------------------
    def optimizer_clips(self, opt: cst.BaseExpression | None, scope: Scope) -> bool | None:
        """Whether the optimizer an expression holds clips gradients (None: unknown). A string
        ("adam") never does."""
        if opt is None:
            return None
        if isinstance(opt, cst.SimpleString):
            return False
        results: list[bool] = []
        for value, _ in self.ex.definitions(opt, scope) or [(None, None)]:
            if isinstance(value, cst.SimpleString):
                results.append(False)
            elif isinstance(value, cst.Call) and is_tf_optimizer(self.ex.qualify(value.func) or ""):
                if any(a.star for a in value.args):
                    return None
                results.append(any(_kw(value, k) is not None and not (isinstance(_kw(value, k), cst.Name)
                                                                    and _kw(value, k).value == "None")
                                   for k in CLIP_KEYWORDS))
            else:
                return None
        return any(results)

    def compiled_clips(self, cls: str) -> bool | None:
        """`self.optimizer` of a subclassed model: what compile() gives its instances in this file."""
        ex = self.ex
        info = ex.index.classes.get(cls)
        if info is None or "compile" in info.methods:
            return None  # its own compile(): what reaches self.optimizer is not compile's optimizer=
        results: list[bool | None] = []
        for call, where in ex.calls_by_attr.get("compile", []):
            defs = ex.definitions(call.func.value, where) or []
            if not any(isinstance(v, cst.Call) and isinstance(v.func, cst.Name) and v.func.value == cls for v, _ in defs):
                continue
            opt = _kw(call, "optimizer") or _pos(call, 0)
            if opt is None:
                results.append(None if any(a.star for a in call.args) else False)  # compile() defaults to rmsprop
            else:
                results.append(self.optimizer_clips(opt, where))
        if not results or None in results:
            return None
        return any(results)

    def step_clips(self, receiver: cst.BaseExpression, scope: Scope) -> bool | None:
        """Whether the optimizer stepped by `receiver.apply_gradients(...)` clips."""
        found = self.optimizer_clips(receiver, scope)
        if (found is None and isinstance(receiver, cst.Attribute) and receiver.attr.value == "optimizer"
                and isinstance(receiver.value, cst.Name) and receiver.value.value == "self" and scope.cls is not None):
            return self.compiled_clips(scope.cls.name)  # keras.Model.optimizer: set by compile()
        return found

    # -- GradientTape loops -------------------------------------------------------------------
    def is_tape(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        """`tape` of `with tf.GradientTape() as tape:` (or `tape = tf.GradientTape()`)."""
        ex = self.ex
        text = SourceFile.code(expr)
        for node, _ in ex.index.with_items:
            for item in node.items:
                if (item.asname is not None and isinstance(item.asname.name, cst.Name)
                        and item.asname.name.value == text and isinstance(item.item, cst.Call)
                        and ex.qualify(item.item.func) in TAPES):
                    return True
        return any(isinstance(v, cst.Call) and ex.qualify(v.func) in TAPES for v, _ in ex.definitions(expr, scope) or [])

    def owners(self, exprs: list[cst.BaseExpression], scope: Scope) -> list[tuple[cst.BaseExpression, Scope]]:
        """The objects whose variables an argument list holds: `model.trainable_variables`,
        directly, in zip(...)/a sum, or through a name bound to them."""
        found = self._owners_in(exprs, scope)
        if found:
            return found
        for expr in exprs:
            for name in collect(expr, lambda n: isinstance(n, cst.Name)):
                for value, where in self._bound(name, scope):
                    found += self._owners_in([value], where)
        return found

    @staticmethod
    def _owners_in(exprs: list[cst.BaseExpression], scope: Scope) -> list[tuple[cst.BaseExpression, Scope]]:
        out = []
        for expr in exprs:
            for node in collect(expr, lambda n: isinstance(n, cst.Attribute) and n.attr.value in VARIABLES):
                out.append((node.value, scope))
        return out


def gradient_names(stmt: cst.CSTNode | None) -> set[str]:
    """The names `grads = tape.gradient(...)` (or `grads, _ = ...`) binds."""
    names: set[str] = set()
    if isinstance(stmt, (cst.Assign, cst.AnnAssign)):
        targets = [t.target for t in stmt.targets] if isinstance(stmt, cst.Assign) else [stmt.target]
        for target in targets:
            names |= {n.value for n in collect(target, lambda n: isinstance(n, cst.Name))}
    return names


def mentions(stmt: cst.CSTNode | None, names: set[str]) -> bool:
    if stmt is None or not names:
        return False
    text = SourceFile.code(stmt)
    return any(re.search(rf"\b{re.escape(name)}\b", text) for name in names)


def _returns(function: Scope) -> list[cst.BaseExpression]:
    """The values a function's own return statements give (not those of nested defs)."""
    found = collect(function.node.body, lambda n: isinstance(n, cst.Return),
                    lambda n: isinstance(n, (cst.FunctionDef, cst.ClassDef, cst.Lambda)))
    return [r.value for r in found if r.value is not None]
