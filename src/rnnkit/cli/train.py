"""``rnnkit train TASK``: one command from nothing to a trained model directory."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rnnkit.cli.args import add_dataclass_arguments, dataclass_from_args, given
from rnnkit.tasks import lm, sentiment, sequence, signals, speech_ctc, translate, video
from rnnkit.train.distributed import is_main_process
from rnnkit.train.loop import TrainConfig


@dataclass(frozen=True)
class TaskCommand:
    """How ``rnnkit train NAME`` reaches a task: its options, train/resume functions and summary."""

    options: type
    train: Callable[..., dict]  # train(opts, cfg, out) -> metrics
    resume: Callable[..., dict]  # resume(out, **runtime settings) -> metrics
    describe: Callable[[dict], str]
    help: str


TASKS: dict[str, TaskCommand] = {
    "sentiment": TaskCommand(sentiment.SentimentOptions, sentiment.train_sentiment, sentiment.resume_sentiment,
                             sentiment.describe,
                             "classify texts (default: Rotten Tomatoes snippets) with an RNN or bag-of-words"),
    "lm": TaskCommand(lm.LMOptions, lm.train_lm, lm.resume_lm, lm.describe,
                      "next-token language model (default: Jane Austen, word level) with n-gram baselines"),
    "translate": TaskCommand(translate.TranslateOptions, translate.train_translate, translate.resume_translate,
                             translate.describe,
                             "encoder–decoder translation (default: French → English, Bible + LibreOffice), "
                             "with or without attention"),
    "speech-digits": TaskCommand(signals.SpeechDigitsOptions, signals.train_signals, signals.resume_signals,
                                 sequence.describe, "spoken digits (FSDD, 13 MFCCs per frame) with a recurrent "
                                 "sequence classifier"),
    "activity": TaskCommand(signals.ActivityOptions, signals.train_signals, signals.resume_signals, sequence.describe,
                            "human activity from motion sensors (default: UCI HAPT, split by subject; or "
                            "basicmotions)"),
    "video": TaskCommand(video.VideoOptions, video.train_video, video.resume_video, sequence.describe,
                         "actions in SYNTHETIC video clips (moving shapes): a CNN per frame, an RNN over frames"),
    "speech-ctc": TaskCommand(speech_ctc.SpeechCTCOptions, speech_ctc.train_speech_ctc, speech_ctc.resume_speech_ctc,
                              speech_ctc.describe, "sentence transcription with CTC on SYNTHETIC speech (espeak-ng "
                              "voices; val/test voices held out)"),
}


def _default_out(task: str, opts) -> Path:
    kind = getattr(opts, "model", None) or getattr(opts, "cell", "model")
    return Path("runs") / f"{task}-{kind}-{time.strftime('%Y%m%d-%H%M%S')}"


def _train(args: argparse.Namespace) -> int:
    command = TASKS[args.task]
    options_cls = command.options
    main_process = is_main_process()
    if args.resume is not None:
        changed = sorted(set(given(args, options_cls)) | (set(given(args, TrainConfig)) - set(TrainConfig.RUNTIME)))
        if changed:
            raise ValueError(f"--resume continues with the settings the run was started with; drop "
                             f"{', '.join('--' + c.replace('_', '-') for c in changed)}")
        result = command.resume(args.resume, **given(args, TrainConfig))
        out = args.resume
    else:
        opts = dataclass_from_args(options_cls, args)
        cfg = dataclass_from_args(TrainConfig, args)
        if args.out is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ValueError("with torchrun, pass --out DIR so every process writes to and reads from the same place")
        out = args.out or _default_out(args.task, opts)
        if main_process:
            print(f"training into {out}")
        result = command.train(opts, cfg, out)
    if not main_process:
        return 0
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(command.describe(result))
        print(f"model directory: {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("train", help="train a model for a task into a model directory")
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for name, command in TASKS.items():
        t = tasks.add_parser(name, help=command.help, description=command.help)
        t.add_argument("--out", type=Path, default=None, help="model directory (default: runs/TASK-MODEL-TIME)")
        t.add_argument("--resume", type=Path, default=None, metavar="DIR",
                       help="continue a killed run in DIR with its own settings (only --max-minutes, --device, "
                            "--progress and --checkpoint-every-s may change)")
        t.add_argument("--json", action="store_true", help="print the metrics as JSON")
        add_dataclass_arguments(t, command.options, "data and model")
        add_dataclass_arguments(t, TrainConfig, "training")
    return {"train": _train}
