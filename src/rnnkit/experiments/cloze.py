"""The lecture's France cloze as a controlled test of Issue 1: "France is where I grew up, but I now live in
Boston. I speak fluent ___."

Language models of the Elman RNN, the LSTM and the GRU, and the lecture's previous-word (bigram) model, read
generated lines
(:mod:`rnnkit.experiments.cloze_data`: 25 countries and their languages, 35 distractor cities, 4 cue
templates, 0–10 neutral filler sentences between the cue and the blank) and are scored on the next word
after "i speak fluent" in lines whose (country, city) combination was never seen in training. The filler
count moves the cue away from the blank (the mean distance in tokens is reported); the distractor city
offers a wrong, more recent language. A reader that carries the country answers right at every distance;
the bigram sees only "fluent"; a reader that forgets answers at the rate of a guess, or with the city's
language. Three training lines in four have no filler (the binding of a country to its language is learnt
where it is close); the test varies the distance.

Fair by the same protocol as the other experiments (:mod:`rnnkit.experiments.fair`): each cell's learning
rate is the best of a grid by accuracy on validation combinations (seed 0), then every cell trains with
:data:`~rnnkit.experiments.rules.MIN_SEEDS` seeds at that rate; the same text, sizes, epochs and BPTT window
(longer than any line) for all. The lecture's exact sentence is scored by every model as a reported item.
Trained models stay in ``models/<cell>/`` (a run killed half-way reuses the finished ones).

Writes ``results.json``, ``accuracy_by_distance.png`` and ``report.md``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from rnnkit.experiments.arms import train_lm_arm
from rnnkit.experiments.cloze_data import CITIES, COUNTRIES, CUES, FILLERS, LECTURE, combinations, corpus, items
from rnnkit.experiments.fair import choose_lr, paired_wins
from rnnkit.experiments.record import experiment_setup, finish, mean_std, pyplot, save_figure, setup_line, stamp, table
from rnnkit.experiments.rules import MIN_SEEDS, Claim, Rule, enough_seeds, verdict_section
from rnnkit.models.ngram import NGramCounts
from rnnkit.tasks import run as runs
from rnnkit.tasks.lm import LMOptions, encode_stream, load_corpus
from rnnkit.text import EOS, SPECIALS
from rnnkit.train.config import TrainConfig

CELLS = ("rnn", "lstm", "gru")  # the lecture's reset-before GRU is compared in long-memory and gates
GATED = ("lstm", "gru")
MARGIN = 0.1  # accuracy points a difference must exceed to count
# Sized by probes on the shared 2-core CPU at one torch thread (load ~5): with three lines in four free of fillers
# an LSTM leaves the plateau where it guesses the language after ~2,000 updates (with half of them, later; with
# every line long, not within 3,400), so each model gets 20 epochs of 12,000 lines at batch 16 × BPTT 100 (~4,000
# updates, 2.5 min on a quiet core, ~10 min on one shared with other jobs). Probe at 20 epochs, lr 0.01: LSTM
# 0.70 → 0.56 accuracy from 0 to 10 fillers, Elman RNN 0.53 → 0.07. 3 cells × (2 learning rates + 2 more seeds)
# = 12 language models.
FULL = {"lines": 12_000, "eval_lines": 600, "fillers": (0, 1, 3, 6, 10), "short_share": 0.75, "items": 300,
        "val_items": 60, "embed_dim": 64, "hidden_size": 128, "bptt": 100, "batch_size": 16, "epochs": 20,
        "dropout": 0.1, "lr_grid": (3e-3, 1e-2), "seeds": MIN_SEEDS, "minutes": None}
QUICK = {"lines": 400, "eval_lines": 40, "fillers": (0, 2), "short_share": 0.75, "items": 12, "val_items": 4,
         "embed_dim": 8, "hidden_size": 8, "bptt": 48, "batch_size": 8, "epochs": 1, "dropout": 0.1,
         "lr_grid": (1e-2, 3e-3), "seeds": 1, "minutes": None}
TRACES: tuple[str, ...] = ()
CARRY = Rule(
    "cloze/carries-the-cue",
    "at the lecture's distance (no filler sentence): holds when every seed of some recurrent cell answers most "
    "held-out items right and beats the previous-word model by more than the margin; does not hold when no cell "
    "beats the previous-word model by the margin in most seeds; otherwise undecided; fewer than min_seeds seeds: "
    "undecided", {"margin": MARGIN, "min_seeds": MIN_SEEDS})
PLAIN_FIRST = Rule(
    "cloze/plain-rnn-loses-the-cue-first",
    "undecided unless every cell learns the cloze at the shortest distance (each seed beats the previous-word "
    "model by the margin) and some gated cell still does at the longest; then holds when at the longest distance "
    "every gated cell beats the plain RNN by more than the margin in most paired seeds and falls below it in "
    "none, does not hold when the plain RNN comes within the margin of some gated cell in most seeds",
    {"margin": MARGIN, "min_seeds": MIN_SEEDS})
RULES = (CARRY, PLAIN_FIRST)


# ------------------------------------------------------------------------------------------------ scoring
def _masked(scores: torch.Tensor) -> torch.Tensor:
    """Scores (..., V) with the special tokens a model never writes (all but ``<eos>``) at -inf."""
    never = torch.arange(scores.shape[-1]) < len(SPECIALS)
    never[EOS] = False
    return scores.masked_fill(never, float("-inf"))


def prompt_ids(lm: Any, prompt: str) -> torch.Tensor:
    """``<eos>`` (a line start, as in training) and the prompt's ids, (N,)."""
    ids = encode_stream(lm.encoder, prompt)
    if ids.numel() and ids[-1] == EOS:
        ids = ids[:-1]
    return torch.cat([torch.tensor([EOS]), ids])


@torch.no_grad()
def lm_next(lm: Any, prompts: Sequence[str]) -> torch.Tensor:
    """P(next word | prompt) under a language model, (len(prompts), V); prompts of one length run as a batch."""
    encoded = [prompt_ids(lm, p) for p in prompts]
    probs = torch.zeros(len(prompts), len(lm.encoder.vocab))
    for length in sorted({len(ids) for ids in encoded}):
        rows = [i for i, ids in enumerate(encoded) if len(ids) == length]
        logits, _ = lm.model(torch.stack([encoded[i] for i in rows]))  # (B, N, V)
        probs[rows] = _masked(logits[:, -1].float()).softmax(-1)
    return probs


def previous_word_model(lm: Any) -> tuple[NGramCounts, float]:
    """The add-k bigram of the LM's run: counts on its training stream, k as the run tuned it on validation."""
    stream = encode_stream(lm.encoder, load_corpus(LMOptions(**lm.config["options"]).data).train)
    return NGramCounts.fit(stream, len(lm.encoder.vocab)), lm.config["baselines"]["bigram"]["k"]


def bigram_next(counts: NGramCounts, k: float, previous: Sequence[int]) -> torch.Tensor:
    """P(w | prev) = (c(prev, w) + k) / (c(prev) + k·V) for each previous id, (len(previous), V), specials
    but ``<eos>`` at 0 and renormalised (as the LM's next-word distribution)."""
    V = counts.vocab_size
    every = torch.arange(V)
    rows = []
    for prev in previous:
        num = counts.pair_counts(torch.full((V,), int(prev)), every) + k
        rows.append(num / (counts.context[int(prev)] + k * V))
    probs = torch.stack(rows).float()
    return _masked(probs.log()).softmax(-1)


def rank_of(probs: torch.Tensor, index: int) -> int:
    """1 + the number of tokens strictly more probable than ``index`` (ties share the best rank)."""
    return 1 + int((probs > probs[index]).sum())


def score(probs: torch.Tensor, vocab: Any, scored: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy (the most probable next word is the answer), mean P(answer) and the share of answers that are
    the distractor city's language, per filler count; probs (N, V) in the order of ``scored``."""
    by_count: dict[str, Any] = {}
    for k in sorted({it["fillers"] for it in scored}):
        rows = [i for i, it in enumerate(scored) if it["fillers"] == k]
        best = probs[rows].argmax(-1)
        answers = torch.tensor([vocab.token_to_id(scored[i]["answer"]) for i in rows])
        decoys = torch.tensor([vocab.token_to_id(scored[i]["distractor_language"]) for i in rows])
        by_count[str(k)] = {"n": len(rows), "accuracy": float((best == answers).float().mean()),
                            "p_answer": float(probs[rows].gather(1, answers[:, None]).mean()),
                            "distractor": float((best == decoys).float().mean())}
    return by_count


def lecture_item(probs: torch.Tensor, vocab: Any) -> dict[str, Any]:
    """The lecture's sentence: P(french), its rank, and the five most probable next words, from probs (V,)."""
    answer = vocab.token_to_id(LECTURE["answer"])
    top = probs.topk(5)
    return {"p": float(probs[answer]), "rank": rank_of(probs, answer),
            "top": [[vocab.id_to_token(int(i)), float(p)] for i, p in zip(top.indices, top.values, strict=True)]}


def distances(lm: Any, scored: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Mean tokens from the country to the blank (the next word), per filler count."""
    found: dict[int, list[int]] = {}
    for it in scored:
        ids = prompt_ids(lm, it["prompt"]).tolist()
        cue = ids.index(lm.encoder.vocab.token_to_id(it["country"]))
        found.setdefault(it["fillers"], []).append(len(ids) - cue)
    return {str(k): statistics.fmean(v) for k, v in sorted(found.items())}


# ------------------------------------------------------------------------------------------------ training
def train_cell(cell: str, lr: float, seed: int, data: Path, setup: dict[str, Any], out: Path,
               log=print) -> dict[str, Any]:
    """Train (or reuse) one language model; returns its summary and the loaded predictor."""
    opts = LMOptions(data=str(data), tokenizer="word", cell=cell, embed_dim=setup["embed_dim"],
                     hidden_size=setup["hidden_size"], bptt=setup["bptt"], batch_size=setup["batch_size"],
                     dropout=setup["dropout"], embed_dropout=0.0, min_freq=1)
    cfg = TrainConfig(epochs=setup["epochs"], lr=lr, seed=seed, max_minutes=setup["minutes"], patience=0,
                      progress=False, log="none")
    directory = out / "models" / cell / f"lr{lr:g}-seed{seed}"
    log(f"{cell}: lr {lr:g}, seed {seed}")
    arm = train_lm_arm(opts, cfg, directory, log=log)
    return {"summary": arm, "lm": runs.load(directory)}


def run(out: Path, *, quick: bool = False, minutes: float | None = None, seeds: int | None = None,
        log=print) -> dict[str, Any]:
    """Generate the text, choose each cell's learning rate on validation items, train its seeds, score all."""
    out, setup = experiment_setup(out, FULL, QUICK, quick, minutes=minutes, seeds=seeds)
    data = corpus(out, lines=setup["lines"], eval_lines=setup["eval_lines"], fillers=setup["fillers"],
                  short_share=setup["short_share"])
    val = items("val", setup["fillers"], setup["val_items"])
    test = items("test", setup["fillers"], setup["items"])
    cells: dict[str, Any] = {}
    lm = None
    for cell in CELLS:
        trained: dict[float, dict[str, Any]] = {}

        def accuracy(lr: float, cell: str = cell, trained: dict = trained) -> float:
            trained[lr] = train_cell(cell, lr, 0, data, setup, out, log)
            probs = lm_next(trained[lr]["lm"], [it["prompt"] for it in val])
            by_count = score(probs, trained[lr]["lm"].encoder.vocab, val)
            return statistics.fmean(v["accuracy"] for v in by_count.values())

        lr, grid = choose_lr(setup["lr_grid"], accuracy, higher_is_better=True, log=log, what=f"{cell}:")
        seeds_done = [trained[lr]] + [train_cell(cell, lr, s, data, setup, out, log) for s in range(1, setup["seeds"])]
        cells[cell] = {"lr": lr, "validation_accuracy": grid, "seeds": []}
        for s, t in enumerate(seeds_done):
            lm = t["lm"]
            probs = lm_next(lm, [it["prompt"] for it in test] + [LECTURE["text"]])
            cells[cell]["seeds"].append({"seed": s, "by_fillers": score(probs[:-1], lm.encoder.vocab, test),
                                         "lecture": lecture_item(probs[-1], lm.encoder.vocab),
                                         "perplexity": t["summary"]["perplexity"],
                                         "train_seconds": t["summary"]["train_seconds"]})
        log(f"{cell}: lr {lr:g}; test accuracy by filler count (seed 0) "
            + ", ".join(f"{k}: {v['accuracy']:.2f}" for k, v in cells[cell]["seeds"][0]["by_fillers"].items()))
    counts, k = previous_word_model(lm)
    fluent = [prompt_ids(lm, it["prompt"])[-1] for it in test] + [prompt_ids(lm, LECTURE["text"])[-1]]
    probs = bigram_next(counts, k, fluent)
    results = {**stamp("cloze", quick), "setup": {**setup, "fillers": list(setup["fillers"])},
               "data": {"countries": len(COUNTRIES), "cities": len(CITIES), "cues": list(CUES),
                        "fillers": len(FILLERS), "combinations": {n: len(v) for n, v in combinations().items()},
                        "test_items": len(test), "val_items": len(val), "tokens_to_blank": distances(lm, test),
                        "examples": [it["prompt"] for it in test[:: max(1, len(test) // 4)]][:4]},
               "lecture": LECTURE, "cells": cells,
               "bigram": {"k": k, "by_fillers": score(probs[:-1], lm.encoder.vocab, test),
                          "lecture": lecture_item(probs[-1], lm.encoder.vocab)}}
    results["summary"] = summarise(results)
    results["claims"] = claims(results)
    results["plots"] = [plot(results, out / "accuracy_by_distance.png").name]
    return finish(out, results, report(results))


# ------------------------------------------------------------------------------------------------ verdicts
def per_seed(results: dict[str, Any], cell: str, k: str) -> list[float]:
    """One cell's test accuracy at filler count ``k``, seed by seed."""
    return [s["by_fillers"][k]["accuracy"] for s in results["cells"][cell]["seeds"]]


def summarise(results: dict[str, Any]) -> dict[str, dict[str, tuple[float, float]]]:
    """Mean and standard deviation over seeds of each cell's accuracy per filler count."""
    counts = [str(k) for k in results["setup"]["fillers"]]
    return {cell: {k: mean_std(per_seed(results, cell, k)) for k in counts} for cell in results["cells"]}


def _seeds(results: dict[str, Any]) -> int:
    return min(len(c["seeds"]) for c in results["cells"].values())


def carry_claim(results: dict[str, Any]) -> Claim:
    """:data:`CARRY` at the shortest distance (the lecture's sentence has no filler)."""
    k = str(min(results["setup"]["fillers"]))
    bigram = results["bigram"]["by_fillers"][k]["accuracy"]
    cells = results["cells"]
    learned = {c: all(a > 0.5 and a > bigram + MARGIN for a in per_seed(results, c, k)) for c in cells}
    above = {c: 2 * sum(a > bigram + MARGIN for a in per_seed(results, c, k)) > len(per_seed(results, c, k))
             for c in cells}
    said = ", ".join(f"{c} {statistics.fmean(per_seed(results, c, k)):.2f}" for c in cells)
    text = (f"held-out combinations, no filler sentence (~{results['data']['tokens_to_blank'][k]:.0f} tokens from "
            f"the country to the blank): accuracy {said} (mean over seeds) against the previous-word model's "
            f"{bigram:.2f}")
    if any(learned.values()):
        holds = True
    elif not any(above.values()):
        holds = False
    else:
        holds = None
    holds, text = enough_seeds(holds, _seeds(results), text)
    return CARRY.judge("A recurrent language model can carry “France” to “I speak fluent ___”; the previous-word "
                       "model sees only “fluent”", holds, text)


def plain_first_claim(results: dict[str, Any]) -> Claim:
    """:data:`PLAIN_FIRST`: every cell learns at the shortest distance, then the RNN against each gated cell at
    the longest, paired by seed."""
    fillers = results["setup"]["fillers"]
    short, long = str(min(fillers)), str(max(fillers))
    bigram = {k: results["bigram"]["by_fillers"][k]["accuracy"] for k in (short, long)}
    tokens = results["data"]["tokens_to_blank"]
    mean = {c: {k: statistics.fmean(per_seed(results, c, k)) for k in (short, long)} for c in results["cells"]}
    said = "; ".join(f"{c} {mean[c][short]:.2f} → {mean[c][long]:.2f}" for c in results["cells"])
    text = (f"accuracy from {short} to {long} filler sentences (~{tokens[short]:.0f} → ~{tokens[long]:.0f} tokens "
            f"from the cue to the blank): {said}; previous-word model {bigram[short]:.2f} → {bigram[long]:.2f}")
    unlearned = [c for c in results["cells"] if not all(a > bigram[short] + MARGIN
                                                        for a in per_seed(results, c, short))]
    far = [c for c in GATED if c in results["cells"] and mean[c][long] > bigram[long] + MARGIN]
    rnn = [a + MARGIN for a in per_seed(results, "rnn", long)]
    wins = {c: paired_wins(per_seed(results, c, long), rnn) for c in GATED if c in results["cells"]}
    seeds = len(rnn)
    if unlearned:
        holds, text = None, f"undecided — {', '.join(unlearned)} did not learn the cloze even at the shortest " \
                            f"distance in every seed: {text}"
    elif not far:
        holds, text = None, f"undecided — no gated cell carries the cue to the longest distance at this budget: {text}"
    elif all(2 * above > seeds and below == 0 for above, below in wins.values()):
        holds = True
    elif any(2 * (seeds - above) > seeds for above, _ in wins.values()):
        holds = False
        text += "; the plain RNN comes within the margin of a gated cell at the longest distance"
    else:
        holds = None
        text += "; the gap to the plain RNN rests on fewer than a majority of seeds"
    holds, text = enough_seeds(holds, _seeds(results), text)
    return PLAIN_FIRST.judge("Issue 1 in the lecture's own sentence: the plain RNN loses the cue with distance, the "
                             "gated cells keep it", holds, text)


def claims(results: dict[str, Any]) -> list[Claim]:
    return [carry_claim(results), plain_first_claim(results)]


# ------------------------------------------------------------------------------------------------ report
def plot(results: dict[str, Any], path: Path) -> Path:
    """Accuracy against the tokens from the cue to the blank, one line per cell (mean, min–max over seeds),
    the previous-word model dashed."""
    plt = pyplot()
    counts = [str(k) for k in results["setup"]["fillers"]]
    x = [results["data"]["tokens_to_blank"][k] for k in counts]
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for cell in results["cells"]:
        values = [per_seed(results, cell, k) for k in counts]
        line = ax.plot(x, [statistics.fmean(v) for v in values], marker="o", label=cell)[0]
        ax.fill_between(x, [min(v) for v in values], [max(v) for v in values], color=line.get_color(), alpha=0.15)
    ax.plot(x, [results["bigram"]["by_fillers"][k]["accuracy"] for k in counts], "k--", label="previous word (bigram)")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("tokens from the country to the blank (filler sentences between)")
    ax.set_ylabel("held-out accuracy of the next word")
    ax.set_title("“… grew up in France, but now live in Boston. I speak fluent ___”: "
                 f"{_seeds(results)} seed(s), band: min–max", fontsize=9)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def _lecture_rows(results: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for cell, c in results["cells"].items():
        for s in c["seeds"]:
            top = ", ".join(f"{w} {p:.2f}" for w, p in s["lecture"]["top"])
            rows.append([cell, s["seed"], f"{s['lecture']['p']:.3f}", s["lecture"]["rank"], top])
    b = results["bigram"]["lecture"]
    top = ", ".join(f"{w} {p:.2f}" for w, p in b["top"])
    rows.append(["previous word (bigram)", "–", f"{b['p']:.3f}", b["rank"], top])
    return rows


def report(results: dict[str, Any]) -> str:
    s, d = results["setup"], results["data"]
    counts = [str(k) for k in s["fillers"]]
    header = ["model", "lr", *(f"{k} fillers (~{d['tokens_to_blank'][k]:.0f} tokens)" for k in counts),
              "answers the city's language (longest)"]
    rows = []
    for cell, c in results["cells"].items():
        cols = [f"{m:.2f} ± {sd:.2f}" for m, sd in (results["summary"][cell][k] for k in counts)]
        decoy = statistics.fmean(x["by_fillers"][counts[-1]]["distractor"] for x in c["seeds"])
        rows.append([cell, f"{c['lr']:g}", *cols, f"{decoy:.2f}"])
    b = results["bigram"]["by_fillers"]
    rows.append(["previous word (bigram)", "–", *(f"{b[k]['accuracy']:.2f}" for k in counts),
                 f"{b[counts[-1]]['distractor']:.2f}"])
    grid = [[cell, *(f"{v:.2f}" for v in c["validation_accuracy"].values())] for cell, c in results["cells"].items()]
    combos = d["combinations"]
    lines = ["# The France cloze at controlled distances (Issue 1)", "", setup_line(results),
             f"Generated text (this repository's lists, not a corpus): {d['countries']} countries with their "
             f"languages, {d['cities']} distractor cities (each with another language), {len(d['cues'])} cue "
             f"sentences, {d['fillers']} neutral filler sentences; {s['lines']:,} training lines of "
             f"{combos['train']} (country, city) combinations; scored on {d['test_items']} lines of "
             f"{combos['test']} combinations never seen in training (the learning rates on {d['val_items']} lines "
             f"of {combos['val']} others). Example: “{d['examples'][-1]} ___”.", "",
             f"Word-level language models: embedding {s['embed_dim']}, hidden {s['hidden_size']}, BPTT {s['bptt']}, "
             f"batch {s['batch_size']}, {s['epochs']} epochs, dropout {s['dropout']}; learning rate per cell the "
             f"best of {', '.join(f'{lr:g}' for lr in s['lr_grid'])} by validation accuracy (seed 0), then "
             f"{s['seeds']} seed(s). Accuracy: the most probable next word is the country's language (mean ± sd "
             "over seeds); the previous-word model is the add-k bigram on the same training tokens.", "",
             *table(header, rows), "", "Learning-rate search (validation accuracy, mean over filler counts):", "",
             *table(["cell", *(f"lr {lr:g}" for lr in s["lr_grid"])], grid), "",
             f"## The lecture's sentence: “{LECTURE['text']} ___”", "",
             "A test combination (France and Boston never appear together in training):", "",
             *table(["model", "seed", "P(french)", "rank", "five most probable"], _lecture_rows(results)), "",
             *verdict_section(results["claims"], RULES), "![accuracy by distance](accuracy_by_distance.png)", ""]
    return "\n".join(lines)
