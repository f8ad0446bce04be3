"""The whole speed harness (= `rnnkit bench`), saved: results JSON, its plot, and its tables in docs/performance.md.

    python benchmarks/bench_speed.py             # ~10 min on 2 CPU cores; run it on an otherwise idle machine
    python benchmarks/bench_speed.py --device cuda

Writes benchmarks/results/speed-<machine>.json and docs/img/speed-<machine>.png, and replaces the section
between `<!-- bench:<machine> -->` and `<!-- /bench:<machine> -->` in docs/performance.md (appended if absent).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import torch

from rnnkit.bench.timing import machine_tag
from rnnkit.cli import main as rnnkit

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"


def splice(doc: str, tag: str, section: str) -> str:
    """``doc`` with the text between the ``bench:tag`` markers replaced by ``section`` (appended if absent)."""
    start, end = f"<!-- bench:{tag} -->", f"<!-- /bench:{tag} -->"
    block = f"{start}\n{section.strip()}\n{end}"
    if start in doc and end in doc:
        return doc[:doc.index(start)] + block + doc[doc.index(end) + len(end):]
    return doc.rstrip("\n") + f"\n\n## Measured on `{tag}`\n\n{block}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tag = f"cpu{os.cpu_count()}" if args.device == "cpu" else machine_tag()
    with tempfile.TemporaryDirectory() as tmp:
        section = Path(tmp) / "section.md"
        code = rnnkit(["bench", "--device", args.device, "--repeats", str(args.repeats),
                       "--out", str(ROOT / "benchmarks" / "results" / f"speed-{tag}.json"),
                       "--markdown", str(section), "--plot", str(ROOT / "docs" / "img" / f"speed-{tag}.png")])
        if code:
            raise SystemExit(code)
        text = section.read_text(encoding="utf-8") + f"\n![speed vs torch.nn](img/speed-{tag}.png)\n"
    DOC.write_text(splice(DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n", tag, text),
                   encoding="utf-8")
    print("updated", DOC)


if __name__ == "__main__":
    main()
