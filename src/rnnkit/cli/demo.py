"""``rnnkit demo``: a tiny model on the adding problem, its loss falling in seconds."""

from __future__ import annotations

import argparse

from rnnkit.cli.args import in_range
from rnnkit.ranges import SEED, SEQUENCE, WIDTH


def _demo(args: argparse.Namespace) -> int:
    import torch

    from rnnkit.tasks.synthetic import train_adding

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"adding problem, T={args.length}: {args.cell}, hidden {args.hidden}; "
          f"always answering 1 gives MSE {1 / 6:.3f}")

    def report(step: int, mse: float) -> None:
        if step % max(1, args.steps // 10) == 0:
            print(f"  step {step:5d}  train MSE {mse:.4f}")

    result = train_adding(args.cell, args.length, steps=args.steps, hidden_size=args.hidden, seed=args.seed,
                          on_step=report)
    print(f"held-out MSE {result['test_mse']:.4f} (baseline {result['baseline_mse']:.3f})")
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    from rnnkit.nn import CELLS

    p = sub.add_parser("demo", help="train a tiny model on the adding problem and print its loss falling")
    p.add_argument("--cell", default="lstm", choices=list(CELLS), help="the recurrent cell (default: lstm)")
    p.add_argument("--length", type=in_range(int, 2, SEQUENCE[1]), default=40, help="sequence length T (default: 40)")
    p.add_argument("--hidden", type=in_range(int, *WIDTH), default=64,
                   help="size of the recurrent state (default: 64)")
    p.add_argument("--steps", type=in_range(int, 1), default=1000, help="training steps (default: 1000)")
    p.add_argument("--seed", type=in_range(int, *SEED), default=0, help="seed of the data and the weights (default: 0)")
    p.add_argument("--threads", type=in_range(int, 0), default=0, help="torch threads (0: torch's default)")
    return {"demo": _demo}
