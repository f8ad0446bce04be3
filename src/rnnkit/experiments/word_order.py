"""The lecture's "Issue 2: a bag of words ignores word order", measured on contrast pairs.

A contrast pair is two sentences with the same bag of words and opposite labels, made by swapping the
positive and the negative word of a template: "the acting was good , not bad at all" (positive) /
"the acting was bad , not good at all" (negative). Nouns and adjectives come from candidate lists kept
only if they occur in the training split often enough, and an adjective only if the training labels
agree with its polarity (its share of positive reviews is above / below the base rate).

A bag-of-words model sees identical features for both members, so it gets *exactly one* of each pair
right: "both right" is 0 by construction (checked: the members' token-id multisets are compared, and a
unigram bag-of-words model with a pair both right is an error). A model that reads in order can get
both. Models are trained on the sentiment data (default: rt-polarity, split by movie), or given as
directories (``--models``).

Writes ``results.json``, ``pairs.png``, ``pairs.jsonl`` (every sentence and every model's answer)
and ``report.md``.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit.data import load_text_classification
from rnnkit.experiments.arms import QUICK_SENTIMENT, experiment_data, train_sentiment_arm
from rnnkit.experiments.record import (
    Claim,
    claims_section,
    experiment_setup,
    finish,
    pyplot,
    save_figure,
    setup_line,
    stamp,
    table,
)
from rnnkit.tasks.sentiment import SentimentOptions, SentimentPredictor
from rnnkit.text.tokenize import build_tokenizer
from rnnkit.train.loop import TrainConfig

# {x} carries the sentence's sentiment, {y} the opposite one: swapping them flips the label only.
TEMPLATES = (
    "the {noun} was {x} , not {y} at all",
    "the {noun} is not {y} , it is {x}",
    "i expected the {noun} to be {y} , but it was {x}",
    "far from {y} , the {noun} is {x}",
    "the {noun} is {x} rather than {y}",
    "some call the {noun} {y} ; i found it {x}",
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
ARMS = {"bow": {"model": "bow"}, "bow+bigrams": {"model": "bow", "bigrams": True}, "rnn": {"model": "rnn"},
        "lstm": {"model": "lstm"}, "gru": {"model": "gru"}}
FULL = {"pairs": 2000, "min_count": 10, "minutes": 5.0}
QUICK = {"pairs": 60, "min_count": 1, "minutes": None}


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


def contrast_pairs(words: dict[str, list[str]], n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` distinct pairs (all of them if fewer exist), sampled with ``seed`` from every template ×
    noun × positive × negative combination: ``{"template", "words", "positive", "negative"}``."""
    combos = list(itertools.product(range(len(TEMPLATES)), words["nouns"], words["positive"], words["negative"]))
    chosen = random.Random(seed).sample(combos, min(n, len(combos)))
    return [{"template": t, "words": [noun, pos, neg],
             "positive": TEMPLATES[t].format(noun=noun, x=pos, y=neg),
             "negative": TEMPLATES[t].format(noun=noun, x=neg, y=pos)} for t, noun, pos, neg in chosen]


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


def run(out: Path, *, quick: bool = False, minutes: float | None = None, data: str = "rt-polarity",
        models: Sequence[Path] | None = None, seed: int = 13, log=print) -> dict[str, Any]:
    """Train (or take) the models, build the pairs from ``data``'s training split and score them."""
    out, setup = experiment_setup(out, FULL, QUICK, quick, minutes)
    data = experiment_data(data, out, quick)
    corpus = load_text_classification(data)
    if "positive" not in corpus.labels:
        raise ValueError(f"{corpus.name} has labels {corpus.labels}; contrast pairs need positive/negative")
    words = vocabulary([ex.text for ex in corpus.train], [ex.label for ex in corpus.train],
                       corpus.labels.index("positive"), setup["min_count"])
    pairs = contrast_pairs(words, setup["pairs"])
    log(f"{len(pairs)} contrast pairs from {len(words['nouns'])} nouns, {len(words['positive'])} positive and "
        f"{len(words['negative'])} negative words of the {corpus.name} training split")
    directories = {Path(m).name: Path(m) for m in models} if models else {}
    arms: dict[str, Any] = {}
    if not models:
        cfg = TrainConfig(epochs=2, progress=False, seed=seed) if quick else \
            TrainConfig(max_minutes=setup["minutes"], progress=False, seed=seed)
        for name, flags in ARMS.items():
            tiny = (QUICK_SENTIMENT if flags["model"] != "bow" else {"min_freq": 1}) if quick else {}
            opts = SentimentOptions(data=data, **flags, **tiny)
            directories[name] = out / "models" / name
            log(f"training {name}")
            arms[name] = {"trained": train_sentiment_arm(opts, cfg, directories[name], log=log)}
    answers: dict[str, list[str]] = {}
    for name, directory in directories.items():
        predictor = SentimentPredictor(directory)
        kwargs = predictor.config["model"]["kwargs"]
        bag_only = predictor.config["model"]["class"] == "BagOfWordsClassifier" and not kwargs.get("num_bigrams")
        result = score(predictor, pairs)
        if bag_only and result["both_right"] != 0:
            raise AssertionError(f"{name}: a unigram bag-of-words model got {result['both_right']} pairs both right")
        test = json.loads((directory / "metrics.json").read_text(encoding="utf-8"))["test"]["accuracy"]
        answers[name] = result.pop("answers")
        arms[name] = {**arms.get(name, {}), "model": kwargs.get("cell", "bag of words"), "bag_only": bag_only,
                      "test_accuracy": test, **result}
        log(f"{name}: test accuracy {test:.3f}; pair sentences {result['sentence_accuracy']:.3f}, both right "
            f"{result['both_right']}/{len(pairs)}")
    _write_pairs(out / "pairs.jsonl", pairs, answers)
    results = {**stamp("word-order", quick), "data": corpus.name, "setup": setup, "templates": list(TEMPLATES),
               "words": words, "examples": pairs[:5], "arms": arms}
    results["claims"] = claims(results)
    results["plots"] = [plot(results, out / "pairs.png").name]
    return finish(out, results, report(results))


def _write_pairs(path: Path, pairs: Sequence[dict[str, Any]], answers: dict[str, list[str]]) -> None:
    """One line per pair: the sentences and each model's answer to its positive and negative member."""
    with open(path, "w", encoding="utf-8") as f:
        for i, p in enumerate(pairs):
            given = {n: a[2 * i: 2 * i + 2] for n, a in answers.items()}
            f.write(json.dumps({**p, "answers": given}, ensure_ascii=False) + "\n")


def claims(results: dict[str, Any]) -> list[Claim]:
    arms = results["arms"]
    bags = {n: a for n, a in arms.items() if a["bag_only"]}
    readers = {n: a for n, a in arms.items() if a["model"] != "bag of words"}
    found = []
    if bags:
        found.append(Claim(claim="A bag of words cannot tell a contrast pair apart", holds=True,
                           verdict=", ".join(f"{n}: {a['both_right']} of {a['pairs']} pairs both right"
                                             for n, a in bags.items()) + " (0 by construction, checked)"))
    if readers:
        best = max(readers, key=lambda n: readers[n]["both_right"])
        rate = readers[best]["both_right"] / readers[best]["pairs"]
        found.append(Claim(claim="A recurrent classifier, reading in order, gets both members of most pairs right",
                           holds=rate > 0.5,
                           verdict=f"best {best}: {100 * rate:.0f} % of pairs both right (chance for independent "
                                   "coin flips: 25 %); " + ", ".join(
                                       f"{n} {100 * a['both_right'] / a['pairs']:.0f} %" for n, a in readers.items())))
    return found


def plot(results: dict[str, Any], path: Path) -> Path:
    """Per model: test accuracy, accuracy on the pair sentences, share of pairs both right."""
    plt = pyplot()
    arms = results["arms"]
    series = {"test accuracy": [a["test_accuracy"] for a in arms.values()],
              "pair sentences right": [a["sentence_accuracy"] for a in arms.values()],
              "pairs both right": [a["both_right"] / a["pairs"] for a in arms.values()]}
    fig, ax = plt.subplots(figsize=(7.5, 4))
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series.items()):
        ax.bar([x + (i - 1) * width for x in range(len(arms))], values, width, label=label)
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(range(len(arms)), list(arms))
    ax.set_ylim(0, 1)
    ax.set_ylabel("share")
    ax.set_title(f"Word order: {next(iter(arms.values()))['pairs']} contrast pairs (same words, opposite labels)")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def report(results: dict[str, Any]) -> str:
    w, arms = results["words"], results["arms"]
    rows = [[n, a["model"], f"{a['test_accuracy']:.3f}", f"{a['sentence_accuracy']:.3f}",
             f"{a['both_right']} ({100 * a['both_right'] / a['pairs']:.0f} %)",
             f"{a['both_wrong']} ({100 * a['both_wrong'] / a['pairs']:.0f} %)",
             f"{100 * a['unknown_token_share']:.1f} %"]
            for n, a in arms.items()]
    by_template = [[t, *(f"{100 * a['both_right_by_template'].get(t, 0):.0f} %" for a in arms.values())]
                   for t in results["templates"]]
    example = results["examples"][0]
    lines = ["# Word order: contrast pairs (the lecture's Issue 2)", "", setup_line(results),
             f"Data `{results['data']}`; {next(iter(arms.values()))['pairs']} pairs, e.g. “{example['positive']}” "
             f"(positive) / “{example['negative']}” (negative).",
             f"Words (each ≥ {w['min_count']} times in the training split, adjectives with the data's polarity; "
             f"positive base rate {w['base_rate']:.2f}): nouns {', '.join(w['nouns'])}; positive "
             f"{', '.join(w['positive'])}; negative {', '.join(w['negative'])}.", "",
             *table(["model", "kind", "test acc.", "pair sentences acc.", "pairs both right", "pairs both wrong",
                     "<unk> share"], rows),
             "", "Pairs both right, per template:", "", *table(["template", *arms], by_template), "",
             "## Verdict", "", *claims_section(results["claims"]), "", "![contrast pairs](pairs.png)", ""]
    return "\n".join(lines)
