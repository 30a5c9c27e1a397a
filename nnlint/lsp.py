"""`nnlint lsp`: a Language Server over stdio (pygls 2), a thin adapter over the engine.

No rule logic here. nnlint.workspace keeps every workspace file's facts current and answers
"what are this file's diagnostics" exactly as `nnlint` linting the workspace would; this module
speaks LSP: documents in, diagnostics and code actions out, positions in the negotiated encoding.

Diagnostics are pulled (`textDocument/diagnostic`) when the client supports pull diagnostics and
`workspace/diagnostic/refresh` (nnlint's findings cross files: a client that cannot be told to
re-pull would keep a dependant's diagnostics stale); otherwise they are pushed after a debounce.
Never both: diagnosticProvider is only advertised in pull mode.

Notebooks (LSP 3.17 notebookDocument/* sync): the cells' current texts are linted as the .ipynb
file would be (nnlint.notebook.notebook_json, then the same workspace buffer path), and each
code cell's diagnostics go to that cell's own document URI, ranges relative to the cell.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.lsp.server import LanguageServer

from nnlint import __version__
from nnlint.diagnostics import Diagnostic
from nnlint.files import Unreadable, decode_source, source_lines
from nnlint.notebook import notebook_json
from nnlint.report.lsp import character, lsp_diagnostic
from nnlint.workspace import Workspace

DEBOUNCE_SECONDS = 0.25
FIX_ALL_KIND = "source.fixAll.nnlint"
_converter = get_converter()
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(notebook_selector=[types.NotebookDocumentFilterWithCells(
    notebook="jupyter-notebook", cells=[types.NotebookCellLanguage(language="python")])], save=True)


# -- documents ----------------------------------------------------------------------------------
def uri_path(uri: str) -> str | None:
    """The local path of a file:// URI; None for any other scheme (untitled:, git:, ...)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return os.path.abspath(unquote(parsed.path))


def _line_edit(old: str, new: str, encoding: str) -> types.TextEdit | None:
    """The smallest run of whole lines that turns `old` into `new`, as one TextEdit."""
    a, b = _LINE.findall(old), _LINE.findall(new)
    if a == b:
        return None
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    end_line = len(a) - tail
    if end_line == len(a) and a and not a[-1].endswith(("\n", "\r")):
        end = types.Position(len(a) - 1, character(a[-1], len(a[-1]) + 1, encoding))
    else:
        end = types.Position(end_line, 0)
    return types.TextEdit(types.Range(types.Position(head, 0), end), "".join(b[head: len(b) - tail]))


class NNLintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("nnlint", __version__, notebook_document_sync=NOTEBOOK_SYNC)
        self.index: Workspace | None = None
        self.pull = False  # textDocument/diagnostic (else publishDiagnostics)
        self.open: dict[str, str] = {}  # path -> the client's URI for it
        self.notebooks: dict[str, str] = {}  # an open notebook's path -> its notebook URI
        self.cells: dict[str, list[tuple[str, str | None]]] = {}  # notebook path -> per cell (all kinds): (URI, text or None if not code), as last linted
        self.reported: dict[str, list[dict]] = {}  # URI -> the LSP diagnostics last sent or returned
        self.latest: dict[str, list[tuple[Diagnostic, dict]]] = {}  # URI -> last lint: (nnlint's, LSP's) (code actions)
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnlint-lint")
        self.stopping = threading.Event()
        self._pending: asyncio.Task | None = None
        self._edited: set[str] = set()  # documents edited since the last publish
        self.versions: dict[str, int | None] = {}  # URI -> the version last linted
        self._indexing: asyncio.Future | None = None
        self._tokens = 0
        self.indexer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnlint-index")
        self.loop: asyncio.AbstractEventLoop | None = None

    # -- helpers --------------------------------------------------------------------------------
    @property
    def encoding(self) -> str:
        value = self.workspace.position_encoding or "utf-16"
        return str(getattr(value, "value", value))

    def message(self, text: str, kind: types.MessageType = types.MessageType.Error) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"nnlint: {text}"))

    def snapshot(self) -> dict[str, tuple[str, str, int | None]]:
        """Every open document: path -> (URI, text, version), read on the event loop."""
        out = {}
        for path, uri in self.open.items():
            doc = self.workspace.text_documents.get(unquote(uri)) or self.workspace.text_documents.get(uri)
            if doc is not None:
                out[path] = (uri, doc.source, doc.version)
        for path, uri in self.notebooks.items():
            notebook = self.workspace.get_notebook_document(notebook_uri=uri)
            if notebook is None:
                continue
            cells = []
            for cell in notebook.cells:
                doc = self.workspace.text_documents.get(unquote(cell.document))
                code = cell.kind == types.NotebookCellKind.Code
                cells.append((cell.document, doc.source if doc is not None and code else None,
                              "code" if code else "markdown", doc.source if doc is not None else ""))
            text = notebook_json([(kind, source) for _, _, kind, source in cells], notebook.metadata)
            out[path] = (uri, text, notebook.version)
            self.cells[path] = [(cell_uri, code) for cell_uri, code, _, _ in cells]
        return out

    def cell_uris(self, uri: str) -> list[str]:
        """The code cells' URIs of the notebook `uri`, as last linted ([] for a text document)."""
        for path, notebook in self.notebooks.items():
            if notebook == uri:
                return [cell for cell, code in self.cells.get(path, []) if code is not None]
        return []

    # -- the lint step (worker thread) ----------------------------------------------------------
    def compute(self, docs: dict[str, tuple[str, str, int | None]]) -> tuple[dict[str, list[Diagnostic]], str | None, bool]:
        """Update the open buffers' facts and lint every open document: {path: diagnostics}, a
        config error to show (or None), and whether the settings changed (re-index)."""
        index = self.index
        error, changed = None, False
        if index.config_changed():
            generation = index.generation
            error = index.load_config()
            changed = index.generation != generation
        for path, (_, text, _) in docs.items():
            index.set_buffer(path, text)
        return index.diagnostics(list(docs)), error, changed

    def to_lsp(self, found: list[Diagnostic], texts: dict[str, list[str] | None]) -> list[dict]:
        """LSP diagnostics; `texts` holds the lines of files already read (the disk is read for others)."""

        def line_text(file: str, line: int, cell: int | None = None) -> str | None:
            if file not in texts:
                texts[file] = _disk_lines(file)
            if cell is None:
                lines = texts[file]
            else:  # an open notebook's cell: its text in the editor (unknown elsewhere: code points)
                cells = self.cells.get(file, [])
                code = cells[cell - 1][1] if 0 < cell <= len(cells) else None
                lines = source_lines(code) if code is not None else None
            return lines[line - 1] if lines is not None and 0 < line <= len(lines) else None

        def uri_of(file: str) -> str:
            return self.open.get(file) or self.notebooks.get(file) or Path(file).as_uri()

        return [lsp_diagnostic(d, line_text, self.encoding, self.index.doc_url, uri_of) for d in found]

    async def lint_open(self) -> dict[str, list[dict]]:
        """Lint every open document in the worker; returns {URI: LSP diagnostics} of the documents
        whose text is still the one linted (a newer edit makes a result stale: it is dropped)."""
        docs = self.snapshot()
        if not docs:
            return {}
        loop = asyncio.get_running_loop()
        found, error, changed = await loop.run_in_executor(self.worker, self.compute, docs)
        if error:
            self.message(f"configuration not applied: {error}")
        if changed:
            self.start_indexing()
        now = self.snapshot()
        out = {}
        texts: dict[str, list[str] | None] = {}
        for path, (uri, text, version) in docs.items():
            texts[path] = source_lines(text)
        for path, (uri, text, version) in docs.items():
            if path in now and now[path][1] == text:
                items = self.to_lsp(found.get(path, []), texts)
                pairs = list(zip(found.get(path, []), items))
                if path in self.notebooks:
                    out.update(self._per_cell(path, pairs))
                    continue
                out[uri] = items
                self.versions[uri] = version
                self.latest[uri] = pairs
        return out

    def _per_cell(self, path: str, pairs: list[tuple[Diagnostic, dict]]) -> dict[str, list[dict]]:
        """A notebook's diagnostics split by code cell: {cell URI: LSP diagnostics} (every code
        cell, [] when clean). One that names no cell (an unreadable notebook) goes to the first."""
        code = [(number, uri) for number, (uri, text) in enumerate(self.cells.get(path, []), 1) if text is not None]
        if not code:
            return {}
        by_number = dict(code)
        out: dict[str, list[dict]] = {uri: [] for _, uri in code}
        for d, item in pairs:
            uri = by_number.get(d.cell, code[0][1])
            out[uri].append(item)
        for _, uri in code:
            self.latest[uri] = [(d, item) for d, item in pairs if by_number.get(d.cell, code[0][1]) == uri]
            doc = self.workspace.text_documents.get(unquote(uri))
            self.versions[uri] = doc.version if doc is not None else None
        return out

    # -- push mode -------------------------------------------------------------------------------
    def schedule(self, delay: float = DEBOUNCE_SECONDS, edited: str | None = None) -> None:
        """(Re)start the debounce: only the last edit in a burst is linted. An `edited` document
        is always published again; the other open ones only when their diagnostics changed."""
        if edited is not None:
            self._edited.add(edited)
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()
        self._pending = asyncio.ensure_future(self._publish_after(delay))

    async def _publish_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            results = await self.lint_open()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug shows as a message; the server keeps serving
            self.message(f"internal error: {type(exc).__name__}: {exc}")
            return
        if self.pull:
            changed = [uri for uri, items in results.items() if uri in self.reported and self.reported[uri] != items]
            if changed:
                self.workspace_diagnostic_refresh(None)
            return
        edited, self._edited = self._edited, set()
        edited |= {cell for uri in edited for cell in self.cell_uris(uri)}
        for uri, items in results.items():
            if uri in edited or self.reported.get(uri) != items:
                self.reported[uri] = items
                self.publish(uri, items, self.versions.get(uri))

    def publish(self, uri: str, items: list[dict], version: int | None = None) -> None:
        diagnostics = [_converter.structure(item, types.Diagnostic) for item in items]
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics,
                                                                              version=version))

    # -- background indexing --------------------------------------------------------------------
    def start_indexing(self) -> None:
        """Read every workspace file's facts in the background; re-lint the open files when done."""
        if self._indexing is not None and not self._indexing.done():
            self._indexing.cancel()
        self._indexing = asyncio.ensure_future(self._index())

    async def _index(self) -> None:
        index, loop = self.index, asyncio.get_running_loop()
        token = await self._progress_begin("nnlint: indexing the workspace")
        try:
            paths = await loop.run_in_executor(self.indexer, index.python_files)

            def progress(done: int) -> None:
                if token is not None and done % 50 == 0:
                    loop.call_soon_threadsafe(self.work_done_progress.report, token, types.WorkDoneProgressReport(
                        message=f"{done}/{len(paths)} files", percentage=done * 100 // max(len(paths), 1)))

            await loop.run_in_executor(self.indexer, index.index, paths, self.stopping.is_set, progress)
        except Exception as exc:  # noqa: BLE001 - the server keeps serving the open files
            self.message(f"indexing the workspace failed: {exc}")
        finally:
            if token is not None:
                self.work_done_progress.end(token, types.WorkDoneProgressEnd(message="done"))
        if not self.stopping.is_set():
            self.schedule(0)

    async def _progress_begin(self, title: str) -> str | None:
        window = self.client_capabilities.window
        if not (window and window.work_done_progress):
            return None
        self._tokens += 1
        token = f"nnlint-index-{self._tokens}"
        try:
            await self.work_done_progress.create_async(token)
        except Exception:  # noqa: BLE001 - a client that refuses the token gets no progress
            return None
        self.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=title, percentage=0))
        return token


def _disk_lines(path: str) -> list[str] | None:
    if path.endswith(".onnx"):
        return None
    try:
        with open(path, "rb") as handle:
            return source_lines(decode_source(handle.read()))
    except (OSError, Unreadable):
        return None


def _root(params: types.InitializeParams) -> str:
    for uri in [f.uri for f in params.workspace_folders or []] + [params.root_uri or ""]:
        path = uri_path(uri) if uri else None
        if path:
            return path
    return params.root_path or os.getcwd()


def _supports_pull(caps: types.ClientCapabilities) -> bool:
    pull = caps.text_document is not None and caps.text_document.diagnostic is not None
    refresh = caps.workspace is not None and caps.workspace.diagnostics is not None \
        and bool(caps.workspace.diagnostics.refresh_support)
    return pull and refresh


def _watches_files(caps: types.ClientCapabilities) -> bool:
    watched = caps.workspace.did_change_watched_files if caps.workspace else None
    return bool(watched and watched.dynamic_registration)


def build_server() -> NNLintServer:
    server = NNLintServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: NNLintServer, params: types.InitializeParams) -> None:
        caps = params.capabilities
        ls.pull = _supports_pull(caps)
        ls.index = Workspace(_root(params), check_disk=not _watches_files(caps))
        if ls.pull:
            ls.feature(types.TEXT_DOCUMENT_DIAGNOSTIC,
                       types.DiagnosticOptions(identifier="nnlint", inter_file_dependencies=True,
                                               workspace_diagnostics=False))(pull_diagnostics)

    async def pull_diagnostics(ls: NNLintServer, params: types.DocumentDiagnosticParams):
        uri = params.text_document.uri
        path = uri_path(uri)
        if ls.workspace.get_notebook_document(cell_uri=uri) is not None:
            results = await ls.lint_open()
            items = results.get(uri, ls.reported.get(uri, []))
        elif path is None or path not in ls.open:
            items = await ls.loop.run_in_executor(ls.worker, _lint_unopened, ls, uri)
        else:
            results = await ls.lint_open()
            items = results.get(uri, ls.reported.get(uri, []))
            others = [u for u, found in results.items() if u != uri and u in ls.reported and ls.reported[u] != found]
            if others:
                ls.workspace_diagnostic_refresh(None)
        ls.reported[uri] = items
        return types.RelatedFullDocumentDiagnosticReport(
            items=[_converter.structure(item, types.Diagnostic) for item in items])

    @server.feature(types.INITIALIZED)
    async def initialized(ls: NNLintServer, params: types.InitializedParams) -> None:
        ls.loop = asyncio.get_running_loop()
        error = await ls.loop.run_in_executor(ls.worker, ls.index.load_config)
        if error:
            ls.message(f"configuration not applied: {error}")
        if _watches_files(ls.client_capabilities):
            watchers = [types.FileSystemWatcher(glob_pattern=g) for g in ("**/*.py", "**/pyproject.toml")]
            ls.client_register_capability(types.RegistrationParams(registrations=[types.Registration(
                id="nnlint-watched-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers))]))
        ls.start_indexing()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: NNLintServer, params: types.DidOpenTextDocumentParams) -> None:
        path = uri_path(params.text_document.uri)
        if path is not None:
            ls.open[path] = params.text_document.uri
            if not ls.pull:
                ls.schedule(0, params.text_document.uri)
        elif not ls.pull:
            ls.publish(params.text_document.uri, _lint_unopened(ls, params.text_document.uri))

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: NNLintServer, params: types.DidChangeTextDocumentParams) -> None:
        path = uri_path(params.text_document.uri)
        if path is None:
            if not ls.pull:
                ls.publish(params.text_document.uri, _lint_unopened(ls, params.text_document.uri))
            return
        if not ls.pull:
            ls.schedule(edited=params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: NNLintServer, params: types.DidSaveTextDocumentParams) -> None:
        if not ls.pull:
            ls.schedule(0, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: NNLintServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        path = uri_path(uri)
        ls.open.pop(path, None)
        ls.reported.pop(uri, None)
        ls.latest.pop(uri, None)
        ls.versions.pop(uri, None)
        if not ls.pull:
            ls.publish(uri, [])
        if path is not None:
            await ls.loop.run_in_executor(ls.worker, ls.index.close_buffer, path)
            ls.schedule(0)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_open(ls: NNLintServer, params: types.DidOpenNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        path = uri_path(uri)
        if path is None:
            return  # an untitled notebook: no path to lint it as (not supported yet)
        ls.notebooks[path] = uri
        if not ls.pull:
            ls.schedule(0, uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_change(ls: NNLintServer, params: types.DidChangeNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        structure = params.change.cells.structure if params.change.cells else None
        for gone in (structure.did_close or []) if structure else []:
            _forget(ls, gone.uri)
        if uri_path(uri) in ls.notebooks and not ls.pull:
            ls.schedule(edited=uri)
        elif uri_path(uri) in ls.notebooks and ls.pull:
            ls.schedule()  # a changed cell can change the others' diagnostics: refresh when they do

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_save(ls: NNLintServer, params: types.DidSaveNotebookDocumentParams) -> None:
        if not ls.pull:
            ls.schedule(0, params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    async def notebook_close(ls: NNLintServer, params: types.DidCloseNotebookDocumentParams) -> None:
        path = uri_path(params.notebook_document.uri)
        for cell in params.cell_text_documents:
            _forget(ls, cell.uri)
        for cell, _ in ls.cells.pop(path, []):
            _forget(ls, cell)
        if ls.notebooks.pop(path, None) is not None:
            await ls.loop.run_in_executor(ls.worker, ls.index.close_buffer, path)
            ls.schedule(0)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def watched(ls: NNLintServer, params: types.DidChangeWatchedFilesParams) -> None:
        for change in params.changes:
            path = uri_path(change.uri)
            if path is None or path in ls.open or not path.endswith(".py"):
                continue  # an open buffer's text wins; pyproject.toml is re-checked on every lint
            await ls.loop.run_in_executor(ls.worker, ls.index.refresh, path)
        ls.schedule(0)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND]))
    async def code_action(ls: NNLintServer, params: types.CodeActionParams):
        uri = params.text_document.uri
        path = uri_path(uri)
        doc = ls.workspace.text_documents.get(unquote(uri)) or ls.workspace.text_documents.get(uri)
        notebook = ls.workspace.get_notebook_document(cell_uri=uri)
        if notebook is not None:
            path = uri_path(notebook.uri)  # a cell: its quick fixes and noqa edit the cell's text
        if path is None or doc is None or uri not in ls.latest:
            return None  # only documents the server has linted
        return await ls.loop.run_in_executor(ls.worker, code_actions, ls, params, path, doc.source,
                                             notebook is None)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: NNLintServer, params: Any) -> None:
        ls.stopping.set()

    return server


def _forget(ls: NNLintServer, uri: str) -> None:
    """A cell that left its notebook (deleted, or the notebook closed): its diagnostics are cleared."""
    had = ls.reported.pop(uri, None)
    ls.latest.pop(uri, None)
    ls.versions.pop(uri, None)
    if had and not ls.pull:
        ls.publish(uri, [])


def _lint_unopened(ls: NNLintServer, uri: str) -> list[dict]:
    """A document the workspace does not track (not a file:// URI, or never opened): its per-file
    diagnostics alone, from the client's text or the disk; nothing when there is neither."""
    doc = ls.workspace.text_documents.get(unquote(uri)) or ls.workspace.text_documents.get(uri)
    path = uri_path(uri)
    if doc is not None:
        text = doc.source
    elif path is not None and os.path.isfile(path):
        lines = _disk_lines(path)
        text = "\n".join(lines) if lines is not None else ""
    else:
        return []
    name = path or os.path.join(ls.index.root, os.path.basename(urlparse(uri).path) or "untitled.py")
    found = ls.index.lint_alone(name, text)
    return ls.to_lsp(found, {name: source_lines(text)})


def _wanted(kind: str, only: list[str] | None) -> bool:
    """Whether a code action of `kind` answers a request for `only` (kinds are dotted hierarchies)."""
    return only is None or any(kind == o or kind.startswith(f"{o}.") for o in only)


def _overlaps(item: dict, wanted: types.Range) -> bool:
    start, end = item["range"]["start"]["line"], item["range"]["end"]["line"]
    return start <= wanted.end.line and wanted.start.line <= end


def code_actions(ls: NNLintServer, params: types.CodeActionParams, path: str, text: str,
                 fix_all: bool = True) -> list[types.CodeAction]:
    """Quick fixes (the rule's own fix, "Disable NNxxx for this line") for the diagnostics under
    the cursor, and source.fixAll.nnlint for the whole document (safe fixes only; not offered
    on a notebook cell, whose fixes may reach other cells)."""
    from nnlint.fixes import add_noqa, apply_fixes

    uri, encoding = params.text_document.uri, ls.encoding
    only = [str(getattr(k, "value", k)) for k in params.context.only] if params.context.only else None
    asked = {(d.code, d.range.start.line, d.range.start.character) for d in params.context.diagnostics}
    actions: list[types.CodeAction] = []
    latest = ls.latest.get(uri, [])
    if _wanted(types.CodeActionKind.QuickFix.value, only):
        for d, item in latest:
            key = (item["code"], item["range"]["start"]["line"], item["range"]["start"]["character"])
            if (asked and key not in asked) or (not asked and not _overlaps(item, params.range)):
                continue
            diagnostic = _converter.structure(item, types.Diagnostic)
            fix = item["data"]["fix"]
            if fix is not None:
                edits = [types.TextEdit(_converter.structure(e["range"], types.Range), e["newText"]) for e in fix["edits"]]
                title = f"{d.code}: {fix['message']}" + ("" if fix["applicability"] == "safe" else " (unsafe)")
                actions.append(types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic],
                                                is_preferred=fix["applicability"] == "safe",
                                                edit=types.WorkspaceEdit(changes={uri: edits})))
            edit = _line_edit(text, add_noqa(text, d.line, [d.code]), encoding)
            if edit is not None:
                actions.append(types.CodeAction(title=f"Disable {d.code} for this line", kind=types.CodeActionKind.QuickFix,
                                                diagnostics=[diagnostic], edit=types.WorkspaceEdit(changes={uri: [edit]})))
    if fix_all and _wanted(FIX_ALL_KIND, only) and any(d.fix is not None and d.fix.safe for d, _ in latest):
        fixed, _ = apply_fixes(path, text, ls.index.settings_for(path))
        edit = _line_edit(text, fixed, encoding)
        if edit is not None:
            actions.append(types.CodeAction(title="nnlint: fix all auto-fixable problems", kind=FIX_ALL_KIND,
                                            edit=types.WorkspaceEdit(changes={uri: [edit]})))
    return actions


def serve() -> None:
    build_server().start_io()
