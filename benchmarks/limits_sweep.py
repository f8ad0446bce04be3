"""The limits sweep of issue 26 (tests/test_limits_sweep.py), run on this checkout or on another one's code.

    python benchmarks/limits_sweep.py                                  # this checkout: label "after"
    python benchmarks/limits_sweep.py --src ../before/src --label before   # the same cases on older code

Each case runs as ``python -m rnnkit`` in a child process under a 3 GiB address-space limit and a timeout
(the test module's LIMIT_S), and is classified clear / handled / unclear / traceback / silent / memory /
hang. Writes (merges into) benchmarks/results/limits-sweep.json: per label, the commit of the code, the
counts and each case's outcome with the child's last stderr line (paths replaced by placeholders). The
machine is shared and busy: the timeout, not speed, is what the numbers depend on.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rnnkit.bench.timing import machine_info
from rnnkit.files import write_text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import test_limits_sweep as sweep  # noqa: E402 - the cases live with the tests

RESULTS = ROOT / "benchmarks" / "results" / "limits-sweep.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the src/ folder of the code to sweep")
    parser.add_argument("--label", default="after", help="the name of this run in the results file")
    parser.add_argument("--workers", type=int, default=2, help="cases run at once (default: 2)")
    args = parser.parse_args(argv)
    sweep.SRC = args.src.resolve()
    commit = subprocess.run(["git", "-C", str(sweep.SRC), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="limits-sweep-") as root:
        results = sweep.sweep(sweep.CASES, Path(root), workers=args.workers)
    print(sweep.report(results))
    counts = {name: sum(1 for outcome, _ in results.values() if outcome == name) for name in sweep.OUTCOMES}
    payload = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    payload["machine"] = {**machine_info(), "note": "a shared 2-core machine, busy with other work"}
    payload["command"] = "python benchmarks/limits_sweep.py [--src OTHER/src --label before]"
    payload["limits"] = {"address_space_bytes": sweep.MEMORY_BYTES, "timeout_s": sweep.LIMIT_S}
    payload.setdefault("runs", {})[args.label] = {
        "commit": commit, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.monotonic() - started), "counts": counts,
        "cases": {k: {"outcome": o, "last_line": last} for k, (o, last) in results.items()}}
    write_text(RESULTS, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
