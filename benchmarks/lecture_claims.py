"""The lecture's claims at full size: every experiment, docs/lecture-claims.md and a results file.

    python benchmarks/lecture_claims.py                 # every experiment at full size (~4-5 h of 1-thread runs)
    python benchmarks/lecture_claims.py --reuse         # take experiments already finished in --out, run the rest
    python benchmarks/lecture_claims.py --quick         # seconds per experiment, tiny data (CI); writes no docs

Runs ``rnnkit experiment all --out runs/lecture-claims --docs docs --readme README.md`` — every experiment
of ``rnnkit experiment`` with its default full-size settings — which writes docs/lecture-claims.md with its
plots in docs/img/ and rewrites the claims table of the README (between its lecture-claims markers). Then
writes benchmarks/results/lecture-claims-<machine>.json: one record per claim (experiment, claim, verdict)
and every experiment's results. The experiments can also be run one at a time
(``rnnkit experiment NAME --out runs/lecture-claims/NAME``) and assembled with ``--reuse``.
Set OMP_NUM_THREADS=1 and ``--threads 1`` when the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from rnnkit.bench.timing import machine_tag, write_results
from rnnkit.cli import main as rnnkit

ROOT = Path(__file__).resolve().parent.parent


LONG = 64  # lists longer than this (per-step traces) stay in the experiment's own results.json
LARGE = 10_000  # so do lists whose JSON is larger (per-unit gate traces: 50 steps × 64 units)


def compact(value):  # noqa: ANN001, ANN201 - any JSON value
    """``value`` with every long or large list replaced by a note of its length: the results file keeps the
    numbers behind each verdict, the run folders keep the traces."""
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) > LONG or len(json.dumps(value)) > LARGE:
            return f"({len(value)} values: see the experiment's results.json)"
        return [compact(v) for v in value]
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "lecture-claims", help="experiments' folder")
    parser.add_argument("--minutes", type=float, default=None, help="override every experiment's budget per model")
    parser.add_argument("--reuse", action="store_true", help="take experiments already finished in --out")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--quick", action="store_true", help="tiny data and models into a temporary folder")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    out = Path(tempfile.mkdtemp(prefix="lecture-claims-")) if args.quick else args.out
    command = ["experiment", "all", "--out", str(out)]
    command += ["--quick"] if args.quick else ["--docs", str(ROOT / "docs"), "--readme", str(ROOT / "README.md")]
    command += (["--reuse"] if args.reuse else []) + (["--minutes", str(args.minutes)] if args.minutes else [])
    try:
        code = rnnkit(command)
    except RuntimeError as exc:  # some experiment failed; the others' results and the document are written
        print(exc)
        code = 1
    summary = json.loads((out / "results.json").read_text(encoding="utf-8"))
    records = [{"experiment": name, **claim} for name, e in summary["experiments"].items() for claim in e["claims"]]
    for r in records:
        print(f"{r['experiment']:14s} {str(r['holds']):5s} {r['claim']}")
    if not args.quick:
        experiments = {name: compact(json.loads((Path(e["folder"]) / "results.json").read_text(encoding="utf-8")))
                       for name, e in summary["experiments"].items() if not e["failed"]}
        path = ROOT / "benchmarks" / "results" / f"lecture-claims-{machine_tag()}.json"
        print("wrote", write_results(path, records, command="python benchmarks/lecture_claims.py",
                                     failed={n: e["failed"] for n, e in summary["experiments"].items() if e["failed"]},
                                     experiments=experiments))
    raise SystemExit(code)


if __name__ == "__main__":
    main()
