"""``rnnkit translate DIR TEXT…``: translate sentences (or stdin lines) with a trained model directory."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path


def _translate(args: argparse.Namespace) -> int:
    from rnnkit.tasks.translator import Translator, plot_attention

    texts = args.texts
    if not texts:
        if sys.stdin is None or sys.stdin.isatty():
            raise ValueError("give one or more sentences as arguments, or pipe lines on stdin")
        texts = [line.rstrip("\r\n") for line in sys.stdin]
        if not texts:
            raise ValueError("stdin held no lines to translate")
    if args.beam is not None and args.beam < 1:
        raise ValueError(f"--beam must be >= 1, got {args.beam}")
    translator = Translator(args.dir)
    with warnings.catch_warnings(record=True) as caught:  # long inputs: say so, translate anyway
        warnings.simplefilter("always")
        results = translator.translate(texts, beam=args.beam)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    for r in results:
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
        else:
            print(r["translation"])
    sys.stdout.flush()  # translations first, then the notes on stderr
    if args.plot is not None:
        for i, r in enumerate(results):
            numbered = args.plot.with_name(f"{args.plot.stem}-{i + 1}{args.plot.suffix}")
            path = args.plot if len(results) == 1 else numbered
            print(f"attention plot: {plot_attention(r, path)}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("translate", help="translate sentences with a trained model (reads stdin lines if none given)")
    p.add_argument("dir", type=Path)
    p.add_argument("texts", nargs="*", metavar="TEXT")
    p.add_argument("--beam", type=int, default=None, help="beam size (1: greedy; default: the model's own)")
    p.add_argument("--plot", type=Path, default=None, metavar="PNG",
                   help="draw the attention heatmap (source × target subwords); several inputs: PNG-1, PNG-2, …")
    p.add_argument("--json", action="store_true", help="one JSON object per input, with tokens and attention")
    return {"translate": _translate}
