"""The demo: `nnlint fixtures/` reports every `# expect: CODE` marker of the buggy fixtures
(.py files and notebooks), nothing else, and nothing on the clean fixtures."""

import json

from conftest import REPO
from nnlint.registry import all_rules
from nnlint.testing import cell_markers

FIXTURES = sorted([*(REPO / "fixtures").rglob("*.py"), *(REPO / "fixtures").rglob("*.ipynb")])
SOURCES = (".py", ".ipynb")


def expected(codes=None):
    return {(path.relative_to(REPO).as_posix(), cell, line, code)
            for path in FIXTURES for cell, line, code in cell_markers(path) if codes is None or code in codes}


def test_buggy_fixtures_report_exactly_their_markers(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result = run_cli("-q", "--select", "ALL", "--output-format", "json", "fixtures")
    found = {(d["path"], d["cell"], d["line"], d["code"]) for d in json.loads(result.stdout) if d["path"].endswith(SOURCES)}
    assert found == expected()
    assert not any(path.startswith("fixtures/clean") for path, _, _, _ in found)
    assert any(path.endswith(".ipynb") for path, _, _, _ in found)


def test_the_demo_command_reports_every_default_rule_marker(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result = run_cli("--output-format", "json", "fixtures/")
    assert result.exit_code == 1
    found = {(d["path"], d["cell"], d["line"], d["code"]) for d in json.loads(result.stdout) if d["path"].endswith(SOURCES)}
    default_on = {code for code, rule in all_rules().items() if rule.default_enabled()}
    assert found == expected(default_on)
