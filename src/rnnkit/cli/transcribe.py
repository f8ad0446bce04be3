"""``rnnkit transcribe DIR audio.wav…``: speech to text with a trained ``speech-ctc`` model directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rnnkit.cli.args import in_range
from rnnkit.ranges import SHARED_RANGES
from rnnkit.tasks import speech_ctc


def _transcribe(args: argparse.Namespace) -> int:
    from rnnkit.tasks import run

    if args.beam < 1:
        raise ValueError(f"--beam must be >= 1, got {args.beam}")
    recognizer = run.load_for(args.dir, "transcribe", "transcribe")
    for path in args.audio:
        r = recognizer.transcribe(path, beam=args.beam, lm_weight=args.lm_weight)
        print(json.dumps(r) if args.json else f"{r['path']}\t{r['text']}")
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("transcribe", help="transcribe audio files with a speech-ctc model (trained on synthetic "
                                          "speech)",
                       description="Transcribe WAV files with a speech-ctc model directory. A file may last at most "
                                   f"{speech_ctc.MAX_SECONDS} s (a longer one is an error: cut it into parts).")
    p.add_argument("dir", type=Path)
    p.add_argument("audio", nargs="+", metavar="AUDIO", help="WAV files: mono or stereo, any rate, integer or float")
    p.add_argument("--beam", type=in_range(int, *SHARED_RANGES["beam"]), default=speech_ctc.BEAM,
                   help=f"prefix beam width (default {speech_ctc.BEAM}: greedy decoding)")
    p.add_argument("--lm-weight", type=in_range(float, 0.0), default=None,
                   help="character bigram LM weight in the beam search (default: the model's own)")
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    return {"transcribe": _transcribe}
