"""Same input, same output, whatever PYTHONHASHSEED or worker scheduling."""

import os
import subprocess
import sys

from conftest import REPO


def test_output_is_identical_across_hash_seeds(project):
    for i in range(30):
        project(f"m{i}.py", "import torch.nn as nn\n" + "\n".join(
            f"s{j} = nn.Sequential(nn.Dropout(), nn.ReLU(), nn.BatchNorm1d({j + 1}))" for j in range(i % 4 + 1)) + "\n")
    outputs = set()
    for seed in ("0", "1", "12345", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-m", "nnlint", "--select", "ALL", "-j", "2", "."],
                              capture_output=True, text=True, env=env)
        assert proc.returncode == 1
        outputs.add(proc.stdout)
    assert len(outputs) == 1
    assert len(next(iter(outputs)).splitlines()) == sum(i % 4 + 1 for i in range(30))
