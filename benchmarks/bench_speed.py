"""The whole speed harness (= `rnnkit bench`), saved: results JSON, docs/performance.md and its plot.

    python benchmarks/bench_speed.py             # ~10 min on 2 CPU cores
    python benchmarks/bench_speed.py --device cuda
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from rnnkit.benchmark import machine_tag
from rnnkit.cli import main as rnnkit

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tag = machine_tag()
    rnnkit(["bench", "--device", args.device, "--repeats", str(args.repeats),
            "--out", str(ROOT / "benchmarks" / "results" / f"speed-{tag}.json"),
            "--markdown", str(ROOT / "docs" / f"performance-{tag}.md"),
            "--plot", str(ROOT / "docs" / "img" / f"speed-{tag}.png")])


if __name__ == "__main__":
    main()
