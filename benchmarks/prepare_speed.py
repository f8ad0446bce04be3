"""Where the time of preparing a word-level corpus goes (issue 27: "preparation >= 20 MB/s on 2 cores").

    python benchmarks/prepare_speed.py           # writes benchmarks/results/prepare-speed-<machine>.json
    python benchmarks/prepare_speed.py --quick   # 2 MB of text, no results file

The text is that of benchmarks/scale.py (the bundled corpora austen + shakespeare + movie-reviews, read whole),
its non-blank lines in blocks of 4,096 as rnnkit.data.tokenstream hands them to Hugging Face `tokenizers`.
Each row runs one pipeline over all of it with `encode_batch_fast` (Rust, its own threads) and records MB/s
and CPU seconds per wall second (how many cores it kept busy):

* rnnkit word: the tokenizer a word-level model saves (normaliser: NFC, final sigma, lowercase, whitespace
  runs to one space, strip; pre-tokenizer: rnnkit's word regex, then the clitic split) — what preparation runs
  twice (the vocabulary pass, then the encoding pass);
* without the normaliser; without the clitic split; the word regex alone, no normaliser;
* the floor: no normaliser, split on whitespace only — the least a WordLevel pipeline of `tokenizers` does.

The vocabulary pass (`WordLevelTrainer`) is timed too. The best of --repeats runs of each is kept.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from tokenizers import Regex, Tokenizer, pre_tokenizers, trainers

from rnnkit.bench.timing import machine_tag, write_results
from rnnkit.text import Vocab
from rnnkit.text.tokenize import WORD_PATTERN, build_tokenizer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from scale import base_text  # noqa: E402 - the same text as the scale benchmark

BLOCK = 4096  # lines per encode_batch call, as rnnkit.data.tokenstream reads them


def variants() -> dict[str, Tokenizer]:
    """The pipelines timed, each a WordLevel model with an empty vocabulary (ids do not matter here)."""
    word = build_tokenizer("word", lowercase=True).pipeline(Vocab([]))

    def copy(normalizer: bool = True, pre_tokenizer: object = None) -> Tokenizer:
        hf = Tokenizer.from_str(word.to_str())
        if not normalizer:
            hf.normalizer = None
        if pre_tokenizer is not None:
            hf.pre_tokenizer = pre_tokenizer
        return hf

    cut = pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="removed", invert=True)
    return {"rnnkit word (normaliser + word regex + clitic split)": word,
            "without the normaliser": copy(normalizer=False),
            "without the clitic split": copy(pre_tokenizer=cut),
            "the word regex alone": copy(normalizer=False, pre_tokenizer=cut),
            "floor: whitespace split, no normaliser": copy(normalizer=False,
                                                           pre_tokenizer=pre_tokenizers.WhitespaceSplit())}


def timed(run, repeats: int) -> tuple[float, float]:
    """(best wall seconds, the CPU seconds of that run)."""
    best = (float("inf"), 0.0)
    for _ in range(repeats):
        cpu = time.process_time()
        wall = time.perf_counter()
        run()
        elapsed = time.perf_counter() - wall
        if elapsed < best[0]:
            best = (elapsed, time.process_time() - cpu)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 MB of text, 1 repeat, no results file")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    lines = [line for line in base_text().splitlines() if line.strip()]
    if args.quick:
        lines = lines[:30_000]
    repeats = 1 if args.quick else args.repeats
    megabytes = sum(len(line.encode()) + 1 for line in lines) / 1e6
    load_before = os.getloadavg()[0]
    records = []

    def encode_all(hf: Tokenizer) -> None:
        for i in range(0, len(lines), BLOCK):
            hf.encode_batch_fast(lines[i:i + BLOCK])

    for name, hf in variants().items():
        wall, cpu = timed(lambda hf=hf: encode_all(hf), repeats)
        records.append({"stage": name, "call": "encode_batch_fast", "seconds": round(wall, 3),
                        "mb_per_s": round(megabytes / wall, 2), "cpu_per_wall": round(cpu / wall, 2)})
        print(records[-1], flush=True)

    def vocabulary() -> None:
        hf = build_tokenizer("word", lowercase=True).pipeline(Vocab([]))
        trainer = trainers.WordLevelTrainer(vocab_size=2**31 - 1, min_frequency=1, special_tokens=[],
                                            show_progress=False)
        hf.train_from_iterator((lines[i:i + BLOCK] for i in range(0, len(lines), BLOCK)), trainer=trainer)

    wall, cpu = timed(vocabulary, repeats)
    records.append({"stage": "rnnkit word: the vocabulary pass", "call": "train_from_iterator (WordLevelTrainer)",
                    "seconds": round(wall, 3), "mb_per_s": round(megabytes / wall, 2),
                    "cpu_per_wall": round(cpu / wall, 2)})
    print(records[-1], flush=True)
    if args.quick:
        return
    out = ROOT / "benchmarks" / "results" / f"prepare-speed-{machine_tag()}.json"
    path = write_results(out, records, command="python benchmarks/prepare_speed.py", megabytes=round(megabytes, 2),
                         lines=len(lines), block_lines=BLOCK, repeats=repeats,
                         load_average=[round(load_before, 2), round(os.getloadavg()[0], 2)],
                         note="best of the repeats; cpu_per_wall: CPU seconds of the process per wall second "
                              "(2 = both cores busy)")
    print("wrote", path)


if __name__ == "__main__":
    main()
