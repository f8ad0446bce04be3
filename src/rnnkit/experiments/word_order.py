"""The lecture's "Issue 2: a bag of words ignores word order", measured on contrast pairs.

A contrast pair (:mod:`rnnkit.experiments.contrast_pairs`) is two sentences with the same bag of words
and opposite labels: "the acting was good , not bad at all ." / "the acting was bad , not good at all .".
A unigram bag of words sees identical features for both members, so it gets *exactly one* of each pair
right: 50 % sentence accuracy, 0 pairs both right and 0 both wrong (checked; anything else is an error).
A model that reads in order can get both. Two arms ask two questions:

- **capacity** — can the cell use order at all? Every model is trained on contrast pairs: pairs of some
  (noun, positive, negative) triples in five of the six templates; it is tested on pairs of triples it
  never saw (same templates), and, reported separately, on those triples in the sixth template.
- **transfer** — does a model trained on reviews (default: rt-polarity, split by movie) read the pairs
  right? Nouns and adjectives come from candidate lists kept only if they occur in the training split often
  enough, adjectives only if the labels agree with their polarity. Models may be given as directories
  (``--models``) instead of trained.

Fair by the protocol of :mod:`rnnkit.experiments.fair`: in each arm every model's learning rate is the best
of a grid by validation accuracy (seed 0), then it trains with several seeds at that rate. Every model also
gives its P(positive) for the lecture's own pair, "The food was good, not bad at all." / "The food was bad,
not good at all.".

Writes ``results.json``, ``pairs.png``, ``pairs.jsonl`` (every transfer pair and every seed-0 model's
answer), the capacity arm's ``capacity/{train,val,test}.csv`` and ``report.md``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rnnkit.data import load_text_classification
from rnnkit.experiments import word_order_report
from rnnkit.experiments.arms import QUICK_SENTIMENT, experiment_data, train_sentiment_arm
from rnnkit.experiments.contrast_pairs import (
    LECTURE_PAIR,
    NEGATIVE,
    POSITIVE,
    TEMPLATES,
    capacity_split,
    check_bag_of_words,
    contrast_pairs,
    lecture_pair,
    score,
    vocabulary,
    write_pairs_csv,
)
from rnnkit.experiments.fair import choose_lr
from rnnkit.experiments.record import experiment_setup, finish, stamp
from rnnkit.experiments.rules import MIN_SEEDS, Claim, Rule, at_chance, enough_seeds
from rnnkit.experiments.word_order_report import plot, rate
from rnnkit.tasks.sentiment import SentimentOptions, SentimentPredictor
from rnnkit.train.config import TrainConfig

__all__ = ["NEGATIVE", "POSITIVE", "TEMPLATES", "claims", "contrast_pairs", "run", "vocabulary"]

ARMS = {"bow": {"model": "bow"}, "bow+bigrams": {"model": "bow", "bigrams": True},
        "rnn": {"model": "recurrent", "cell": "rnn"}, "lstm": {"model": "recurrent", "cell": "lstm"},
        "gru": {"model": "recurrent", "cell": "gru"}}
SEED = 13  # the first training seed; seed s of a model trains with SEED + s
# pairs: transfer pairs scored; transfer_epochs: the budget of a review model (patience 3 on val accuracy; no wall
# clock: on a shared machine a time cap hands a model whatever updates the other jobs leave it); minutes: an optional
# cap (--minutes); capacity_pairs: training pairs of the capacity arm (val a tenth, each test set a third);
# capacity_epochs: its budget; the learning-rate grids: capacity models take ~5-30 s, a transfer model ~20 s an
# epoch on a quiet core (3 recurrent cells × (2 rates + 2 seeds) × ≤ 6 epochs ≈ 25 min).
FULL = {"pairs": 2000, "min_count": 10, "minutes": None, "transfer_epochs": 6, "capacity_pairs": 3000,
        "capacity_epochs": 10, "capacity_lr_grid": (1e-3, 3e-3, 1e-2), "transfer_lr_grid": (1e-3, 3e-3),
        "seeds": MIN_SEEDS}
QUICK = {"pairs": 60, "min_count": 1, "minutes": None, "transfer_epochs": 2, "capacity_pairs": 60,
         "capacity_epochs": 2, "capacity_lr_grid": (3e-3,), "transfer_lr_grid": (3e-3,), "seeds": 1}
TRACES: tuple[str, ...] = ()
BLIND = Rule("word-order/bag-of-words-blind",
             "holds when every unigram bag-of-words model (both arms, every seed) gets exactly one member of every "
             "pair right — 0 pairs both right, 0 both wrong (its features are identical for both members; any "
             "other count stops the run as a bug)", {})
CAPACITY = Rule(
    "word-order/capacity",
    "holds when some recurrent cell trained on contrast pairs gets more than half of the pairs of unseen triples "
    "both right in every seed; does not hold when every recurrent cell gets at most the 25 % of independent coin "
    "flips in most seeds; otherwise undecided; fewer than min_seeds seeds: undecided", {"min_seeds": MIN_SEEDS})
TRANSFER = Rule(
    "word-order/transfer",
    "undecided when a recurrent reader trained on reviews is at chance on its review test split (within 1.96 "
    "standard errors of 50 %) in some seed; else holds when some reader gets more than half of the pairs both "
    "right in every seed, does not hold when every reader gets at most half in every seed, otherwise undecided; "
    "fewer than min_seeds seeds: undecided", {"chance_z": 1.96, "min_seeds": MIN_SEEDS})
RULES = (BLIND, CAPACITY, TRANSFER)


def _options(flags: dict[str, Any], quick: bool, **given: Any) -> SentimentOptions:
    """One arm's options: the default model sizes, or tiny ones in a quick run; ``given`` wins."""
    tiny = (QUICK_SENTIMENT if flags["model"] != "bow" else {"min_freq": 1}) if quick else {}
    return SentimentOptions(**{**tiny, **flags, **given})


def _bag_only(predictor: SentimentPredictor) -> bool:
    """Whether the model is a unigram bag of words (no bigram features)."""
    spec = predictor.config["model"]
    return spec["class"] == "BagOfWordsClassifier" and not spec["kwargs"].get("num_bigrams")


def fair_arm(name: str, train: Callable[[float, int], dict[str, Any]], grid: Sequence[float], seeds: int,
             log: Callable[[str], None]) -> tuple[float, dict[str, float], list[dict[str, Any]]]:
    """One arm trained fairly: ``train(lr, seed)`` for every rate of ``grid`` at seed 0 (the best validation
    accuracy wins), then the other seeds at that rate. Returns the rate, the grid's scores and every seed's run."""
    first: dict[float, dict[str, Any]] = {}

    def accuracy(lr: float) -> float:
        first[lr] = train(lr, 0)
        return first[lr]["best_val"]

    lr, scores = choose_lr(grid, accuracy, higher_is_better=True, log=log, what=f"{name}:")
    return lr, scores, [first[lr]] + [train(lr, s) for s in range(1, seeds)]


def capacity(out: Path, words: dict[str, Any], setup: dict[str, Any], *, quick: bool,
             log: Callable[[str], None]) -> dict[str, Any]:
    """Train every arm on contrast pairs; score it on pairs of unseen triples and on the held-out template."""
    split = capacity_split(words, setup["capacity_pairs"], seed=SEED)
    files = {name: str(write_pairs_csv(out / "capacity" / f"{name}.csv", split[name]))
             for name in ("train", "val", "test")}
    log(f"capacity: {len(split['train'])} training pairs of {split['triples']['train']} triples; tests: "
        f"{len(split['test'])} pairs of {split['triples']['test']} unseen triples, {len(split['held_out_template'])} "
        "in the held-out template")
    arms: dict[str, Any] = {}
    for name, flags in ARMS.items():
        opts = _options(flags, quick, data=None, min_freq=1, **files)

        def train(lr: float, s: int, name: str = name, opts: SentimentOptions = opts) -> dict[str, Any]:
            cfg = TrainConfig(epochs=setup["capacity_epochs"], lr=lr, progress=False, seed=SEED + s)
            return train_sentiment_arm(opts, cfg, out / "models" / "capacity" / name / f"lr{lr:g}-seed{s}", log=log)

        lr, grid, runs = fair_arm(f"capacity {name}", train, setup["capacity_lr_grid"], setup["seeds"], log)
        arms[name] = {"model": opts.kind, "lr": lr, "validation_accuracy": grid, "seeds": []}
        for s, trained in enumerate(runs):
            predictor = SentimentPredictor(trained["directory"])
            arms[name]["bag_only"] = _bag_only(predictor)
            seed = {"seed": s, "trained": trained, "lecture_pair": lecture_pair(predictor)}
            for test in ("test", "held_out_template"):
                result = score(predictor, split[test])
                result.pop("answers")
                if arms[name]["bag_only"]:
                    check_bag_of_words(f"capacity {name} ({test}, seed {s})", result)
                seed[test] = result
            arms[name]["seeds"].append(seed)
        log(f"capacity {name}: pairs both right (unseen triples) by seed "
            + ", ".join(f"{a['test']['both_right']}/{a['test']['pairs']}" for a in arms[name]["seeds"]))
    return {"triples": split["triples"], "templates": split["templates"], "files": files,
            "sizes": {k: len(split[k]) for k in ("train", "val", "test", "held_out_template")},
            "examples": split["test"][:3], "arms": arms}


def _scored(name: str, directory: Path, pairs: Sequence[dict[str, Any]], s: int) -> tuple[dict[str, Any], list]:
    """One transfer model on the pairs: its review test accuracy, the pairs' counts and its answers."""
    predictor = SentimentPredictor(directory)
    result = score(predictor, pairs)
    if _bag_only(predictor):
        check_bag_of_words(f"transfer {name} (seed {s})", result)
    test = json.loads((Path(directory) / "metrics.json").read_text(encoding="utf-8"))["test"]
    answers = result.pop("answers")
    found = {"seed": s, "test_accuracy": test["accuracy"], "test_examples": test["n"],
             "at_chance": at_chance(test["accuracy"], test["n"]), "lecture_pair": lecture_pair(predictor), **result}
    return {"model": predictor.config["model"]["kwargs"].get("cell", "bow"), "bag_only": _bag_only(predictor),
            "seed": found}, answers


def transfer(out: Path, data: str, pairs: Sequence[dict[str, Any]], setup: dict[str, Any], *, quick: bool,
             models: Sequence[Path] | None, log: Callable[[str], None]) -> dict[str, Any]:
    """Train (or take) models on the review data and score them on ``pairs``; writes ``pairs.jsonl``."""
    runs: dict[str, tuple[float | None, dict[str, float], list[Path]]] = {}
    if models:  # each given model is one seed of its own arm, trained however its maker chose
        runs = {Path(m).name: (None, {}, [Path(m)]) for m in models}
    else:
        for name, flags in ARMS.items():
            def train(lr: float, s: int, name: str = name, flags: dict = flags) -> dict[str, Any]:
                cfg = TrainConfig(epochs=setup["transfer_epochs"], lr=lr, progress=False, seed=SEED + s,
                                  max_minutes=setup["minutes"])
                return train_sentiment_arm(_options(flags, quick, data=data), cfg,
                                           out / "models" / "transfer" / name / f"lr{lr:g}-seed{s}", log=log)

            lr, grid, trained = fair_arm(f"transfer {name}", train, setup["transfer_lr_grid"], setup["seeds"], log)
            runs[name] = (lr, grid, [Path(t["directory"]) for t in trained])
    arms: dict[str, Any] = {}
    answers: dict[str, list[str]] = {}
    for name, (lr, grid, directories) in runs.items():
        arms[name] = {"lr": lr, "validation_accuracy": grid, "seeds": []}
        for s, directory in enumerate(directories):
            scored, said = _scored(name, directory, pairs, s)
            arms[name].update(model=scored["model"], bag_only=scored["bag_only"])
            arms[name]["seeds"].append(scored["seed"])
            answers.setdefault(name, said)
        log(f"transfer {name}: pairs both right by seed "
            + ", ".join(f"{a['both_right']}/{a['pairs']}" for a in arms[name]["seeds"]))
    _write_pairs(out / "pairs.jsonl", pairs, answers)
    return arms


def run(out: Path, *, quick: bool = False, minutes: float | None = None, data: str = "rt-polarity",
        models: Sequence[Path] | None = None, seeds: int | None = None, log=print) -> dict[str, Any]:
    """Both arms: capacity (trained on pairs) and transfer (trained on ``data``, or the given ``models``)."""
    out, setup = experiment_setup(out, FULL, QUICK, quick, minutes=minutes, seeds=seeds)
    data = experiment_data(data, out, quick)
    corpus = load_text_classification(data)
    if "positive" not in corpus.labels:
        raise ValueError(f"{corpus.name} has labels {corpus.labels}; contrast pairs need positive/negative")
    words = vocabulary([ex.text for ex in corpus.train], [ex.label for ex in corpus.train],
                       corpus.labels.index("positive"), setup["min_count"])
    pairs = contrast_pairs(words, setup["pairs"])
    log(f"{len(pairs)} contrast pairs from {len(words['nouns'])} nouns, {len(words['positive'])} positive and "
        f"{len(words['negative'])} negative words of the {corpus.name} training split")
    results = {**stamp("word-order", quick), "data": corpus.name, "setup": setup, "templates": list(TEMPLATES),
               "words": words, "lecture_pair": LECTURE_PAIR, "examples": pairs[:5],
               "capacity": capacity(out, words, setup, quick=quick, log=log),
               "arms": transfer(out, data, pairs, setup, quick=quick, models=models, log=log)}
    results["claims"] = claims(results)
    results["plots"] = [plot(results, out / "pairs.png").name]
    return finish(out, results, report(results))


def report(results: dict[str, Any]) -> str:
    """report.md (:func:`rnnkit.experiments.word_order_report.report` with this experiment's rules)."""
    return word_order_report.report(results, RULES)


def _write_pairs(path: Path, pairs: Sequence[dict[str, Any]], answers: dict[str, list[str]]) -> None:
    """One line per pair: the sentences and each model's answer (its first seed) to both members."""
    with open(path, "w", encoding="utf-8") as f:
        for i, p in enumerate(pairs):
            given = {n: a[2 * i: 2 * i + 2] for n, a in answers.items()}
            f.write(json.dumps({**p, "answers": given}, ensure_ascii=False) + "\n")


def _rates(seeds: list[dict[str, Any]], key: str | None = None) -> list[float]:
    return [rate(s[key] if key else s) for s in seeds]


def _percents(values: list[float]) -> str:
    return ", ".join(f"{100 * v:.0f} %" for v in values)


def claims(results: dict[str, Any]) -> list[Claim]:
    """:data:`BLIND` (both arms), :data:`CAPACITY` and :data:`TRANSFER`, seed by seed."""
    found = []
    cap, arms = results["capacity"]["arms"], results["arms"]
    bags = [f"capacity {n}: {', '.join(str(s['test']['both_right']) for s in a['seeds'])} of "
            f"{a['seeds'][0]['test']['pairs']}" for n, a in cap.items() if a["bag_only"]]
    bags += [f"transfer {n}: {', '.join(str(s['both_right']) for s in a['seeds'])} of {a['seeds'][0]['pairs']}"
             for n, a in arms.items() if a["bag_only"]]
    if bags:
        found.append(BLIND.judge("A bag of words cannot tell a contrast pair apart", True,
                                 "pairs both right, per seed — " + "; ".join(bags) + " (exactly one member right per "
                                 "pair, 50 % of the sentences: checked on every run)"))
    readers = {n: a for n, a in cap.items() if not n.startswith("bow")}
    if readers:
        s = results["capacity"]["sizes"]
        per_model = "; ".join(f"{n} (lr {a['lr']:g}) {_percents(_rates(a['seeds'], 'test'))}" for n, a in cap.items())
        good = [n for n, a in readers.items() if all(r > 0.5 for r in _rates(a["seeds"], "test"))]
        flat = all(2 * sum(r <= 0.25 for r in _rates(a["seeds"], "test")) > len(a["seeds"]) for a in readers.values())
        holds = True if good else False if flat else None
        text = (f"trained on {s['train']} pairs (≤ {results['setup']['capacity_epochs']} epochs); pairs of "
                f"{s['test']} unseen triples both right, per seed: {per_model} (bag of words 0 %, independent coin "
                f"flips 25 %)" + (f"; every seed above half: {', '.join(good)}" if good else ""))
        holds, text = enough_seeds(holds, min(len(a["seeds"]) for a in readers.values()), text)
        found.append(CAPACITY.judge("A recurrent classifier can use word order (trained on contrast pairs)", holds,
                                    text))
    readers = {n: a for n, a in arms.items() if a["model"] != "bow"}
    if readers:
        found.append(transfer_claim(results, readers))
    return found


def transfer_claim(results: dict[str, Any], readers: dict[str, Any]) -> Claim:
    """:data:`TRANSFER`: at chance on reviews → undecided; else above half in every seed, or never."""
    pairs = next(iter(readers.values()))["seeds"][0]["pairs"]
    reviews = {n: statistics.fmean(s["test_accuracy"] for s in a["seeds"]) for n, a in readers.items()}
    per_model = "; ".join(f"{n} {_percents(_rates(a['seeds']))} (review test accuracy {reviews[n]:.3f})"
                          for n, a in readers.items())
    text = (f"trained on `{results['data']}`; pairs of {pairs} both right, per seed: {per_model} (independent coin "
            "flips 25 %)")
    stuck = [f"{n} seed {s['seed']}" for n, a in readers.items() for s in a["seeds"] if s["at_chance"]]
    if stuck:
        holds = None
        text = f"undecided — {', '.join(stuck)} at chance on the review test split: {text}"
    elif any(all(r > 0.5 for r in _rates(a["seeds"])) for a in readers.values()):
        holds = True
    elif all(r <= 0.5 for a in readers.values() for r in _rates(a["seeds"])):
        holds = False
    else:
        holds = None
    holds, text = enough_seeds(holds, min(len(a["seeds"]) for a in readers.values()), text)
    return TRANSFER.judge("A recurrent classifier, reading in order and trained on reviews, transfers to contrast "
                          "pairs (both members of most pairs right)", holds, text)
