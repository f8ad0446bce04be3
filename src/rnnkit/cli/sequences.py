"""``rnnkit evaluate`` and ``rnnkit predict`` for sequence classifiers: speech-digits, activity, video.

For these models the inputs of ``predict`` are files: ``.npy`` / ``.csv`` / ``.ts`` feature sequences
(T, C) for signal models, ``.npy`` clips (T, S, S) or (N, T, S, S) for video models.
"""

from __future__ import annotations

import argparse
import json

from rnnkit.train.checkpoint import read_config


def evaluate_sequences(args: argparse.Namespace) -> int:
    from rnnkit.tasks.sequence import format_report

    if read_config(args.dir)["task"] == "video":
        from rnnkit.tasks.video import evaluate_video_dir

        if args.data is not None:
            raise ValueError("a video model is evaluated on its own synthetic clips; drop --data")
        report = evaluate_video_dir(args.dir, args.split)
    else:
        from rnnkit.tasks.signals import evaluate_signals_dir

        report = evaluate_signals_dir(args.dir, args.data, args.split)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    note = "SYNTHETIC " if report.get("synthetic") else ""
    print(f"{note}{report['data']} ({args.split}, {report['n']} sequences): accuracy {report['accuracy']:.4f}, "
          f"macro-F1 {report['macro_f1']:.4f}")
    print("\n".join(format_report(report)))
    return 0


def predict_sequences(args: argparse.Namespace) -> int:
    if not args.texts:
        raise ValueError("give one or more files to classify (.npy, .csv or .ts feature sequences; .npy clips for "
                         "a video model)")
    if read_config(args.dir)["task"] == "video":
        from rnnkit.tasks.video import VideoPredictor

        results = VideoPredictor(args.dir).predict_files(args.texts)
    else:
        from rnnkit.tasks.signals import SignalPredictor

        results = SignalPredictor(args.dir).predict_files(args.texts)
    for r in results:
        print(json.dumps(r) if args.json else f"{r['label']}\t{r['probability']:.3f}\t{r['input']}")
    return 0
