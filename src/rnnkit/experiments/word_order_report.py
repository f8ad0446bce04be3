"""The picture and the report of the word-order experiment (:mod:`rnnkit.experiments.word_order`), from its results.

Every number is given per seed or as the mean ± standard deviation over seeds; the lecture's pair and the
per-template table show seed 0.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit.experiments.record import mean_std, pyplot, save_figure, setup_line, table
from rnnkit.experiments.rules import Rule, verdict_section


def rate(result: dict[str, Any]) -> float:
    """The share of pairs with both members right."""
    return result["both_right"] / result["pairs"]


def _ms(values: Sequence[float], pct: bool = False) -> str:
    mean, sd = mean_std(values)
    return f"{100 * mean:.0f} ± {100 * sd:.0f} %" if pct else f"{mean:.3f} ± {sd:.3f}"


def plot(results: dict[str, Any], path: Path) -> Path:
    """Left: the capacity arm's pairs both right (unseen triples, held-out template); right: the transfer arm's
    review test accuracy, pair-sentence accuracy and pairs both right; means over seeds with their spread."""
    plt = pyplot()
    cap, arms = results["capacity"]["arms"], results["arms"]

    def series(models: dict[str, Any], pick) -> tuple[list[float], list[float]]:  # noqa: ANN001 - a seed → value
        pairs = [mean_std([pick(s) for s in a["seeds"]]) for a in models.values()]
        return [m for m, _ in pairs], [sd for _, sd in pairs]

    panels = [("capacity: trained on contrast pairs", list(cap),
               {"unseen triples: pairs both right": series(cap, lambda s: rate(s["test"])),
                "held-out template: pairs both right": series(cap, lambda s: rate(s["held_out_template"]))}),
              ("transfer: trained on reviews", list(arms),
               {"review test accuracy": series(arms, lambda s: s["test_accuracy"]),
                "pair sentences right": series(arms, lambda s: s["sentence_accuracy"]),
                "pairs both right": series(arms, rate)})]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, (title, names, bars) in zip(axes, panels, strict=True):
        width = 0.8 / len(bars)
        for i, (label, (values, spread)) in enumerate(bars.items()):
            ax.bar([x + (i - (len(bars) - 1) / 2) * width for x in range(len(names))], values, width, yerr=spread,
                   capsize=2, label=label)
        ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
        ax.set_xticks(range(len(names)), names)
        ax.set_ylim(0, 1.3)  # room above the bars for the legend
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, loc="upper center", ncol=len(bars))
    axes[0].set_ylabel("share (mean ± sd over seeds)")
    fig.suptitle("Word order: contrast pairs (same words, opposite labels)", fontsize=11)
    return save_figure(fig, path)


def _lecture_rows(arm: str, models: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for name, a in models.items():
        pair = a["seeds"][0]["lecture_pair"]
        pos, neg = pair["positive"], pair["negative"]
        both = pos["label"] == "positive" and neg["label"] == "negative"
        rows.append([arm, name, f"{pos['p_positive']:.3f}", f"{neg['p_positive']:.3f}", "yes" if both else "no",
                     pos["unknown_tokens"]])
    return rows


def _lr(a: dict[str, Any]) -> str:
    return "given" if a["lr"] is None else f"{a['lr']:g}"


def _capacity_rows(cap: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for n, a in cap.items():
        seeds = a["seeds"]
        rows.append([n, a["model"], _lr(a), len(seeds), _ms([s["test"]["sentence_accuracy"] for s in seeds]),
                     _ms([rate(s["test"]) for s in seeds], pct=True),
                     _ms([s["held_out_template"]["sentence_accuracy"] for s in seeds]),
                     _ms([rate(s["held_out_template"]) for s in seeds], pct=True),
                     "/".join(str(s["trained"]["epochs"]) for s in seeds),
                     f"{statistics.fmean(s['trained']['train_seconds'] for s in seeds):.0f}"])
    return rows


def _transfer_rows(arms: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for n, a in arms.items():
        seeds = a["seeds"]
        chance = sum(s["at_chance"] for s in seeds)
        rows.append([n, a["model"], _lr(a), len(seeds),
                     _ms([s["test_accuracy"] for s in seeds]) + (f" ({chance} at chance)" if chance else ""),
                     _ms([s["sentence_accuracy"] for s in seeds]), _ms([rate(s) for s in seeds], pct=True),
                     _ms([s["both_wrong"] / s["pairs"] for s in seeds], pct=True),
                     f"{100 * seeds[0]['unknown_token_share']:.1f} %"])
    return rows


def report(results: dict[str, Any], rules: Sequence[Rule] = ()) -> str:
    w, c, arms = results["words"], results["capacity"], results["arms"]
    s, setup = c["sizes"], results["setup"]
    by_template = [[t, *(f"{100 * a['seeds'][0]['both_right_by_template'].get(t, 0):.0f} %" for a in arms.values())]
                   for t in results["templates"]]
    example, held = results["examples"][0], results["templates"][c["templates"]["held_out"]]
    grid = ", ".join(f"{lr:g}" for lr in setup["capacity_lr_grid"])
    lines = ["# Word order: contrast pairs (the lecture's Issue 2)", "", setup_line(results),
             f"A contrast pair: “{example['positive']}” (positive) / “{example['negative']}” (negative) — the same "
             "bag of words, so a unigram bag of words gets exactly one member of every pair right.", "",
             f"Every model's learning rate is the best of a grid by validation accuracy (seed 0), then "
             f"{setup['seeds']} seed(s) train at that rate; numbers are mean ± sd over seeds.", "",
             "## Capacity: trained on contrast pairs", "",
             f"Every model is trained on {s['train']} pairs ({s['val']} for validation) of {c['triples']['train']} "
             f"(noun, positive, negative) triples in {len(c['templates']['seen'])} templates, and tested on "
             f"{s['test']} pairs of {c['triples']['test']} triples it never saw (same templates; the lecture's "
             f"(food, good, bad) among them), and on {s['held_out_template']} pairs of those triples in the held-out "
             f"template “{held}”. ≤ {setup['capacity_epochs']} epochs, best by validation accuracy; learning rates "
             f"from {grid}.", "",
             *table(["model", "kind", "lr", "seeds", "unseen triples: sentence acc.", "pairs both right",
                     "held-out template: sentence acc.", "pairs both right", "epochs", "train s"],
                    _capacity_rows(c["arms"])), "",
             "## Transfer: trained on reviews", "",
             f"Data `{results['data']}`; {arms[next(iter(arms))]['seeds'][0]['pairs']} pairs over all six "
             f"templates; ≤ {setup['transfer_epochs']} epochs, best by validation accuracy; learning rates from "
             f"{', '.join(f'{lr:g}' for lr in setup['transfer_lr_grid'])}. Words "
             f"(each ≥ {w['min_count']} times in the training split, adjectives with the data's polarity; positive "
             f"base rate {w['base_rate']:.2f}): nouns {', '.join(w['nouns'])}; positive {', '.join(w['positive'])}; "
             f"negative {', '.join(w['negative'])}.", "",
             *table(["model", "kind", "lr", "seeds", "review test acc.", "pair sentences acc.", "pairs both right",
                     "pairs both wrong", "<unk> share"], _transfer_rows(arms)),
             "", "Pairs both right, per template (seed 0):", "", *table(["template", *arms], by_template), "",
             "## The lecture's pair", "",
             f"P(positive) for “{results['lecture_pair']['positive']}” and “{results['lecture_pair']['negative']}” "
             "(seed 0):", "",
             *table(["arm", "model", "P(pos): good, not bad", "P(pos): bad, not good", "both right",
                     "unknown tokens"], _lecture_rows("capacity", c["arms"]) + _lecture_rows("transfer", arms)),
             "", *verdict_section(results["claims"], rules), "![contrast pairs](pairs.png)", ""]
    return "\n".join(lines)
