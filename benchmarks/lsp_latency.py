"""Editor latency of `nnlint lsp` (issue 9's target: at most 3x libcst's own parse of the file).

    python benchmarks/lsp_latency.py                 # timm's file nearest 100 KB, timm as the workspace
    python benchmarks/lsp_latency.py --runs 9 --corpus torchvision

A real server process is driven over stdio by pygls' client. The workspace is the corpus package
(benchmarks/corpus.py: pinned wheel sources), indexed before anything is measured (the server
reports the end of indexing as work-done progress), and the file is opened once so the server is
warm. Then, for each run, one edit:

- pull: the time of a `textDocument/diagnostic` request for the edited file (a client that
  pulls asks right after its own debounce, so this is "end of debounce -> diagnostics sent",
  plus one JSON-RPC round trip);
- push: didChange -> publishDiagnostics, minus the server's debounce (DEBOUNCE_SECONDS).

Both include the per-file step on the buffer and the project pass over the workspace's facts.
The reference is parse_floor.parse_seconds of the same bytes in this process. Prints markdown.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import corpus  # noqa: E402
import parse_floor  # noqa: E402
from lsprotocol import types as t  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402

from nnlint.lsp import DEBOUNCE_SECONDS  # noqa: E402


class Client(LanguageClient):
    def __init__(self) -> None:
        super().__init__("nnlint-latency", "1")
        self.published: asyncio.Queue = asyncio.Queue()
        self.indexed = asyncio.Event()

        @self.feature(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def publish(params: t.PublishDiagnosticsParams) -> None:
            self.published.put_nowait((time.perf_counter(), params))

        @self.feature(t.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create(params: t.WorkDoneProgressCreateParams) -> None:
            return None

        @self.feature(t.PROGRESS)
        def progress(params: t.ProgressParams) -> None:
            if getattr(params.value, "kind", None) == "end" or (isinstance(params.value, dict) and params.value.get("kind") == "end"):
                self.indexed.set()

        @self.feature(t.WORKSPACE_DIAGNOSTIC_REFRESH)
        def refresh(params: None) -> None:
            return None


def capabilities(pull: bool) -> t.ClientCapabilities:
    return t.ClientCapabilities(
        window=t.WindowClientCapabilities(work_done_progress=True),
        text_document=t.TextDocumentClientCapabilities(diagnostic=t.DiagnosticClientCapabilities()) if pull else None,
        workspace=t.WorkspaceClientCapabilities(diagnostics=t.DiagnosticWorkspaceClientCapabilities(refresh_support=True))
        if pull else None,
    )


async def session(root: Path, path: Path, pull: bool, runs: int) -> tuple[list[float], float, int]:
    client = Client()
    await client.start_io(sys.executable, "-m", "nnlint", "lsp")
    start = time.perf_counter()
    await client.initialize_async(t.InitializeParams(capabilities=capabilities(pull), root_uri=root.as_uri()))
    client.initialized(t.InitializedParams())
    await asyncio.wait_for(client.indexed.wait(), timeout=3600)
    indexing = time.perf_counter() - start
    uri, text = path.as_uri(), path.read_text(encoding="utf-8")
    client.text_document_did_open(t.DidOpenTextDocumentParams(t.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    document = t.TextDocumentIdentifier(uri)
    count = 0
    if pull:
        report = await client.text_document_diagnostic_async(t.DocumentDiagnosticParams(text_document=document))  # warm-up
        count = len(report.items)
    else:
        count = len((await client.published.get())[1].diagnostics)
    times = []
    for run in range(runs):
        text += f"\n# edit {run}\n"
        client.text_document_did_change(t.DidChangeTextDocumentParams(
            t.VersionedTextDocumentIdentifier(uri=uri, version=run + 2), [t.TextDocumentContentChangeWholeDocument(text=text)]))
        sent = time.perf_counter()
        if pull:
            await client.text_document_diagnostic_async(t.DocumentDiagnosticParams(text_document=document))
            times.append(time.perf_counter() - sent)
        else:
            while True:
                arrived, params = await client.published.get()
                if params.uri == uri:
                    break
            times.append(arrived - sent - DEBOUNCE_SECONDS)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return times, indexing, count


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="timm", choices=sorted(corpus.PINNED))
    parser.add_argument("--size", type=int, default=100_000, help="bytes: the file nearest this size is edited")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    root = corpus.fetch(args.corpus, corpus.default_cache()).resolve()
    path = corpus.file_near(corpus.python_files([root]), args.size).resolve()
    data = path.read_bytes()
    parse = parse_floor.parse_seconds(data, "libcst", repeat=args.runs)
    pull, indexing, count = asyncio.run(session(root, path, True, args.runs))
    push, _, _ = asyncio.run(session(root, path, False, args.runs))
    parse_after = parse_floor.parse_seconds(data, "libcst", repeat=args.runs)  # the machine's load may drift
    floor = statistics.median([parse, parse_after])
    print(f"`nnlint lsp` latency on {args.corpus} (`{path.relative_to(root.parent)}`, {len(data) / 1000:.0f} KB, "
          f"{count} diagnostics; workspace indexed in {indexing:.1f} s); medians of {args.runs} edits\n")
    print("| step | seconds | x libcst parse |\n|---|---|---|")
    print(f"| libcst parse of the file | {floor:.3f} | 1.0 |")
    for name, times in (("pull: edit -> textDocument/diagnostic answered", pull),
                        (f"push: edit -> publishDiagnostics, minus the {DEBOUNCE_SECONDS} s debounce", push)):
        median = statistics.median(times)
        print(f"| {name} | {median:.3f} | {median / floor:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
