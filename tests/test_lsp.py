"""`nnlint lsp` end to end: a real server process driven by pytest-lsp's client, with the
capabilities Neovim and VS Code send (and hand-built ones for what they lack)."""

import asyncio
import json
import sys
import textwrap

import pytest
import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from nnlint.engine import lint_source as lint
from test_project import MODELS, TRAIN

LOGITS = MODELS.replace("F.softmax(self.fc2(x), dim=1)", "self.fc2(x)")
WAIT = 20.0  # seconds: generous for a loaded machine; a passing test returns as soon as it can


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "nnlint", "lsp"]))
async def client(lsp_client: LanguageClient):
    lsp_client.registrations = []

    @lsp_client.feature(t.CLIENT_REGISTER_CAPABILITY)
    def register(params: t.RegistrationParams):  # VS Code accepts file watchers; pytest-lsp has no handler
        lsp_client.registrations.extend(params.registrations)

    yield
    await lsp_client.shutdown_session()


def uri(path):
    return path.resolve().as_uri()


def pull_caps(encoding="utf-16"):
    """A client with pull diagnostics and workspace refresh (the VS Code of today), no watchers."""
    return t.ClientCapabilities(
        general=t.GeneralClientCapabilities(position_encodings=[encoding]),
        text_document=t.TextDocumentClientCapabilities(diagnostic=t.DiagnosticClientCapabilities()),
        workspace=t.WorkspaceClientCapabilities(diagnostics=t.DiagnosticWorkspaceClientCapabilities(refresh_support=True)),
    )


def push_caps(encoding):
    return t.ClientCapabilities(general=t.GeneralClientCapabilities(position_encodings=[encoding]))


async def start(client, root, caps):
    return await client.initialize_session(t.InitializeParams(capabilities=caps, root_uri=uri(root)))


def open_file(client, path, text=None):
    text = path.read_text(encoding="utf-8") if text is None else text
    client.text_document_did_open(t.DidOpenTextDocumentParams(
        t.TextDocumentItem(uri=uri(path), language_id="python", version=1, text=text)))


def edit(client, path, text, version=2):
    client.text_document_did_change(t.DidChangeTextDocumentParams(
        t.VersionedTextDocumentIdentifier(uri=uri(path), version=version),
        [t.TextDocumentContentChangeWholeDocument(text=text)]))


async def published(client, path, check):
    """Wait until the diagnostics last published for `path` satisfy `check`; return them."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        found = client.diagnostics.get(uri(path))
        if found is not None and check(found):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"diagnostics for {path.name}: {found}")
        await asyncio.sleep(0.05)


def codes(found):
    return [(d.code, d.range.start.line, d.range.start.character) for d in found]


def cli_findings(run_cli, *args):
    result = run_cli("--output-format", "json", *args)
    return [(d["path"], d["line"], d["column"], d["code"]) for d in json.loads(result.stdout)]


@pytest.fixture
def two_files(project):
    project("proj/models.py", MODELS)
    project("proj/train.py", TRAIN)
    return project.root / "proj"


async def test_neovim_only_train_open_shows_the_cli_nn201_and_editing_the_model_buffer_clears_it(
        client, two_files, run_cli):
    assert cli_findings(run_cli, "proj") == [("proj/train.py", 13, 16, "NN201")]
    result = await start(client, two_files, client_capabilities("neovim"))
    assert result.capabilities.diagnostic_provider is None  # Neovim <= 0.11 cannot be asked to re-pull: push
    train, models = two_files / "train.py", two_files / "models.py"
    open_file(client, train)
    (found,) = await published(client, train, lambda f: len(f) == 1)
    assert (found.code, found.range.start.line, found.range.start.character) == ("NN201", 12, 15)
    assert (found.range.end.line, found.range.end.character) == (12, 37)
    assert found.severity == t.DiagnosticSeverity.Error and found.source == "nnlint"
    assert found.code_description.href.startswith("file://") and found.code_description.href.endswith("/NN201.md")
    (related,) = found.related_information
    assert related.location.uri == uri(models) and related.location.range.start.line == 12

    open_file(client, models)
    await published(client, models, lambda f: f == [] or f == ())
    edit(client, models, LOGITS)
    await published(client, train, lambda f: len(f) == 0)
    edit(client, models, MODELS, version=3)
    assert codes(await published(client, train, lambda f: len(f) == 1)) == [("NN201", 12, 15)]

    client.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(uri(train))))
    await published(client, train, lambda f: len(f) == 0)


async def test_vscode_sees_a_model_changed_on_disk_through_watched_files(client, two_files):
    result = await start(client, two_files, client_capabilities("visual-studio-code"))
    assert result.capabilities.diagnostic_provider is None  # VS Code 1.65 has no pull diagnostics
    train, models = two_files / "train.py", two_files / "models.py"
    open_file(client, train)
    await published(client, train, lambda f: codes(f) == [("NN201", 12, 15)])
    (watching,) = client.registrations
    assert watching.method == t.WORKSPACE_DID_CHANGE_WATCHED_FILES
    deadline = asyncio.get_running_loop().time() + WAIT
    while not any(r and r[-1].kind == "end" for r in client.progress_reports.values()):  # indexing shows progress
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    ((begin, *_),) = client.progress_reports.values()
    assert begin.kind == "begin" and "indexing" in begin.title
    models.write_text(LOGITS, encoding="utf-8")
    client.workspace_did_change_watched_files(t.DidChangeWatchedFilesParams(
        [t.FileEvent(uri=uri(models), type=t.FileChangeType.Changed)]))
    await published(client, train, lambda f: len(f) == 0)


async def test_without_watchers_a_deleted_model_file_is_noticed_when_its_facts_are_used(client, two_files):
    await start(client, two_files, client_capabilities("neovim"))
    train = two_files / "train.py"
    open_file(client, train)
    await published(client, train, lambda f: len(f) == 1)
    (two_files / "models.py").unlink()
    edit(client, train, TRAIN + "\n")
    await published(client, train, lambda f: len(f) == 0)


async def test_pull_diagnostics_and_refresh_when_a_dependency_changes(client, two_files):
    result = await start(client, two_files, pull_caps())
    assert result.capabilities.diagnostic_provider.inter_file_dependencies is True
    train, models = two_files / "train.py", two_files / "models.py"
    open_file(client, train)
    open_file(client, models)

    async def pull(path):
        report = await client.text_document_diagnostic_async(
            t.DocumentDiagnosticParams(text_document=t.TextDocumentIdentifier(uri(path))))
        return codes(report.items)

    deadline = asyncio.get_running_loop().time() + WAIT
    while await pull(train) != [("NN201", 12, 15)]:  # the workspace may still be indexing
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    refreshes = client.diagnostic_refresh_count
    edit(client, models, LOGITS)
    assert await pull(models) == []
    assert client.diagnostic_refresh_count == refreshes + 1  # train.py's answer changed: re-pull
    assert await pull(train) == []
    assert await pull(models) == [] and client.diagnostic_refresh_count == refreshes + 1
    await asyncio.sleep(0.5)
    assert client.diagnostics == {}  # never pushed


SEQUENTIAL = 'label = "🤖 net"; net = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.BatchNorm1d(8))\n'


@pytest.mark.parametrize("encoding, shift", [("utf-16", 1), ("utf-8", 3), ("utf-32", 0)])
async def test_positions_in_the_negotiated_encoding_after_an_emoji(client, project, run_cli, encoding, shift):
    path = project("net.py", "import torch.nn as nn\n\n" + SEQUENTIAL)
    (found,) = cli_findings(run_cli, "net.py")
    result = await start(client, project.root, push_caps(encoding))
    assert result.capabilities.position_encoding == encoding
    open_file(client, path)
    (diag,) = await published(client, path, lambda f: len(f) == 1)
    assert (diag.code, diag.range.start.line) == (found[3], found[1] - 1)
    assert diag.range.start.character == found[2] - 1 + shift  # the emoji: 1 code point, 2 UTF-16 units, 4 bytes


async def test_config_is_read_and_reread_and_a_broken_one_is_a_message(client, project):
    config = project("pyproject.toml", '[tool.nnlint]\nignore = ["NN101"]\n')
    path = project("net.py", "import torch.nn as nn\n\n" + SEQUENTIAL)
    await start(client, project.root, client_capabilities("neovim"))
    open_file(client, path)
    await published(client, path, lambda f: len(f) == 0)
    config.write_text('[tool.nnlint]\nignor = ["NN101"]\n', encoding="utf-8")
    edit(client, path, path.read_text(encoding="utf-8") + "\n")
    deadline = asyncio.get_running_loop().time() + WAIT
    while not client.messages:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    (message,) = client.messages
    assert message.type == t.MessageType.Error
    assert "unknown key 'ignor'" in message.message and "pyproject.toml" in message.message
    config.write_text('[tool.nnlint]\ndoc-url = "https://docs.example.com/{code}.html"\n', encoding="utf-8")
    edit(client, path, path.read_text(encoding="utf-8") + "\n\n", version=3)  # fixed: NN101 is reported again
    (diag,) = await published(client, path, lambda f: len(f) == 1)
    assert (diag.code, diag.code_description.href) == ("NN101", "https://docs.example.com/NN101.html")


async def test_bad_input_gets_a_diagnostic_and_the_server_keeps_serving(client, project):
    broken = project("broken.py", "def f(:\n    pass\n")
    await start(client, project.root, client_capabilities("neovim"))
    open_file(client, broken)
    (diag,) = await published(client, broken, lambda f: len(f) == 1)
    assert diag.code == "NN001" and diag.range.start.line == 0
    untitled = "untitled:Untitled-1"
    client.text_document_did_open(t.DidOpenTextDocumentParams(
        t.TextDocumentItem(uri=untitled, language_id="python", version=1, text="import torch.nn as nn\n\n" + SEQUENTIAL)))
    deadline = asyncio.get_running_loop().time() + WAIT
    while not client.diagnostics.get(untitled):
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    assert [d.code for d in client.diagnostics[untitled]] == ["NN101"]
    missing = uri(project.root / "nowhere.py")
    actions = await client.text_document_code_action_async(t.CodeActionParams(
        t.TextDocumentIdentifier(missing), t.Range(t.Position(0, 0), t.Position(0, 0)), t.CodeActionContext([])))
    assert actions is None
    edit(client, broken, "import torch.nn as nn\n\n" + SEQUENTIAL)  # still serving
    assert [d.code for d in await published(client, broken, lambda f: len(f) == 1 and f[0].code != "NN001")] == ["NN101"]


def test_without_pygls_the_command_says_what_to_install(run_cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "pygls", None)
    monkeypatch.delitem(sys.modules, "nnlint.lsp", raising=False)
    monkeypatch.delitem(sys.modules, "pygls.lsp.server", raising=False)
    monkeypatch.setitem(sys.modules, "pygls.lsp", None)
    result = run_cli("lsp")
    assert result.exit_code == 2
    assert "install nnlint[lsp]" in result.stderr


LOG_SOFTMAX = """\
import torch
import torch.nn.functional as F


def nll(logits, target):
    log_probs = torch.log(F.softmax(logits, dim=-1))
    return F.nll_loss(log_probs, target)
"""


UNUSED_LAYER = """\
from torch import nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 3, padding=1)
        self.bn = nn.BatchNorm2d(32)

    def forward(self, images):
        return self.conv(images).relu()
"""


async def test_quick_fix_is_the_rules_own_fix_and_an_unused_layer_is_tagged_unnecessary(client, project):
    path = project("loss.py", LOG_SOFTMAX)
    unused = project("encoder.py", UNUSED_LAYER)
    await start(client, project.root, client_capabilities("neovim"))
    open_file(client, unused)
    (diag,) = await published(client, unused, lambda f: len(f) == 1)
    assert (diag.code, diag.range.start.line, list(diag.tags)) == ("NN111", 7, [t.DiagnosticTag.Unnecessary])
    open_file(client, path)
    (diag,) = await published(client, path, lambda f: len(f) == 1)
    assert diag.code == "NN208"
    actions = await client.text_document_code_action_async(t.CodeActionParams(
        t.TextDocumentIdentifier(uri(path)), diag.range, t.CodeActionContext([diag])))
    fix = actions[0]
    assert fix.kind == t.CodeActionKind.QuickFix and fix.is_preferred and fix.diagnostics[0].code == "NN208"
    text_edits = fix.edit.changes[uri(path)]  # the log call goes, softmax -> log_softmax: one line
    assert {(e.range.start.line, e.range.end.line) for e in text_edits} == {(5, 5)}
    fixed = LOG_SOFTMAX.splitlines()[5]
    for e in sorted(text_edits, key=lambda e: e.range.start.character, reverse=True):
        fixed = fixed[:e.range.start.character] + e.new_text + fixed[e.range.end.character:]
    assert fixed == "    log_probs = F.log_softmax(logits, dim=-1)"
    disable = actions[1]
    assert disable.title == "Disable NN208 for this line" and disable.kind == t.CodeActionKind.QuickFix
    (noqa,) = disable.edit.changes[uri(path)]
    assert (noqa.range.start.line, noqa.range.start.character, noqa.range.end.line, noqa.range.end.character) == (5, 0, 6, 0)
    assert noqa.new_text == "    log_probs = torch.log(F.softmax(logits, dim=-1))  # noqa: NN208\n"

    (fix_all,) = await client.text_document_code_action_async(t.CodeActionParams(
        t.TextDocumentIdentifier(uri(path)), t.Range(t.Position(0, 0), t.Position(0, 0)),
        t.CodeActionContext([], only=[t.CodeActionKind.SourceFixAll])))
    assert fix_all.kind == "source.fixAll.nnlint"
    (whole,) = fix_all.edit.changes[uri(path)]
    assert whole.new_text == "    log_probs = F.log_softmax(logits, dim=-1)\n" and whole.range.start.line == 5


def test_files_created_after_indexing_count_unless_the_walk_would_skip_them(project):
    from nnlint.workspace import Workspace

    project("proj/pyproject.toml", '[tool.nnlint]\nextend-exclude = ["generated"]\n')
    train = project("proj/train.py", TRAIN.replace("from models import", "from generated.models import"))
    workspace = Workspace(str(project.root / "proj"))
    assert workspace.load_config() is None
    workspace.index(workspace.python_files())
    workspace.set_buffer(str(train), train.read_text())
    excluded = project("proj/generated/models.py", MODELS)
    workspace.refresh(str(excluded))  # a watched-files "created" event
    assert workspace.diagnostics([str(train)]) == {str(train): []}  # as `nnlint proj/`: generated/ is excluded
    workspace.set_buffer(str(train), TRAIN)
    workspace.refresh(str(project("proj/models.py", MODELS)))
    (found,) = workspace.diagnostics([str(train)])[str(train)]
    assert (found.code, found.line, found.column) == ("NN201", 13, 16)


def test_the_workspace_facts_come_from_the_cache_on_the_next_start(project, monkeypatch):
    from nnlint.workspace import Workspace

    monkeypatch.delenv("NNLINT_CACHE_DIR")  # the default: .nnlint_cache in the project root
    project("proj/pyproject.toml", "[tool.nnlint]\n")
    project("proj/models.py", MODELS)
    train = project("proj/train.py", TRAIN)
    first = Workspace(str(project.root / "proj"))
    first.load_config()
    first.index(first.python_files())
    assert (project.root / "proj" / ".nnlint_cache").is_dir()

    def unavailable(path, data, settings):
        raise AssertionError(f"{path} was linted again")

    second = Workspace(str(project.root / "proj"), per_file=lambda p, d, s: unavailable(p, d, s) if "models" in p else lint(p, d, s))
    second.load_config()
    second.index(second.python_files())
    second.set_buffer(str(train), TRAIN)
    assert [d.code for d in second.diagnostics([str(train)])[str(train)]] == ["NN201"]


# -- notebooks (LSP 3.17 notebookDocument/* sync; pytest-lsp's client profiles predate it) ------
IMPORTS_CELL = "import torch\nfrom torch import nn\n\nfrom models import Classifier\n"
LOOP_CELL = """\
model = Classifier(20, 3)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
"""


def notebook_caps(pull=False):
    caps = pull_caps() if pull else push_caps("utf-16")
    caps.notebook_document = t.NotebookDocumentClientCapabilities(
        synchronization=t.NotebookDocumentSyncClientCapabilities())
    return caps


class Notebook:
    """A notebook as VS Code syncs it: one notebook URI, a document per cell."""

    def __init__(self, client, path, cells):
        self.client, self.uri, self.version = client, uri(path), 1
        self.cells = [(kind, f"vscode-notebook-cell:{path.resolve()}#C{i}") for i, (kind, _) in enumerate(cells)]
        client.notebook_document_did_open(t.DidOpenNotebookDocumentParams(
            t.NotebookDocument(uri=self.uri, notebook_type="jupyter-notebook", version=1, cells=[
                t.NotebookCell(kind=self.kind(kind), document=cell) for kind, cell in self.cells]),
            [t.TextDocumentItem(uri=cell, language_id="python" if kind == "code" else "markdown", version=1, text=text)
             for (kind, cell), (_, text) in zip(self.cells, cells)]))

    @staticmethod
    def kind(kind):
        return t.NotebookCellKind.Code if kind == "code" else t.NotebookCellKind.Markup

    def cell(self, number):
        return self.cells[number - 1][1]

    def change(self, cells=None, structure=None):
        self.version += 1
        self.client.notebook_document_did_change(t.DidChangeNotebookDocumentParams(
            t.VersionedNotebookDocumentIdentifier(version=self.version, uri=self.uri),
            t.NotebookDocumentChangeEvent(cells=t.NotebookDocumentCellChanges(structure=structure, text_content=cells))))

    def edit(self, number, text):
        self.change(cells=[t.NotebookDocumentCellContentChanges(
            t.VersionedTextDocumentIdentifier(uri=self.cell(number), version=self.version + 1),
            [t.TextDocumentContentChangeWholeDocument(text=text)])])

    def insert(self, at, kind, text):
        """A new cell before cell `at` (1-based)."""
        cell = f"{self.cells[0][1].split('#')[0]}#N{self.version}"
        self.cells.insert(at - 1, (kind, cell))
        self.change(structure=t.NotebookDocumentCellChangeStructure(
            t.NotebookCellArrayChange(start=at - 1, delete_count=0, cells=[t.NotebookCell(kind=self.kind(kind), document=cell)]),
            did_open=[t.TextDocumentItem(uri=cell, language_id="python", version=1, text=text)]))

    def delete(self, number):
        _, cell = self.cells.pop(number - 1)
        self.change(structure=t.NotebookDocumentCellChangeStructure(
            t.NotebookCellArrayChange(start=number - 1, delete_count=1),
            did_close=[t.TextDocumentIdentifier(uri=cell)]))


async def cell_published(client, cell_uri, check):
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        found = client.diagnostics.get(cell_uri)
        if found is not None and check(found):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"diagnostics for {cell_uri}: {found}")
        await asyncio.sleep(0.05)


@pytest.fixture
def model_file(project):
    project("proj/models.py", MODELS)
    return project.root / "proj"


async def test_notebook_cells_get_their_own_diagnostics_and_a_fix_in_a_cell_clears_them(client, model_file, run_cli):
    result = await start(client, model_file, notebook_caps())
    sync = result.capabilities.notebook_document_sync
    assert [(s.notebook, [c.language for c in s.cells]) for s in sync.notebook_selector] == [("jupyter-notebook", ["python"])]
    nb = Notebook(client, model_file / "train.ipynb", [("markdown", "# Training\n\nThe loop."), ("code", IMPORTS_CELL),
                                                     ("code", LOOP_CELL)])
    (found,) = await cell_published(client, nb.cell(3), lambda f: len(f) == 1)
    assert (found.code, found.range.start.line, found.range.start.character) == ("NN201", 5, 11)
    assert (found.range.end.line, found.range.end.character) == (5, 33)
    assert found.data["cell"] == 3
    (related,) = found.related_information  # the softmax in the model, in its own file
    assert related.location.uri == uri(model_file / "models.py") and related.location.range.start.line == 12
    assert await cell_published(client, nb.cell(2), lambda f: True) in ([], ())
    assert nb.cell(1) not in client.diagnostics  # markdown gets nothing

    # the same findings as the CLI on the notebook file (cell 3, line 6, column 12)
    (model_file / "train.ipynb").write_text(__import__("test_notebook").notebook(
        ("markdown", "# Training\n\nThe loop."), ("code", IMPORTS_CELL), ("code", LOOP_CELL)), encoding="utf-8")
    result = run_cli("-q", "--select", "NN2", "proj")
    assert [line[:len("proj/train.ipynb:cell 3:6:12: NN201")] for line in result.lines] == [
        "proj/train.ipynb:cell 3:6:12: NN201"]

    nb.edit(3, LOOP_CELL.replace("model = Classifier(20, 3)", "model = nn.Linear(20, 3)"))  # logits: fine
    await cell_published(client, nb.cell(3), lambda f: len(f) == 0)
    nb.edit(3, LOOP_CELL)
    assert codes(await cell_published(client, nb.cell(3), lambda f: len(f) == 1)) == [("NN201", 5, 11)]

    # two markdown cells inserted before: the loop is cell 5 now, its range in the cell unchanged
    nb.insert(1, "markdown", "# Setup")
    nb.insert(3, "markdown", "Imports:")
    (found,) = await cell_published(client, nb.cell(5), lambda f: len(f) == 1 and f[0].data["cell"] == 5)
    assert (found.code, found.range.start.line, found.range.start.character) == ("NN201", 5, 11)

    nb.delete(2)  # a markdown cell: the loop is cell 4 again
    (found,) = await cell_published(client, nb.cell(4), lambda f: len(f) == 1 and f[0].data["cell"] == 4)
    assert codes([found]) == [("NN201", 5, 11)]
    loop = nb.cell(4)
    nb.delete(4)  # the loop cell itself: its diagnostics are cleared
    await cell_published(client, loop, lambda f: len(f) == 0)

    client.notebook_document_did_close(t.DidCloseNotebookDocumentParams(
        t.NotebookDocumentIdentifier(nb.uri), [t.TextDocumentIdentifier(c) for _, c in nb.cells]))


async def test_a_cell_with_a_syntax_error_gets_nn001_and_the_other_cells_keep_their_findings(client, model_file):
    await start(client, model_file, notebook_caps())
    nb = Notebook(client, model_file / "nb.ipynb", [("code", IMPORTS_CELL), ("code", "def broken(:\n    pass\n"),
                                                   ("code", LOOP_CELL)])
    (error,) = await cell_published(client, nb.cell(2), lambda f: len(f) == 1)
    assert (error.code, error.range.start.line) == ("NN001", 0)
    assert codes(await cell_published(client, nb.cell(3), lambda f: len(f) == 1)) == [("NN201", 5, 11)]
    assert await cell_published(client, nb.cell(1), lambda f: True) in ([], ())


async def test_pull_diagnostics_for_a_cell_and_its_noqa_quick_fix(client, model_file):
    await start(client, model_file, notebook_caps(pull=True))
    nb = Notebook(client, model_file / "nb.ipynb", [("markdown", "# Loop"), ("code", IMPORTS_CELL), ("code", LOOP_CELL)])
    async def pull(number):
        report = await client.text_document_diagnostic_async(t.DocumentDiagnosticParams(t.TextDocumentIdentifier(nb.cell(number))))
        return report.items

    deadline = asyncio.get_running_loop().time() + WAIT
    while codes(await pull(3)) != [("NN201", 5, 11)]:  # the workspace may still be indexing models.py
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    report = await client.text_document_diagnostic_async(t.DocumentDiagnosticParams(t.TextDocumentIdentifier(nb.cell(2))))
    assert list(report.items) == []
    (found,) = (await client.text_document_diagnostic_async(
        t.DocumentDiagnosticParams(t.TextDocumentIdentifier(nb.cell(3))))).items
    actions = await client.text_document_code_action_async(t.CodeActionParams(
        t.TextDocumentIdentifier(nb.cell(3)), found.range, t.CodeActionContext(diagnostics=[found])))
    noqa = next(a for a in actions if a.title == "Disable NN201 for this line")
    (edit,) = noqa.edit.changes[nb.cell(3)]
    assert (edit.range.start.line, edit.new_text) == (5, "    loss = criterion(model(x), y)  # noqa: NN201\n")
    nb.edit(3, LOOP_CELL.replace("model(x), y)\n", "model(x), y)  # noqa: NN201\n"))
    report = await client.text_document_diagnostic_async(t.DocumentDiagnosticParams(t.TextDocumentIdentifier(nb.cell(3))))
    assert list(report.items) == []
