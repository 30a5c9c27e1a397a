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
