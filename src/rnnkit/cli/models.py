"""``rnnkit evaluate DIR`` and ``rnnkit predict DIR TEXT…``: use a trained model directory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rnnkit.cli.sequences import evaluate_sequences, predict_sequences
from rnnkit.cli.transcribe import evaluate_speech, predict_speech
from rnnkit.train.checkpoint import read_config


def _evaluate_sentiment(args: argparse.Namespace) -> int:
    from rnnkit.tasks.sentiment import evaluate_dir
    from rnnkit.tasks.sentiment_ensemble import evaluate_ensemble

    if args.ensemble:
        report = evaluate_ensemble([args.dir, *args.ensemble], args.data, args.split)
    else:
        report = evaluate_dir(args.dir, args.data, args.split)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for member, accuracy in report.get("members", {}).items():
        print(f"member {member}: accuracy {accuracy:.4f}")
    who = f"ensemble of {len(report['members'])}, " if "members" in report else ""
    print(f"{report['data']} ({who}{args.split}, {report['n']} examples): accuracy {report['accuracy']:.4f}, "
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


def _predict_sentiment(args: argparse.Namespace) -> int:
    from rnnkit.tasks.sentiment import SentimentPredictor
    from rnnkit.tasks.sentiment_ensemble import SentimentEnsemble

    texts = _read_inputs(args.texts)
    model = SentimentEnsemble([args.dir, *args.ensemble]) if args.ensemble else SentimentPredictor(args.dir)
    results = model.predict(texts)
    for r in results:
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
        else:
            note = f"  ({r['unknown_tokens']} unknown words)" if r.get("unknown_tokens") else ""
            print(f"{r['label']}\t{r['probability']:.3f}\t{r['text']}{note}")
    return 0


def _evaluate_lm(args: argparse.Namespace) -> int:
    from rnnkit.tasks.lm import evaluate_lm_dir

    report = evaluate_lm_dir(args.dir, args.split)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.split}: perplexity {report['perplexity']:.2f}, {report['bits_per_token']:.3f} bits per token "
              f"on {report['tokens']:,} tokens")
    return 0


def _generate(args: argparse.Namespace) -> int:
    config = read_config(args.dir)
    if config["task"] != "lm":
        raise ValueError(f"{args.dir} holds a {config['task']!r} model; generate needs a language model "
                         "(rnnkit train lm)")
    from rnnkit.tasks.lm import LMGenerator

    print(LMGenerator(args.dir).generate(args.prompt, args.length, temperature=args.temperature, top_k=args.top_k,
                                         seed=args.seed))
    return 0


def _evaluate_translate(args: argparse.Namespace) -> int:
    from rnnkit.tasks.translate import format_report
    from rnnkit.tasks.translator import Translator

    if args.split == "train":
        raise ValueError("translation models are scored on --split val or test (train sentences are not grouped "
                         "by source)")
    report = Translator(args.dir).evaluate(args.split, beam=args.beam)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else
          f"{report['data']} ({args.split}): {format_report(report)}")
    return 0


# Which function serves `evaluate` / `predict` for a model directory of each task.
EVALUATE = {"sentiment": _evaluate_sentiment, "lm": _evaluate_lm, "translate": _evaluate_translate,
            **dict.fromkeys(("speech-digits", "activity", "video"), evaluate_sequences), "speech-ctc": evaluate_speech}
PREDICT = {"sentiment": _predict_sentiment, **dict.fromkeys(("speech-digits", "activity", "video"), predict_sequences),
           "speech-ctc": predict_speech}


def _dispatch(table: dict, verb: str):
    def run(args: argparse.Namespace) -> int:
        task = read_config(args.dir)["task"]
        if getattr(args, "ensemble", None) and task != "sentiment":
            raise ValueError(f"--ensemble averages sentiment models; {args.dir} holds a {task!r} model")
        if task not in table:
            raise ValueError(f"{args.dir} holds a {task!r} model, which `rnnkit {verb}` does not serve; "
                             f"it serves {', '.join(table)} models")
        return table[task](args)

    return run


def register(sub: argparse._SubParsersAction) -> dict:
    e = sub.add_parser("evaluate", help="metrics of a model directory on a test split")
    e.add_argument("dir", type=Path)
    e.add_argument("--data", default=None, help="sentiment, speech-digits, activity: evaluate on another dataset "
                   "(default: the training data)")
    e.add_argument("--split", default="test", choices=("train", "val", "test"))
    e.add_argument("--beam", type=int, default=None, help="translate, speech-ctc: beam size (default: the model's own)")
    e.add_argument("--json", action="store_true")
    e.add_argument("--ensemble", action="append", default=[], type=Path, metavar="DIR",
                   help="sentiment: another model directory to average probabilities with (repeat the flag)")
    p = sub.add_parser("predict", help="label texts (or, for signal and video models, files) with a trained model "
                       "(sentiment reads lines from stdin if none given)")
    p.add_argument("dir", type=Path)
    p.add_argument("texts", nargs="*", metavar="INPUT", help="texts; for speech-digits/activity models .npy/.csv/.ts "
                   "feature files, for video models .npy clips")
    p.add_argument("--json", action="store_true", help="one JSON object per input")
    p.add_argument("--ensemble", action="append", default=[], type=Path, metavar="DIR",
                   help="sentiment: another model directory to average probabilities with (repeat the flag)")
    g = sub.add_parser("generate", help="write text with a trained language model")
    g.add_argument("dir", type=Path)
    g.add_argument("--prompt", default="", help="text to continue (e.g. 'ROMEO:')")
    g.add_argument("--length", type=int, default=200, help="tokens to generate (characters or words)")
    g.add_argument("--temperature", type=float, default=0.8)
    g.add_argument("--top-k", type=int, default=None)
    g.add_argument("--seed", type=int, default=None)
    return {"evaluate": _dispatch(EVALUATE, "evaluate"), "predict": _dispatch(PREDICT, "predict"),
            "generate": _generate}
