"""How long `nnlint --probe` takes on a ResNet-18 at batch 8 with 3x64x64 inputs (target: under
10 s on 2 cores, child process start and torch import included).

    python benchmarks/probe_speed.py [--steps N] [--repeat K]

Uses torchvision's resnet18 when torchvision is installed, else the same architecture written
out below (BasicBlock x [2, 2, 2, 2], widths 64-512, 11.7 M parameters). It times the probe
step alone (nnlint.probe.probe_targets: the child process, the forward/backward pass, the NN6
rules), then the whole command line (`nnlint --probe --trace ...`, which also lints the
torch.fx trace in-process). Not part of the test run: run it by hand, once.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESNET18 = '''\
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet18(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, cin = [], 64
        for i, width in enumerate((64, 128, 256, 512)):
            layers += [BasicBlock(cin, width, 1 if i == 0 else 2), BasicBlock(width, width, 1)]
            cin = width
        self.layers = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.fc(self.avgpool(self.layers(x)).flatten(1))


def make():
    try:
        from torchvision.models import resnet18
    except ImportError:
        return ResNet18()
    return resnet18()
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=0, help="--probe-steps (default 0)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    from nnlint.probe import ProbeOptions, probe_targets
    from nnlint.testing import settings
    from nnlint.trace import parse_shape, parse_target

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "bench_resnet18.py").write_text(RESNET18, encoding="utf-8")
        sys.path.insert(0, tmp)
        run = settings()
        target = parse_target("bench_resnet18:make", parse_shape("1,3,64,64"))
        for _ in range(args.repeat):
            start = time.perf_counter()
            outcome = probe_targets([(target, ProbeOptions("cross_entropy", 8, args.steps))], run.enabled, {})
            probe_s = time.perf_counter() - start
            found = sorted({d.code for d in outcome.diagnostics})
            print(f"probe step (child process, forward/backward, NN6 rules): {probe_s:.2f} s; findings: {found or 'none'}")
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "nnlint", "-q", "--trace", "bench_resnet18:make", "--input-shape",
                            "1,3,64,64", "--probe", "--probe-loss", "cross_entropy", "--probe-steps", str(args.steps)],
                           cwd=tmp, env={**os.environ, "PYTHONPATH": tmp}, check=False)
            print(f"whole command line (--trace lint + --probe): {time.perf_counter() - start:.2f} s")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
