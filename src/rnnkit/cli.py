"""The ``rnnkit`` command. The only module that parses flags; every command calls library code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]


def _demo(args: argparse.Namespace) -> int:
    import torch

    from rnnkit.tasks.synthetic import train_adding

    torch.set_num_threads(args.threads) if args.threads else None
    print(f"adding problem, T={args.length}: {args.cell}, hidden {args.hidden}; "
          f"always answering 1 gives MSE {1 / 6:.3f}")

    def report(step: int, mse: float) -> None:
        if step % max(1, args.steps // 10) == 0:
            print(f"  step {step:5d}  train MSE {mse:.4f}")

    result = train_adding(args.cell, args.length, steps=args.steps, hidden_size=args.hidden, seed=args.seed,
                          on_step=report)
    print(f"held-out MSE {result['test_mse']:.4f} (baseline {result['baseline_mse']:.3f})")
    return 0


def _add_demo(sub: argparse._SubParsersAction) -> Handler:
    from rnnkit.nn import CELLS

    p = sub.add_parser("demo", help="train a tiny model on the adding problem and print its loss falling")
    p.add_argument("--cell", default="lstm", choices=list(CELLS))
    p.add_argument("--length", type=int, default=40, help="sequence length T")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    return _demo


COMMANDS: list[Callable[[argparse._SubParsersAction], Handler]] = [_add_demo]


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    from rnnkit import __version__

    parser = argparse.ArgumentParser(prog="rnnkit", description="Recurrent neural networks, exactly as the "
                                     "equations define them, on real sequence tasks.")
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    handlers = {}
    for add in COMMANDS:
        handler = add(sub)
        handlers[list(sub.choices)[-1]] = handler
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
