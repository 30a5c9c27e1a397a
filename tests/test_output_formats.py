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
NN111 = "'self.drop' (Dropout) is built in __init__ but never used: the dropout it configures is never applied; call it in forward() or remove it"
NN201 = ("nn.CrossEntropyLoss receives the softmax output of F.softmax(self.fc(x), dim=1) returned by "
         "PetClassifier.forward; cross-entropy applies log-softmax to its input itself, so the softmax is applied "
         "twice: the loss can no longer get near 0 and its gradients shrink; pass the logits")
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
            "data": {"name": "softmax-into-cross-entropy", "fix": {
                "message": "Remove the softmax at the end of PetClassifier.forward: return the logits",
                "applicability": "unsafe", "edits": [{"range": _range(14, 15, 43), "newText": "self.fc(x)"}]}},
        },
        {   # one emoji: code-point column 25 -> UTF-16 offset 25 (0-based); the fix is in UTF-16 too
            "range": _range(29, 25, 60), "severity": 2, "code": "NN208", "source": "nnlint", "message": NN208,
            "data": {"name": "log-of-softmax", "fix": {
                "message": "use log_softmax with the same dim", "applicability": "safe",
                "edits": [{"range": _range(29, 25, 35), "newText": ""}, {"range": _range(29, 59, 60), "newText": ""},
                          {"range": _range(29, 37, 44), "newText": "log_softmax"}]}},
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


def _sarif(run_cli, *args):
    result = run_cli("-q", "--output-format", "sarif", *args)
    return result.exit_code, json.loads(result.stdout)


def test_sarif_is_valid_against_the_official_schema_and_reads_as_github_expects(project, run_cli):
    import jsonschema

    from nnlint.docs import rule_page

    project("src/pets.py", PETS)
    code, log = _sarif(run_cli, ".")
    assert code == 1
    schema = json.loads((Path(__file__).parent / "sarif" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)
    assert (log["$schema"], log["version"], len(log["runs"])) == (schema["id"], "2.1.0", 1)
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["informationUri"]) == ("nnlint", "https://github.com/nnlint/nnlint")
    assert driver["version"] == __import__("nnlint").__version__
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": project.root.resolve().as_uri() + "/"}}
    rules = driver["rules"]
    assert [(r["id"], r["name"], r["defaultConfiguration"]["level"]) for r in rules] == [
        ("NN101", "dropout-before-batchnorm", "warning"), ("NN111", "unused-submodule", "warning"),
        ("NN201", "softmax-into-cross-entropy", "error"), ("NN208", "log-of-softmax", "warning")]
    nn201 = rules[2]
    assert nn201["shortDescription"]["text"].startswith("A softmax output reaches a loss that expects logits")
    assert nn201["fullDescription"]["text"].startswith("Reports a loss that expects logits")
    assert nn201["help"]["markdown"] == rule_page("NN201")
    assert nn201["helpUri"] == "https://github.com/nnlint/nnlint/blob/main/rules/NN201.md"

    def where(line, column, end_line, end_column):
        return {"artifactLocation": {"uri": "src/pets.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}}

    gitlab = json.loads(run_cli("-q", "--output-format", "gitlab", ".").stdout)
    assert [r.pop("partialFingerprints") for r in run["results"]] == [
        {"nnlintFingerprint/v1": issue["fingerprint"]} for issue in gitlab]
    assert run["results"] == [
        {"ruleId": "NN101", "ruleIndex": 0, "level": "warning", "message": {"text": NN101},
         "locations": [{"physicalLocation": where(5, 69, 5, 84)}],  # code points: the emoji count one each
         "relatedLocations": [{"id": 1, "physicalLocation": where(5, 86, 5, 103),
                               "message": {"text": "nn.BatchNorm1d(8) normalizes the dropped-out activations"}}]},
        {"ruleId": "NN111", "ruleIndex": 1, "level": "warning", "message": {"text": NN111},
         "locations": [{"physicalLocation": where(12, 9, 12, 18)}]},
        {"ruleId": "NN201", "ruleIndex": 2, "level": "error", "message": {"text": NN201},
         "locations": [{"physicalLocation": where(24, 16, 24, 38)}],
         "relatedLocations": [{"id": 1, "physicalLocation": where(15, 16, 15, 44), "message": {
             "text": "F.softmax(self.fc(x), dim=1) returned by PetClassifier.forward is a softmax output"}}]},
        {"ruleId": "NN208", "ruleIndex": 3, "level": "warning", "message": {"text": NN208},
         "locations": [{"physicalLocation": where(30, 25, 30, 60)}]},
    ]


def test_sarif_paths_are_relative_to_the_git_checkout_not_the_current_directory(project, run_cli, monkeypatch):
    project(".git/HEAD", "ref: refs/heads/main\n")
    project("pyproject.toml", '[tool.nnlint]\ndoc-url = "https://docs.example.com/{code}"\n')
    project("src/models/pets.py", PETS)
    monkeypatch.chdir(project.root / "src")
    code, log = _sarif(run_cli, "models")
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in log["runs"][0]["results"]]
    assert locations == [{"uri": "src/models/pets.py", "uriBaseId": "%SRCROOT%"}] * 4
    assert log["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] == "https://docs.example.com/NN101"


def test_sarif_of_a_clean_run_is_an_empty_run(project, run_cli):
    project("ok.py", "import torch.nn as nn\nnet = nn.Sequential(nn.Linear(2, 2))\n")
    code, log = _sarif(run_cli, ".")
    assert (code, log["runs"][0]["results"], log["runs"][0]["tool"]["driver"]["rules"]) == (0, [], [])


def test_github_annotations_with_the_actions_toolkit_escaping(project, run_cli):
    project("runs,v2:final/pets.py", PETS)
    assert run_cli("-q", "--output-format", "github", ".").lines == [
        f"::warning file=runs%2Cv2%3Afinal/pets.py,line=5,col=69,endLine=5,endColumn=84,title=nnlint (NN101)::{NN101}",
        f"::warning file=runs%2Cv2%3Afinal/pets.py,line=12,col=9,endLine=12,endColumn=18,title=nnlint (NN111)::{NN111}",
        f"::error file=runs%2Cv2%3Afinal/pets.py,line=24,col=16,endLine=24,endColumn=38,title=nnlint (NN201)::{NN201}",
        f"::warning file=runs%2Cv2%3Afinal/pets.py,line=30,col=25,endLine=30,endColumn=60,title=nnlint (NN208)::{NN208}",
    ]


def test_github_escapes_percent_and_line_breaks_in_messages_and_notice_for_information():
    from nnlint.report.github import format_github

    d = Diagnostic("a,b.py", Span(3, 1, 3, 9), "NN310", "lr stays at 100% of 1e-3\r\nfor 90 epochs: add a schedule")
    assert format_github([d]) == (
        "::notice file=a%2Cb.py,line=3,col=1,endLine=3,endColumn=9,title=nnlint (NN310)"
        "::lr stays at 100%25 of 1e-3%0D%0Afor 90 epochs: add a schedule\n")


def _gitlab(run_cli):
    return json.loads(run_cli("-q", "--output-format", "gitlab", ".").stdout)


def test_gitlab_code_quality_report(project, run_cli):
    project("pets.py", PETS)
    issues = _gitlab(run_cli)
    for issue in issues:
        assert len(issue.pop("fingerprint")) == 64
    assert issues == [
        {"description": NN101, "check_name": "NN101", "severity": "minor",
         "location": {"path": "pets.py", "lines": {"begin": 5, "end": 5}}},
        {"description": NN111, "check_name": "NN111", "severity": "minor",
         "location": {"path": "pets.py", "lines": {"begin": 12, "end": 12}}},
        {"description": NN201, "check_name": "NN201", "severity": "major",
         "location": {"path": "pets.py", "lines": {"begin": 24, "end": 24}}},
        {"description": NN208, "check_name": "NN208", "severity": "minor",
         "location": {"path": "pets.py", "lines": {"begin": 30, "end": 30}}},
    ]


def test_gitlab_fingerprints_survive_runs_and_line_moves_but_tell_findings_apart(project, run_cli):
    project("pets.py", PETS)
    before = _gitlab(run_cli)
    assert _gitlab(run_cli) == before
    # a docstring and an import inserted above: every finding moves down 3 lines, keeps its fingerprint
    project("pets.py", '"""Pet classifier."""\n\nimport os\n' + PETS)
    after = _gitlab(run_cli)
    assert [i["location"]["lines"]["begin"] for i in after] == [8, 15, 27, 33]
    assert [i["fingerprint"] for i in after] == [i["fingerprint"] for i in before]
    assert len({i["fingerprint"] for i in after}) == 4
    # the same mistake twice in one file: two findings, two fingerprints
    block = "    return nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.BatchNorm1d(8))\n"
    project("pets.py", f"import torch.nn as nn\n\n\ndef cat_head():\n{block}\n\ndef dog_head():\n{block}")
    issues = _gitlab(run_cli)
    assert [(i["check_name"], i["location"]["lines"]["begin"]) for i in issues] == [("NN101", 5), ("NN101", 9)]
    assert issues[0]["fingerprint"] != issues[1]["fingerprint"]


def test_ci_formats_place_a_notebook_finding_on_its_line_of_the_ipynb_file(project, run_cli):
    import jsonschema

    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# Pets 🐱\n"]},
             {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": ["import torch.nn as nn\n", "\n",
                         "head = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.BatchNorm1d(8))\n"]}]
    project("pets.ipynb", json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1))
    # line 18 of the .ipynb file holds the cell's third line
    assert run_cli("-q", "--output-format", "github", ".").lines == [
        f"::warning file=pets.ipynb,line=18,title=nnlint (NN101)::cell 2, line 3: {NN101}"]
    assert [i["location"] for i in _gitlab(run_cli)] == [{"path": "pets.ipynb", "lines": {"begin": 18}}]
    _, log = _sarif(run_cli, ".")
    schema = json.loads((Path(__file__).parent / "sarif" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)
    result = log["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 18, "startColumn": 1}
    assert result["properties"] == {"cell": 2, "cellLine": 3, "cellColumn": 39}
    assert result["message"]["text"] == f"cell 2, line 3: {NN101}"
