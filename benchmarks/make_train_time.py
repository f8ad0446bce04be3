"""How long the README's main job, `make train`, takes from a fresh clone, as a user runs it.

    python benchmarks/make_train_time.py            # writes benchmarks/results/make-train-<machine>.json
    python benchmarks/make_train_time.py --nice 0   # not niced (the default is nice -n 10: a shared machine)

A fresh `git clone` of this repository's committed HEAD runs `make train` with its output redirected to a file (a
log, not a terminal: one line per epoch, the estimate after epoch 1). Setup is not timed: the clone's `.venv` is
this environment (``sys.prefix``) with the Makefile's marker files in place, so `make train` only trains; the
torch download and install of a first `make train` come on top. The load average is sampled every 10 s during
the run (this machine is shared with other jobs: the result says how busy it was).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rnnkit.bench.timing import machine_tag, write_results

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def clone_with_venv(folder: Path) -> Path:
    """A fresh clone of HEAD whose `.venv` is this environment, set up (the Makefile's markers made)."""
    clone = folder / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    venv = clone / ".venv"
    venv.mkdir()
    (venv / "bin").symlink_to(Path(sys.prefix) / "bin")
    for marker in (".torch", ".installed-core"):
        (venv / marker).touch()
    return clone


def timed_make_train(clone: Path, niceness: int, log: Path) -> dict:
    """Run `make train` in ``clone`` (stdout and stderr into ``log``), sampling the load average."""
    env = {**os.environ, "PYTHONPATH": str(clone / "src")}
    loads = [os.getloadavg()[0]]
    start = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(["nice", "-n", str(niceness), "make", "train"], cwd=clone, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        while proc.poll() is None:
            time.sleep(10)
            loads.append(os.getloadavg()[0])
    seconds = time.monotonic() - start
    loads.append(os.getloadavg()[0])
    return {"returncode": proc.returncode, "seconds": round(seconds, 1), "load_before": loads[0],
            "load_after": loads[-1], "load_mean": round(sum(loads) / len(loads), 2), "load_max": max(loads)}


def read_log(text: str) -> dict:
    """What the log shows: its lines, the per-epoch lines, the estimate after epoch 1, the test accuracy."""
    lines = text.splitlines()
    accuracy = re.search(r"^test accuracy ([0-9.]+)", text, re.MULTILINE)
    return {"log_lines": len(lines), "log_bytes": len(text.encode()),
            "epoch_lines": sum(1 for line in lines if re.match(r"epoch \d+:", line)),
            "estimate": next((line for line in lines if line.startswith("an epoch takes")), None),
            "carriage_returns": text.count("\r"), "test_accuracy": float(accuracy.group(1)) if accuracy else None,
            "tail": lines[-12:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nice", type=int, default=10, help="niceness of `make train` (default: 10)")
    parser.add_argument("--out", type=Path, default=RESULTS / f"make-train-{machine_tag()}.json")
    args = parser.parse_args()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="make-train-") as tmp:
        clone = clone_with_venv(Path(tmp))
        log = Path(tmp) / "train.log"
        timing = timed_make_train(clone, args.nice, log)
        shown = read_log(log.read_text(encoding="utf-8", errors="replace"))
    record = {"command": "make train > log", "commit": commit, "nice": args.nice, **timing, **shown,
              "setup": "not timed: an existing venv was reused (the Makefile's markers), nothing installed"}
    print(f"make train: {timing['seconds'] / 60:.1f} min (exit {timing['returncode']}), load average "
          f"{timing['load_before']:.2f} before, {timing['load_mean']:.2f} mean, {timing['load_after']:.2f} after; "
          f"{shown['log_lines']} log lines, {shown['epoch_lines']} epoch lines; {shown['estimate']}")
    write_results(args.out, [record], note="a machine shared with other jobs: see the load average of the run")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0 if timing["returncode"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
