"""``rnnkit transcribe DIR audio.wav…``: speech to text with a trained ``speech-ctc`` model directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def print_transcripts(directory: Path, paths: list[str], *, beam: int = 1, lm_weight: float | None = None,
                      as_json: bool = False) -> int:
    """Transcribe ``paths`` and print ``path<TAB>text`` (or one JSON object) per file."""
    from rnnkit.tasks.transcriber import SpeechRecognizer

    if not paths:
        raise ValueError("give one or more audio files (WAV, any sample rate and channel count)")
    if beam < 1:
        raise ValueError(f"--beam must be >= 1, got {beam}")
    recognizer = SpeechRecognizer(directory)
    opts = recognizer.options
    weight = opts.lm_weight if lm_weight is None else lm_weight
    for r in recognizer.transcribe(paths, beam=beam, lm_weight=weight, insertion_bonus=opts.insertion_bonus):
        print(json.dumps(r) if as_json else f"{r['path']}\t{r['text']}")
    return 0


def evaluate_speech(args: argparse.Namespace) -> int:
    """``rnnkit evaluate DIR`` for a speech-ctc model: CER/WER on a split of its (synthetic) corpus."""
    from rnnkit.tasks.transcriber import evaluate_speech_dir

    if args.data is not None:
        raise ValueError("a speech-ctc model is evaluated on its own corpus (--split train|val|test); to score other "
                         "recordings, transcribe them with `rnnkit transcribe`")
    report = evaluate_speech_dir(args.dir, args.split, beam=args.beam)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    kind = "synthetic speech, held-out voices" if report["synthetic"] and args.split != "train" else args.split
    print(f"{args.split} ({kind}, {report['n']} utterances): greedy CER {report['cer']:.4f}, WER {report['wer']:.4f}")
    for name in ("beam", "beam_lm"):
        if f"{name}_cer" in report:
            print(f"  {name.replace('_', ' + ')}: CER {report[name + '_cer']:.4f}, WER {report[name + '_wer']:.4f}")
    return 0


def predict_speech(args: argparse.Namespace) -> int:
    """``rnnkit predict DIR audio.wav…`` for a speech-ctc model: greedy transcripts."""
    return print_transcripts(args.dir, args.texts, as_json=args.json)


def _transcribe(args: argparse.Namespace) -> int:
    return print_transcripts(args.dir, args.audio, beam=args.beam, lm_weight=args.lm_weight, as_json=args.json)


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("transcribe", help="transcribe audio files with a speech-ctc model (trained on synthetic "
                                          "speech)")
    p.add_argument("dir", type=Path)
    p.add_argument("audio", nargs="+", metavar="AUDIO", help="WAV files: mono or stereo, any rate, integer or float")
    p.add_argument("--beam", type=int, default=1, help="prefix beam width (default 1: greedy decoding)")
    p.add_argument("--lm-weight", type=float, default=None,
                   help="character bigram LM weight in the beam search (default: the model's own)")
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    return {"transcribe": _transcribe}
