"""CTC transcription quality on SYNTHETIC speech (espeak-ng), held-out voices — and on real recordings.

    OMP_NUM_THREADS=1 python benchmarks/speech_ctc_quality.py             # train (≤ 30 min on 1 core) + score
    python benchmarks/speech_ctc_quality.py --model runs/speech-ctc-x      # score an existing model directory
    python benchmarks/speech_ctc_quality.py --quick                        # minutes: small corpus and model, no file

1. ``rnnkit train speech-ctc --epochs 15 --max-minutes 30`` (the default options; val CER picks the epoch).
2. The bigram-LM weight α and insertion bonus β of the beam search are chosen on **val** (a small grid).
3. Test (voices held out of training): CER/WER of greedy decoding, prefix beam search, beam + LM.
4. Real speech: the LibriVox clips (one reader, Sense and Sensibility) and the "cards" commands from
   Debian pocketsphinx-testdata, transcribed with the same model; whether each reference phrase occurs
   in the training transcripts is recorded (Austen's text is a training source).

Writes benchmarks/results/speech-ctc-<machine>.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from rnnkit.bench.timing import machine_tag, write_results
from rnnkit.data.speech import load_real_clips
from rnnkit.decode.ctc import greedy_decode, prefix_beam_search
from rnnkit.metrics.wer import error_rates
from rnnkit.tasks.run import train
from rnnkit.tasks.speech_ctc import (
    SpeechCTCOptions,
    SpeechRecognizer,
    corpus_folder,
    decode_text,
    load_features,
    utterance_log_probs,
)
from rnnkit.train.config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
GRID = [(alpha, beta) for alpha in (0.0, 0.2, 0.4, 0.6) for beta in (0.0, 0.5, 1.0, 1.5)]


def decode_all(log_probs, recognizer: SpeechRecognizer, beam: int, alpha: float = 0.0, beta: float = 0.0) -> list[str]:
    if beam == 1:
        return [decode_text(greedy_decode(lp)) for lp in log_probs]
    return [decode_text(prefix_beam_search(lp, beam, lm=recognizer.lm, lm_weight=alpha, insertion_bonus=beta))
            for lp in log_probs]


def score(refs: list[str], hyps: list[str]) -> dict:
    r = error_rates(refs, hyps)
    return {"cer": round(r["cer"], 4), "wer": round(r["wer"], 4), "n": r["n"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="score this model directory instead of training")
    parser.add_argument("--out", type=Path, default=Path("runs/speech-ctc-bench"))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--minutes", type=float, default=30.0, help="training budget (wall clock)")
    parser.add_argument("--beam", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="600 utterances, a small model, 3 epochs; no results file")
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    directory = args.model or (Path(tempfile.mkdtemp(prefix="speech-ctc-quick-")) if args.quick else args.out)
    if args.model is None:
        opts = (SpeechCTCOptions(train_size=600, val_size=100, test_size=100, hidden_size=64, layers=2)
                if args.quick else SpeechCTCOptions())
        cfg = TrainConfig(epochs=3 if args.quick else args.epochs, max_minutes=args.minutes, progress=False)
        train(opts, cfg, directory)
    recognizer = SpeechRecognizer(directory)
    result = json.loads((directory / "metrics.json").read_text())
    splits = load_features(corpus_folder(recognizer.options), recognizer.features, log=lambda _: None)
    device = torch.device("cpu")

    val_lp, _ = utterance_log_probs(recognizer.model, splits["val"], device)
    val_refs = [t for _, t, _ in splits["val"]]
    tuning = []
    for alpha, beta in GRID:
        tuning.append({"alpha": alpha, "beta": beta, **score(val_refs, decode_all(val_lp, recognizer, args.beam,
                                                                                   alpha, beta))})
        print(f"val beam {args.beam} α={alpha} β={beta}: CER {tuning[-1]['cer']:.4f} WER {tuning[-1]['wer']:.4f}")
    best = min(tuning, key=lambda r: (r["cer"], r["wer"]))
    alpha, beta = best["alpha"], best["beta"]

    records = []
    test_lp, _ = utterance_log_probs(recognizer.model, splits["test"], device)
    test_refs = [t for _, t, _ in splits["test"]]
    decoders = {"greedy": (1, 0.0, 0.0), f"beam {args.beam}": (args.beam, 0.0, 0.0),
                f"beam {args.beam} + bigram LM": (args.beam, alpha, beta)}
    for name, (beam, a, b) in decoders.items():
        started = time.perf_counter()
        hyps = decode_all(test_lp, recognizer, beam, a, b)
        records.append({"set": "test: synthetic speech, held-out voices", "decoder": name, "alpha": a, "beta": b,
                        **score(test_refs, hyps), "decode_seconds": round(time.perf_counter() - started, 2)})

    train_texts = {t for _, t, _ in splits["train"]}
    for clip_set in ("librivox", "cards"):
        clips = load_real_clips(clip_set)
        refs = [text for _, text in clips]
        seen = [any(ref in t or t in ref for t in train_texts) for ref in refs]
        for name, (beam, a, b) in decoders.items():
            hyps = [recognizer.transcribe(p, beam=beam, lm_weight=a, insertion_bonus=b)["text"] for p, _ in clips]
            records.append({"set": f"real speech: pocketsphinx-testdata {clip_set}", "decoder": name, "alpha": a,
                            "beta": b, **score(refs, hyps),
                            "transcripts": [{"ref": r, "hyp": h, "ref_overlaps_training_text": s}
                                            for r, h, s in zip(refs, hyps, seen, strict=True)]})

    table = ["| data | decoder | CER | WER | utterances |", "|---|---|---|---|---|"]
    table += [f"| {r['set']} | {r['decoder']} | {r['cer']:.3f} | {r['wer']:.3f} | {r['n']} |" for r in records]
    print("\n".join(table))
    if args.quick:
        return
    out = Path(__file__).parent / "results" / f"speech-ctc-{machine_tag()}.json"
    inside = directory.resolve().is_relative_to(ROOT)  # a folder outside the repository is named, not located
    model_dir = str(directory.resolve().relative_to(ROOT)) if inside else directory.name
    write_results(out, records, synthetic_speech=True, model_dir=model_dir, options=recognizer.config["options"],
                  train=recognizer.config["train"], train_seconds=result["train_seconds"], steps=result["steps"],
                  best_val=result["best_val"], parameters=result["parameters"], voices=result.get("voices"),
                  torch_threads=torch.get_num_threads(), lm_tuning_on_val=tuning,
                  by_voice_test_greedy_cer=result["test"].get("by_voice"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
