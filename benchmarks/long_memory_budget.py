"""How many updates the LSTM needs on the adding problem: the long-memory experiment's runs without its time cap.

    python benchmarks/long_memory_budget.py                          # LSTM at T=200, 3,000 then 6,000 updates
    python benchmarks/long_memory_budget.py --cells lstm gru --lengths 200 400 --steps 3000

`rnnkit experiment long-memory` caps every run at a few minutes so that all cells × lengths fit a session;
a cell still on the adding problem's loss plateau then counts as failed. This reruns chosen cells and
lengths with the same settings (hidden 128, batch 64, Adam 1e-2, seed 0) and only an update budget, and
merges its rows into benchmarks/results/long-memory-budget-<machine>.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from rnnkit.bench.timing import machine_tag, write_results
from rnnkit.experiments.long_memory import FULL, SOLVED
from rnnkit.tasks.synthetic import train_adding


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", nargs="+", default=["lstm"])
    parser.add_argument("--lengths", nargs="+", type=int, default=[200])
    parser.add_argument("--steps", nargs="+", type=int, default=[3000, 6000], help="update budgets, tried in order "
                        "until one solves")
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    rows = []
    for cell in args.cells:
        for T in args.lengths:
            for steps in args.steps:
                r = train_adding(cell, T, steps=steps, hidden_size=FULL["hidden_size"], batch=FULL["batch"],
                                 lr=FULL["lr"], seed=0)
                solved = r["test_mse"] < SOLVED / 6
                rows.append({"cell": cell, "T": T, "budget_steps": steps, **r, "solved": solved})
                print(f"{cell:16s} T={T:4d} budget {steps:5d}: held-out MSE {r['test_mse']:.4f} "
                      f"({'solved' if solved else 'not solved'}), {r['steps']} updates, {r['seconds']:.0f} s",
                      flush=True)
                if solved:
                    break
    out = Path(__file__).parent / "results" / f"long-memory-budget-{machine_tag()}.json"
    done = {(r["cell"], r["T"], r["budget_steps"]) for r in rows}
    if out.exists():  # keep the other cells' and lengths' rows of earlier runs
        old = json.loads(out.read_text(encoding="utf-8"))["records"]
        rows = [r for r in old if (r["cell"], r["T"], r["budget_steps"]) not in done] + rows
    print("wrote", write_results(out, rows, command="python benchmarks/long_memory_budget.py", baseline=1 / 6,
                                 solved_below=SOLVED))


if __name__ == "__main__":
    main()
