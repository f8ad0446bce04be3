"""Forward+backward time of each cell × backend next to torch.nn, in one run.

    python benchmarks/bench_cells.py            # writes benchmarks/results/cells-<machine>.json
    python benchmarks/bench_cells.py --quick    # seconds; prints only

The full harness (streaming, denormals, training-loop overhead) is `rnnkit bench`; see
benchmarks/bench_speed.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from rnnkit.bench.report import layer_table
from rnnkit.bench.speed import SHAPES, bench_layer
from rnnkit.bench.timing import machine_tag, write_results
from rnnkit.nn import CELLS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny shapes, no results file")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    records = []
    for shape in SHAPES["quick" if args.quick else "full"]:
        for cell in CELLS:
            records += bench_layer(cell, **shape, repeats=1 if args.quick else args.repeats,
                                   warmup=1 if args.quick else 2, device=args.device)
    print(layer_table(records))
    if not args.quick:
        out = args.out or Path(__file__).parent / "results" / f"cells-{machine_tag()}.json"
        print("wrote", write_results(out, records, command="python benchmarks/bench_cells.py", flush_denormal=True))


if __name__ == "__main__":
    main()
