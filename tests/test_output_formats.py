"""--output-format: the exact output of every format on a real-looking buggy file.

The file has non-BMP characters (emoji) before its findings on the same line: nnlint's columns
count code points, LSP's count UTF-16 units, so the two differ there by one per emoji.
"""

import json
from pathlib import Path

from nnlint.diagnostics import Diagnostic, Span
from nnlint.report.lsp import lsp_diagnostic

PETS = """\
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = ["🐱 cat", "🐶 dog"]; head = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.BatchNorm1d(8))


class PetClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, len(CLASSES))
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)


def train(loader):
    model = PetClassifier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()


def confidence(logits):
    label = "🐱"; return torch.log(F.softmax(logits, dim=1)).max(dim=1).values
"""

NN101 = "nn.Dropout(0.5) feeds nn.BatchNorm1d(8) directly; apply dropout after the normalization (variance shift)"
NN111 = "'self.drop' (Dropout) is built in __init__ but never used: it never takes effect; call it in forward() or remove it"
NN201 = ("nn.CrossEntropyLoss receives the softmax output of F.softmax(self.fc(x), dim=1) returned by "
         "PetClassifier.forward; cross-entropy applies log-softmax to its input itself, so the softmax is applied "
         "twice and gradients vanish; pass the logits")
NN208 = "log of F.softmax(logits, dim=1) underflows to -inf for small probabilities; use log_softmax with the same dim"


def _range(line, start, end, end_line=None):
    return {"start": {"line": line, "character": start}, "end": {"line": end_line or line, "character": end}}


def _page_uri(href, code):
    """A rule page shipped with the package: a file:// URI of an existing NNxxx.md."""
    assert href.startswith("file:///") and href.endswith(f"/{code}.md"), href
    path = Path.from_uri(href) if hasattr(Path, "from_uri") else Path(href[len("file://"):])
    assert path.read_text(encoding="utf-8").startswith(f"# {code} ")
    return href


def test_lsp_maps_document_uris_to_diagnostics_with_utf16_columns(project, run_cli):
    path = project("pets.py", PETS)
    result = run_cli("-q", "--output-format", "lsp", ".")
    assert result.exit_code == 1
    documents = json.loads(result.stdout)
    assert list(documents) == [path.resolve().as_uri()]
    found = documents[path.resolve().as_uri()]
    hrefs = [_page_uri(d.pop("codeDescription")["href"], d["code"]) for d in found]
    assert [h.rsplit("/", 1)[1] for h in hrefs] == ["NN101.md", "NN111.md", "NN201.md", "NN208.md"]
    uri = path.resolve().as_uri()
    assert found == [
        {   # text column 69 (code points): two emoji before it are two UTF-16 units each -> 70, 0-based
            "range": _range(4, 70, 85), "severity": 2, "code": "NN101", "source": "nnlint", "message": NN101,
            "relatedInformation": [{"location": {"uri": uri, "range": _range(4, 87, 104)},
                                    "message": "nn.BatchNorm1d(8) normalizes the dropped-out activations"}],
            "data": {"name": "dropout-before-batchnorm", "fix": {
                "message": "Swap the dropout and the normalization (renumbers the Sequential's state_dict keys)",
                "applicability": "unsafe",
                "edits": [{"range": _range(4, 70, 85), "newText": "nn.BatchNorm1d(8)"},
                          {"range": _range(4, 87, 104), "newText": "nn.Dropout(0.5)"}]}},
        },
        {
            "range": _range(11, 8, 17), "severity": 2, "code": "NN111", "source": "nnlint", "message": NN111,
            "tags": [1], "data": {"name": "unused-submodule", "fix": None},
        },
        {
            "range": _range(23, 15, 37), "severity": 1, "code": "NN201", "source": "nnlint", "message": NN201,
            "relatedInformation": [{"location": {"uri": uri, "range": _range(14, 15, 43)},
                                    "message": "F.softmax(self.fc(x), dim=1) returned by PetClassifier.forward "
                                               "is a softmax output"}],
            "data": {"name": "softmax-into-cross-entropy", "fix": None},
        },
        {   # one emoji: code-point column 25 -> UTF-16 offset 25 (0-based); the fix is in UTF-16 too
            "range": _range(29, 25, 60), "severity": 2, "code": "NN208", "source": "nnlint", "message": NN208,
            "data": {"name": "log-of-softmax", "fix": {
                "message": "use log_softmax with the same dim", "applicability": "safe",
                "edits": [{"range": _range(29, 25, 60), "newText": "F.log_softmax(logits, dim=1)"}]}},
        },
    ]


def test_lsp_diagnostic_counts_columns_in_the_negotiated_encoding():
    line = 'x = "🐱é"; y = torch.log(F.softmax(z, dim=1))'
    d = Diagnostic("m.py", Span(1, 20, 1, 44), "NN208", "log of softmax")
    at = {enc: lsp_diagnostic(d, lambda path, n, cell: line, enc)["range"] for enc in ("utf-8", "utf-16", "utf-32")}
    assert at["utf-32"] == _range(0, 19, 43)  # code points
    assert at["utf-16"] == _range(0, 20, 44)  # 🐱 is a surrogate pair
    assert at["utf-8"] == _range(0, 23, 47)  # 🐱 is 4 bytes, é 2
    # no text for the line (an ONNX node, a vanished file): code points, never a crash
    assert lsp_diagnostic(d, lambda path, n, cell: None)["range"] == _range(0, 19, 43)


def test_doc_url_names_a_hosted_copy_for_every_link(project, run_cli):
    project("pyproject.toml", '[tool.nnlint]\ndoc-url = "https://docs.example.com/nnlint/{code}.html"\n')
    path = project("pets.py", PETS)
    found = json.loads(run_cli("-q", "--output-format", "lsp", ".").stdout)[path.resolve().as_uri()]
    assert [d["codeDescription"]["href"] for d in found] == [
        f"https://docs.example.com/nnlint/{code}.html" for code in ("NN101", "NN111", "NN201", "NN208")]
    assert json.loads(run_cli("-q", "--output-format", "json", ".").stdout)[0]["url"] == \
        "https://docs.example.com/nnlint/NN101.html"


def test_json_url_keeps_the_hosted_page_without_doc_url(project, run_cli):
    project("pets.py", PETS)
    assert json.loads(run_cli("-q", "--output-format", "json", ".").stdout)[0]["url"] == \
        "https://github.com/nnlint/nnlint/blob/main/rules/NN101.md"


def test_doc_url_must_be_a_url_template_with_code(project, run_cli):
    project("pets.py", PETS)
    for bad in ('"https://docs.example.com/nnlint/"', '"docs/{code}.md"', '"https://x/{rule}.html"', "3"):
        project("pyproject.toml", f"[tool.nnlint]\ndoc-url = {bad}\n")
        result = run_cli(".")
        assert result.exit_code == 2
        assert "'doc-url' in [tool.nnlint] must be a URL template containing {code}" in result.stderr


def test_concise_is_the_text_line_and_full_adds_the_source(project, run_cli):
    # a form feed (a page break some projects keep between sections) is not a line break:
    # the source shown is the reported line, not the one above it
    project("net.py", "import torch.nn as nn\n\x0c\nnet = nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(8))\n")
    line = f"net.py:3:21: NN101 {NN101}"
    assert run_cli("-q", "--output-format", "concise", ".").stdout == run_cli("-q", ".").stdout == line + "\n"
    assert run_cli("-q", "--output-format", "full", ".").lines == [
        line, "net = nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(8))", " " * 20 + "^"]


def test_json_lines_is_one_json_object_per_finding(project, run_cli):
    project("pets.py", PETS)
    lines = run_cli("-q", "--output-format", "json-lines", ".").lines
    assert [json.loads(line) for line in lines] == json.loads(run_cli("-q", "--output-format", "json", ".").stdout)
    assert [json.loads(line)["code"] for line in lines] == ["NN101", "NN111", "NN201", "NN208"]
