"""``rnnkit translate DIR TEXT…``: translate sentences (or stdin lines) with a trained model directory."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

import rnnkit.cli.inputs as inputs_of
from rnnkit.cli.args import image_path, in_range
from rnnkit.extras import require


def _translate(args: argparse.Namespace) -> int:
    from rnnkit.tasks import run
    from rnnkit.tasks.translate import Translator, plot_attention

    if args.plot is not None:
        require("plot", "--plot")
    translator = None
    attention = args.json or args.plot is not None  # kept only when asked for: it grows with |source| x |target|
    count = 0
    texts = inputs_of.texts_of(args, args.errors, Translator.max_chars)  # stdin: streamed, CHUNK lines at a time
    for chunk in inputs_of.chunks(texts):
        if translator is None:  # after the first chunk was read: empty or broken input fails before loading
            translator = run.load_for(args.dir, "translate", "translate")
        results = inputs_of.answer(chunk, partial(translator.translate, beam=args.beam, attention=attention))
        for r in results:
            print(inputs_of.json_line(r) if args.json else r["translation"])
        sys.stdout.flush()  # translations first, then the notes on stderr
        if args.plot is not None:
            for r in results:
                count += 1
                numbered = args.plot.with_name(f"{args.plot.stem}-{count}{args.plot.suffix}")
                path = args.plot if len(args.texts) == 1 else numbered
                print(f"attention plot: {plot_attention(r, path)}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    from rnnkit.tasks.translate import MAX_BEAM, MAX_SOURCE_TOKENS

    p = sub.add_parser("translate", help="translate sentences with a trained model (reads stdin lines if none given)",
                       description=f"Translate sentences (or stdin lines, read {inputs_of.CHUNK} at a time) with a "
                                   f"trained model. An input may have at most {MAX_SOURCE_TOKENS} source subword "
                                   "tokens (longer ones are an error: split them into sentences); a blank stdin line "
                                   "is skipped with a warning.")
    p.add_argument("dir", type=Path)
    p.add_argument("texts", nargs="*", metavar="TEXT")
    p.add_argument("--beam", type=in_range(int, 1, MAX_BEAM), default=None,
                   help=f"beam size, 1 to {MAX_BEAM} (1: greedy; default: the model's own)")
    p.add_argument("--plot", type=image_path, default=None, metavar="PNG",
                   help="draw the attention heatmap (source × target subwords); several inputs: PNG-1, PNG-2, …")
    p.add_argument("--json", action="store_true", help="one JSON object per input, with tokens and attention")
    return {"translate": _translate}
