"""The lecture's "plain RNNs struggle with long sequences", with sequences whose length is the only difficulty.

Every sequence starts with one review sentence (rt-polarity by default: its label is the answer) and goes on
with words of *other* reviews' openings (Pang & Lee by default: plot summary, drawn at random, so they say
nothing about the label) until it is exactly L tokens long. The recurrent classifiers — Elman, LSTM, GRU —
decide from their **final state** (``pooling="last"``, the lecture's many-to-one network), so the sentence's
sentiment must survive the L − n words that follow it. The same sentences, with the same filler cut shorter,
are read at every length (one fixed set, truncated: no length has its own subset), and at the shortest
length every arm must beat chance — else the experiment shows a budget, not a length. A bag of words, blind
to order, reads the same tokens (the filler is noise to it too).

Equal lengths keep every batch on torch's fast CPU kernels (a batch of varied lengths is packed, and torch
runs packed batches of its own cells through a kernel many times slower for long sequences).

Fair by the protocol of :mod:`rnnkit.experiments.fair`: each arm's learning rate is the best of a grid by
validation accuracy at the shortest length (seed 0), then every arm trains with several seeds at every length.

Writes ``results.json``, ``accuracy.png`` and ``report.md``; the models stay in ``models/<L>/<arm>/``.
"""

from __future__ import annotations

import csv
import math
import random
import statistics
from pathlib import Path
from typing import Any

from rnnkit.data import load_text_classification
from rnnkit.experiments.arms import QUICK_SENTIMENT, experiment_data, train_sentiment_arm
from rnnkit.experiments.fair import choose_lr, paired_wins
from rnnkit.experiments.record import experiment_setup, finish, mean_std, pyplot, save_figure, setup_line, stamp, table
from rnnkit.experiments.rules import MIN_SEEDS, Claim, Rule, at_chance, enough_seeds, verdict_section
from rnnkit.tasks.sentiment import SentimentOptions
from rnnkit.text.tokenize import build_tokenizer
from rnnkit.train.config import TrainConfig

ARMS = {"bow": {"model": "bow"}, "rnn": {"model": "recurrent", "cell": "rnn"},
        "lstm": {"model": "recurrent", "cell": "lstm"}, "gru": {"model": "recurrent", "cell": "gru"}}
GATED = ("lstm", "gru")
SENTENCE_MAX = 40  # a sentence longer than this many tokens is cut (rt-polarity: ~21 on average)
SEED = 13
# Sized for one torch thread on the shared 2-core CPU: 3,000 training sentences, 4 epochs; at L = 400 an epoch is
# 1.2 M tokens (~40 s for the LSTM at the ~30 k tokens/s of the lstm-vs-gru runs): 3 cells × 3 seeds × 4 lengths
# plus the learning-rate search at L = 50 ≈ 45-60 min.
FULL = {"lengths": (50, 100, 200, 400), "train_examples": 3000, "eval_examples": 1000, "filler": "pang-lee",
        "embed_dim": 64, "hidden_size": 128, "batch_size": 32, "epochs": 4, "lr_grid": (1e-3, 3e-3),
        "seeds": MIN_SEEDS, "minutes": None}
QUICK = {"lengths": (16, 32), "train_examples": 200, "eval_examples": 30, "filler": None, "epochs": 1,
         "lr_grid": (3e-3,), "seeds": 1, "minutes": None, **QUICK_SENTIMENT}
MODEL_KEYS = ("embed_dim", "hidden_size", "batch_size", "min_freq")
TRACES: tuple[str, ...] = ()
LONGER = Rule(
    "long-reviews/plain-rnn-falls-behind",
    "undecided unless every arm beats chance (1.96 standard errors above 50 %) at the shortest length in every "
    "seed; then holds when at the longest length the best gated cell beats the Elman RNN by more than 1.96 "
    "standard errors in most paired seeds, falls below it in none, and leads it by more than at the shortest; does "
    "not hold when the RNN is level with or ahead of the best gated cell at the longest length in most seeds; "
    "otherwise undecided; fewer than min_seeds seeds: undecided", {"chance_z": 1.96, "min_seeds": MIN_SEEDS})
RULES = (LONGER,)


def filler_streams(texts: list[str], count: int, length: int, seed: int) -> list[list[str]]:
    """``count`` token lists of ``length`` words each, every one the opening words of random texts of
    ``texts`` one after another (a text's label never enters)."""
    tokenize = build_tokenizer("word", lowercase=True).tokenize
    rng = random.Random(seed)
    tokenized = [tokenize(t) for t in texts]
    streams = []
    for _ in range(count):
        words: list[str] = []
        while len(words) < length:
            words += tokenized[rng.randrange(len(tokenized))]
        streams.append(words[:length])
    return streams


def build(source: str, filler: str | None, setup: dict[str, Any], out: Path) -> dict[str, Any]:
    """Per length, train/val/test CSVs of sentence + filler, each exactly L tokens; and what went in."""
    corpus = load_text_classification(source)
    tokenize = build_tokenizer("word", lowercase=True).tokenize
    rng = random.Random(SEED)
    chosen = {"train": rng.sample(corpus.train, min(len(corpus.train), setup["train_examples"])),
              "val": rng.sample(corpus.val, min(len(corpus.val), setup["eval_examples"])),
              "test": rng.sample(corpus.test, min(len(corpus.test), setup["eval_examples"]))}
    pool = load_text_classification(filler) if filler else corpus
    texts = [ex.text for ex in (*pool.train, *pool.val, *pool.test)]
    longest = max(setup["lengths"])
    files: dict[str, dict[str, str]] = {}
    sentence_tokens: list[int] = []
    cut = min(SENTENCE_MAX, 4 * min(setup["lengths"]) // 5)  # room for filler even at the shortest length
    for i, (split, examples) in enumerate(chosen.items()):
        streams = filler_streams(texts, len(examples), longest, seed=SEED + i)
        sentences = [tokenize(ex.text)[:cut] for ex in examples]
        sentence_tokens += [len(s) for s in sentences]
        for length in setup["lengths"]:
            path = Path(out) / "data" / f"L{length}" / f"{split}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(["text", "label"])
                for ex, words, stream in zip(examples, sentences, streams, strict=True):
                    writer.writerow([" ".join(words + stream[: length - len(words)]), corpus.labels[ex.label]])
            files.setdefault(str(length), {})[split] = str(path)
    return {"files": files, "sizes": {k: len(v) for k, v in chosen.items()},
            "sentence_tokens": statistics.fmean(sentence_tokens), "sentences": corpus.name,
            "filler": pool.name}


def train_arm(name: str, files: dict[str, str], length: int, lr: float, seed: int, setup: dict[str, Any],
              directory: Path, log=print) -> dict[str, Any]:
    """Train (or reuse) one arm at one length and seed; adds the standard error and a chance flag."""
    model = {k: setup[k] for k in MODEL_KEYS if k in setup}
    flags = ARMS[name] if name == "bow" else {**ARMS[name], "pooling": "last"}
    opts = SentimentOptions(data=None, **files, max_len=length, **flags, **model)
    cfg = TrainConfig(epochs=setup["epochs"], patience=0, lr=lr, max_minutes=setup["minutes"], seed=SEED + seed,
                      progress=False)
    log(f"training {name} at {length} tokens, lr {lr:g}, seed {seed}")
    arm = train_sentiment_arm(opts, cfg, directory, log=log)
    arm["seed"] = seed
    arm["standard_error"] = math.sqrt(arm["accuracy"] * (1 - arm["accuracy"]) / arm["test_examples"])
    arm["at_chance"] = at_chance(arm["accuracy"], arm["test_examples"])
    return arm


def run(out: Path, *, quick: bool = False, minutes: float | None = None, data: str = "rt-polarity",
        seeds: int | None = None, log=print) -> dict[str, Any]:
    """Every arm at every length with every seed, each arm at its learning rate (chosen at the shortest)."""
    out, setup = experiment_setup(out, FULL, QUICK, quick, minutes=minutes, seeds=seeds)
    built = build(experiment_data(data, out, quick), setup["filler"], setup, out)
    shortest = min(setup["lengths"])
    arms: dict[str, dict[str, Any]] = {str(L): {} for L in setup["lengths"]}
    rates: dict[str, Any] = {}
    for name in ARMS:
        def folder(L: int, lr: float, s: int, name: str = name) -> Path:
            return out / "models" / str(L) / name / f"lr{lr:g}-seed{s}"

        def val(lr: float, name: str = name) -> float:
            files = built["files"][str(shortest)]
            return train_arm(name, files, shortest, lr, 0, setup, folder(shortest, lr, 0), log)["best_val"]

        lr, grid = choose_lr(setup["lr_grid"], val, higher_is_better=True, log=log, what=f"{name} at {shortest}:")
        rates[name] = {"lr": lr, "validation_accuracy": grid}
        for L in setup["lengths"]:
            arms[str(L)][name] = [train_arm(name, built["files"][str(L)], L, lr, s, setup, folder(L, lr, s), log)
                                  for s in range(setup["seeds"])]
            log(f"{name} at {L} tokens: test accuracy by seed "
                + ", ".join(f"{a['accuracy']:.3f}" for a in arms[str(L)][name]))
    results = {**stamp("long-reviews", quick), "setup": {**setup, "lengths": list(setup["lengths"])},
               "data": {k: v for k, v in built.items() if k != "files"}, "learning_rates": rates, "arms": arms}
    results["claims"] = claims(results)
    results["observations"] = observations(results)
    results["plots"] = [plot(results, out / "accuracy.png").name]
    return finish(out, results, report(results))


def _acc(runs: list[dict[str, Any]]) -> list[float]:
    return [r["accuracy"] for r in runs]


def best_gated(at_length: dict[str, Any]) -> str:
    """The gated cell with the higher mean test accuracy at one length."""
    return max((n for n in GATED if n in at_length), key=lambda n: statistics.fmean(_acc(at_length[n])))


def claims(results: dict[str, Any]) -> list[Claim]:
    """:data:`LONGER`, seed by seed (paired: seed s of every arm at every length)."""
    arms = results["arms"]
    lengths = sorted(arms, key=int)
    short, long = lengths[0], lengths[-1]
    stuck = [f"{n} seed {r['seed']}" for n, runs in arms[short].items() for r in runs if r["at_chance"]]
    best = best_gated(arms[long])
    margin = [1.96 * math.hypot(g["standard_error"], r["standard_error"])
              for g, r in zip(arms[long][best], arms[long]["rnn"], strict=True)]
    gap = {L: statistics.fmean(_acc(arms[L][best_gated(arms[L])])) - statistics.fmean(_acc(arms[L]["rnn"]))
           for L in (short, long)}
    above, below = paired_wins([g - m for g, m in zip(_acc(arms[long][best]), margin, strict=True)],
                               _acc(arms[long]["rnn"]))
    level = sum(g <= r for g, r in zip(_acc(arms[long][best]), _acc(arms[long]["rnn"]), strict=True))
    seeds = len(arms[long]["rnn"])
    means = {L: ", ".join(f"{n} {statistics.fmean(_acc(runs)):.3f}" for n, runs in arms[L].items()) for L in lengths}
    per_length = "; ".join(f"{L}: {means[L]}" for L in lengths)
    text = (f"mean test accuracy by length (tokens) — {per_length}; best gated − rnn: {gap[short]:+.3f} at {short}, "
            f"{gap[long]:+.3f} at {long} ({best} ahead beyond 1.96 s.e. in {above} of {seeds} seeds)")
    if stuck:
        holds, text = None, f"undecided — at chance at the shortest length: {', '.join(stuck)}; {text}"
    elif 2 * above > seeds and below == 0 and gap[long] > gap[short]:
        holds = True
    elif 2 * level > seeds:
        holds = False
    else:
        holds = None
    holds, text = enough_seeds(holds, seeds, text)
    return [LONGER.judge("Plain RNNs struggle with long sequences (the Elman RNN falls behind the gated cells as "
                         "the words after the decisive sentence grow, deciding from the final state)", holds, text)]


def observations(results: dict[str, Any]) -> list[str]:
    """Not a lecture claim: the bag of words against the best gated reader at each length."""
    lines = []
    for L, at in sorted(results["arms"].items(), key=lambda kv: int(kv[0])):
        best = best_gated(at)
        diff = statistics.fmean(_acc(at["bow"])) - statistics.fmean(_acc(at[best]))
        lines.append(f"{L} tokens: bag of words − {best} = {diff:+.3f} (means over seeds)")
    return lines


def plot(results: dict[str, Any], path: Path) -> Path:
    """Test accuracy against the length read (log scale), one line per arm, mean ± sd over seeds."""
    plt = pyplot()
    lengths = sorted(results["arms"], key=int)
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for name in ARMS:
        stats = [mean_std(_acc(results["arms"][L][name])) for L in lengths]
        ax.errorbar([int(L) for L in lengths], [m for m, _ in stats], yerr=[sd for _, sd in stats], marker="o",
                    capsize=3, label=name, linestyle="--" if name == "bow" else "-")
    ax.axhline(0.5, color="black", linestyle=":", linewidth=1, label="chance (balanced classes)")
    ax.set_xscale("log")
    ax.minorticks_off()  # only the lengths read are ticked
    ax.set_xticks([int(L) for L in lengths], lengths)
    ax.set_ylim(0.3, 1)
    ax.set_xlabel("tokens read: one review sentence, then other reviews' words")
    ax.set_ylabel("test accuracy (mean ± sd over seeds)")
    ax.set_title("Long sequences: recurrent cells decide from the final state", fontsize=10)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def report(results: dict[str, Any]) -> str:
    s, arms, d = results["setup"], results["arms"], results["data"]
    rows = []
    for L in sorted(arms, key=int):
        for n, runs in arms[L].items():
            acc = mean_std(_acc(runs))
            chance = sum(r["at_chance"] for r in runs)
            rows.append([L, n, f"{acc[0]:.3f} ± {acc[1]:.3f}", ", ".join(f"{a:.3f}" for a in _acc(runs)),
                         f"{statistics.fmean(r['standard_error'] for r in runs):.3f}", chance,
                         f"{statistics.fmean(r['train_seconds'] for r in runs):.0f}", f"{runs[0]['parameters']:,}"])
    lr = ", ".join(f"{n} {v['lr']:g}" for n, v in results["learning_rates"].items())
    lines = ["# Long sequences: do plain RNNs struggle?", "", setup_line(results),
             f"Each sequence: one `{d['sentences']}` sentence (its label is the answer; {d['sentence_tokens']:.1f} "
             f"tokens on average, cut at {SENTENCE_MAX}), then the opening words of random `{d['filler']}` reviews "
             f"up to exactly L tokens. {d['sizes']['train']:,} training, {d['sizes']['val']:,} validation and "
             f"{d['sizes']['test']:,} test sentences — the same at every length.",
             f"Every arm: embedding {s['embed_dim']}, hidden {s['hidden_size']}, batch {s['batch_size']}, "
             f"{s['epochs']} epochs (best by validation accuracy), learning rate per arm the best of "
             f"{', '.join(f'{x:g}' for x in s['lr_grid'])} at the shortest length ({lr}); {s['seeds']} seed(s); the "
             "recurrent cells decide from the final state.", "",
             *table(["tokens", "model", "test acc. (mean ± sd)", "per seed", "s.e. (one seed)", "seeds at chance",
                     "train s", "parameters"], rows),
             "", "## Observation (not a lecture claim): bag of words vs the best gated reader", "",
             *(f"- {line}" for line in results["observations"]), "",
             *verdict_section(results["claims"], RULES), "![accuracy](accuracy.png)", ""]
    return "\n".join(lines)
