"""[tool.nnlint] discovery, validation (exit 2 naming key and file), precedence, per-file-ignores."""

from conftest import BUGGY_SEQUENTIAL

LINE = "models/net.py:3:38: NN101"


def setup(project, config):
    project("pyproject.toml", config)
    project("models/net.py", BUGGY_SEQUENTIAL)
    project("tests/test_net.py", BUGGY_SEQUENTIAL)


def test_config_is_found_walking_up_from_the_current_directory(project, run_cli, monkeypatch):
    setup(project, '[tool.nnlint]\nignore = ["NN101"]\n')
    monkeypatch.chdir(project.root / "models")
    assert run_cli("-q", ".").exit_code == 0
    assert run_cli("-q", "--isolated", ".").exit_code == 1


def test_pyproject_without_nnlint_table_is_skipped_for_the_next_one(project, run_cli, monkeypatch):
    setup(project, '[tool.nnlint]\nignore = ["NN1"]\n')
    project("models/pyproject.toml", '[project]\nname = "x"\n')
    monkeypatch.chdir(project.root / "models")
    assert run_cli("-q", ".").exit_code == 0


def test_select_ignore_and_extend_in_config(project, run_cli):
    setup(project, '[tool.nnlint]\nselect = ["NN0"]\nextend-select = ["NN101"]\n')
    assert LINE in run_cli("-q", ".").stdout
    setup(project, '[tool.nnlint]\nextend-ignore = ["NN10"]\n')
    assert run_cli("-q", ".").exit_code == 0


def test_cli_beats_config(project, run_cli):
    setup(project, '[tool.nnlint]\nignore = ["NN101"]\n')
    assert run_cli("-q", ".").exit_code == 0
    assert run_cli("-q", "--ignore", "NN003", "models").lines[0].startswith(LINE)  # CLI ignore replaces config ignore
    setup(project, '[tool.nnlint]\nselect = ["NN0"]\n')
    assert run_cli("-q", "--select", "NN1", "models").exit_code == 1


def test_per_file_ignores_from_config_and_cli(project, run_cli):
    setup(project, '[tool.nnlint.per-file-ignores]\n"tests/*" = ["NN1"]\n')
    assert [line.split(": ")[0] for line in run_cli("-q", ".").lines] == ["models/net.py:3:38"]
    setup(project, '[tool.nnlint]\n')
    result = run_cli("-q", "--per-file-ignores", "models/*:NN101", "--per-file-ignores", "test_*.py:ALL", ".")
    assert result.exit_code == 0


def test_exclude_and_extend_exclude(project, run_cli):
    setup(project, '[tool.nnlint]\nextend-exclude = ["tests"]\n')
    assert [line.split(": ")[0] for line in run_cli("-q", ".").lines] == ["models/net.py:3:38"]
    setup(project, '[tool.nnlint]\nexclude = ["models/*.py"]\n')
    assert [line.split(": ")[0] for line in run_cli("-q", ".").lines] == ["tests/test_net.py:3:38"]


def test_config_option_flag_reads_that_file(project, run_cli):
    project("models/net.py", BUGGY_SEQUENTIAL)
    project("ci/nnlint.toml", 'ignore = ["NN101"]\n')
    project("ci/pyproject.toml", '[tool.nnlint]\nignore = ["NN1"]\n')
    assert run_cli("-q", "--config", "ci/nnlint.toml", ".").exit_code == 0
    assert run_cli("-q", "--config", "ci/pyproject.toml", ".").exit_code == 0
    missing = run_cli("--config", "nope.toml", ".")
    assert missing.exit_code == 2 and "nope.toml" in missing.stderr


def error_of(project, run_cli, config):
    project("pyproject.toml", config)
    result = run_cli(".")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    return result.stderr.strip()


def test_unknown_key_names_key_file_and_close_match(project, run_cli):
    message = error_of(project, run_cli, '[tool.nnlint]\nselct = ["NN1"]\n')
    assert "pyproject.toml" in message and "'selct'" in message and "did you mean 'select'?" in message


def test_wrong_type_names_the_key(project, run_cli):
    message = error_of(project, run_cli, '[tool.nnlint]\nignore = "NN101"\n')
    assert "'ignore'" in message and "must be a list of rule codes" in message
    message = error_of(project, run_cli, '[tool.nnlint]\nmax-source-bytes = "big"\n')
    assert "'max-source-bytes'" in message


def test_unknown_codes_in_config(project, run_cli):
    message = error_of(project, run_cli, '[tool.nnlint]\nextend-select = ["NN1O1"]\n')
    assert "'NN1O1'" in message and "extend-select" in message
    message = error_of(project, run_cli, '[tool.nnlint.per-file-ignores]\n"tests/*" = ["X1"]\n')
    assert "'X1'" in message and "per-file-ignores" in message


def test_rule_option_tables_are_validated(project, run_cli):
    message = error_of(project, run_cli, '[tool.nnlint.NN101]\nthreshold = 3\n')
    assert "[tool.nnlint.NN101]" in message and "'threshold'" in message and "NN101 has no options" in message
    project("pyproject.toml", '[tool.nnlint.NN101]\n')
    assert run_cli("-q", ".").exit_code == 0  # an empty table is fine


def test_invalid_toml_is_a_config_error(project, run_cli):
    message = error_of(project, run_cli, '[tool.nnlint\nselect = [\n')
    assert "pyproject.toml" in message and "invalid TOML" in message
