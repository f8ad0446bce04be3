"""``rnnkit evaluate DIR``, ``rnnkit predict DIR INPUT…`` and ``rnnkit generate DIR``: use a trained model
directory. Each dispatches on the directory's ``config["task"]`` through :data:`rnnkit.tasks.TASKS`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import rnnkit.cli.inputs as inputs_of
from rnnkit.cli.args import in_range
from rnnkit.tasks import lm
from rnnkit.tasks.sentiment import MAX_TOKENS
from rnnkit.tasks.translate import MAX_BEAM


def _evaluate(args: argparse.Namespace) -> int:
    from rnnkit.tasks import run

    app = run.app_of(run.read_model_config(args.dir), args.dir)
    report = run.evaluate_directory(args.dir, data=args.data, split=args.split, beam=args.beam, ensemble=args.ensemble,
                          label_map=args.label_map, text_col=args.text_col, label_col=args.label_col)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else app.show(report, report["split"]))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from rnnkit.tasks import TASKS, run

    config = run.read_model_config(args.dir)
    app = run.app_of(config, args.dir)
    if args.ensemble and app.ensemble is None:
        raise ValueError(f"--ensemble averages {' or '.join(n for n, a in TASKS.items() if a.ensemble)} models; "
                         f"{args.dir} holds a {config['task']!r} model")
    if app.show_prediction is None:
        raise ValueError(f"{args.dir} holds a {config['task']!r} model, which `rnnkit predict` does not serve; it "
                         f"serves {', '.join(n for n, a in TASKS.items() if a.show_prediction)} models")
    if not args.texts and not (app.stdin and sys.stdin is not None and not sys.stdin.isatty()):
        raise ValueError(f"give one or more {app.inputs}" + (", or pipe lines on stdin" if app.stdin else ""))
    if not app.stdin:  # file paths; one file may hold several inputs (a .ts of many series, an .npy of clips)
        predictor = app.predictor(args.dir)
        for r in predictor.predict(args.texts):
            print(inputs_of.json_line(r) if args.json else app.show_prediction(r))
        return 0
    inputs = inputs_of.texts_of(args, args.errors, app.predictor.max_chars)  # UTF-8, capped; stdin in chunks
    predictor = None
    for chunk in inputs_of.chunks(inputs):
        if predictor is None:  # after the first chunk was read: empty or broken input fails before loading
            predictor = app.ensemble([args.dir, *args.ensemble]) if args.ensemble else app.predictor(args.dir)
        for (where, _), r in zip(chunk, inputs_of.answer(chunk, predictor.predict), strict=True):
            if r.get("tokens") and r.get("unknown_tokens") == r["tokens"]:  # the label is only the model's bias
                print(f"warning: {where}: every one of its {r['tokens']} tokens is unknown to the model, so its "
                      f"label {r['label']!r} says nothing about the text", file=sys.stderr)
            print(inputs_of.json_line(r) if args.json else app.show_prediction(r))
        sys.stdout.flush()
    return 0


def _generate(args: argparse.Namespace) -> int:
    from rnnkit.tasks import run

    generator = run.load_for(args.dir, "generate", "generate")
    print(generator.generate(args.prompt, args.length, temperature=args.temperature, top_k=args.top_k,
                             seed=args.seed))
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    e = sub.add_parser("evaluate", help="metrics of a model directory on a test split")
    e.add_argument("dir", type=Path)
    e.add_argument("--data", default=None, help="sentiment, speech-digits, activity: evaluate on another dataset "
                   "(default: the training data)")
    e.add_argument("--text-col", default=None, help="sentiment: text column of the --data file (default: the "
                   "model's own, else text)")
    e.add_argument("--label-col", default=None, help="sentiment: label column of the --data file (default: the "
                   "model's own, else label)")
    e.add_argument("--label-map", default=None, metavar="OLD=NEW,…", help="sentiment: rename the --data file's "
                   "labels to the model's (e.g. neg=negative,pos=positive); labels with the model's names need none")
    e.add_argument("--split", default=None, choices=("train", "val", "test", "all"),
                   help="which split of the data to score: train, val, test or all (default: test; all for a "
                        "--data file, whose every row is scored)")
    e.add_argument("--beam", type=in_range(int, 1), default=None,
                   help=f"translate (at most {MAX_BEAM}), speech-ctc: beam size (default: the model's own)")
    e.add_argument("--json", action="store_true", help="print the full report as JSON (default: a readable summary)")
    e.add_argument("--ensemble", action="append", default=[], type=Path, metavar="DIR",
                   help="sentiment: another model directory to average probabilities with (repeat the flag)")
    p = sub.add_parser("predict", help="label texts (or, for signal and video models, files) with a trained model "
                       "(sentiment reads lines from stdin if none given)",
                       description="Label texts (or stdin lines, read in chunks of "
                                   f"{inputs_of.CHUNK}) or files with a trained model. A text may have at most "
                                   f"{MAX_TOKENS} tokens (a longer one is an error naming it); a blank stdin line is "
                                   "skipped with a warning.")
    p.add_argument("dir", type=Path)
    p.add_argument("texts", nargs="*", metavar="INPUT", help="texts; for speech-digits/activity models .npy/.csv/.ts "
                   "feature files, for video models .npy clips, for speech-ctc models WAV files")
    p.add_argument("--json", action="store_true", help="one JSON object per input")
    p.add_argument("--ensemble", action="append", default=[], type=Path, metavar="DIR",
                   help="sentiment: another model directory to average probabilities with (repeat the flag)")
    g = sub.add_parser("generate", help="write text with a trained language model")
    g.add_argument("dir", type=Path)
    g.add_argument("--prompt", default="", help="text to continue (e.g. 'ROMEO:'; at most "
                   f"{lm.MAX_PROMPT_TOKENS} tokens)")
    g.add_argument("--length", type=in_range(int, 1, lm.MAX_LENGTH), default=lm.LENGTH,
                   help="tokens to generate (characters or words) "
                   f"(default: {lm.LENGTH})")
    g.add_argument("--temperature", type=in_range(float, lm.MIN_TEMPERATURE, lm.MAX_TEMPERATURE),
                   default=lm.TEMPERATURE,
                   help="divide the logits by this before "
                   f"sampling: lower is more predictable, higher more varied (default: {lm.TEMPERATURE})")
    g.add_argument("--top-k", type=in_range(int, 1), default=lm.TOP_K,
                   help="sample only among the k most likely tokens "
                   f"(default: {lm.TOP_K}: all tokens)")
    g.add_argument("--seed", type=int, default=None, help="seed of the sampling, for a repeatable text "
                   "(default: None, a different text each time)")
    return {"evaluate": _evaluate, "predict": _predict, "generate": _generate}
