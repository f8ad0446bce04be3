"""``rnnkit evaluate DIR`` and ``rnnkit predict DIR TEXT…``: use a trained model directory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rnnkit.checkpoint import read_config


def _evaluate(args: argparse.Namespace) -> int:
    config = read_config(args.dir)
    if config["task"] != "sentiment":
        raise ValueError(f"evaluate does not know task {config['task']!r} yet")
    from rnnkit.tasks.sentiment import evaluate_dir

    report = evaluate_dir(args.dir, args.data, args.split)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{report['data']} ({args.split}, {report['n']} examples): accuracy {report['accuracy']:.4f}, "
          f"macro-F1 {report['macro_f1']:.4f}")
    names = report["confusion"]["labels"]
    width = max(len(n) for n in names)
    print("confusion (rows: true, columns: predicted):")
    print(" " * (width + 2) + "  ".join(f"{n:>{width}}" for n in names))
    for name, row in zip(names, report["confusion"]["matrix"], strict=True):
        print(f"  {name:>{width}}" + "".join(f"  {v:>{width}}" for v in row))
    return 0


def _read_inputs(texts: list[str]) -> list[str]:
    if texts:
        return texts
    if sys.stdin is None or sys.stdin.isatty():
        raise ValueError("give one or more texts as arguments, or pipe lines on stdin")
    return [line.rstrip("\n") for line in sys.stdin]


def _predict(args: argparse.Namespace) -> int:
    config = read_config(args.dir)
    if config["task"] != "sentiment":
        raise ValueError(f"{args.dir} holds a {config['task']!r} model; predict labels texts with a sentiment model")
    from rnnkit.tasks.sentiment import SentimentPredictor

    texts = _read_inputs(args.texts)
    results = SentimentPredictor(args.dir).predict(texts)
    for r in results:
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
        else:
            note = f"  ({r['unknown_tokens']} unknown words)" if r["unknown_tokens"] else ""
            print(f"{r['label']}\t{r['probability']:.3f}\t{r['text']}{note}")
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    e = sub.add_parser("evaluate", help="metrics of a model directory on a test split")
    e.add_argument("dir", type=Path)
    e.add_argument("--data", default=None, help="evaluate on another dataset (default: the training data)")
    e.add_argument("--split", default="test", choices=("train", "val", "test"))
    e.add_argument("--json", action="store_true")
    p = sub.add_parser("predict", help="label texts with a trained model (reads lines from stdin if none given)")
    p.add_argument("dir", type=Path)
    p.add_argument("texts", nargs="*", metavar="TEXT")
    p.add_argument("--json", action="store_true", help="one JSON object per input")
    return {"evaluate": _evaluate, "predict": _predict}
