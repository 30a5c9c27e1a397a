"""The per-file semantic index (nnlint.source.index): one walk answers what the graph builder,
the loss facts and the training facts ask about a file's names."""

import textwrap

import libcst as cst

from nnlint.source import SourceFile
from nnlint.source.literals import literal
from nnlint.source.walk import walk

CODE = textwrap.dedent("""\
    import torch
    import torch.nn as nn
    from torch.optim import SGD as Opt
    from . import helpers

    HIDDEN = 64
    HIDDEN_TOO = 1
    HIDDEN_TOO = 2


    class Net(nn.Module):
        def __init__(self, width=HIDDEN, act=nn.ReLU()):
            super().__init__()
            self.fc = nn.Linear(width, 10)
            self.drop, self.other = nn.Dropout(0.5), None

        def forward(self, x):
            return self.fc(self.drop(x))

        def forward(self, x):  # the later def is the one Python binds
            return self.fc(x)


    def train(model, loader, epochs=3):
        opt = Opt(model.parameters(), lr=0.1)
        key = lambda batch: nn.Sequential(nn.Linear(1, 1))
        for x, y in loader:
            loss = model(x).sum()
            loss.backward()
            opt.step()

            def closure():
                return loss
        return opt


    @torch.no_grad()
    def evaluate(model):
        with torch.no_grad() as ctx:
            return model.eval()


    def twice():
        pass


    def twice():
        pass


    if __name__ == "__main__":
        import wandb
        train(Net(), [])
""")


def index():
    return SourceFile.parse("train.py", CODE).index


def test_it_is_built_once_per_file():
    source = SourceFile.parse("train.py", CODE)
    assert source.index is source.index


def test_module_level_definitions_bound_once_or_more():
    idx = index()
    assert list(idx.unique_classes) == ["Net"]
    assert list(idx.unique_functions) == ["train", "evaluate"]
    assert idx.defined["twice"] == 2
    assert idx.constants() == {"HIDDEN": 64}


def test_classes_bases_methods_and_self_attributes():
    idx = index()
    net = idx.classes["Net"]
    assert [SourceFile.code(b) for b in net.bases] == ["nn.Module"]
    assert list(net.methods) == ["__init__", "forward"]
    first, second = [s for s in idx.functions["forward"]]
    assert net.methods["forward"] is first  # the first def, for the training facts
    assert net.own_methods()["forward"] is second.node  # the one Python binds, for the graph builder
    assert sorted(net.self_assigns) == ["drop", "fc", "other"]
    value, where = net.self_assigns["fc"][0]
    assert SourceFile.code(value) == "nn.Linear(width, 10)" and where is net.methods["__init__"]
    assert net.self_assigns["drop"] == [(None, net.methods["__init__"])]  # tuple targets: unknown
    assert net.used_attrs == {"fc", "drop"}


def test_function_scopes_parameters_defaults_bindings_and_decorators():
    idx = index()
    train = idx.functions["train"][0]
    assert train.params == ["model", "loader", "epochs"]
    assert SourceFile.code(train.defaults["epochs"]) == "3"
    assert sorted(train.assigns) == ["key", "loss", "opt", "x", "y"]
    assert train.assigns["x"] == [None]
    closure = idx.functions["closure"][0]
    assert closure.parent is train and closure.qualname == "train.closure"
    init = idx.classes["Net"].methods["__init__"]
    assert init.params == ["self", "width", "act"] and init.parent is idx.module and init.qualname == "Net.__init__"
    assert idx.functions["evaluate"][0].decorators == ("torch.no_grad",)


def test_calls_of_each_scope_in_source_order():
    idx = index()
    train = idx.functions["train"][0]
    in_train = [SourceFile.code(c.func) for c, s in idx.calls if s is train]
    assert in_train == ["Opt", "model.parameters", "model(x).sum", "model", "loss.backward", "opt.step"]
    assert [s.name for _, s in idx.calls_by_attr["step"]] == ["train"]
    assert [s.qualname for _, s in idx.calls_by_func["train"]] == [""]
    # calls in a lambda, a decorator and a default value's own call are no calls of a scope
    called = [SourceFile.code(c.func) for c, _ in idx.calls]
    assert "nn.Sequential" not in called and "nn.ReLU" not in called and called.count("torch.no_grad") == 1
    assert [SourceFile.code(w.items[0].item) for w, _ in idx.with_items] == ["torch.no_grad()"]


def test_every_call_sees_lambdas_decorators_and_defaults_with_the_enclosing_def():
    idx = index()
    found = {SourceFile.code(c.func): fn for c, fn in idx.every_call}
    train = idx.unique_functions["train"]
    assert found["nn.Sequential"] is train and idx.body_of(train) is train.body.body
    assert found["nn.ReLU"] is idx.classes["Net"].methods["__init__"].node
    assert found["torch.no_grad"] is idx.unique_functions["evaluate"]
    assert found["train"] is None and idx.body_of(None) is idx.module_node.body
    assert idx.def_parent[idx.functions["closure"][0].node] is train and idx.def_parent[train] is None
    assert [f.name.value for f in idx.every_function] == [
        "__init__", "forward", "forward", "train", "closure", "evaluate", "twice", "twice"]
    assert [c.name.value for c in idx.every_class] == ["Net"]
    blocks = [n for n in walk(idx.module_node) if isinstance(n, cst.IndentedBlock)]
    assert idx.every_block == blocks and len(blocks) == 12
    calls = [n for n in walk(idx.module_node) if isinstance(n, cst.Call)]
    assert sorted(map(id, calls)) == sorted(id(c) for c, _ in idx.every_call)
    attributes = [n for n in walk(idx.module_node) if isinstance(n, cst.Attribute)]
    assert sorted(map(id, attributes)) == sorted(map(id, idx.every_attribute))
    strings = [n for n in walk(idx.module_node) if isinstance(n, cst.SimpleString)]
    assert [literal(s) for s in idx.every_string] == [literal(s) for s in strings] == ["__main__"]
    targets = [t.target for n in walk(idx.module_node) if isinstance(n, cst.Assign) for t in n.targets]
    assert idx.assign_targets == set(map(id, targets)) and len(targets) == 8


def test_loops_and_arithmetic_by_the_frame_that_runs_them():
    source = SourceFile.parse("m.py", textwrap.dedent("""\
        total = 1 + 2
        def penalty(model, w=0.1 * 2):
            reg = 0
            for p in model.parameters():
                reg += p.pow(2).sum()
            scale = lambda x: x + 1
            class Inner:
                size = 3 + 4
            return w * reg
        """))
    idx = source.index
    code = lambda scope: [SourceFile.code(n).split("\n")[0] for n in idx.frame_nodes[scope]]  # noqa: E731
    assert code(idx.module) == ["1 + 2"]
    assert code(idx.functions["penalty"][0]) == ["0.1 * 2", "for p in model.parameters():", "reg += p.pow(2).sum()",
                                                 "w * reg"]


def test_imports_resolved_and_as_written():
    idx = index()
    assert idx.import_bindings() == {"torch": "torch", "nn": "torch.nn", "Opt": "torch.optim.SGD",
                                     "helpers": ".helpers", "wandb": "wandb"}
    assert idx.imported_modules() == ["torch", "torch.nn", "torch.optim", "torch.optim.SGD", "", ".helpers", "wandb"]
    call = next(c for c, _ in idx.calls if SourceFile.code(c.func) == "Opt")
    assert idx.resolve(call.func) == "torch.optim.SGD"
