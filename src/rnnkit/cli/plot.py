"""``rnnkit plot DIR [DIR …]``: training curves of model directories, overlaid, to a PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnkit.cli.args import image_path


def _plot(args: argparse.Namespace) -> int:
    from rnnkit.train.curves import plot_curves

    out = plot_curves(args.dirs, args.out, metric=args.metric, x=args.x, log_loss=args.log_loss)
    print(f"wrote {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    from rnnkit.train.curves import X_AXES

    p = sub.add_parser("plot", help="draw the training curves of model directories (several runs overlaid) to a PNG",
                       description="Training loss (steps.csv, else history.jsonl) and a validation metric "
                                   "(history.jsonl) of each model directory, one colour per run.")
    p.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="model directories written by rnnkit train")
    p.add_argument("--out", type=image_path, default=Path("curves.png"), help="the PNG to write (default: curves.png)")
    p.add_argument("--metric", default=None,
                   help="validation metric to draw, e.g. accuracy, perplexity, bleu (default: the metric that "
                        "selected the first run's best weights)")
    p.add_argument("--x", default="step", choices=list(X_AXES),
                   help="x axis: optimizer steps or seconds of training (default: step)")
    p.add_argument("--log-loss", action="store_true", help="draw the training loss on a log scale (default: off)")
    return {"plot": _plot}
