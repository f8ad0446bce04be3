"""What tokenizing costs `rnnkit predict`: the pipeline (tokenizer.json) against the regex tokenizer it replaced.

    python benchmarks/encode_speed.py DIR [--lines 20000]     # DIR: a word-level sentiment model directory
    python benchmarks/encode_speed.py --quick                 # a tiny model on the test fixture

The rt-polarity snippets (repeated to --lines) in chunks of 256, as `rnnkit predict` reads stdin: encoding
them with the model's pipeline (TextEncoder.encode_batch), with the old path (Python's re + the vocabulary:
tests/legacy_tokenizer.py), and the model's forward pass on the same chunks. Interleaved, 5 repeats;
prints the best wall and CPU seconds of each and the machine's load average (the numbers mean little on a
busy machine). No results file.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

import rnnkit
from rnnkit.data import open_data
from rnnkit.data.readers.reviews import read_rt_snippets
from rnnkit.text import PadCollator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import legacy_tokenizer as legacy  # noqa: E402 - the oracle lives with the tests


def fixture_texts() -> list[tuple[str, str]]:
    snippets = read_rt_snippets(ROOT / "tests" / "fixtures" / "rotten_tomatoes_corpus_full.csv.bz2")
    return [(ex.text, "positive" if ex.label == 1 else "negative") for _, ex in snippets] * 3


def lines_of(count: int, quick: bool) -> list[str]:
    if quick:
        texts = [text for text, _ in fixture_texts()]
    else:
        data = open_data("rt-polarity", "sentiment")
        texts = [ex.text.replace("\n", " ") for split in ("train", "val", "test") for ex in getattr(data, split)]
    return (texts * (count // len(texts) + 1))[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", nargs="?", help="a word-level sentiment model directory")
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="a tiny model trained on the test fixture")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir
        if args.quick or directory is None:
            from rnnkit.cli import main as cli

            directory = str(Path(tmp) / "m")
            data = Path(tmp) / "reviews.csv"
            with open(data, "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows([("text", "label"), *fixture_texts()])
            assert cli(["train", "sentiment", "--data", str(data), "--epochs", "1", "--no-progress", "--min-freq",
                        "1", "--embed-dim", "8", "--hidden-size", "8", "--out", directory]) == 0
        predictor = rnnkit.load(directory)
    encoder = predictor.encoder
    lowercase = encoder.tokenizer.normalizer.lowercase
    lines = lines_of(args.lines, args.quick or args.dir is None)
    chunks = [lines[i:i + 256] for i in range(0, len(lines), 256)]
    encoded = [encoder.encode_batch(chunk) for chunk in chunks]

    def legacy_path() -> object:
        return [[encoder.vocab.encode(legacy.word_tokens(t, lowercase=lowercase)) for t in chunk] for chunk in chunks]

    @torch.no_grad()
    def forward() -> None:
        for ids in encoded:
            batch = PadCollator()(ids)
            torch.softmax(predictor.model(batch.tokens, batch.lengths), dim=1)

    assert legacy_path() == encoded, "the pipeline's ids differ from the regex tokenizer's"
    runs = {"pipeline (encode_batch)": lambda: [encoder.encode_batch(chunk) for chunk in chunks],
            "regex tokenizer (before)": legacy_path, "model forward": forward}
    best: dict[str, tuple[float, float]] = {}
    for _ in range(5):
        for name, run in runs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            took = (time.perf_counter() - wall, time.process_time() - cpu)
            best[name] = tuple(map(min, zip(best.get(name, took), took, strict=True)))  # type: ignore[assignment]
    print(f"{len(lines):,} lines, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    for name, (wall, cpu) in best.items():
        print(f"  {name:26} {wall:6.2f} s wall ({len(lines) / wall:,.0f} lines/s)  {cpu:6.2f} s CPU")


if __name__ == "__main__":
    main()
