"""``rnnkit train TASK``: one command from nothing to a trained model directory."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from rnnkit.cli.args import add_dataclass_arguments, dataclass_from_args, given
from rnnkit.distributed import is_main_process
from rnnkit.tasks import sentiment
from rnnkit.train import TrainConfig

# Per task: options dataclass, train(opts, cfg, out), resume(out, **runtime), describe(result).
TASKS = {
    "sentiment": (sentiment.SentimentOptions, sentiment.train_sentiment, sentiment.resume_sentiment,
                  sentiment.describe, "classify texts (default: Rotten Tomatoes snippets) with an RNN or bag-of-words"),
}


def _default_out(task: str, opts) -> Path:
    return Path("runs") / f"{task}-{getattr(opts, 'model', 'model')}-{time.strftime('%Y%m%d-%H%M%S')}"


def _train(args: argparse.Namespace) -> int:
    options_cls, train_fn, resume_fn, describe, _ = TASKS[args.task]
    main_process = is_main_process()
    if args.resume is not None:
        changed = sorted(set(given(args, options_cls)) | (set(given(args, TrainConfig)) - set(TrainConfig.RUNTIME)))
        if changed:
            raise ValueError(f"--resume continues with the settings the run was started with; drop "
                             f"{', '.join('--' + c.replace('_', '-') for c in changed)}")
        result = resume_fn(args.resume, **given(args, TrainConfig))
        out = args.resume
    else:
        opts = dataclass_from_args(options_cls, args)
        cfg = dataclass_from_args(TrainConfig, args)
        if args.out is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ValueError("with torchrun, pass --out DIR so every process writes to and reads from the same place")
        out = args.out or _default_out(args.task, opts)
        if main_process:
            print(f"training into {out}")
        result = train_fn(opts, cfg, out)
    if not main_process:
        return 0
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(describe(result))
        print(f"model directory: {out}  (try: rnnkit predict {out} \"a text\")")
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("train", help="train a model for a task into a model directory")
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for name, (options_cls, _, _, _, help_text) in TASKS.items():
        t = tasks.add_parser(name, help=help_text, description=help_text)
        t.add_argument("--out", type=Path, default=None, help="model directory (default: runs/TASK-MODEL-TIME)")
        t.add_argument("--resume", type=Path, default=None, metavar="DIR",
                       help="continue a killed run in DIR with its own settings (only --max-minutes, --device, "
                            "--progress and --checkpoint-every-s may change)")
        t.add_argument("--json", action="store_true", help="print the metrics as JSON")
        add_dataclass_arguments(t, options_cls, "data and model")
        add_dataclass_arguments(t, TrainConfig, "training")
    return {"train": _train}
