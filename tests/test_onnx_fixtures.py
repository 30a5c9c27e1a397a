"""The committed ONNX fixtures (fixtures/onnx, made by make_fixtures.py) give exactly the
diagnostics its docstring lists, through the real command line."""

import json

import pytest

from conftest import REPO


def test_onnx_fixtures_report_exactly_their_bugs(run_cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result = run_cli("-q", "--select", "ALL", "--output-format", "json", "fixtures/onnx")
    found = [(d["path"], d["line"], d["column"], d["code"], d["message"]) for d in json.loads(result.stdout)]
    assert [f[:4] for f in found] == [
        ("fixtures/onnx/buggy_mlp.onnx", 3, 1, "NN101"),
        ("fixtures/onnx/buggy_mlp.onnx", 6, 1, "NN112"),
        ("fixtures/onnx/config_net_dynamo.onnx", 3, 1, "NN101"),
        ("fixtures/onnx/config_net_train.onnx", 5, 1, "NN101"),
        ("fixtures/onnx/if_branch.onnx", 1, 1, "NN101"),
    ]
    assert found[1][4].startswith("'/aux/Gemm' (and 1 more node of the same dead branch) reaches no graph output")
    assert found[2][4].endswith("(variance shift) (source: fixtures/onnx/config_net.py:24)")  # dynamo metadata
    assert found[3][4] == ("'/body.2/Dropout' feeds '/body.3/BatchNormalization' directly; apply dropout after the "
                           "normalization (variance shift) (source: fixtures/onnx/config_net.py:24)")
    assert "(in '/If'.then_branch)" in found[4][4]


@pytest.mark.parametrize("fixture", ["config_net_train.onnx", "config_net_dynamo.onnx"])
def test_train_mode_export_points_at_the_model_source_line(run_cli, monkeypatch, fixture):
    monkeypatch.chdir(REPO)
    [d] = json.loads(run_cli("-q", "--output-format", "json", f"fixtures/onnx/{fixture}").stdout)
    source = (REPO / "fixtures/onnx/config_net.py").read_text(encoding="utf-8").splitlines()
    assert d["related"][-1]["path"] == "fixtures/onnx/config_net.py"
    assert source[d["related"][-1]["line"] - 1].strip() == "x = layer(x)"


def test_external_data_fixture_is_clean_and_its_weights_exist(run_cli, monkeypatch):
    monkeypatch.chdir(REPO / "fixtures")
    assert (REPO / "fixtures/onnx/external_data.weights").stat().st_size > 0
    result = run_cli("-q", "onnx/external_data.onnx", "onnx/clean_cnn.onnx")
    assert result.stdout == "" and result.exit_code == 0
