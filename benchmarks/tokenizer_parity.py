"""Does the Hugging Face pipeline cut the real corpora exactly as rnnkit's regex tokenizer did?

    python benchmarks/tokenizer_parity.py            # every corpus below (fetched on first use)
    python benchmarks/tokenizer_parity.py --quick    # the test fixtures only; no results file

rnnkit's word, character and BPE tokenizers are one ``tokenizers`` pipeline since issue 24 (the file a
model directory saves as tokenizer.json). The tokenizer before it — Python's ``re`` and ``unicodedata`` —
is kept as the oracle in tests/legacy_tokenizer.py. For every text of every corpus (sentiment texts of all
splits, the lines of each language-model split as ``rnnkit train lm`` reads them, both sides of every
translation pair) this compares the word tokens and the character tokens, with and without lowercasing,
and the normalised text a BPE model reads; a Shakespeare split is also cut as one text, as the character
model reads it. Writes benchmarks/results/tokenizer-parity.json: texts compared and differences per corpus,
with the first differences.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from rnnkit.bench.timing import write_results
from rnnkit.data import open_data
from rnnkit.text import CharTokenizer, WordTokenizer, normalize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import legacy_tokenizer as legacy  # noqa: E402 - the oracle lives with the tests

CORPORA = [("rt-polarity", "sentiment"), ("vader-movies", "sentiment"), ("vader-tweets", "sentiment"),
           ("pang-lee", "sentiment"), ("austen", "lm"), ("movie-reviews", "lm"), ("shakespeare", "lm"),
           ("fr-en", "translation"), ("bible-de-en", "translation"), ("bible-ru-en", "translation")]
QUICK = [(str(ROOT / "tests" / "fixtures" / "reviews.csv"), "sentiment"),
         (str(ROOT / "tests" / "fixtures" / "translation" / "fra.txt"), "translation")]


def texts_of(name: str, task: str) -> tuple[list[str], list[str]]:
    """(texts cut one by one, texts a character model reads whole) of every split."""
    data = open_data(name, task)
    texts: list[str] = []
    whole: list[str] = []
    for split in ("train", "val", "test"):
        items = getattr(data, split)
        if task == "sentiment":
            texts += [example.text for example in items]
        elif task == "translation":
            texts += [side for pair in items for side in (pair.src, pair.tgt)]
        else:  # lm: one string per split; the word model reads its non-empty lines
            texts += [line for line in items.split("\n") if line.strip()]
            if data.level == "char":
                whole.append(items)
    return texts, whole


def compare(texts: list[str], whole: list[str]) -> dict[str, Any]:
    differences: list[dict[str, Any]] = []
    seconds = {"legacy": 0.0, "pipeline": 0.0}
    for lowercase in (False, True):
        cuts = [("word", legacy.word_tokens, WordTokenizer(lowercase=lowercase).tokenize),
                ("char", legacy.char_tokens, CharTokenizer(lowercase=lowercase).tokenize),
                ("bpe-normaliser", legacy.normalize, lambda t, lc=lowercase: normalize(t, lowercase=lc))]
        for level, old, new in cuts:
            for text in texts + (whole if level == "char" else []):
                started = time.perf_counter()
                want = old(text, lowercase=lowercase)
                middle = time.perf_counter()
                got = new(text)
                seconds["legacy"] += middle - started
                seconds["pipeline"] += time.perf_counter() - middle
                if got != want:
                    differences.append({"level": level, "lowercase": lowercase, "text": text[:200]})
    return {"texts": len(texts), "whole_texts": len(whole), "characters": sum(map(len, texts)),
            "comparisons": 6 * len(texts) + 2 * len(whole), "differences": len(differences),
            "first_differences": differences[:5], "seconds": {k: round(v, 1) for k, v in seconds.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the test fixtures only; no results file")
    args = parser.parse_args()
    records = []
    for name, task in QUICK if args.quick else CORPORA:
        texts, whole = texts_of(name, task)
        record = {"corpus": Path(name).name if args.quick else name, "task": task, **compare(texts, whole)}
        print(f"{record['corpus']:14} {record['texts']:>8,} texts {record['characters']:>11,} chars: "
              f"{record['differences']} differences ({record['seconds']})", flush=True)
        records.append(record)
    if not args.quick:
        path = write_results(ROOT / "benchmarks" / "results" / "tokenizer-parity.json", records,
                             what="rnnkit's regex tokenizer (tests/legacy_tokenizer.py) against the HF pipeline")
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
