"""The demo: `nnlint fixtures/` reports every `# expect: CODE` marker of the buggy fixtures,
nothing else, and nothing on the clean fixtures."""

import re
from pathlib import Path

from conftest import REPO

MARKER = re.compile(r"#\s*expect:\s*((?:NN\d{3}[,\s]*)+)")


def expected_markers():
    expected = set()
    for path in sorted((REPO / "fixtures").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = MARKER.search(line)
            if match:
                for code in re.findall(r"NN\d{3}", match.group(1)):
                    expected.add((path.relative_to(REPO).as_posix(), number, code))
    return expected


def test_buggy_fixtures_report_exactly_their_markers(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result = run_cli("-q", "--select", "ALL", "--output-format", "json", "fixtures")
    import json

    found = {(d["path"], d["line"], d["code"]) for d in json.loads(result.stdout) if d["path"].endswith(".py")}
    assert found == expected_markers()
    assert not any(path.startswith("fixtures/clean") for path, _, _ in found)


def test_the_demo_command_exits_1_with_default_rules(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result = run_cli("fixtures/")
    assert result.exit_code == 1
    assert all(not line.startswith("fixtures/clean") for line in result.lines)
    assert {line.split(":")[0] for line in result.lines} >= {
        p.relative_to(REPO).as_posix() for p in (REPO / "fixtures" / "buggy").glob("*.py")
        if any(MARKER.search(l) for l in p.read_text(encoding="utf-8").splitlines())
    } - set()  # every buggy file with a default-on marker shows up
