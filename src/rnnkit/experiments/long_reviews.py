"""The lecture's "RNNs struggle with long sequences": sentiment of full-length reviews.

Pang & Lee's 1,500 movie reviews (~750 words on average) are read as their first ``length`` words
(default 500): reviews with fewer words are left out and longer ones cut, so every review is exactly
``length`` tokens long (both counts are reported). The recurrent classifiers decide from their **final
state** (``pooling="last"``, the lecture's many-to-one network), so whatever decides the label must survive
``length`` steps. Two references: a bag of words, blind to length and order, and an LSTM with max pooling
over time, which can take evidence from any step without carrying it to the end. Same split, seed, sizes
and time budget for every arm; test accuracy comes with its binomial standard error (~4.5 points for the
~120 test reviews).

Equal lengths also keep every batch on torch's fast CPU kernels: a batch of varied lengths is packed, and
torch runs packed batches of its own cells through a kernel that is many times slower for long sequences
(measured: LSTM, 32 × 800 tokens, hidden 128, ~90× slower) — at full length that alone would leave the
library cells almost untrained within the time budget.

Writes ``results.json``, ``accuracy.png`` and ``report.md``; the models stay in ``models/``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rnnkit.experiments.arms import QUICK_SENTIMENT, experiment_data, long_texts_only, train_sentiment_arm
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
from rnnkit.tasks.sentiment import SentimentOptions
from rnnkit.train.loop import TrainConfig

ARMS = {"bow": {"model": "bow"}, "rnn": {"model": "rnn"}, "lstm": {"model": "lstm"}, "gru": {"model": "gru"},
        "gru-reset-before": {"model": "gru-reset-before"}, "lstm, max pooling": {"model": "lstm", "pooling": "max"}}
FULL = {"length": 500, "embed_dim": 64, "hidden_size": 128, "batch_size": 32, "epochs": 10, "minutes": 6.0}
QUICK = {"length": 16, "epochs": 1, "minutes": None, **QUICK_SENTIMENT}


def run(out: Path, *, quick: bool = False, minutes: float | None = None, data: str = "pang-lee", seed: int = 13,
        log=print) -> dict[str, Any]:
    """Train every arm on the long reviews (``minutes`` caps each) and compare test accuracy and time."""
    out, setup = experiment_setup(out, FULL, QUICK, quick, minutes)
    source = experiment_data(data, out, quick)
    data, profile = long_texts_only(source, out, setup["length"])
    log(f"{profile['texts']} reviews, mean {profile['mean_words']:.0f} / median {profile['median_words']:.0f} / max "
        f"{profile['max_words']} words; {profile['kept']} have {setup['length']}+ words and are read as their first "
        f"{setup['length']} ({profile['truncated']} cut)")
    model_opts = {k: v for k, v in setup.items() if k not in ("epochs", "minutes", "length")}
    model_opts["max_len"] = setup["length"]
    cfg = TrainConfig(epochs=setup["epochs"], max_minutes=setup["minutes"], seed=seed, progress=False)
    arms: dict[str, Any] = {}
    for name, flags in ARMS.items():
        opts = SentimentOptions(data=data, **{"pooling": "last", **flags}, **model_opts)
        log(f"training {name}")
        arm = train_sentiment_arm(opts, cfg, out / "models" / name.replace(", ", "-").replace(" ", "-"), log=log)
        arm.update(model=flags["model"], pooling=None if flags["model"] == "bow" else opts.pooling,
                   standard_error=math.sqrt(arm["accuracy"] * (1 - arm["accuracy"]) / arm["test_examples"]))
        arms[name] = arm
        log(f"{name}: test accuracy {arm['accuracy']:.3f} ± {arm['standard_error']:.3f}, "
            f"{arm['train_seconds']:.0f} s, {arm['epochs']} epochs")
    results = {**stamp("long-reviews", quick), "data": source, "setup": setup, "lengths": profile, "arms": arms}
    results["claims"] = claims(results)
    results["plots"] = [plot(results, out / "accuracy.png").name]
    return finish(out, results, report(results))


def _gap(better: dict[str, Any], worse: dict[str, Any]) -> tuple[float, float, bool | None]:
    """Accuracy gap, its standard error, and a verdict: True beyond 1.96 standard errors, False if the gap
    is not positive, None (a tie within the noise) in between."""
    gap = better["accuracy"] - worse["accuracy"]
    se = math.hypot(better["standard_error"], worse["standard_error"])
    return gap, se, True if gap > 1.96 * se else False if gap <= 0 else None


def claims(results: dict[str, Any]) -> list[Claim]:
    """The best gated reader beats the Elman RNN; the bag of words beats the best gated final-state reader."""
    arms = results["arms"]
    gated = {n: a for n, a in arms.items() if a["pooling"] == "last" and n != "rnn"}
    best = max(gated, key=lambda n: gated[n]["accuracy"])
    numbers = ", ".join(f"{n} {a['accuracy']:.3f}" for n, a in arms.items())
    gap_rnn, se_rnn, rnn_holds = _gap(gated[best], arms["rnn"])
    gap_bow, se_bow, bow_holds = _gap(arms["bow"], gated[best])
    return [Claim(claim="The plain RNN struggles with long sequences (final state after hundreds of words)",
                  holds=rnn_holds, verdict=f"best gated reader {best} − rnn = {gap_rnn:+.3f} ± {se_rnn:.3f} (a gap "
                                           f"beyond 1.96 s.e. holds, ≤ 0 does not); test accuracy {numbers}"),
            Claim(claim="Reading to the end, even gated RNNs fall behind a bag of words on long reviews",
                  holds=bow_holds, verdict=f"bag of words − {best} = {gap_bow:+.3f} ± {se_bow:.3f}")]


def plot(results: dict[str, Any], path: Path) -> Path:
    """Test accuracy per arm with its standard error, and the majority-class line."""
    plt = pyplot()
    arms = results["arms"]
    fig, ax = plt.subplots(figsize=(7.5, 4))
    ax.bar(range(len(arms)), [a["accuracy"] for a in arms.values()], yerr=[a["standard_error"] for a in arms.values()],
           capsize=4, color=["grey" if a["pooling"] != "last" else "tab:blue" for a in arms.values()])
    ax.axhline(0.5, color="black", linestyle=":", linewidth=1, label="chance (balanced classes)")
    ax.set_xticks(range(len(arms)), list(arms), rotation=15)
    ax.set_ylim(0, 1)
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Reviews read as their first {results['setup']['length']} words: blue = decides from the final "
                 "state", fontsize=10)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def report(results: dict[str, Any]) -> str:
    s, p, arms = results["setup"], results["lengths"], results["arms"]
    rows = [[n, a["pooling"] or "–", f"{a['accuracy']:.3f} ± {a['standard_error']:.3f}", f"{a['macro_f1']:.3f}",
             f"{a['best_val']:.3f}", a["epochs"], f"{a['train_seconds']:.0f}",
             f"{a['tokens_per_s']:,.0f}" if a["tokens_per_s"] else "–", f"{a['parameters']:,}"]
            for n, a in arms.items()]
    cap = f", ≤ {s['minutes']} min" if s["minutes"] else ""
    lines = ["# Long reviews: do RNNs struggle with long sequences?", "", setup_line(results),
             f"Data `{results['data']}`: {p['texts']} reviews, mean {p['mean_words']:.0f}, median "
             f"{p['median_words']:.0f}, max {p['max_words']} words. Read as their first {s['length']} words: the "
             f"{p['kept']} reviews that have that many ({p['texts'] - p['kept']} shorter ones left out, "
             f"{p['truncated']} cut), split 80/10/10 (seeded, stratified).",
             f"Every arm: embedding {s['embed_dim']}, hidden {s['hidden_size']}, ≤ {s['epochs']} epochs{cap}, "
             "best epoch by validation accuracy.", "",
             *table(["model", "pooling", "test acc. ± s.e.", "macro-F1", "best val", "epochs", "train s", "tokens/s",
                     "parameters"], rows),
             "", "## Verdict", "", *claims_section(results["claims"]), "", "![accuracy](accuracy.png)", ""]
    return "\n".join(lines)
