"""Contrast pairs for the word-order experiment: the templates, the words, the splits and the scoring.

A contrast pair is two sentences with the same bag of words and opposite labels, made by swapping the
positive and the negative word of a template: "the acting was good , not bad at all ." (positive) /
"the acting was bad , not good at all ." (negative). Template 0 with (food, good, bad) is the lecture's
own pair, "The food was good, not bad at all." / "The food was bad, not good at all.".

Two uses (see :mod:`rnnkit.experiments.word_order`): *transfer* samples pairs from every template ×
noun × positive × negative combination to score models trained on reviews; *capacity*
(:func:`capacity_split`) trains on pairs and tests on pairs of (noun, positive, negative) triples it
never saw, and separately on a template it never saw.
"""

from __future__ import annotations

import csv
import itertools
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit.tasks.sentiment import SentimentPredictor
from rnnkit.text.tokenize import build_tokenizer

# {x} carries the sentence's sentiment, {y} the opposite one: swapping them flips the label only.
TEMPLATES = (
    "the {noun} was {x} , not {y} at all .",
    "the {noun} is not {y} , it is {x} .",
    "i expected the {noun} to be {y} , but it was {x} .",
    "far from {y} , the {noun} is {x} .",
    "the {noun} is {x} rather than {y} .",
    "some call the {noun} {y} ; i found it {x} .",
)
NOUNS = ("film", "movie", "story", "plot", "acting", "script", "cast", "dialogue", "direction", "ending",
         "performances", "characters", "screenplay", "premise", "soundtrack", "humor", "pacing", "comedy",
         "thriller", "drama", "sequel", "music")
POSITIVE = ("good", "great", "funny", "moving", "smart", "charming", "clever", "beautiful", "brilliant", "engaging",
            "fresh", "entertaining", "wonderful", "touching", "compelling", "witty", "delightful", "powerful",
            "gripping", "memorable", "enjoyable", "thoughtful", "intelligent", "excellent", "fascinating", "sweet")
NEGATIVE = ("bad", "boring", "dull", "stupid", "awful", "terrible", "tedious", "flat", "lame", "predictable",
            "silly", "pointless", "mediocre", "forgettable", "clumsy", "bland", "weak", "tiresome", "pathetic",
            "unfunny", "mindless", "shallow", "lifeless", "hollow", "incoherent", "dreary", "dumb")
LECTURE_PAIR = {"positive": "The food was good, not bad at all.", "negative": "The food was bad, not good at all."}
LECTURE_TRIPLE = ("food", "good", "bad")  # template 0 with these words is the lecture's pair
HELD_OUT_TEMPLATE = 1  # "the {noun} is not {y} , it is {x} .": the capacity arm never trains on it
SPLIT_SHARE = {"val": 0.1, "test": 0.2}  # of the (noun, positive, negative) triples, in the capacity arm


def vocabulary(texts: Sequence[str], labels: Sequence[int], positive: int, min_count: int) -> dict[str, Any]:
    """The candidate words that occur ≥ ``min_count`` times in ``texts``, adjectives only where the labels
    agree with their polarity. Returns the kept lists and each word's count and positive share."""
    tokenize = build_tokenizer("word", lowercase=True).tokenize
    counts: Counter[str] = Counter()
    positives: Counter[str] = Counter()
    for text, label in zip(texts, labels, strict=True):
        words = set(tokenize(text))
        counts.update(words)
        if label == positive:
            positives.update(words)
    base = sum(1 for y in labels if y == positive) / max(1, len(labels))
    share = {w: positives[w] / counts[w] for w in counts}
    stats = {w: {"count": counts[w], "positive_share": round(share[w], 3)} for w in (*NOUNS, *POSITIVE, *NEGATIVE)
             if counts[w]}
    kept = {"nouns": [w for w in NOUNS if counts[w] >= min_count],
            "positive": [w for w in POSITIVE if counts[w] >= min_count and share[w] > base],
            "negative": [w for w in NEGATIVE if counts[w] >= min_count and share[w] < base]}
    empty = [k for k, v in kept.items() if not v]
    if empty:
        raise ValueError(f"no candidate {' / '.join(empty)} word occurs {min_count}+ times with the right polarity "
                         "in the training split; the data is too small for contrast pairs")
    return {**kept, "base_rate": base, "min_count": min_count, "stats": stats}


def make_pair(template: int, noun: str, positive: str, negative: str) -> dict[str, Any]:
    """One pair: ``{"template", "words", "positive", "negative"}`` (the two sentences)."""
    return {"template": template, "words": [noun, positive, negative],
            "positive": TEMPLATES[template].format(noun=noun, x=positive, y=negative),
            "negative": TEMPLATES[template].format(noun=noun, x=negative, y=positive)}


def contrast_pairs(words: dict[str, list[str]], n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` distinct pairs (all of them if fewer exist), sampled with ``seed`` from every template ×
    noun × positive × negative combination."""
    combos = list(itertools.product(range(len(TEMPLATES)), words["nouns"], words["positive"], words["negative"]))
    chosen = random.Random(seed).sample(combos, min(n, len(combos)))
    return [make_pair(*combo) for combo in chosen]


def capacity_words(words: dict[str, list[str]]) -> dict[str, list[str]]:
    """The transfer arm's words plus the lecture's (food, good, bad): the capacity arm trains on pairs, so
    its words need no support in a review corpus, and the lecture's pair then has no unknown word."""
    noun, positive, negative = LECTURE_TRIPLE
    return {"nouns": [*words["nouns"], *([noun] if noun not in words["nouns"] else [])],
            "positive": [*words["positive"], *([positive] if positive not in words["positive"] else [])],
            "negative": [*words["negative"], *([negative] if negative not in words["negative"] else [])]}


def capacity_split(words: dict[str, list[str]], pairs: int, seed: int = 0) -> dict[str, Any]:
    """Contrast pairs to train on and to test on, such that no test triple was seen in training.

    The (noun, positive, negative) triples are shuffled with ``seed`` and cut by :data:`SPLIT_SHARE` into
    train / val / test triples (the lecture's triple always in test). Returns ``train`` (``pairs`` pairs),
    ``val`` (``pairs // 10``) and ``test`` (``pairs // 3``) sampled from their triples × the training
    templates (all but :data:`HELD_OUT_TEMPLATE`), ``held_out_template`` (``pairs // 3``: the test triples
    in the held-out template), and the triple and template counts."""
    words = capacity_words(words)
    triples = list(itertools.product(words["nouns"], words["positive"], words["negative"]))
    others = [t for t in triples if t != LECTURE_TRIPLE]
    random.Random(seed).shuffle(others)
    n_test = max(1, round(SPLIT_SHARE["test"] * len(triples))) - 1  # besides the lecture's triple
    n_val = max(1, round(SPLIT_SHARE["val"] * len(triples)))
    parts = {"test": [LECTURE_TRIPLE, *others[:n_test]], "val": others[n_test:n_test + n_val],
             "train": others[n_test + n_val:]}
    if not parts["train"] or not parts["val"]:
        raise ValueError(f"only {len(triples)} (noun, positive, negative) triples: too few to hold some out; "
                         "use more data or a lower min_count")
    seen = [t for t in range(len(TEMPLATES)) if t != HELD_OUT_TEMPLATE]
    sizes = {"train": pairs, "val": max(1, pairs // 10), "test": max(1, pairs // 3)}
    split: dict[str, Any] = {}
    for name, size in sizes.items():
        split[name] = _sample(parts[name], seen, size, seed)
    split["held_out_template"] = _sample(parts["test"], [HELD_OUT_TEMPLATE], sizes["test"], seed)
    split["triples"] = {name: len(part) for name, part in parts.items()}
    split["templates"] = {"seen": seen, "held_out": HELD_OUT_TEMPLATE}
    return split


def _sample(triples: Sequence[tuple[str, str, str]], templates: Sequence[int], n: int,
            seed: int) -> list[dict[str, Any]]:
    """``n`` distinct pairs (all if fewer exist) of ``triples`` × ``templates``, sampled with ``seed``."""
    combos = list(itertools.product(templates, triples))
    chosen = random.Random(seed).sample(combos, min(n, len(combos)))
    return [make_pair(template, *triple) for template, triple in chosen]


def write_pairs_csv(path: Path, pairs: Sequence[dict[str, Any]]) -> Path:
    """Both members of every pair as ``text,label`` rows (positive first), for ``rnnkit train sentiment``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for p in pairs:
            writer.writerow([p["positive"], "positive"])
            writer.writerow([p["negative"], "negative"])
    return path


def same_bag(predictor: SentimentPredictor, pairs: Sequence[dict[str, Any]]) -> bool:
    """Whether every pair's members have identical bags of token ids under the model's own encoder."""
    encode = predictor.encoder.encode
    return all(Counter(encode(p["positive"])) == Counter(encode(p["negative"])) for p in pairs)


def score(predictor: SentimentPredictor, pairs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy on the pair sentences and how many pairs the model gets both / neither right."""
    if not {"positive", "negative"} <= set(predictor.labels):
        raise ValueError(f"{predictor.directory} predicts {predictor.labels}, not positive/negative")
    if not same_bag(predictor, pairs):
        raise AssertionError("a contrast pair's members differ as bags of words")
    texts = [p[side] for p in pairs for side in ("positive", "negative")]
    answers = [r["label"] for r in predictor.predict(texts)]
    right = [(answers[2 * i] == "positive", answers[2 * i + 1] == "negative") for i in range(len(pairs))]
    by_template: dict[int, list[bool]] = {}
    for p, (a, b) in zip(pairs, right, strict=True):
        by_template.setdefault(p["template"], []).append(a and b)
    unk = predictor.encoder.vocab.token_to_id("<unk>")
    ids = [i for text in texts[::2] for i in predictor.encoder.encode(text)]
    return {"sentence_accuracy": sum(a + b for a, b in right) / (2 * len(pairs)),
            "both_right": sum(a and b for a, b in right), "both_wrong": sum(not (a or b) for a, b in right),
            "pairs": len(pairs), "unknown_token_share": sum(i == unk for i in ids) / len(ids),
            "both_right_by_template": {TEMPLATES[t]: sum(v) / len(v) for t, v in sorted(by_template.items())},
            "answers": answers}


def check_bag_of_words(name: str, result: dict[str, Any]) -> None:
    """A unigram bag of words sees the same features for both members: exactly one right per pair, so 0
    pairs both right, 0 both wrong and a sentence accuracy of exactly 50 %. Anything else is a bug."""
    if result["both_right"] != 0 or result["both_wrong"] != 0 or result["sentence_accuracy"] != 0.5:
        raise AssertionError(f"{name}: a unigram bag-of-words model got {result['both_right']} pairs both right, "
                             f"{result['both_wrong']} both wrong (sentence accuracy {result['sentence_accuracy']}); "
                             "identical features must give exactly one right per pair")


def lecture_pair(predictor: SentimentPredictor) -> dict[str, Any]:
    """The model's P(positive) for each sentence of the lecture's pair, and its unknown tokens."""
    found = predictor.predict([LECTURE_PAIR["positive"], LECTURE_PAIR["negative"]])
    return {side: {"p_positive": r["probs"]["positive"], "label": r["label"], "unknown_tokens": r["unknown_tokens"]}
            for side, r in zip(("positive", "negative"), found, strict=True)}
