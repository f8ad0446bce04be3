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

Every model of both arms also gives its P(positive) for the lecture's own pair, "The food was good, not
bad at all." / "The food was bad, not good at all.".

Writes ``results.json``, ``pairs.png``, ``pairs.jsonl`` (every transfer pair and every model's answer),
the capacity arm's ``capacity/{train,val,test}.csv`` and ``report.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rnnkit.data import load_text_classification
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
from rnnkit.train.config import DEFAULT_EPOCHS, TrainConfig

__all__ = ["NEGATIVE", "POSITIVE", "TEMPLATES", "claims", "contrast_pairs", "run", "vocabulary"]

ARMS = {"bow": {"model": "bow"}, "bow+bigrams": {"model": "bow", "bigrams": True},
        "rnn": {"model": "recurrent", "cell": "rnn"}, "lstm": {"model": "recurrent", "cell": "lstm"},
        "gru": {"model": "recurrent", "cell": "gru"}}
# pairs: transfer pairs scored; minutes: cap per transfer model; capacity_pairs: training pairs of the
# capacity arm (val a tenth, each test set a third); capacity_epochs: its budget (patience 3 on val accuracy)
FULL = {"pairs": 2000, "min_count": 10, "minutes": 5.0, "capacity_pairs": 3000, "capacity_epochs": 10}
QUICK = {"pairs": 60, "min_count": 1, "minutes": None, "capacity_pairs": 60, "capacity_epochs": 2}


def _options(flags: dict[str, Any], quick: bool, **given: Any) -> SentimentOptions:
    """One arm's options: the default model sizes, or tiny ones in a quick run; ``given`` wins."""
    tiny = (QUICK_SENTIMENT if flags["model"] != "bow" else {"min_freq": 1}) if quick else {}
    return SentimentOptions(**{**tiny, **flags, **given})


def _bag_only(predictor: SentimentPredictor) -> bool:
    """Whether the model is a unigram bag of words (no bigram features)."""
    spec = predictor.config["model"]
    return spec["class"] == "BagOfWordsClassifier" and not spec["kwargs"].get("num_bigrams")


def capacity(out: Path, words: dict[str, Any], setup: dict[str, Any], *, quick: bool, seed: int,
             log: Callable[[str], None]) -> dict[str, Any]:
    """Train every arm on contrast pairs; score it on pairs of unseen triples and on the held-out template."""
    split = capacity_split(words, setup["capacity_pairs"], seed=seed)
    files = {name: str(write_pairs_csv(out / "capacity" / f"{name}.csv", split[name]))
             for name in ("train", "val", "test")}
    log(f"capacity: {len(split['train'])} training pairs of {split['triples']['train']} triples; tests: "
        f"{len(split['test'])} pairs of {split['triples']['test']} unseen triples, {len(split['held_out_template'])} "
        "in the held-out template")
    cfg = TrainConfig(epochs=setup["capacity_epochs"], progress=False, seed=seed)
    arms: dict[str, Any] = {}
    for name, flags in ARMS.items():
        opts = _options(flags, quick, data=None, min_freq=1, **files)
        log(f"capacity: training {name}")
        trained = train_sentiment_arm(opts, cfg, out / "models" / "capacity" / name, log=log)
        predictor = SentimentPredictor(trained["directory"])
        arm = {"model": opts.kind, "bag_only": _bag_only(predictor), "trained": trained,
               "lecture_pair": lecture_pair(predictor)}
        for test in ("test", "held_out_template"):
            result = score(predictor, split[test])
            result.pop("answers")
            if arm["bag_only"]:
                check_bag_of_words(f"capacity {name} ({test})", result)
            arm[test] = result
        arms[name] = arm
        log(f"capacity {name}: pairs both right {arm['test']['both_right']}/{arm['test']['pairs']} (unseen triples), "
            f"{arm['held_out_template']['both_right']}/{arm['held_out_template']['pairs']} (held-out template)")
    return {"triples": split["triples"], "templates": split["templates"], "files": files,
            "sizes": {k: len(split[k]) for k in ("train", "val", "test", "held_out_template")},
            "examples": split["test"][:3], "arms": arms}


def transfer(out: Path, data: str, pairs: Sequence[dict[str, Any]], setup: dict[str, Any], *, quick: bool,
             models: Sequence[Path] | None, seed: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Train (or take) models on the review data and score them on ``pairs``; writes ``pairs.jsonl``."""
    directories = {Path(m).name: Path(m) for m in models} if models else {}
    arms: dict[str, Any] = {}
    if not models:
        cfg = TrainConfig(epochs=2, progress=False, seed=seed) if quick else \
            TrainConfig(epochs=DEFAULT_EPOCHS, max_minutes=setup["minutes"], progress=False, seed=seed)
        for name, flags in ARMS.items():
            directories[name] = out / "models" / name
            log(f"transfer: training {name}")
            arms[name] = {"trained": train_sentiment_arm(_options(flags, quick, data=data), cfg, directories[name],
                                                         log=log)}
    answers: dict[str, list[str]] = {}
    for name, directory in directories.items():
        predictor = SentimentPredictor(directory)
        bag_only = _bag_only(predictor)
        result = score(predictor, pairs)
        if bag_only:
            check_bag_of_words(f"transfer {name}", result)
        test = json.loads((directory / "metrics.json").read_text(encoding="utf-8"))["test"]["accuracy"]
        answers[name] = result.pop("answers")
        arms[name] = {**arms.get(name, {}), "model": predictor.config["model"]["kwargs"].get("cell", "bow"),
                      "bag_only": bag_only, "test_accuracy": test, "lecture_pair": lecture_pair(predictor), **result}
        log(f"transfer {name}: test accuracy {test:.3f}; pair sentences {result['sentence_accuracy']:.3f}, both "
            f"right {result['both_right']}/{len(pairs)}")
    _write_pairs(out / "pairs.jsonl", pairs, answers)
    return arms


def run(out: Path, *, quick: bool = False, minutes: float | None = None, data: str = "rt-polarity",
        models: Sequence[Path] | None = None, seed: int = 13, log=print) -> dict[str, Any]:
    """Both arms: capacity (trained on pairs) and transfer (trained on ``data``, or the given ``models``)."""
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
    results = {**stamp("word-order", quick), "data": corpus.name, "setup": setup, "templates": list(TEMPLATES),
               "words": words, "lecture_pair": LECTURE_PAIR, "examples": pairs[:5],
               "capacity": capacity(out, words, setup, quick=quick, seed=seed, log=log),
               "arms": transfer(out, data, pairs, setup, quick=quick, models=models, seed=seed, log=log)}
    results["claims"] = claims(results)
    results["plots"] = [plot(results, out / "pairs.png").name]
    return finish(out, results, report(results))


def _write_pairs(path: Path, pairs: Sequence[dict[str, Any]], answers: dict[str, list[str]]) -> None:
    """One line per pair: the sentences and each model's answer to its positive and negative member."""
    with open(path, "w", encoding="utf-8") as f:
        for i, p in enumerate(pairs):
            given = {n: a[2 * i: 2 * i + 2] for n, a in answers.items()}
            f.write(json.dumps({**p, "answers": given}, ensure_ascii=False) + "\n")


def _rate(result: dict[str, Any]) -> float:
    return result["both_right"] / result["pairs"]


def claims(results: dict[str, Any]) -> list[Claim]:
    """Bag of words blind to order (both arms); capacity: a recurrent model trained on pairs gets most unseen
    pairs both right (else undecided at this budget); transfer: one trained on reviews does."""
    found = []
    cap, arms = results["capacity"]["arms"], results["arms"]
    bags = [f"capacity {n}: {a['test']['both_right']} of {a['test']['pairs']}" for n, a in cap.items() if a["bag_only"]]
    bags += [f"transfer {n}: {a['both_right']} of {a['pairs']}" for n, a in arms.items() if a["bag_only"]]
    if bags:
        found.append(Claim(claim="A bag of words cannot tell a contrast pair apart", holds=True,
                           verdict="pairs both right — " + ", ".join(bags) + " (exactly one member right per pair, "
                                   "50 % of the sentences: checked)"))
    readers = {n: a for n, a in cap.items() if not n.startswith("bow")}
    if readers:
        best = max(readers, key=lambda n: _rate(readers[n]["test"]))
        rate = _rate(readers[best]["test"])
        s = results["capacity"]["sizes"]
        per_model = ", ".join(f"{n} {100 * _rate(a['test']):.0f} % / {100 * _rate(a['held_out_template']):.0f} %"
                              for n, a in cap.items())
        found.append(Claim(
            claim="A recurrent classifier can use word order (trained on contrast pairs)",
            holds=True if rate > 0.5 else None,
            verdict=f"trained on {s['train']} pairs ({results['setup']['capacity_epochs']} epochs at most); best "
                    f"{best}: {100 * rate:.0f} % of {s['test']} pairs of unseen triples both right (bag of words 0 %, "
                    f"independent coin flips 25 %){'' if rate > 0.5 else ': undecided at this budget'}; pairs both "
                    f"right, unseen triples / held-out template: {per_model}"))
    readers = {n: a for n, a in arms.items() if a["model"] != "bow"}
    if readers:
        best = max(readers, key=lambda n: _rate(readers[n]))
        rate = _rate(readers[best])
        found.append(Claim(
            claim="A recurrent classifier, reading in order and trained on reviews, transfers to contrast pairs "
                  "(both members of most pairs right)", holds=rate > 0.5,
            verdict=f"trained on `{results['data']}`; best {best}: {100 * rate:.0f} % of {readers[best]['pairs']} "
                    "pairs both right (independent coin flips 25 %); " + ", ".join(
                        f"{n} {100 * _rate(a):.0f} %" for n, a in readers.items())))
    return found


def plot(results: dict[str, Any], path: Path) -> Path:
    """Left: the capacity arm's pairs both right (unseen triples, held-out template); right: the transfer arm's
    test accuracy, pair-sentence accuracy and pairs both right."""
    plt = pyplot()
    cap, arms = results["capacity"]["arms"], results["arms"]
    panels = [("capacity: trained on contrast pairs", list(cap),
               {"unseen triples: pairs both right": [_rate(a["test"]) for a in cap.values()],
                "held-out template: pairs both right": [_rate(a["held_out_template"]) for a in cap.values()]}),
              ("transfer: trained on reviews", list(arms),
               {"review test accuracy": [a["test_accuracy"] for a in arms.values()],
                "pair sentences right": [a["sentence_accuracy"] for a in arms.values()],
                "pairs both right": [_rate(a) for a in arms.values()]})]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, (title, names, series) in zip(axes, panels, strict=True):
        width = 0.8 / len(series)
        for i, (label, values) in enumerate(series.items()):
            ax.bar([x + (i - (len(series) - 1) / 2) * width for x in range(len(names))], values, width, label=label)
        ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
        ax.set_xticks(range(len(names)), names)
        ax.set_ylim(0, 1.3)  # room above the bars for the legend
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, loc="upper center", ncol=len(series))
    axes[0].set_ylabel("share")
    fig.suptitle("Word order: contrast pairs (same words, opposite labels)", fontsize=11)
    return save_figure(fig, path)


def _lecture_rows(arm: str, models: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for name, a in models.items():
        pos, neg = a["lecture_pair"]["positive"], a["lecture_pair"]["negative"]
        both = pos["label"] == "positive" and neg["label"] == "negative"
        rows.append([arm, name, f"{pos['p_positive']:.3f}", f"{neg['p_positive']:.3f}", "yes" if both else "no",
                     pos["unknown_tokens"]])
    return rows


def report(results: dict[str, Any]) -> str:
    w, c, arms = results["words"], results["capacity"], results["arms"]
    s = c["sizes"]
    cap_rows = []
    for n, a in c["arms"].items():
        unseen, held_out = a["test"], a["held_out_template"]
        cap_rows.append([n, a["model"], f"{unseen['sentence_accuracy']:.3f}",
                         f"{unseen['both_right']} ({100 * _rate(unseen):.0f} %)",
                         f"{held_out['sentence_accuracy']:.3f}",
                         f"{held_out['both_right']} ({100 * _rate(held_out):.0f} %)",
                         a["trained"]["epochs"], f"{a['trained']['train_seconds']:.0f}"])
    rows = [[n, a["model"], f"{a['test_accuracy']:.3f}", f"{a['sentence_accuracy']:.3f}",
             f"{a['both_right']} ({100 * _rate(a):.0f} %)",
             f"{a['both_wrong']} ({100 * a['both_wrong'] / a['pairs']:.0f} %)",
             f"{100 * a['unknown_token_share']:.1f} %"] for n, a in arms.items()]
    by_template = [[t, *(f"{100 * a['both_right_by_template'].get(t, 0):.0f} %" for a in arms.values())]
                   for t in results["templates"]]
    example, held = results["examples"][0], results["templates"][c["templates"]["held_out"]]
    lines = ["# Word order: contrast pairs (the lecture's Issue 2)", "", setup_line(results),
             f"A contrast pair: “{example['positive']}” (positive) / “{example['negative']}” (negative) — the same "
             "bag of words, so a unigram bag of words gets exactly one member of every pair right.", "",
             "## Capacity: trained on contrast pairs", "",
             f"Every model is trained on {s['train']} pairs ({s['val']} for validation) of {c['triples']['train']} "
             f"(noun, positive, negative) triples in {len(c['templates']['seen'])} templates, and tested on "
             f"{s['test']} pairs of {c['triples']['test']} triples it never saw (same templates; the lecture's "
             f"(food, good, bad) among them), and on {s['held_out_template']} pairs of those triples in the held-out "
             f"template “{held}”. ≤ {results['setup']['capacity_epochs']} epochs, best by validation accuracy.", "",
             *table(["model", "kind", "unseen triples: sentence acc.", "pairs both right", "held-out template: "
                     "sentence acc.", "pairs both right", "epochs", "train s"], cap_rows), "",
             "## Transfer: trained on reviews", "",
             f"Data `{results['data']}`; {next(iter(arms.values()))['pairs']} pairs over all six templates. Words "
             f"(each ≥ {w['min_count']} times in the training split, adjectives with the data's polarity; positive "
             f"base rate {w['base_rate']:.2f}): nouns {', '.join(w['nouns'])}; positive {', '.join(w['positive'])}; "
             f"negative {', '.join(w['negative'])}.", "",
             *table(["model", "kind", "review test acc.", "pair sentences acc.", "pairs both right", "pairs both wrong",
                     "<unk> share"], rows),
             "", "Pairs both right, per template:", "", *table(["template", *arms], by_template), "",
             "## The lecture's pair", "",
             f"P(positive) for “{results['lecture_pair']['positive']}” and “{results['lecture_pair']['negative']}”:",
             "", *table(["arm", "model", "P(pos): good, not bad", "P(pos): bad, not good", "both right",
                         "unknown tokens"], _lecture_rows("capacity", c["arms"]) + _lecture_rows("transfer", arms)),
             "", "## Verdict", "", *claims_section(results["claims"]), "", "![contrast pairs](pairs.png)", ""]
    return "\n".join(lines)
