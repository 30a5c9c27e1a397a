"""One per-file semantic index, built in one walk: what every source pass asks about a file's names.

The layer-graph builder, the loss facts and the training facts used to walk the same tree with
their own scope bookkeeping; they now read this index instead (built lazily, once per
SourceFile: `source.index`). It holds:

- scopes: the module and every function (parameters, defaults, decorators resolved, the
  expressions each name is bound to), nested functions with their parent scope;
- classes: bases, methods, what `self.<attr>` is assigned and which attributes are read;
- calls: every call of the analyzed code with the scope it runs in (and by callee name);
- definitions: module-level classes and functions (bound once or not), module constants,
  import bindings, and every class/function/indented block/call of the file in source order.

"Analyzed code" is what runs in a scope's own frame: function bodies and default values,
class bodies and bases. Lambdas, decorators, annotations and class keywords are walked too
(the `every_*` lists see them) but bind nothing and hold no calls of a scope, as before.
The index keeps libcst nodes: it lives as long as its SourceFile, in the worker; facts built
from it are plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from nnlint import lazy_libcst as cst

from nnlint.source.imports import ImportResolver, _statements, dotted_name
from nnlint.source.literals import literal
from nnlint.source.walk import children


@dataclass(eq=False)
class Scope:
    """The module (node None) or one function, and the names it binds."""

    node: cst.FunctionDef | None
    name: str
    qualname: str
    parent: Scope | None
    cls: ClassInfo | None = None
    params: list[str] = field(default_factory=list)
    defaults: dict[str, cst.BaseExpression] = field(default_factory=dict)
    assigns: dict[str, list[cst.BaseExpression | None]] = field(default_factory=dict)
    decorators: tuple[str, ...] = ()

    def bind(self, name: str, value: cst.BaseExpression | None) -> None:
        self.assigns.setdefault(name, []).append(value)


@dataclass(eq=False)
class ClassInfo:
    """A class statement: bases as written, methods (the first def of each name, at any
    statement depth of the class body), `self.<attr>` assignments of its methods."""

    node: cst.ClassDef
    name: str
    bases: list[cst.BaseExpression]
    methods: dict[str, Scope] = field(default_factory=dict)
    self_assigns: dict[str, list[tuple[cst.BaseExpression | None, Scope]]] = field(default_factory=dict)
    used_attrs: set[str] = field(default_factory=set)  # self.X read outside __init__
    _own: dict[str, cst.FunctionDef] | None = field(default=None, repr=False)

    def own_methods(self) -> dict[str, cst.FunctionDef]:
        """The defs written directly in the class body, by name (a later def of a name wins,
        as Python binds it)."""
        if self._own is None:
            body = self.node.body.body if isinstance(self.node.body, cst.IndentedBlock) else ()
            self._own = {s.name.value: s for s in body if isinstance(s, cst.FunctionDef)}
        return self._own


def _targets(target: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    if isinstance(target, (cst.Tuple, cst.List)):
        for el in target.elements:
            yield from _targets(el.value)
    elif isinstance(target, cst.StarredElement):
        yield from _targets(target.value)
    else:
        yield target


def _block_body(node: cst.FunctionDef) -> Sequence[cst.BaseStatement]:
    return node.body.body if isinstance(node.body, cst.IndentedBlock) else ()


class SemanticIndex:
    """The index of one parsed module (see the module docstring)."""

    def __init__(self, module: cst.Module, imports: ImportResolver) -> None:
        self.module_node = module
        self.imports = imports
        self.module = Scope(None, "<module>", "", None)
        self.scopes: dict[cst.FunctionDef, Scope] = {}
        self.functions: dict[str, list[Scope]] = {}  # every def by simple name (methods and nested too)
        self.classes: dict[str, ClassInfo] = {}  # module-level classes, the first of each name
        self.class_info: dict[cst.ClassDef, ClassInfo] = {}  # every class statement
        self.calls: list[tuple[cst.Call, Scope]] = []  # calls of analyzed code, in source order
        self.with_items: list[tuple[cst.With, Scope]] = []
        self.calls_by_func: dict[str, list[tuple[cst.Call, Scope]]] = {}  # f(...) by f
        self.calls_by_attr: dict[str, list[tuple[cst.Call, Scope]]] = {}  # x.m(...) by m
        # every node of these kinds, in source order (lambdas, decorators and annotations included)
        self.every_call: list[tuple[cst.Call, cst.FunctionDef | None]] = []  # with the innermost def (header included)
        self.every_class: list[cst.ClassDef] = []
        self.every_function: list[cst.FunctionDef] = []
        self.every_block: list[cst.IndentedBlock] = []
        self.every_import: list[cst.Import | cst.ImportFrom] = []
        self.every_attribute: list[cst.Attribute] = []
        self.every_string: list[cst.SimpleString] = []
        self.assign_targets: set[int] = set()  # id() of every `x = ...` target expression
        self._resolved: dict[int, str | None] = {}
        self._constants: dict[str, Any] | None = None
        self.def_parent: dict[cst.FunctionDef, cst.FunctionDef | None] = {}  # the def around each def
        # For loops, binary operations and augmented assignments run by each scope's own frame
        self.frame_nodes: dict[Scope, list[cst.CSTNode]] = {self.module: []}
        self._walk(module, self.module, None, False, None, self.module)
        for call, scope in self.calls:
            if isinstance(call.func, cst.Name):
                self.calls_by_func.setdefault(call.func.value, []).append((call, scope))
            elif isinstance(call.func, cst.Attribute):
                self.calls_by_attr.setdefault(call.func.attr.value, []).append((call, scope))
        self._definitions()

    # -- the walk -------------------------------------------------------------------------------
    def _walk(self, root: cst.CSTNode, scope: Scope, cls: ClassInfo | None, hidden: bool,
              fn: cst.FunctionDef | None, frame: Scope | None) -> None:
        """Every node below `root` (not root itself), in source order.

        scope: where names bind; cls: the class whose body this is (its assignments bind
        nothing); hidden: code that binds nothing in `scope` (lambdas, decorators, annotations),
        seen by the every_* lists only; fn: the innermost def (header included); frame: the
        scope whose own frame runs the code (None in class bodies and lambdas)."""
        stack = list(reversed(children(root)))
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind is cst.ClassDef:
                self._class(node, scope, cls, fn)
                continue
            if kind is cst.FunctionDef:
                self._function(node, scope, cls, fn)
                continue
            if kind is cst.Lambda:
                self._walk(node, scope, cls, True, fn, None)
                continue
            if frame is not None and (kind is cst.BinaryOperation or kind is cst.For or kind is cst.AugAssign):
                self.frame_nodes[frame].append(node)
            if kind is cst.Call:
                self.every_call.append((node, fn))
                if not hidden:
                    self.calls.append((node, scope))
            elif kind is cst.IndentedBlock:
                self.every_block.append(node)
            elif kind is cst.SimpleString:
                self.every_string.append(node)
            elif kind is cst.Attribute:
                self.every_attribute.append(node)
                if (not hidden and scope.cls is not None and scope.name != "__init__" and type(node.value) is cst.Name
                        and node.value.value == "self"):
                    scope.cls.used_attrs.add(node.attr.value)
            elif hidden:
                pass
            elif kind is cst.Assign:
                for t in node.targets:
                    self.assign_targets.add(id(t.target))
                    single = not isinstance(t.target, (cst.Tuple, cst.List))
                    self._assign(scope, t.target, node.value if single else None, cls)
            elif kind is cst.AnnAssign:
                self._assign(scope, node.target, node.value, cls)
            elif kind is cst.AugAssign:
                self._assign(scope, node.target, None, cls)
            elif kind is cst.For:
                self._assign(scope, node.target, None, cls)
            elif kind is cst.NamedExpr:
                self._assign(scope, node.target, node.value, cls)
            elif kind is cst.With:
                self.with_items.append((node, scope))
                for item in node.items:
                    if item.asname is not None:
                        self._assign(scope, item.asname.name, None, cls)
            elif kind is cst.Import or kind is cst.ImportFrom:
                self.every_import.append(node)
            stack.extend(reversed(children(node)))

    def _every(self, node: cst.CSTNode, fn: cst.FunctionDef | None) -> None:
        """The every_* lists for the root of a walk (which the walk itself skips)."""
        kind = type(node)
        if kind is cst.Call:
            self.every_call.append((node, fn))
        elif kind is cst.Attribute:
            self.every_attribute.append(node)
        elif kind is cst.SimpleString:
            self.every_string.append(node)

    def _header(self, node: cst.CSTNode | None, scope: Scope, fn: cst.FunctionDef | None,
                frame: Scope | None = None) -> None:
        """A part of a def or class header that binds nothing (decorator, annotation, keyword)."""
        if node is not None:
            self._walk(node, scope, None, True, fn, frame)

    def _class(self, node: cst.ClassDef, scope: Scope, cls: ClassInfo | None, fn: cst.FunctionDef | None) -> None:
        self.every_class.append(node)
        for decorator in node.decorators:
            self._header(decorator, scope, fn)
        info = self.class_info[node] = ClassInfo(node, node.name.value, [b.value for b in node.bases])
        if scope is self.module and cls is None:
            self.classes.setdefault(node.name.value, info)
        for base in node.bases:
            self._walk(base, scope, None, False, fn, None)
        for keyword in node.keywords:
            self._header(keyword, scope, fn)
        if isinstance(node.body, cst.IndentedBlock):
            self.every_block.append(node.body)
        self._walk(node.body, scope, info, False, fn, None)

    def _function(self, node: cst.FunctionDef, parent: Scope, cls: ClassInfo | None, fn: cst.FunctionDef | None) -> None:
        self.every_function.append(node)
        self.def_parent[node] = fn
        qual = f"{cls.name}.{node.name.value}" if cls else (f"{parent.qualname}.{node.name.value}" if parent.qualname else node.name.value)
        scope = Scope(node, node.name.value, qual, parent if cls is None else self.module, cls)
        self.frame_nodes[scope] = []
        for d in node.decorators:
            self._header(d, parent, node, scope)
        params = node.params
        for p in (*params.posonly_params, *params.params, *params.kwonly_params):
            scope.params.append(p.name.value)
            self._header(p.annotation, parent, node, scope)
            if p.default is not None:
                scope.defaults[p.name.value] = p.default
                # the default's own node is not a call of the parent scope (as the walk always had it)
                self._every(p.default, node)
                if type(p.default) is cst.BinaryOperation:
                    self.frame_nodes[scope].append(p.default)
                self._walk(p.default, parent, None, False, node, scope if type(p.default) is not cst.Lambda else None)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                scope.params.append(star.name.value)
                self._header(star.annotation, parent, node, scope)
        self._header(node.returns, parent, node, scope)
        decorators = []
        for d in node.decorators:
            expr = d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator
            decorators.append(self.imports.resolve(expr) or dotted_name(expr) or "")
        scope.decorators = tuple(decorators)
        if cls is not None:
            cls.methods.setdefault(node.name.value, scope)
        self.functions.setdefault(node.name.value, []).append(scope)
        self.scopes[node] = scope
        if isinstance(node.body, cst.IndentedBlock):
            self.every_block.append(node.body)
        self._walk(node.body, scope, None, False, node, scope)

    def _assign(self, scope: Scope, target: cst.BaseExpression, value: cst.BaseExpression | None,
                cls: ClassInfo | None) -> None:
        if cls is not None:
            return  # class attributes are not variables of the enclosing scope
        for t in _targets(target):
            if isinstance(t, cst.Name):
                scope.bind(t.value, value)
            elif (isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value == "self"
                  and scope.cls is not None):
                scope.cls.self_assigns.setdefault(t.attr.value, []).append((value, scope))

    # -- module-level definitions ---------------------------------------------------------------
    def _definitions(self) -> None:
        counts: dict[str, int] = {}
        for stmt in self.module_node.body:
            if isinstance(stmt, (cst.ClassDef, cst.FunctionDef)):
                counts[stmt.name.value] = counts.get(stmt.name.value, 0) + 1
        self.defined = counts  # module-level def/class names -> how often defined
        self.unique_classes: dict[str, cst.ClassDef] = {}
        self.unique_functions: dict[str, cst.FunctionDef] = {}
        for stmt in self.module_node.body:
            if isinstance(stmt, cst.ClassDef) and counts[stmt.name.value] == 1:
                self.unique_classes[stmt.name.value] = stmt
            elif isinstance(stmt, cst.FunctionDef) and counts[stmt.name.value] == 1:
                self.unique_functions[stmt.name.value] = stmt

    # -- queries --------------------------------------------------------------------------------
    def body_of(self, fn: cst.FunctionDef | None) -> Sequence[cst.BaseStatement]:
        """The statements of a def (of the module for None)."""
        return self.module_node.body if fn is None else _block_body(fn)

    def resolve(self, expr: cst.BaseExpression) -> str | None:
        """imports.resolve(expr), memoized per node (several passes ask about the same callee)."""
        key = id(expr)
        try:
            return self._resolved[key]
        except KeyError:
            found = self._resolved[key] = self.imports.resolve(expr)
            return found

    def constants(self) -> dict[str, Any]:
        """Module-level `NAME = <literal>` bound exactly once."""
        if self._constants is None:
            self._constants = self._module_constants()
        return self._constants

    def _module_constants(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        counts: dict[str, int] = {}
        for stmt in self.module_node.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                        name = small.targets[0].target.value
                        counts[name] = counts.get(name, 0) + 1
                        value = literal(small.value)
                        if value is not None:
                            values[name] = value
        return {k: v for k, v in values.items() if counts[k] == 1}

    def import_bindings(self) -> dict[str, str | None]:
        """Every import binding of the file: local name -> raw target ('a.b.C', '.x.Y'); None if
        bound twice (the project pass resolves these across files)."""
        found: dict[str, str | None] = {}

        def bind(local: str, target: str) -> None:
            found[local] = target if found.get(local, target) == target else None

        for small in _statements(self.module_node.body):
            if isinstance(small, cst.Import):
                for alias in small.names:
                    full = dotted_name(alias.name)
                    if not full:
                        continue
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        bind(alias.asname.name.value, full)
                    else:
                        bind(full.split(".")[0], full.split(".")[0])
            elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                base = "." * len(small.relative) + (dotted_name(small.module) or "" if small.module else "")
                for alias in small.names:
                    name = dotted_name(alias.name)
                    if not name:
                        continue
                    local = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
                    bind(local, f"{base}.{name}" if base and not base.endswith(".") else f"{base}{name}")
        return found

    def imported_modules(self) -> list[str]:
        """Every module (and `from` name) the file imports, at any depth, as written."""
        names: list[str] = []
        for n in self.every_import:
            if isinstance(n, cst.Import):
                names.extend(dotted_name(a.name) or "" for a in n.names)
            else:
                base = dotted_name(n.module) if n.module is not None else ""
                names.append(base or "")
                if not isinstance(n.names, cst.ImportStar):
                    names.extend(f"{base}.{dotted_name(a.name)}" for a in n.names)
        return names
